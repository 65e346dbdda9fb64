/**
 * The real sync-server (sync-server/src/server.ts) as a child process on the test database, and
 * real y-websocket providers in Node (ws polyfill, BroadcastChannel off, so every byte goes
 * through the server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { MESSAGE_TYPE_NOTICE, type SyncNotice } from '@pacs/shared';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

process.setMaxListeners(0); // every WebsocketProvider adds a process 'exit' listener

export const DOCUMENT_SECRET = 'test-document-token-secret-0123456789-abcdefghijklmnop';
export const SERVICE_TOKEN = 'test-service-token-0123456789-abcdefghijklmnopqrstuv';

const SYNC_DIR = path.resolve(import.meta.dirname, '../../../sync-server');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SyncProcess {
  url: string;
  port: number;
  output: string[];
  stop(): Promise<void>;
}

/** Starts the sync-server on `port` sharing `databaseUrl`; resolves once it listens. */
/** `nodeFlags`: extra Node.js flags (benchmarks: `--cpu-prof`). */
export async function startSyncServer(databaseUrl: string, port: number, nodeFlags: string[] = []): Promise<SyncProcess> {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/server.ts'], {
    cwd: SYNC_DIR,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
      PACS_ENV: 'test',
      PACS_SYNC_HOST: '127.0.0.1',
      PACS_SYNC_PORT: String(port),
      DATABASE_URL: databaseUrl,
      PACS_DOCUMENT_TOKEN_SECRET: DOCUMENT_SECRET,
      PACS_SYNC_SERVICE_TOKEN: SERVICE_TOKEN,
      PACS_LOG_LEVEL: 'info',
      PACS_SYNC_DEBOUNCE_MS: '20',
      PACS_SYNC_UNLOAD_DELAY_MS: '200',
      // Tests open several connections per user and edit quickly.
      PACS_SYNC_MAX_CONNECTIONS_PER_USER: '100',
      PACS_SYNC_MAX_MESSAGES_PER_SECOND: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sync-server did not start:\n${output.join('')}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 2000) output.splice(0, 1000);
      if (chunk.toString().includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sync-server exited (${code}):\n${output.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface EditorClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  notices: SyncNotice[];
  synced: () => boolean;
  destroy(): void;
}

/** A stock WebsocketProvider, as the web app will use it. */
export function editorClient(syncPort: number, document: string, token: string): EditorClient {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`ws://127.0.0.1:${syncPort}/sync`, document, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
    maxBackoffTime: 200,
  });
  const notices: SyncNotice[] = [];
  provider.messageHandlers[MESSAGE_TYPE_NOTICE] = (_encoder: unknown, decoder: { arr: Uint8Array; pos: number }) => {
    // varString(JSON): varUint length then UTF-8 bytes
    let len = 0;
    let shift = 0;
    for (;;) {
      const byte = decoder.arr[decoder.pos++]!;
      len += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    const text = Buffer.from(decoder.arr.subarray(decoder.pos, decoder.pos + len)).toString('utf8');
    decoder.pos += len;
    notices.push(JSON.parse(text) as SyncNotice);
  };
  return {
    doc,
    provider,
    notices,
    synced: () => provider.synced,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** The sync-server's view of a document (internal API, service token). */
export async function serverState(syncUrl: string, document: string): Promise<{ update: string; stateVector: string; locked: boolean }> {
  const response = await fetch(`${syncUrl}/internal/documents/${encodeURIComponent(document)}/state`, {
    headers: { authorization: `Bearer ${SERVICE_TOKEN}` },
  });
  if (!response.ok) throw new Error(`state: ${response.status}`);
  return (await response.json()) as { update: string; stateVector: string; locked: boolean };
}

/** Waits until the sync-server holds what `doc` shows: a signer signs only what the server has seen too. */
export async function untilServerHolds(syncUrl: string, document: string, doc: Y.Doc): Promise<void> {
  const expected = doc.getXmlFragment('default').toString();
  await waitFor(async () => {
    const server = new Y.Doc();
    Y.applyUpdate(server, Buffer.from((await serverState(syncUrl, document)).update, 'base64'));
    return server.getXmlFragment('default').toString() === expected;
  }, 'edit stored');
}

// ---------------------------------------------------------------- editing the report like Tiptap would

function headingIndex(fragment: Y.XmlFragment, title: string): number {
  return fragment
    .toArray()
    .findIndex((n) => n instanceof Y.XmlElement && n.nodeName === 'heading' && n.toArray().map(String).join('') === title);
}

/** Appends text to the first paragraph after the section heading `title`. */
export function appendToSection(doc: Y.Doc, title: string, text: string, attributes?: Record<string, unknown>): void {
  const fragment = doc.getXmlFragment('default');
  const at = headingIndex(fragment, title);
  if (at < 0) throw new Error(`no section ${title}`);
  const paragraph = fragment.get(at + 1) as Y.XmlElement;
  doc.transact(() => {
    let leaf = paragraph.toArray().find((n) => n instanceof Y.XmlText) as Y.XmlText | undefined;
    if (!leaf) {
      leaf = new Y.XmlText();
      paragraph.insert(0, [leaf]);
    }
    // Explicit attributes, as ProseMirror sends them: `{}` means plain (Yjs would otherwise continue the marks before).
    leaf.insert(leaf.length, text, attributes ?? {});
  });
}

/** Inserts a bullet list after the paragraph that follows the section heading `title`. */
export function addBulletList(doc: Y.Doc, title: string, items: string[]): void {
  const fragment = doc.getXmlFragment('default');
  const at = headingIndex(fragment, title);
  const list = new Y.XmlElement('bulletList');
  list.insert(
    0,
    items.map((item) => {
      const li = new Y.XmlElement('listItem');
      const p = new Y.XmlElement('paragraph');
      const t = new Y.XmlText();
      t.insert(0, item);
      p.insert(0, [t]);
      li.insert(0, [p]);
      return li;
    }),
  );
  fragment.insert(at + 2, [list]);
}

/** Deletes `count` characters at the start of the section's first paragraph. */
export function deleteInSection(doc: Y.Doc, title: string, count: number): void {
  const fragment = doc.getXmlFragment('default');
  const paragraph = fragment.get(headingIndex(fragment, title) + 1) as Y.XmlElement;
  const leaf = paragraph.toArray().find((n) => n instanceof Y.XmlText) as Y.XmlText;
  leaf.delete(0, count);
}

export const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
export const reviewed = (doc: Y.Doc) => ({ stateVector: b64(Y.encodeStateVector(doc)), snapshot: b64(Y.encodeSnapshot(Y.snapshot(doc))) });

/** The API settings that point it at a sync-server on `port` started by `startSyncServer` (same secrets). */
export function syncEnv(port: number): Record<string, string> {
  return { PACS_SYNC_URL: `http://127.0.0.1:${port}`, PACS_SYNC_SERVICE_TOKEN: SERVICE_TOKEN, PACS_DOCUMENT_TOKEN_SECRET: DOCUMENT_SECRET };
}
