/**
 * A release of this repository run the way a one-host installation runs it: its own tree (a tagged
 * release as `git archive` gives it, or this checkout), started with `node scripts/pacs.mjs start`
 * (`npm start`) on a data directory and ports of the test's, stopped with SIGTERM as an operator's
 * Ctrl-C or service manager would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { freePort } from '../../scripts/postgres.mjs';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** A release: its tag, and the commit the tag names (a clone that did not fetch tags still has the commit). */
export interface Release {
  tag: string;
  commit: string;
}

/** Writes the tree of `release` into `dir`; the tag must name its commit where the tag exists. */
export function extractRelease(release: Release, dir: string): void {
  const tagged = spawnSync('git', ['rev-parse', '--verify', '--quiet', `refs/tags/${release.tag}^{commit}`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (tagged.status === 0 && tagged.stdout.trim() !== release.commit)
    throw new Error(`the tag ${release.tag} names ${tagged.stdout.trim()}, not the release's ${release.commit}`);
  const archive = spawnSync('git', ['archive', '--format=tar', release.commit], { cwd: ROOT, maxBuffer: 1 << 30 });
  if (archive.status !== 0)
    throw new Error(
      `git archive ${release.tag} (${release.commit}) failed, a shallow clone? (git fetch --unshallow --tags): ${archive.stderr}`,
    );
  const unpacked = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout, encoding: 'utf8' });
  if (unpacked.status !== 0) throw new Error(`unpacking ${release.tag} failed: ${unpacked.stderr}`);
}

/** Every port `npm start` listens on, so a release under test meets nothing else on the machine. */
export interface Ports {
  http: number;
  api: number;
  sync: number;
  orthancHttp: number;
  dicom: number;
  hl7: number;
}

export async function freePorts(): Promise<Ports> {
  return {
    http: await freePort(),
    api: await freePort(),
    sync: await freePort(),
    orthancHttp: await freePort(),
    dicom: await freePort(),
    hl7: await freePort(),
  };
}

export interface RunningRelease {
  baseUrl: string;
  /** What this start has logged so far (services' logs carry no patient data). */
  log(): string;
  /** SIGTERM, then waits for a clean exit; throws if it does not come. */
  stop(): Promise<void>;
}

const STOP_MS = 60_000;

const tail = (text: string) => text.split('\n').slice(-40).join('\n');

/**
 * Starts the release in `root` on `dataDir` and resolves once its gateway answers the API's
 * readiness; `readyWithinMs` covers what the start does first (install node modules, build the
 * web app when it has not been built).
 */
export async function startRelease(
  root: string,
  dataDir: string,
  ports: Ports,
  logFile: string,
  readyWithinMs: number,
): Promise<RunningRelease> {
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [path.join(root, 'scripts', 'pacs.mjs'), 'start'], {
      cwd: root,
      // Its own process group, so SIGTERM reaches it and whatever it is running in the foreground
      // (an install, a build); its services are in groups of their own, which it stops itself.
      detached: true,
      stdio: ['ignore', out, out],
      // Only what an operator's shell would hand it: none of the test runner's variables.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        PACS_DATA_DIR: dataDir,
        PACS_HTTP_PORT: String(ports.http),
        PACS_API_PORT: String(ports.api),
        PACS_SYNC_PORT: String(ports.sync),
        PACS_ORTHANC_HTTP_PORT: String(ports.orthancHttp),
        PACS_DICOM_PORT: String(ports.dicom),
        PACS_HL7_PORT: String(ports.hl7),
      },
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log = () => readFileSync(logFile, 'utf8');
  const baseUrl = `http://127.0.0.1:${ports.http}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    const code = await Promise.race([exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_MS).unref())]);
    if (code === 'late') {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`${root} did not stop within ${STOP_MS / 1000} s of SIGTERM:\n${tail(log())}`);
    }
    if (code !== 0) throw new Error(`${root} stopped with exit code ${code}:\n${tail(log())}`);
  };

  // Polled rather than waited on with waitFor: a release that exits (a refused start) fails at once.
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    let problem: string | undefined;
    if (child.exitCode !== null || child.signalCode !== null)
      problem = `exited (${child.exitCode ?? child.signalCode}) before it was ready`;
    else if (
      await fetch(`${baseUrl}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    else if (Date.now() > deadline) problem = `was not ready within ${readyWithinMs / 1000} s`;
    if (problem) {
      await stop().catch(() => undefined);
      throw new Error(`the release in ${root} ${problem}:\n${tail(log())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { baseUrl, log, stop };
}

const SQLITE_OPEN_READONLY = 1;

/** Runs `read` against the SQLite database of `npm start`'s data directory, opened read-only. */
export async function readDatabase<T>(dataDir: string, read: (select: <R>(sql: string) => Promise<R[]>) => Promise<T>): Promise<T> {
  const sequelize = new Sequelize({
    dialect: 'sqlite',
    storage: path.join(dataDir, 'pacs.sqlite'),
    logging: false,
    dialectOptions: { mode: SQLITE_OPEN_READONLY },
  });
  try {
    return await read(<R>(sql: string) => sequelize.query(sql, { type: QueryTypes.SELECT }) as Promise<R[]>);
  } finally {
    await sequelize.close();
  }
}
