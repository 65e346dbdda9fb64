/** Test harness: servers on port 0 with a temp SQLite file, real y-websocket providers over `ws`. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MESSAGE_TYPE_NOTICE, type Role, reportDocumentName, type SyncNotice } from '@pacs/shared';
import type * as decoding from 'lib0/decoding';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { signDocumentToken } from '../src/auth';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { decodeNotice } from '../src/protocol';
import { SyncServer } from '../src/server';
import type { DocumentStore } from '../src/store';

process.setMaxListeners(0); // every WebsocketProvider adds a process 'exit' listener

export const SECRET = 'test-document-token-secret-0123456789-abcdefghijklmnop';
export const SERVICE_TOKEN = 'test-service-token-0123456789-abcdefghijklmnopqrstuv';

const tempDirs: string[] = [];

/** Called after each test file (test/setup.ts). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A temp directory, removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pacs-sync-test-'));
  tempDirs.push(dir);
  return dir;
}

export function tempDatabaseUrl(): string {
  return `sqlite:${path.join(tempDir(), 'pacs.sqlite')}`;
}

export function newDocName(): string {
  return reportDocumentName(randomUUID());
}

export interface TestServerOptions {
  env?: Record<string, string>;
  store?: DocumentStore;
  databaseUrl?: string;
  /** Collects log lines (for "never logs a token" checks). */
  logs?: string[];
}

export function testEnv(databaseUrl: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PACS_ENV: 'test',
    PACS_SYNC_PORT: '0',
    DATABASE_URL: databaseUrl,
    PACS_DOCUMENT_TOKEN_SECRET: SECRET,
    PACS_SYNC_SERVICE_TOKEN: SERVICE_TOKEN,
    PACS_LOG_LEVEL: 'silent',
    PACS_SYNC_DEBOUNCE_MS: '20',
    PACS_SYNC_UNLOAD_DELAY_MS: '50',
    ...env,
  };
}

export async function startServer(
  options: TestServerOptions = {},
): Promise<{ server: SyncServer; port: number; url: string; databaseUrl: string }> {
  const databaseUrl = options.databaseUrl ?? tempDatabaseUrl();
  const env = testEnv(databaseUrl, options.env);
  if (options.logs) env.PACS_LOG_LEVEL = env.PACS_LOG_LEVEL === 'silent' ? 'debug' : env.PACS_LOG_LEVEL!;
  const config = loadConfig(env);
  const logs = options.logs;
  const logger = logs ? createLogger(config.logLevel, (line) => logs.push(line)) : undefined;
  const server = new SyncServer({ config, store: options.store, logger });
  const port = await server.start();
  return { server, port, url: `http://127.0.0.1:${port}`, databaseUrl };
}

export interface TokenOptions {
  userId?: string;
  role?: Role;
  name?: string;
  mode?: 'rw' | 'ro';
  secret?: string;
  ttlSeconds?: number;
  iat?: number;
  exp?: number;
}

export function token(doc: string, o: TokenOptions = {}): string {
  return signDocumentToken(
    {
      sub: o.userId ?? randomUUID(),
      role: o.role ?? 'resident',
      name: o.name ?? 'Test User',
      doc,
      mode: o.mode ?? 'rw',
      iat: o.iat,
      exp: o.exp,
    },
    o.secret ?? SECRET,
    o.ttlSeconds ?? 300,
  );
}

export interface TestClient {
  doc: Y.Doc;
  text: Y.Text;
  provider: WebsocketProvider;
  notices: SyncNotice[];
  closes: { code: number; reason: string }[];
  destroy(): void;
}

/** A stock WebsocketProvider (ws polyfill, BroadcastChannel off: every byte goes through the server). */
export function client(port: number, docName: string, tok: string, options: { connect?: boolean; doc?: Y.Doc } = {}): TestClient {
  const doc = options.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, docName, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token: tok },
    connect: options.connect ?? true,
    maxBackoffTime: 200,
  });
  const notices: SyncNotice[] = [];
  const closes: { code: number; reason: string }[] = [];
  provider.messageHandlers[MESSAGE_TYPE_NOTICE] = (_encoder: unknown, decoder: decoding.Decoder) => {
    notices.push(decodeNotice(decoder));
  };
  provider.on('connection-close', (event) => {
    if (event) closes.push({ code: event.code, reason: event.reason });
  });
  return {
    doc,
    text: doc.getText('body'),
    provider,
    notices,
    closes,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Points a provider at a (restarted) server on another port; it reconnects by itself. */
export function retarget(c: TestClient, port: number): void {
  c.provider.serverUrl = `ws://127.0.0.1:${port}/sync`;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const stateOf = (doc: Y.Doc): Uint8Array => Y.encodeStateAsUpdate(doc);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Byte-equal `encodeStateAsUpdate` across every given doc. */
export function allEqual(docs: Y.Doc[]): boolean {
  const first = stateOf(docs[0]!);
  return docs.every((d) => bytesEqual(stateOf(d), first));
}

export function serverDoc(server: SyncServer, name: string): Y.Doc | undefined {
  return server.documents.docs.get(name)?.doc;
}

/** A raw ws socket (hostile-frame and limit tests). Resolves once open. */
export async function rawSocket(
  port: number,
  docName: string,
  tok: string | null,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: Buffer[] }> {
  const query = tok === null ? '' : `?token=${encodeURIComponent(tok)}`;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/sync/${docName}${query}`, {
    headers: options.headers,
    localAddress: options.localAddress,
  });
  const messages: Buffer[] = [];
  ws.on('message', (data) => messages.push(data as Buffer));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('close', () => resolve());
  });
  return { ws, closed, messages };
}

export async function internal(
  url: string,
  method: string,
  pathName: string,
  body?: unknown,
  bearer = SERVICE_TOKEN,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${pathName}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');
export const unb64 = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(String(s), 'base64'));

type StoreOp = 'load' | 'append' | 'compact' | 'setLock' | 'getLock' | 'clearLock' | 'addLateEdit' | 'listLateEdits' | 'loadAuthorship';

/** Wraps a store: make operations fail, or hold them at a gate until released. */
export class ControlledStore implements DocumentStore {
  readonly failing = new Set<StoreOp>();
  readonly calls: Record<string, number> = {};
  private readonly gates = new Map<StoreOp, { promise: Promise<void>; release: () => void }>();
  constructor(readonly inner: DocumentStore) {}

  hold(op: StoreOp): () => void {
    let release!: () => void;
    const promise = new Promise<void>((r) => {
      release = r;
    });
    this.gates.set(op, { promise, release });
    return () => {
      this.gates.delete(op);
      release();
    };
  }

  private async run<T>(op: StoreOp, fn: () => Promise<T>): Promise<T> {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const gate = this.gates.get(op);
    if (gate) await gate.promise;
    if (this.failing.has(op)) throw new Error(`injected ${op} failure`);
    return fn();
  }

  load(d: string) {
    return this.run('load', () => this.inner.load(d));
  }
  appendUpdates(entries: Parameters<DocumentStore['appendUpdates']>[0]) {
    return this.run('append', () => this.inner.appendUpdates(entries));
  }
  compact(d: string, s: Uint8Array) {
    return this.run('compact', () => this.inner.compact(d, s));
  }
  setLock(d: string, l: Parameters<DocumentStore['setLock']>[1]) {
    return this.run('setLock', () => this.inner.setLock(d, l));
  }
  getLock(d: string) {
    return this.run('getLock', () => this.inner.getLock(d));
  }
  clearLock(d: string) {
    return this.run('clearLock', () => this.inner.clearLock(d));
  }
  addLateEdit(d: string, e: Parameters<DocumentStore['addLateEdit']>[1]) {
    return this.run('addLateEdit', () => this.inner.addLateEdit(d, e));
  }
  listLateEdits(d: string) {
    return this.run('listLateEdits', () => this.inner.listLateEdits(d));
  }
  loadAuthorship(d: string) {
    return this.run('loadAuthorship', () => this.inner.loadAuthorship(d));
  }
  close() {
    return this.inner.close();
  }
}

/** The document as stored in the database (read through a separate store instance). */
export async function storedDoc(databaseUrl: string, name: string): Promise<Y.Doc> {
  const { SequelizeStore } = await import('../src/store');
  const store = await SequelizeStore.open(databaseUrl);
  try {
    const stored = await store.load(name);
    const doc = new Y.Doc();
    for (const u of stored.updates) Y.applyUpdate(doc, u);
    return doc;
  } finally {
    await store.close();
  }
}

/** Client sync updates the server has received so far (to wait for "arrived" without sleeping). */
export async function updatesReceived(server: SyncServer): Promise<number> {
  const m = await server.metrics.messages.get();
  return m.values.filter((v) => v.labels.type === 'sync-update').reduce((n, v) => n + v.value, 0);
}
