/**
 * Update propagation benchmark: this sync-server (SQLite persistence + token auth on every
 * connection) side by side with the reference @y/websocket-server 0.1.1 (in memory, no auth), on
 * the same workload, in one run, loopback only:
 *   phase A: 200 documents × 3 clients, each client typing 5 updates/s
 *   phase B: 1 document × 50 clients, each typing 5 updates/s
 * Each server runs in its own child process (CPU via process.cpuUsage, RSS and heap via IPC). The
 * clients (BenchClient below: the y-websocket protocol, lean) run in this process.
 *
 *   cd sync-server && npx tsx bench/propagation.ts            # 20 s per phase
 *   PHASE_SECONDS=5 npx tsx bench/propagation.ts              # quick look
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { reportDocumentName } from '@pacs/shared';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { signDocumentToken } from '../src/auth';

const PHASE_SECONDS = Number(process.env.PHASE_SECONDS ?? 20);
const RATE = Number(process.env.RATE ?? 5);
const SECRET = 'bench-document-token-secret-0123456789-abcdefghijklmnop';

interface Stats {
  cpu: NodeJS.CpuUsage;
  rss: number;
  heapUsed: number;
  docs: number;
  connections: number;
}

interface Child {
  proc: ChildProcess;
  port: number;
  stats(gc?: boolean): Promise<Stats>;
  stop(): Promise<void>;
}

async function startChild(kind: 'pacs' | 'reference', env: Record<string, string>): Promise<Child> {
  const proc = fork(path.join(import.meta.dirname, 'server-child.ts'), [kind], {
    execArgv: ['--expose-gc', '--import', 'tsx', ...(process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : [])],
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

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;

/**
 * A lean y-websocket client, so the load generator (one process, 2 cores shared with the server)
 * does not dominate the latency: it speaks the same protocol as the stock provider (sync step 1 on
 * open, answers the server's step 1, sends each local Yjs update), but finds the markers of
 * received updates by scanning the bytes instead of applying them to a Y.Doc. Typing is real: each
 * keystroke is a Y.Text insert at a random place in the client's own doc.
 */
class BenchClient {
  readonly ws: WebSocket;
  readonly doc = new Y.Doc();
  synced = false;
  constructor(
    port: number,
    name: string,
    token: string,
    readonly id: number,
    onMarker: (key: string, now: number) => void,
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
        for (const m of text.matchAll(/#(\d+)\.(\d+);/g)) if (Number(m[1]) !== this.id) onMarker(`${m[1]}.${m[2]}`, now);
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

interface PhaseResult {
  server: string;
  phase: string;
  docs: number;
  clients: number;
  sent: number;
  received: number;
  expected: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  cpuPercent: number;
  rssPeakMB: number;
  heapPerDocKB: number;
  clientCpuPercent: number;
}

async function runPhase(
  kind: 'pacs' | 'reference',
  child: Child,
  phase: string,
  docCount: number,
  perDoc: number,
  seconds = PHASE_SECONDS,
): Promise<PhaseResult> {
  const base = await child.stats(true);
  const names = Array.from({ length: docCount }, () => reportDocumentName(randomUUID()));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  const clients: BenchClient[] = [];
  let nextId = 0;
  const onMarker = (key: string, now: number) => {
    const t = sentAt.get(key);
    if (t !== undefined) {
      latencies.push(now - t);
      received++;
    }
  };
  for (const name of names) {
    for (let k = 0; k < perDoc; k++) {
      const id = nextId++;
      const token = signDocumentToken({ sub: randomUUID(), role: 'resident', name: `u${id}`, doc: name, mode: 'rw' }, SECRET, 3600);
      clients.push(new BenchClient(child.port, name, token, id, onMarker));
    }
    // Pace connection set-up a little so the handshake burst does not dominate.
    if (clients.length % 60 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => clients.every((c) => c.synced), `${kind} ${phase}: all clients synced`);

  const cpu0 = await child.stats();
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssPeak = cpu0.rss;
  let sent = 0;
  const timers: NodeJS.Timeout[] = [];
  const interval = 1000 / RATE;
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
  const sampler = setInterval(() => {
    void child.stats().then((s) => {
      rssPeak = Math.max(rssPeak, s.rss);
    });
  }, 1000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of timers) {
    clearTimeout(t);
    clearInterval(t);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await child.stats();
  const clientCpu = process.cpuUsage(clientCpu0);
  clearInterval(sampler);
  const expected = sent * (perDoc - 1);
  await waitFor(() => received >= expected, `${kind} ${phase}: all updates delivered`, 30_000).catch(() => undefined);
  const loaded = await child.stats(true);
  const heapPerDocKB = (loaded.heapUsed - base.heapUsed) / docCount / 1024;

  for (const c of clients) c.close();
  await waitFor(async () => (await child.stats()).connections === 0, `${kind} ${phase}: disconnected`);

  const sorted = latencies.sort((a, b) => a - b);
  const cpuMicros = cpu1.cpu.user + cpu1.cpu.system - (cpu0.cpu.user + cpu0.cpu.system);
  return {
    server: kind,
    phase,
    docs: docCount,
    clients: clients.length,
    sent,
    received,
    expected,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    cpuPercent: (cpuMicros / 1e6 / elapsed) * 100,
    rssPeakMB: rssPeak / 1024 / 1024,
    heapPerDocKB,
    clientCpuPercent: ((clientCpu.user + clientCpu.system) / 1e6 / elapsed) * 100,
  };
}

async function main() {
  process.setMaxListeners(0); // every WebsocketProvider adds a process 'exit' listener
  const dir = mkdtempSync(path.join(tmpdir(), 'pacs-sync-bench-'));
  const results: PhaseResult[] = [];
  const phases: [string, number, number][] = [
    ['A: 200 docs × 3 clients', Number(process.env.DOCS ?? 200), 3],
    ['B: 1 doc × 50 clients', 1, Number(process.env.BIG_CLIENTS ?? 50)],
  ];
  try {
    for (const kind of (process.env.SERVERS ?? 'reference,pacs').split(',') as ('reference' | 'pacs')[]) {
      const child = await startChild(kind, {
        PACS_ENV: 'test',
        PACS_SYNC_PORT: '0',
        DATABASE_URL: `sqlite:${path.join(dir, 'bench.sqlite')}`,
        PACS_DOCUMENT_TOKEN_SECRET: SECRET,
        PACS_LOG_LEVEL: 'warn',
        PACS_SYNC_UNLOAD_DELAY_MS: '600000',
      });
      try {
        // Warm-up (not reported): first connections, first queries, JIT.
        await runPhase(kind, child, 'warm-up', 10, 2, 2);
        for (const [phase, docs, perDoc] of phases) {
          const r = await runPhase(kind, child, phase, docs, perDoc);
          results.push(r);
          console.error(`${kind} ${phase}: p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms, CPU ${r.cpuPercent.toFixed(1)} %`);
        }
      } finally {
        await child.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const lines = [
    `Workload: ${RATE} updates/s per client, ${PHASE_SECONDS} s per phase, loopback, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}.`,
    '',
    '| server | phase | clients | updates sent | delivered / expected | p50 ms | p95 ms | p99 ms | max ms | server CPU % of one core | server RSS peak MB | heap per loaded doc KB | client-process CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.server} | ${r.phase} | ${r.clients} | ${r.sent} | ${r.received} / ${r.expected} | ${f(r.p50, 2)} | ${f(r.p95, 2)} | ${f(r.p99, 2)} | ${f(r.max, 1)} | ${f(r.cpuPercent)} | ${f(r.rssPeakMB)} | ${f(r.heapPerDocKB)} | ${f(r.clientCpuPercent)} |`,
    ),
    '',
    '| phase | p95 ratio (pacs / reference) | CPU ratio (pacs / reference) | RSS ratio |',
    '|---|---|---|---|',
  ];
  for (const [phase] of phases) {
    const ref = results.find((r) => r.server === 'reference' && r.phase === phase);
    const ours = results.find((r) => r.server === 'pacs' && r.phase === phase);
    if (ref && ours)
      lines.push(
        `| ${phase} | ${f(ours.p95 / ref.p95, 2)} | ${f(ours.cpuPercent / ref.cpuPercent, 2)} | ${f(ours.rssPeakMB / ref.rssPeakMB, 2)} |`,
      );
  }
  console.log(lines.join('\n'));
  console.log(`\n<!-- raw: ${JSON.stringify(results)} -->`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
