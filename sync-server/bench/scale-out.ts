/**
 * Scale-out benchmark (SPEC.md SCALE-*): the workload of bench/propagation.ts on one instance
 * (no Redis) and on two instances sharing documents through a real `redis-server`, clients spread
 * across both (client k of a document on instance k mod 2, so every document spans both):
 *   phase A: 200 documents × 3 clients, 5 updates/s per client
 *   phase B: 1 document × 50 clients, 5 updates/s per client
 *   phase S: 100 documents × 2 clients at 25 updates/s per client (5,000 updates/s offered): throughput
 * Latency is from a client's keystroke to another client receiving it, split into same-instance and
 * cross-instance deliveries. Each server in its own process (CPU via process.cpuUsage over IPC),
 * Redis CPU from /proc, clients (lean y-websocket clients) in this process. Loopback only; one
 * SQLite file (WAL) shared by the instances.
 *
 *   cd sync-server && npx tsx bench/scale-out.ts             # 20 s per phase
 *   PHASE_SECONDS=5 npx tsx bench/scale-out.ts               # quick look
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { reportDocumentName } from '@pacs/shared';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { signDocumentToken } from '../src/auth';

const PHASE_SECONDS = Number(process.env.PHASE_SECONDS ?? 20);
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
  stats(): Promise<Stats>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!binary) throw new Error('redis-server is not installed (Debian: apt-get install -y redis-server)');
  const port = await freePort();
  const proc = spawn(binary, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => proc.once('exit', r));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    void exited.then(() => reject(new Error(`redis-server exited:\n${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: proc.pid!,
    async stop() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** CPU seconds a process has used (utime + stime from /proc). */
function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = fork(path.join(import.meta.dirname, 'server-child.ts'), ['pacs'], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    proc.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') resolve(m.port!);
    });
  });
  return {
    proc,
    port,
    stats() {
      return new Promise<Stats>((resolve) => {
        const onMessage = (m: { type: string; stats?: Stats }) => {
          if (m.type !== 'stats') return;
          proc.off('message', onMessage);
          resolve(m.stats!);
        };
        proc.on('message', onMessage);
        proc.send({ type: 'stats', gc: false });
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

/** Same lean client as bench/propagation.ts: real Yjs typing, markers found by scanning received bytes. */
class BenchClient {
  readonly ws: WebSocket;
  readonly doc = new Y.Doc();
  synced = false;
  constructor(
    port: number,
    name: string,
    token: string,
    readonly id: number,
    readonly instance: number,
    onMarker: (sender: number, key: string, now: number, receiver: BenchClient) => void,
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

interface PhaseResult {
  layout: string;
  phase: string;
  clients: number;
  sent: number;
  received: number;
  expected: number;
  deliveredPerSecond: number;
  same: { p50: number; p95: number; n: number };
  cross: { p50: number; p95: number; n: number };
  all: { p50: number; p95: number; p99: number };
  serverCpuPercent: number;
  redisCpuPercent: number;
}

async function runPhase(
  layout: string,
  servers: Child[],
  redisPid: number | null,
  phase: string,
  docCount: number,
  perDoc: number,
  rate: number,
  seconds = PHASE_SECONDS,
): Promise<PhaseResult> {
  const names = Array.from({ length: docCount }, () => reportDocumentName(randomUUID()));
  const sentAt = new Map<string, number>();
  const same: number[] = [];
  const cross: number[] = [];
  let received = 0;
  let receivedInWindow = 0;
  let windowOpen = false;
  const clients: BenchClient[] = [];
  const instanceOf: number[] = [];
  const onMarker = (sender: number, key: string, now: number, receiver: BenchClient) => {
    const t = sentAt.get(key);
    if (t === undefined) return;
    (instanceOf[sender] === receiver.instance ? same : cross).push(now - t);
    received++;
    if (windowOpen) receivedInWindow++;
  };
  let nextId = 0;
  for (const name of names) {
    for (let k = 0; k < perDoc; k++) {
      const id = nextId++;
      const instance = k % servers.length;
      instanceOf[id] = instance;
      const token = signDocumentToken({ sub: randomUUID(), role: 'resident', name: `u${id}`, doc: name, mode: 'rw' }, SECRET, 3600);
      clients.push(new BenchClient(servers[instance]!.port, name, token, id, instance, onMarker));
    }
    if (clients.length % 60 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => clients.every((c) => c.synced), `${layout} ${phase}: all clients synced`);
  // Let the joins settle (load-time resync between instances) before measuring.
  await new Promise((r) => setTimeout(r, 500));

  const cpu0 = await Promise.all(servers.map((s) => s.stats()));
  const redis0 = redisPid ? procCpuSeconds(redisPid) : 0;
  const t0 = performance.now();
  windowOpen = true;
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
  windowOpen = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await Promise.all(servers.map((s) => s.stats()));
  const redis1 = redisPid ? procCpuSeconds(redisPid) : 0;
  const expected = sent * (perDoc - 1);
  await waitFor(() => received >= expected, `${layout} ${phase}: all updates delivered`, 30_000).catch(() => undefined);

  for (const c of clients) c.close();
  await waitFor(async () => (await Promise.all(servers.map((s) => s.stats()))).every((s) => s.connections === 0), 'disconnected');

  const cpuMicros = cpu1.reduce((n, s, i) => n + s.cpu.user + s.cpu.system - cpu0[i]!.cpu.user - cpu0[i]!.cpu.system, 0);
  const sortedSame = same.sort((a, b) => a - b);
  const sortedCross = cross.sort((a, b) => a - b);
  const all = [...same, ...cross].sort((a, b) => a - b);
  return {
    layout,
    phase,
    clients: clients.length,
    sent,
    received,
    expected,
    deliveredPerSecond: receivedInWindow / elapsed,
    same: { p50: percentile(sortedSame, 50), p95: percentile(sortedSame, 95), n: same.length },
    cross: { p50: percentile(sortedCross, 50), p95: percentile(sortedCross, 95), n: cross.length },
    all: { p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99) },
    serverCpuPercent: (cpuMicros / 1e6 / elapsed) * 100,
    redisCpuPercent: ((redis1 - redis0) / elapsed) * 100,
  };
}

async function main() {
  process.setMaxListeners(0);
  const dir = mkdtempSync(path.join(tmpdir(), 'pacs-sync-scale-bench-'));
  const results: PhaseResult[] = [];
  const phases: [string, number, number, number][] = [
    ['A: 200 docs × 3 clients, 5/s', Number(process.env.DOCS ?? 200), 3, 5],
    ['B: 1 doc × 50 clients, 5/s', 1, Number(process.env.BIG_CLIENTS ?? 50), 5],
    ['S: 100 docs × 2 clients, 25/s', 100, 2, Number(process.env.SAT_RATE ?? 25)],
  ];
  const redis = await startRedis();
  try {
    for (const layout of (process.env.LAYOUTS ?? 'one,two').split(',')) {
      const base = {
        PACS_ENV: 'test',
        PACS_SYNC_PORT: '0',
        DATABASE_URL: `sqlite:${path.join(dir, `${layout}.sqlite`)}`,
        PACS_DOCUMENT_TOKEN_SECRET: SECRET,
        PACS_LOG_LEVEL: 'warn',
        PACS_SYNC_UNLOAD_DELAY_MS: '600000',
        PACS_SYNC_MAX_MESSAGES_PER_SECOND: '1000',
      };
      // Start one after the other: the first creates the tables.
      const servers: Child[] = [];
      if (layout === 'one') servers.push(await startChild(base));
      else for (let i = 0; i < 2; i++) servers.push(await startChild({ ...base, PACS_SYNC_REDIS_URL: redis.url }));
      const redisPid = layout === 'one' ? null : redis.pid;
      try {
        await runPhase(layout, servers, redisPid, 'warm-up', 10, 2, 5, 2);
        for (const [phase, docs, perDoc, rate] of phases) {
          const r = await runPhase(layout, servers, redisPid, phase, docs, perDoc, rate);
          results.push(r);
          console.error(
            `${layout} ${phase}: same p50/p95 ${r.same.p50.toFixed(2)}/${r.same.p95.toFixed(2)} ms, cross ${r.cross.p50.toFixed(2)}/${r.cross.p95.toFixed(2)} ms, delivered ${r.deliveredPerSecond.toFixed(0)}/s, CPU ${r.serverCpuPercent.toFixed(1)} % + redis ${r.redisCpuPercent.toFixed(1)} %`,
          );
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const lines = [
    `${PHASE_SECONDS} s per phase, loopback, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}.`,
    '',
    '| layout | phase | clients | sent | delivered / expected | delivered/s in window | same-instance p50 / p95 ms | cross-instance p50 / p95 ms | all p99 ms | servers CPU % of a core | Redis CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.layout} | ${r.phase} | ${r.clients} | ${r.sent} | ${r.received} / ${r.expected} | ${f(r.deliveredPerSecond, 0)} | ${f(r.same.p50, 2)} / ${f(r.same.p95, 2)} | ${f(r.cross.p50, 2)} / ${f(r.cross.p95, 2)} | ${f(r.all.p99, 1)} | ${f(r.serverCpuPercent)} | ${f(r.redisCpuPercent)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  console.log(`\n<!-- raw: ${JSON.stringify(results)} -->`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
