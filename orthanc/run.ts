/**
 * Runs Orthanc from the OS packages for development: writes the configuration from the PACS_*
 * variables (orthanc/config.ts), starts `Orthanc` with TCP_NODELAY=1, waits until its REST API
 * answers, forwards SIGINT/SIGTERM to that one process and exits with it.
 *
 *   tsx orthanc/run.ts            # config: $PACS_DATA_DIR/orthanc.json, log: $PACS_DATA_DIR/logs/orthanc.log
 *
 * Programmatic use (e.g. the start command): `launchOrthanc(settingsFromEnv(), { dataDir })`.
 * Orthanc 1.10 listens on 0.0.0.0 (no bind option); RemoteAccessAllowed stays off unless
 * PACS_ORTHANC_REMOTE_ACCESS=true, so HTTP only answers loopback clients, and auth is always on.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OrthancSettings, REPO_ROOT, settingsFromEnv, writeOrthancConfig } from './config';

export const DEBIAN_PACKAGES = ['orthanc', 'orthanc-dicomweb', 'orthanc-python', 'orthanc-gdcm', 'dcmtk'] as const;
export const INSTALL_COMMAND = `apt-get update && apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`;

/** What is missing to run Orthanc with this configuration (empty when ready). */
export function missingPieces(settings: Pick<OrthancSettings, 'pluginsDir'>): string[] {
  const missing: string[] = [];
  if (spawnSync('Orthanc', ['--version'], { stdio: 'ignore' }).error) missing.push('Orthanc (package orthanc)');
  if (!existsSync(path.join(settings.pluginsDir, 'libOrthancDicomWeb.so'))) missing.push('DICOMweb plugin (package orthanc-dicomweb)');
  if (!existsSync(path.join(settings.pluginsDir, 'libOrthancPython.so'))) missing.push('Python plugin (package orthanc-python)');
  if (!existsSync(path.join(settings.pluginsDir, 'libOrthancGdcm.so'))) missing.push('GDCM codecs plugin (package orthanc-gdcm)');
  return missing;
}

export interface LaunchedOrthanc {
  child: ChildProcess;
  pid: number;
  configFile: string;
  logFile: string;
  httpUrl: string;
  /** Resolves when GET /system answers 200 with the configured credentials. */
  ready: Promise<void>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** SIGTERM to this pid only; SIGKILL after graceMs (default 15 s). */
  stop(graceMs?: number): Promise<number | null>;
}

export async function launchOrthanc(
  settings: OrthancSettings,
  options: { dataDir?: string; configFile?: string; logFile?: string; verbose?: boolean; readyTimeoutMs?: number } = {},
): Promise<LaunchedOrthanc> {
  const dataDir = path.resolve(options.dataDir ?? process.env.PACS_DATA_DIR ?? path.join(REPO_ROOT, 'data'));
  const configFile = await writeOrthancConfig(settings, options.configFile ?? path.join(dataDir, 'orthanc.json'));
  const logFile = options.logFile ?? path.join(dataDir, 'logs', 'orthanc.log');
  await mkdir(path.dirname(logFile), { recursive: true });
  await (await open(logFile, 'a')).close();
  const child = spawn('Orthanc', [`--logfile=${logFile}`, ...(options.verbose ? ['--verbose'] : []), configFile], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot start Orthanc: ${error.message}. Install it with: ${INSTALL_COMMAND}`)));
  });
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  const httpUrl = `http://127.0.0.1:${settings.httpPort}`;
  const authorization = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
  const ready = (async () => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (done) throw new Error(`Orthanc exited during start-up; see ${logFile}`);
      try {
        const response = await fetch(`${httpUrl}/system`, { headers: { authorization }, signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
        if (response.status === 401)
          throw new Error(`Orthanc on ${httpUrl} refuses the configured credentials (another Orthanc on that port?)`);
      } catch (error) {
        if (error instanceof Error && error.message.includes('refuses')) throw error;
      }
      if (Date.now() > deadline) throw new Error(`Orthanc did not answer on ${httpUrl} in time; see ${logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  ready.catch(() => {}); // observed by the caller; avoid an unhandled rejection if it is not
  const stop = async (graceMs = 15_000) => {
    if (!done) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  return { child, pid: child.pid!, configFile, logFile, httpUrl, ready, exited, stop };
}

async function main(): Promise<void> {
  const settings = settingsFromEnv();
  const missing = missingPieces(settings);
  if (missing.length > 0) {
    process.stderr.write(`Missing: ${missing.join(', ')}.\nOn Debian/Ubuntu, as root: ${INSTALL_COMMAND}\n`);
    process.exitCode = 1;
    return;
  }
  const orthanc = await launchOrthanc(settings, { verbose: process.argv.includes('--verbose') });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void orthanc.stop());
  try {
    await orthanc.ready;
    process.stdout.write(
      `Orthanc ready: REST ${orthanc.httpUrl} (user ${settings.username}), DICOM ${settings.aet}@${settings.dicomPort}, log ${orthanc.logFile}\n`,
    );
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    await orthanc.stop();
    process.exitCode = 1;
    return;
  }
  process.exitCode = (await orthanc.exited) ?? 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
