/**
 * The whole system as `npm start` runs it (scripts/start.mjs): Orthanc, the API, the sync-server
 * and the gateway as the one origin, under the same supervisor and with the same environment, on
 * a temporary data directory and free ports. `--db postgres` adds a throwaway PostgreSQL for both
 * services; layout `two` runs two API and two sync-server instances behind the gateway, sharing
 * Redis and PostgreSQL.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serviceUpstreams } from '../../../scripts/gateway.mjs';
import { freePort, startPostgres } from '../../../scripts/postgres.mjs';
import { startRedis } from '../../../scripts/redis.mjs';
import { developmentSecrets, sharedEnvironment, waitForHealth } from '../../../scripts/start.mjs';
import { createSupervisor } from '../../../scripts/supervisor.mjs';
import { listProcesses } from './proc';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

export interface SystemOptions {
  db: 'sqlite' | 'postgres';
  layout: 'one' | 'two';
  log: (line: string) => void;
  /** The services' own output goes to files here (they log no patient data). */
  logDir: string;
}

/** A process (group) whose memory and CPU the sampler reads. */
export interface Watched {
  name: string;
  /** The pids to read now (a supervised service's group, PostgreSQL's postmaster and backends). */
  pids(): number[];
}

export interface System {
  url: string;
  dataDir: string;
  orthanc: { aet: string; dicomPort: number };
  watched: Watched[];
  stop(): Promise<void>;
}

/** The members of process group `pgid` (a supervised service and what it started). */
function groupOf(pgid: number | undefined): number[] {
  if (pgid === undefined) return [];
  return listProcesses()
    .filter((p) => p.pgrp === pgid)
    .map((p) => p.pid);
}

export async function startSystem({ db, layout, log, logDir }: SystemOptions): Promise<System> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-soak-'));
  const instances = layout === 'two' ? 2 : 1;
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dataDir, { recursive: true, force: true })];
  const watched: Watched[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const extra: Record<string, string> = {};
    const syncExtra: Record<string, string> = {};
    if (db === 'postgres' || layout === 'two') {
      const pg = await startPostgres();
      cleanups.push(() => pg.stop());
      extra.DATABASE_URL = pg.url;
      const port = Number(new URL(pg.url).port);
      watched.push({ name: 'postgresql', pids: () => postgresPids(port) });
    }
    if (layout === 'two') {
      const redis = await startRedis();
      cleanups.push(() => redis.kill());
      extra.PACS_REDIS_URL = redis.url;
      syncExtra.PACS_SYNC_REDIS_URL = redis.url;
      watched.push({ name: 'redis', pids: () => (redis.proc.pid ? [redis.proc.pid] : []) });
    }
    const ports = {
      gateway: await freePort(),
      orthancHttp: await freePort(),
      dicom: await freePort(),
      api: [await freePort(), await freePort()].slice(0, instances),
      sync: [await freePort(), await freePort()].slice(0, instances),
      hl7: [await freePort(), await freePort()].slice(0, instances),
    };
    const secrets = developmentSecrets(dataDir);
    const shared = sharedEnvironment({
      dataDir,
      secrets,
      apiPort: ports.api[0]!,
      syncPort: ports.sync[0]!,
      orthancHttpPort: ports.orthancHttp,
      dicomPort: ports.dicom,
    });
    // With two API instances Orthanc's stable-study webhook goes through the gateway like any
    // other request, so either instance may take it.
    if (instances === 2) shared.PACS_WEBHOOK_URL = `http://127.0.0.1:${ports.gateway}/api/ingest/orthanc`;
    const supervisor = createSupervisor({ log: (line) => log(line), childUmask: 0o077 });
    cleanups.push(() => supervisor.stop());
    const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
    const startService = (name: string, args: string[], env: Record<string, string>, cwd = ROOT) => {
      const out = openSync(path.join(logDir, `${name}.log`), 'a');
      supervisor.start(name, tsx, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
      watched.push({ name, pids: () => groupOf(supervisor.pid(name)) });
    };

    startService('orthanc', [path.join('orthanc', 'run.ts')], { ...shared, TCP_NODELAY: '1' });
    const orthancAuth = `Basic ${Buffer.from(`pacs-api:${shared.PACS_ORTHANC_PASSWORD}`).toString('base64')}`;
    await waitForHealth(supervisor, `http://127.0.0.1:${ports.orthancHttp}/system`, 30_000, { authorization: orthancAuth });

    for (let i = 0; i < instances; i += 1) {
      const suffix = instances === 2 ? `-${i + 1}` : '';
      startService(
        `api${suffix}`,
        ['src/server.ts'],
        {
          ...shared,
          ...extra,
          PACS_API_HOST: '127.0.0.1',
          PACS_API_PORT: String(ports.api[i]),
          PACS_JWT_SECRET: secrets.jwtSecret!,
          PACS_TRUST_PROXY: 'true',
          PACS_HL7_PORT: String(ports.hl7[i]),
          // Each API instance asks the sync-server next to it; documents are shared through Redis.
          PACS_SYNC_URL: `http://127.0.0.1:${ports.sync[i]}`,
          // The 200 simulated users all sign in from 127.0.0.1 within a minute; a hospital's users
          // come from many addresses. The per-address login limit is the documented setting, raised
          // here only so it does not refuse the benchmark's own sign-ins (account lock-out stays).
          PACS_LOGIN_RATE_PER_MINUTE: '10000',
          // As the API benchmarks do: the simulated users sign in with a password alone.
          PACS_MFA_REQUIRED_ROLES: 'none',
          PACS_LOG_LEVEL: 'warn',
        },
        path.join(ROOT, 'api'),
      );
      startService(
        `sync-server${suffix}`,
        ['src/server.ts'],
        {
          ...shared,
          ...(extra.DATABASE_URL ? { DATABASE_URL: extra.DATABASE_URL } : {}),
          ...syncExtra,
          PACS_SYNC_HOST: '127.0.0.1',
          PACS_SYNC_PORT: String(ports.sync[i]),
          PACS_LOG_LEVEL: 'warn',
        },
        path.join(ROOT, 'sync-server'),
      );
    }
    for (const port of ports.api) await waitForHealth(supervisor, `http://127.0.0.1:${port}/health/live`, 120_000);
    for (const port of ports.sync) await waitForHealth(supervisor, `http://127.0.0.1:${port}/health`, 120_000);

    const api = ports.api.map((port) => ({ host: '127.0.0.1', port }));
    const gateway = await startGatewayChild({
      port: ports.gateway,
      host: '127.0.0.1',
      webRoot: path.join(ROOT, 'web', 'dist'),
      upstreams: serviceUpstreams(
        api,
        ports.sync.map((port) => ({ host: '127.0.0.1', port })),
      ),
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          gateway.once('exit', () => resolve());
          gateway.kill('SIGTERM');
        }),
    );
    watched.push({ name: 'gateway', pids: () => (gateway.pid ? [gateway.pid] : []) });
    const url = `http://127.0.0.1:${ports.gateway}`;
    for (;;) {
      const ready = await fetch(`${url}/health/ready`).catch(() => null);
      if (ready?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { url, dataDir, orthanc: { aet: 'ORTHANC', dicomPort: ports.dicom }, watched, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startGatewayChild(options: unknown): Promise<ChildProcess> {
  const child = fork(path.join(import.meta.dirname, 'gateway-child.ts'), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
    child.once('message', () => resolve(child));
  });
}

/** The postmaster listening on `port` (its command line carries the port) and its backends. */
function postgresPids(port: number): number[] {
  const all = listProcesses();
  const master = all.find((p) => p.comm === 'postgres' && p.cmdline.includes(`port=${port}`));
  if (!master) return [];
  return [master.pid, ...all.filter((p) => p.ppid === master.pid).map((p) => p.pid)];
}
