/** Shared pieces of the API benchmarks: a server in its own process, and autocannon with exact percentiles. */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { processTable, processTree } from '../../scripts/process-table.mjs';

const API_DIR = path.resolve(import.meta.dirname, '..');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `src/server.ts` in a child process (so load generator and server do not share a core). */
export async function startServer(env: Record<string, string>, port: number): Promise<ServerProcess> {
  // PACS_BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.PACS_BENCH_CPU_PROF;
  const args = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`, 'src/server.ts'] : ['src/server.ts'];
  const child = spawn(path.join(API_DIR, '..', 'node_modules', '.bin', 'tsx'), args, {
    cwd: API_DIR,
    // Benchmarks sign in as admin with a password alone.
    env: {
      ...process.env,
      PACS_API_HOST: '127.0.0.1',
      PACS_API_PORT: String(port),
      PACS_LOG_LEVEL: 'info',
      PACS_MFA_REQUIRED_ROLES: 'none',
      ...env,
    },
    // Logs at the production level are written (pino's cost is part of the figure) and discarded.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('server did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The API's settings for a benchmark: its data folder and database, development mode, and the real sync-server when given. */
export function benchApiEnv(dir: string, databaseUrl: string, sync?: { url: string; serviceToken: string; documentSecret: string }) {
  return {
    DATABASE_URL: databaseUrl,
    PACS_ENV: 'development',
    PACS_JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    PACS_DATA_DIR: dir,
    PACS_LOGIN_RATE_PER_MINUTE: '1000',
    ...(sync
      ? { PACS_SYNC_URL: sync.url, PACS_SYNC_SERVICE_TOKEN: sync.serviceToken, PACS_DOCUMENT_TOKEN_SECRET: sync.documentSecret }
      : {}),
  };
}

export interface LoadResult {
  title: string;
  /** CPU the server's processes spent per request (ms), when `cpuOf` was given: unlike latency, barely moved by other work on the machine. */
  cpuPerRequest?: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * CPU seconds used so far by process `pid` and its descendants (the server runs under tsx, which
 * starts node as a child), from /proc; NaN where there is none.
 */
export function cpuSeconds(pid: number): number {
  const table = processTable();
  if (!table) return Number.NaN;
  const tree = processTree(table, pid);
  return table.filter((member) => tree.has(member.pid)).reduce((sum, member) => sum + member.cpuSeconds, 0);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function load(
  title: string,
  options: {
    url: string;
    headers?: Record<string, string>;
    connections?: number;
    duration?: number;
    paths?: string[];
    /** Send exactly this many requests instead of running for `duration` (each of `paths` once, say). */
    amount?: number;
    /** Seconds before a request counts as an error (autocannon's default: 10). */
    timeout?: number;
    /** The server's pid: its CPU per request is reported too. */
    cpuOf?: number;
  },
): Promise<LoadResult> {
  const cpuBefore = options.cpuOf ? cpuSeconds(options.cpuOf) : Number.NaN;
  const latencies: number[] = [];
  const paths = options.paths ?? [];
  let next = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        headers: options.headers,
        connections: options.connections ?? 50,
        ...(options.timeout ? { timeout: options.timeout } : {}),
        ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
        // Distinct paths round-robin: each request asks something no cache has seen recently.
        ...(options.paths
          ? {
              requests: [
                {
                  setupRequest: (request: autocannon.Request) => {
                    request.path = paths[next]!;
                    next = (next + 1) % paths.length;
                    return request;
                  },
                },
              ],
            }
          : {}),
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  latencies.sort((a, b) => a - b);
  const cpu = options.cpuOf ? cpuSeconds(options.cpuOf) - cpuBefore : Number.NaN;
  return {
    title,
    ...(Number.isFinite(cpu) ? { cpuPerRequest: (cpu * 1000) / Math.max(1, result.requests.total) } : {}),
    requests: result.requests.total,
    // A fixed amount may take a few seconds only: per-second samples would round it badly.
    rps: options.amount ? Math.round((result.requests.total / result.duration) * 10) / 10 : Math.round(result.requests.average),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
}

export function table(results: LoadResult[]): string {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  const cpu = results.some((r) => r.cpuPerRequest !== undefined);
  const rows = results.map(
    (r) =>
      `| ${r.title} | ${r.rps} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.non2xx} | ${r.errors} |${cpu ? ` ${r.cpuPerRequest?.toFixed(3) ?? 'n/a'} |` : ''}`,
  );
  const head = `| request | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors |${cpu ? ' server CPU ms/request |' : ''}`;
  return [head, `|---|---|---|---|---|---|---|${cpu ? '---|' : ''}`, ...rows].join('\n');
}
