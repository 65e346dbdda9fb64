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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startRedis } from '../../scripts/redis.mjs';
import {
  type BenchClient,
  type Child,
  connectClients,
  disconnectClients,
  PHASE_SECONDS,
  percentile,
  runBench,
  serverEnv,
  startChild,
  typeFor,
  waitFor,
} from './workload';

/** CPU seconds a process has used (utime + stime from /proc). */
function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
  const sentAt = new Map<string, number>();
  const same: number[] = [];
  const cross: number[] = [];
  let received = 0;
  let receivedInWindow = 0;
  let windowOpen = false;
  const onMarker = (sender: number, key: string, now: number, receiver: BenchClient) => {
    const t = sentAt.get(key);
    if (t === undefined) return;
    // Client ids are their index in `clients`.
    (clients[sender]!.instance === receiver.instance ? same : cross).push(now - t);
    received++;
    if (windowOpen) receivedInWindow++;
  };
  const clients = await connectClients(
    servers.map((s) => s.port),
    docCount,
    perDoc,
    onMarker,
    `${layout} ${phase}`,
  );
  // Let the joins settle (load-time resync between instances) before measuring.
  await new Promise((r) => setTimeout(r, 500));

  const cpu0 = await Promise.all(servers.map((s) => s.stats()));
  const redis0 = redisPid ? procCpuSeconds(redisPid) : 0;
  const t0 = performance.now();
  windowOpen = true;
  const sent = await typeFor(clients, rate, seconds, sentAt);
  windowOpen = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await Promise.all(servers.map((s) => s.stats()));
  const redis1 = redisPid ? procCpuSeconds(redisPid) : 0;
  const expected = sent * (perDoc - 1);
  await waitFor(() => received >= expected, `${layout} ${phase}: all updates delivered`, 30_000).catch(() => undefined);

  await disconnectClients(clients, servers, 'disconnected');

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
      const base = serverEnv(`sqlite:${path.join(dir, `${layout}.sqlite`)}`, { PACS_SYNC_MAX_MESSAGES_PER_SECOND: '1000' });
      // Start one after the other: the first creates the tables.
      const servers: Child[] = [];
      if (layout === 'one') servers.push(await startChild('pacs', base));
      else for (let i = 0; i < 2; i++) servers.push(await startChild('pacs', { ...base, PACS_SYNC_REDIS_URL: redis.url }));
      const redisPid = layout === 'one' ? null : redis.proc.pid!;
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
    await redis.kill();
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
  return { report: lines, results };
}

runBench(main);
