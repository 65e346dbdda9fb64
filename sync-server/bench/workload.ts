/**
 * The workload shared by bench/propagation.ts and bench/scale-out.ts: servers under test in child
 * processes (bench/server-child.ts, stats over IPC), lean y-websocket clients in this process, and
 * the typing loop whose markers the benches time from keystroke to delivery.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { reportDocumentName } from '@pacs/shared';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { signDocumentToken } from '../src/auth';

export const PHASE_SECONDS = Number(process.env.PHASE_SECONDS ?? 20);
export const SECRET = 'bench-document-token-secret-0123456789-abcdefghijklmnop';

/** The environment of a `pacs` server under test (a `reference` one ignores it). */
export function serverEnv(databaseUrl: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PACS_ENV: 'test',
    PACS_SYNC_PORT: '0',
    DATABASE_URL: databaseUrl,
    PACS_DOCUMENT_TOKEN_SECRET: SECRET,
    PACS_LOG_LEVEL: 'warn',
    PACS_SYNC_UNLOAD_DELAY_MS: '600000',
    ...env,
  };
}

export interface Stats {
  cpu: NodeJS.CpuUsage;
  rss: number;
  heapUsed: number;
  docs: number;
  connections: number;
}

export interface Child {
  proc: ChildProcess;
  port: number;
  /** `gc`: collect garbage first (needs `--expose-gc` in the child's execArgv). */
  stats(gc?: boolean): Promise<Stats>;
  stop(): Promise<void>;
}

/** Starts bench/server-child.ts as `kind` and waits for its port. */
export async function startChild(kind: 'pacs' | 'reference', env: Record<string, string>, execArgv: string[] = []): Promise<Child> {
  const proc = fork(path.join(import.meta.dirname, 'server-child.ts'), [kind], {
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
    proc.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port!);
    });
  });
  return {
    proc,
    port,
    stats(gc = false) {
      return new Promise<Stats>((resolve) => {
        const onMessage = (m: { type: string; stats?: Stats }) => {
          if (m.type !== 'stats') return;
          proc.off('message', onMessage);
          resolve(m.stats!);
        };
        proc.on('message', onMessage);
        proc.send({ type: 'stats', gc });
      });
    },
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;

/** Called for each marker of another client's keystroke that a client receives. */
export type OnMarker = (sender: number, key: string, now: number, receiver: BenchClient) => void;

/**
 * A lean y-websocket client, so the load generator (one process, 2 cores shared with the server)
 * does not dominate the latency: it speaks the same protocol as the stock provider (sync step 1 on
 * open, answers the server's step 1, sends each local Yjs update), but finds the markers of
 * received updates by scanning the bytes instead of applying them to a Y.Doc. Typing is real: each
 * keystroke is a Y.Text insert at a random place in the client's own doc.
 */
export class BenchClient {
  readonly ws: WebSocket;
  readonly doc = new Y.Doc();
  synced = false;
  constructor(
    port: number,
    name: string,
    token: string,
    readonly id: number,
    /** Which server (index) this client is connected to. */
    readonly instance: number,
    onMarker: OnMarker,
  ) {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/sync/${name}?token=${token}`, { perMessageDeflate: false });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => this.send(0, 0, Y.encodeStateVector(this.doc)));
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const decoder = decoding.createDecoder(data);
      if (decoding.readVarUint(decoder) !== 0) return;
      const step = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (step === 0) this.send(0, 1, Y.encodeStateAsUpdate(this.doc, payload));
      else if (step === 1) this.synced = true;
      else {
        const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
        for (const m of text.matchAll(/#(\d+)\.(\d+);/g)) {
          const sender = Number(m[1]);
          if (sender !== this.id) onMarker(sender, `${m[1]}.${m[2]}`, now, this);
        }
      }
    });
    this.doc.on('update', (update: Uint8Array) => this.send(0, 2, update));
  }
  private send(type: number, step: number, payload: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, type);
    encoding.writeVarUint(encoder, step);
    encoding.writeVarUint8Array(encoder, payload);
    this.ws.send(encoding.toUint8Array(encoder));
  }
  type(key: string): void {
    const text = this.doc.getText('body');
    text.insert(Math.floor(Math.random() * (text.length + 1)), `#${key};`);
  }
  close(): void {
    this.ws.close();
    this.doc.destroy();
  }
}

/**
 * `docCount` new documents × `perDoc` clients; client k of a document connects to `ports[k mod
 * ports.length]`. Client ids are their index in the returned list. Resolves once all are synced.
 */
export async function connectClients(
  ports: number[],
  docCount: number,
  perDoc: number,
  onMarker: OnMarker,
  what: string,
): Promise<BenchClient[]> {
  const names = Array.from({ length: docCount }, () => reportDocumentName(randomUUID()));
  const clients: BenchClient[] = [];
  let nextId = 0;
  for (const name of names) {
    for (let k = 0; k < perDoc; k++) {
      const id = nextId++;
      const instance = k % ports.length;
      const token = signDocumentToken({ sub: randomUUID(), role: 'resident', name: `u${id}`, doc: name, mode: 'rw' }, SECRET, 3600);
      clients.push(new BenchClient(ports[instance]!, name, token, id, instance, onMarker));
    }
    // Pace connection set-up a little so the handshake burst does not dominate.
    if (clients.length % 60 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => clients.every((c) => c.synced), `${what}: all clients synced`);
  return clients;
}

/**
 * Every client types `rate` keystrokes a second (each starting at a random offset) for `seconds`;
 * each keystroke's marker key is recorded in `sentAt` with its time. Resolves to the number sent.
 */
export async function typeFor(clients: BenchClient[], rate: number, seconds: number, sentAt: Map<string, number>): Promise<number> {
  let sent = 0;
  const timers: NodeJS.Timeout[] = [];
  const interval = 1000 / rate;
  for (const c of clients) {
    let seq = 0;
    const start = setTimeout(() => {
      const tick = setInterval(() => {
        const key = `${c.id}.${seq++}`;
        sentAt.set(key, performance.now());
        sent++;
        c.type(key);
      }, interval);
      timers.push(tick);
    }, Math.random() * interval);
    timers.push(start);
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of timers) {
    clearTimeout(t);
    clearInterval(t);
  }
  return sent;
}

/** Closes the clients and waits until no server holds a connection. */
export async function disconnectClients(clients: BenchClient[], servers: Child[], what: string): Promise<void> {
  for (const c of clients) c.close();
  await waitFor(async () => (await Promise.all(servers.map((s) => s.stats()))).every((s) => s.connections === 0), what);
}

/**
 * A bench's entry point: `main` runs the phases; its report (Markdown lines) and raw results go to
 * stdout and the process exits 0, or on an error, the error goes to stderr and it exits 1.
 */
export function runBench(main: () => Promise<{ report: string[]; results: unknown[] }>): void {
  main()
    .then(({ report, results }) => {
      console.log(report.join('\n'));
      console.log(`\n<!-- raw: ${JSON.stringify(results)} -->`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
