/**
 * Update propagation benchmark: this sync-server (SQLite persistence + token auth on every
 * connection) side by side with the reference @y/websocket-server 0.1.1 (in memory, no auth), on
 * the same workload, in one run, loopback only:
 *   phase A: 200 documents × 3 clients, each client typing 5 updates/s
 *   phase B: 1 document × 50 clients, each typing 5 updates/s
 * Each server runs in its own child process (CPU via process.cpuUsage, RSS and heap via IPC). The
 * clients (BenchClient in bench/workload.ts: the y-websocket protocol, lean) run in this process.
 * Both servers run side by side for ROUNDS rounds (default 3), taking turns; the summary compares medians.
 *
 *   cd sync-server && npx tsx bench/propagation.ts            # 20 s per phase
 *   PHASE_SECONDS=5 npx tsx bench/propagation.ts              # quick look
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import {
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

const RATE = Number(process.env.RATE ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

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
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  const clients = await connectClients(
    [child.port],
    docCount,
    perDoc,
    (_sender, key, now) => {
      const t = sentAt.get(key);
      if (t !== undefined) {
        latencies.push(now - t);
        received++;
      }
    },
    `${kind} ${phase}`,
  );

  const cpu0 = await child.stats();
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssPeak = cpu0.rss;
  const sampler = setInterval(() => {
    void child.stats().then((s) => {
      rssPeak = Math.max(rssPeak, s.rss);
    });
  }, 1000);
  const sent = await typeFor(clients, RATE, seconds, sentAt);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = await child.stats();
  const clientCpu = process.cpuUsage(clientCpu0);
  clearInterval(sampler);
  const expected = sent * (perDoc - 1);
  await waitFor(() => received >= expected, `${kind} ${phase}: all updates delivered`, 30_000).catch(() => undefined);
  const loaded = await child.stats(true);
  const heapPerDocKB = (loaded.heapUsed - base.heapUsed) / docCount / 1024;

  await disconnectClients(clients, [child], `${kind} ${phase}: disconnected`);

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
  const results: (PhaseResult & { round: number })[] = [];
  const phases: [string, number, number][] = [
    ['A: 200 docs × 3 clients', Number(process.env.DOCS ?? 200), 3],
    ['B: 1 doc × 50 clients', 1, Number(process.env.BIG_CLIENTS ?? 50)],
  ];
  const kinds = (process.env.SERVERS ?? 'reference,pacs').split(',') as ('reference' | 'pacs')[];
  const children = new Map<'reference' | 'pacs', Child>();
  try {
    for (const kind of kinds)
      children.set(
        kind,
        await startChild(kind, serverEnv(`sqlite:${path.join(dir, 'bench.sqlite')}`), [
          '--expose-gc',
          ...(process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : []),
        ]),
      );
    // Warm-up (not reported): first connections, first queries, JIT.
    for (const [kind, child] of children) await runPhase(kind, child, 'warm-up', 10, 2, 2);
    // The servers take turns, phase by phase, the order swapped every round: a neighbour's load or
    // the machine's drift then falls on both rather than on whichever ran second.
    for (let round = 1; round <= ROUNDS; round++)
      for (const [phase, docs, perDoc] of phases)
        for (const kind of round % 2 === 1 ? kinds : [...kinds].reverse()) {
          const r = await runPhase(kind, children.get(kind)!, phase, docs, perDoc);
          results.push({ ...r, round });
          console.error(
            `round ${round} ${kind} ${phase}: p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms, CPU ${r.cpuPercent.toFixed(1)} %`,
          );
        }
  } finally {
    for (const child of children.values()) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const lines = [
    `Workload: ${RATE} updates/s per client, ${PHASE_SECONDS} s per phase, ${ROUNDS} rounds, loopback, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}.`,
    '',
    '| round | server | phase | clients | updates sent | delivered / expected | p50 ms | p95 ms | p99 ms | max ms | server CPU % of one core | server RSS peak MB | heap per loaded doc KB | client-process CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.round} | ${r.server} | ${r.phase} | ${r.clients} | ${r.sent} | ${r.received} / ${r.expected} | ${f(r.p50, 2)} | ${f(r.p95, 2)} | ${f(r.p99, 2)} | ${f(r.max, 1)} | ${f(r.cpuPercent)} | ${f(r.rssPeakMB)} | ${f(r.heapPerDocKB)} | ${f(r.clientCpuPercent)} |`,
    ),
    '',
    '| phase | median p95 ms (pacs / reference) | p95 ratio | median CPU % (pacs / reference) | CPU ratio | RSS ratio |',
    '|---|---|---|---|---|---|',
  ];
  for (const [phase] of phases) {
    const of = (server: string) => results.filter((r) => r.server === server && r.phase === phase);
    const ref = of('reference');
    const ours = of('pacs');
    if (ref.length === 0 || ours.length === 0) continue;
    const [p95Ours, p95Ref] = [median(ours.map((r) => r.p95)), median(ref.map((r) => r.p95))];
    const [cpuOurs, cpuRef] = [median(ours.map((r) => r.cpuPercent)), median(ref.map((r) => r.cpuPercent))];
    const rss = Math.max(...ours.map((r) => r.rssPeakMB)) / Math.max(...ref.map((r) => r.rssPeakMB));
    lines.push(
      `| ${phase} | ${f(p95Ours, 2)} / ${f(p95Ref, 2)} | ${f(p95Ours / p95Ref, 2)} | ${f(cpuOurs)} / ${f(cpuRef)} | ${f(cpuOurs / cpuRef, 2)} | ${f(rss, 2)} |`,
    );
  }
  return { report: lines, results };
}

runBench(main);
