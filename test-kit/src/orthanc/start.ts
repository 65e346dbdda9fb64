/**
 * A real Orthanc for tests and dev tooling: the Debian `Orthanc` binary, started with the project's
 * configuration (orthanc/config.ts + orthanc/orthanc.json) in a temporary folder, on free ports.
 *
 * Orthanc 1.10.1 has no bind-address option: it listens on 0.0.0.0 (HTTP and DICOM). Authentication
 * stays on and RemoteAccessAllowed is false (HTTP from loopback only), but the DICOM port is open to
 * the network while a test runs. CI therefore runs the test suite inside a private network namespace
 * with only loopback (`unshare --net bash -c 'ip link set lo up; …'`, arranged by the runner). This
 * helper does not depend on it: it works the same inside or outside a namespace.
 *
 * Each start gets its own ports, storage and log; stop() signals only this Orthanc's pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type OrthancSettings, type PostgresIndex, type WebhookTuning, writeOrthancConfig } from '../../../orthanc/config';

export interface StartOrthancOptions {
  /** Seconds (default 1 in tests). */
  stableAge?: number;
  /** Serve the modality worklist from this folder (Orthanc's worklist plugin); default: none. */
  worklistsDir?: string;
  /** Where the webhook script POSTs; '' (default) disables it. */
  webhookUrl?: string;
  webhookSecret?: string;
  webhook?: Partial<WebhookTuning>;
  aet?: string;
  username?: string;
  password?: string;
  /** Working folder (config, storage, log); default: a new temp folder, removed by stop(). */
  dir?: string;
  /** Keep the working folder after stop() (default: keep only a folder you passed in). */
  keepDir?: boolean;
  /** Deadline for the REST API to answer (default 20 s). */
  startTimeoutMs?: number;
  /** Pass --verbose to Orthanc (webhook LogInfo lines then reach the log). */
  verbose?: boolean;
  /** Extra environment for the Orthanc process. */
  env?: NodeJS.ProcessEnv;
  /** Keep the index in this PostgreSQL database (orthanc-postgresql) instead of Orthanc's SQLite file. */
  index?: PostgresIndex;
  /** Storage (and SQLite index) folder, e.g. one a restore filled; default: inside the working folder, removed with it. */
  storageDir?: string;
}

export interface OrthancInstance {
  /** http://127.0.0.1:<port> (no credentials, no trailing slash). */
  httpUrl: string;
  httpPort: number;
  dicomPort: number;
  aet: string;
  username: string;
  password: string;
  storageDir: string;
  dir: string;
  configFile: string;
  logFile: string;
  pid: number;
  /** Authorization header value for Orthanc's REST API. */
  authorization: string;
  /** fetch() against Orthanc's REST API with credentials. */
  request(pathname: string, init?: RequestInit): Promise<Response>;
  /** GET + JSON (throws on a non-2xx status). */
  getJson<T = unknown>(pathname: string): Promise<T>;
  /** The log so far (for assertions and failure messages). */
  log(): Promise<string>;
  /** True while the process runs. */
  running(): boolean;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** The API's settings for talking to this Orthanc (the reconciler left to the webhook and the test). */
export function apiEnvFor(orthanc: Pick<OrthancInstance, 'httpUrl' | 'username' | 'password'>): Record<string, string> {
  return {
    PACS_ORTHANC_URL: orthanc.httpUrl,
    PACS_ORTHANC_USER: orthanc.username,
    PACS_ORTHANC_PASSWORD: orthanc.password,
    PACS_RECONCILE_INTERVAL_SECONDS: '3600',
  };
}

/** A port that was free a moment ago (the OS picks it; race-prone by nature, so start retries). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Polls `check` until it returns a value other than undefined/false, or throws at the deadline. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

class PortInUseError extends Error {}

const running = new Set<ChildProcess>();

/**
 * If this test process dies without stop() (a killed vitest worker runs no 'exit' handler), a detached
 * shell terminates this Orthanc within a second or so. It polls both pids and ends with either.
 */
function watchdog(orthancPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${orthancPid} 2>/dev/null; do sleep 1; done; kill -0 ${process.pid} 2>/dev/null || kill -TERM ${orthancPid} 2>/dev/null; exit 0`;
  const guard = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  guard.on('error', () => {});
  guard.unref();
}
process.once('exit', () => {
  // Last resort if a test run dies without calling stop(): only our own children.
  for (const child of running) child.kill('SIGKILL');
});

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function startOnce(options: StartOrthancOptions, dir: string, attempt: number): Promise<OrthancInstance> {
  const httpPort = await freePort();
  let dicomPort = await freePort();
  while (dicomPort === httpPort) dicomPort = await freePort();
  const settings: OrthancSettings = {
    httpPort,
    dicomPort,
    aet: options.aet ?? 'ORTHANC',
    username: options.username ?? 'pacs-test',
    password: options.password ?? `test-${Math.random().toString(36).slice(2)}`,
    storageDir: options.storageDir ?? path.join(dir, `storage-${attempt}`),
    stableAge: options.stableAge ?? 1,
    webhookUrl: options.webhookUrl ?? '',
    webhookSecret: options.webhookSecret ?? '',
    remoteAccessAllowed: false,
    pluginsDir: process.env.PACS_ORTHANC_PLUGINS_DIR || '/usr/share/orthanc/plugins',
    webhook: options.webhook,
    worklistsDir: options.worklistsDir,
    index: options.index,
  };
  const configFile = await writeOrthancConfig(settings, path.join(dir, 'orthanc.json'));
  const logFile = path.join(dir, `orthanc-${attempt}.log`);
  await writeFile(logFile, '');
  const args = [`--logfile=${logFile}`, ...(options.verbose ? ['--verbose'] : []), configFile];
  const child = spawn('Orthanc', args, {
    cwd: dir,
    env: { ...process.env, ...options.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const spawned = await Promise.race([
    once(child, 'spawn').then(() => true),
    once(child, 'error').then(([error]) => {
      throw new Error(`cannot start Orthanc (is the Debian package "orthanc" installed?): ${(error as Error).message}`);
    }),
  ]);
  if (!spawned || child.pid === undefined) throw new Error('Orthanc did not start');
  running.add(child);
  watchdog(child.pid);
  let exited = false;
  const exitPromise = once(child, 'exit').then(() => {
    exited = true;
    running.delete(child);
  });

  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  const request = (pathname: string, init: RequestInit = {}) =>
    fetch(`${httpUrl}${pathname}`, {
      ...init,
      headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
      signal: init.signal ?? AbortSignal.timeout(30_000),
    });

  let stopped: Promise<void> | undefined;
  const ownsDir = options.dir === undefined;
  const terminate = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
  };
  const stop = () => {
    stopped ??= (async () => {
      await terminate();
      if (ownsDir && !options.keepDir) await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const ready = await waitFor(
      async () => {
        if (exited) return 'exited';
        const response = await fetch(`${httpUrl}/system`, { headers: { authorization }, signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        // 401: up, but our credentials were not registered as written (no point in waiting).
        return response.status === 200 ? 'ready' : response.status === 401 ? 'unauthorized' : false;
      },
      { timeoutMs: options.startTimeoutMs ?? 20_000, intervalMs: 50, what: 'Orthanc REST API' },
    ).catch(async (error: unknown) => {
      const log = await tail(logFile);
      const message = `Orthanc did not become ready: ${(error as Error).message}\n${stderr}\n${log}`;
      throw /port of the (HTTP|DICOM) server is privileged or already in use/.test(log) ? new PortInUseError(message) : new Error(message);
    });
    if (ready === 'exited') {
      await exitPromise;
      const log = await tail(logFile);
      const message = `Orthanc exited during start-up\n${stderr}\n${log}`;
      throw /port of the (HTTP|DICOM) server is privileged or already in use/.test(log) ? new PortInUseError(message) : new Error(message);
    }
    if (ready === 'unauthorized') throw new Error('Orthanc answers 401 to the configured credentials');
    // DICOM listens before HTTP in Orthanc's start sequence; check anyway (cheap, and catches a port clash).
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(dicomPort, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      { timeoutMs: 5000, what: 'Orthanc DICOM port' },
    );
  } catch (error) {
    await terminate(); // startOrthanc removes the folder (or retries in it)
    throw error;
  }

  return {
    httpUrl,
    httpPort,
    dicomPort,
    aet: settings.aet,
    username: settings.username,
    password: settings.password,
    storageDir: settings.storageDir,
    dir,
    configFile,
    logFile,
    pid: child.pid,
    authorization,
    request,
    async getJson<T>(pathname: string) {
      const response = await request(pathname);
      const text = await response.text();
      if (!response.ok) throw new Error(`GET ${pathname}: HTTP ${response.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    },
    log: () => readFile(logFile, 'utf8'),
    running: () => !exited,
    stop,
  };
}

/** Starts a real Orthanc and resolves once its REST API answers. Retries on a port clash. */
export async function startOrthanc(options: StartOrthancOptions = {}): Promise<OrthancInstance> {
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'pacs-orthanc-')));
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(options, dir, attempt);
    } catch (error) {
      lastError = error;
      // Only a lost port race is worth retrying (Orthanc: "The TCP port of the … server is privileged or already in use").
      if (!(error instanceof PortInUseError)) break;
    }
  }
  if (options.dir === undefined && !options.keepDir) await rm(dir, { recursive: true, force: true });
  throw lastError;
}
