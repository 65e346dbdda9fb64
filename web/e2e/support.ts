/** E2E support: start/stop the system under test, the browser, seeding, API calls and axe-core. */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const WEB = path.resolve(import.meta.dirname, '..');
const ROOT = path.resolve(WEB, '..');

/** The built app under test; PACS_WEB_DIST lets parallel work build and test its own copy. */
export const WEB_DIST = process.env.PACS_WEB_DIST ?? path.join(WEB, 'dist');

// One definition of how Debian's Chromium is launched here, shared with the API's browser tests.
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@pacs/test-kit/browser';
import type { StudySpec } from '@pacs/test-kit/demo-studies';

export { CHROMIUM_ARGS, CHROMIUM_PATH };

export const ADMIN = { email: 'admin@pacs.local', password: 'pacs-admin-dev-password' };
export const RADIOLOGIST = { email: 'radiologist@pacs.local', password: 'pacs-radiologist-dev-password' };
/** The seeded demo resident (development mode). */
export const RESIDENT = { email: 'resident@pacs.local', password: 'pacs-resident-dev-password' };

export interface DicomStudy {
  id: string;
  studyInstanceUid: string;
  series: { seriesInstanceUid: string; instances: number; description: string }[];
  files: number;
}

export interface OrthancInfo {
  httpUrl: string;
  username: string;
  password: string;
  dicomPort: number;
  aet: string;
}

export interface System {
  url: string;
  pid: number;
  seed(seed: Record<string, unknown>): Promise<{ id: string; version: number }>;
  seedMany(count: number, seed?: Record<string, unknown>): Promise<void>;
  /** The database backed up while the system runs (SQLite online backup); answers the file. */
  backup(): Promise<{ file: string }>;
  /** The restore procedure: API and sync-server stopped, the backup put in place, a new database epoch, both started again. */
  restore(file: string): Promise<{ epoch: string }>;
  /** The API and the sync-server stopped and started again on their ports (a server restart). */
  restartServers(): Promise<void>;
  /** Benchmarks: `count` studies straight into the database, arrived over the last `hours` hours, statuses in rotation. */
  seedBulk(count: number, hours: number): Promise<void>;
  /** Generated DICOM stored into the real Orthanc and ingested (only with `orthanc: true`). */
  storeStudy(spec: StudySpec, seed?: number): Promise<DicomStudy>;
  /** Study `index` of the demo set (the test kit's demo studies) stored into Orthanc and ingested (only with `orthanc: true`). */
  storeDemoStudy(index: number, seed?: number): Promise<DicomStudy & { patientName: string; description: string }>;
  /** Serve another build from now on (same origin): a "new version" for the update prompt. */
  useWebRoot(dir: string): Promise<void>;
  /** Orthanc's loopback URL and credentials (only with `orthanc: true`). */
  orthancInfo(): Promise<OrthancInfo>;
  /** Ingests a study the test stored into Orthanc itself; answers the API's study id. */
  ingestStudy(studyInstanceUid: string): Promise<{ id: string; orthancId: string }>;
  /** An HL7 v2 message through the API's inbound pipeline (as over MLLP); answers the ACK's text. */
  hl7(message: string): Promise<string>;
  /** An undeliverable result in the outbox (for the admin view). */
  deadResult(patientId: string): Promise<{ id: number }>;
  /** With `sso: true`: adds or changes an account at the OpenID provider, or makes it misbehave. */
  idp(change: { account?: IdpAccount; tamper?: 'none' | 'id-token-audience' }): Promise<{ issuer: string }>;
  /** Stops the sync-server (SIGTERM, or SIGKILL with `crash`) and starts it again (only with `sync: true`). */
  restartSync(options?: { crash?: boolean }): Promise<void>;
  /**
   * The device loses the server ("down": the gateway refuses connections and cuts open ones) or
   * gets it back ("up"), for browsers whose driver cannot set them offline (WebKit).
   */
  network(state: 'down' | 'up'): Promise<void>;
  stop(): Promise<void>;
}

export interface IdpAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
  active?: boolean;
}

/**
 * Builds web/dist if missing, then starts API + gateway (e2e/server.mjs) on free ports; with
 * `orthanc: true` also a real Orthanc behind the API (PACS_E2E_ORTHANC=1); with `sync: true` the
 * real sync-server behind `/sync` (PACS_E2E_SYNC=1).
 */
export async function startSystem(
  options: { orthanc?: boolean; sync?: boolean; sso?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<System> {
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
    const build = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--outDir', WEB_DIST, '--emptyOutDir'], {
      cwd: WEB,
      stdio: 'inherit',
    });
    if (build.status !== 0) throw new Error('vite build failed');
  }
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const child: ChildProcessWithoutNullStreams = spawn(tsx, [path.join(WEB, 'e2e', 'server.mjs')], {
    cwd: path.join(ROOT, 'api'),
    env: {
      ...process.env,
      ...options.env,
      PACS_WEB_DIST: WEB_DIST,
      PACS_LOG_LEVEL: 'warn',
      ...(options.orthanc ? { PACS_E2E_ORTHANC: '1' } : {}),
      ...(options.sync ? { PACS_E2E_SYNC: '1' } : {}),
      ...(options.sso ? { PACS_E2E_SSO: '1' } : {}),
    },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.E2E_VERBOSE) process.stderr.write(chunk);
  });
  const waiting = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const ready = new Promise<{ url: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`e2e server exited early (${code}): ${stderr}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as { url: string });
      const done = /^DONE (\d+) (.*)$/.exec(line);
      if (done) waiting.get(Number(done[1]))?.(JSON.parse(done[2]!));
    });
  });
  const { url } = await ready;
  const command = (body: Record<string, unknown>) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (value) => {
        waiting.delete(id);
        const error = (value as { error?: string } | null)?.error;
        if (error) reject(new Error(error));
        else resolve(value);
      });
      child.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  // wait until the API behind the gateway is ready
  for (;;) {
    const response = await fetch(`${url}/health/ready`).catch(() => null);
    if (response?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    seed: (seed) => command({ seed }) as Promise<{ id: string; version: number }>,
    seedMany: async (count, seed) => {
      await command({ seedMany: { count, seed } });
    },
    backup: () => command({ backup: true }) as Promise<{ file: string }>,
    restore: (file) => command({ restore: { file } }) as Promise<{ epoch: string }>,
    restartServers: async () => {
      await command({ restartServers: true });
    },
    seedBulk: async (count, hours) => {
      await command({ seedBulk: { count, hours } });
    },
    storeStudy: (spec, seed = 1) => command({ dicomStudy: { spec, seed } }) as Promise<DicomStudy>,
    storeDemoStudy: (index, seed = 1) =>
      command({ demoStudy: { index, seed } }) as Promise<DicomStudy & { patientName: string; description: string }>,
    useWebRoot: async (dir) => {
      await command({ useWebRoot: dir });
    },
    restartSync: async (restart = {}) => {
      await command({ restartSync: { crash: restart.crash ?? false } });
    },
    orthancInfo: () => command({ orthancInfo: true }) as Promise<OrthancInfo>,
    idp: (change) => command({ idp: change }) as Promise<{ issuer: string }>,
    hl7: async (message) => ((await command({ hl7: message })) as { ack: string }).ack,
    deadResult: (patientId) => command({ deadResult: { patientId } }) as Promise<{ id: number }>,
    ingestStudy: (studyInstanceUid) => command({ ingestStudy: { studyInstanceUid } }) as Promise<{ id: string; orthancId: string }>,
    network: async (state) => {
      await command({ network: state });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * One system and one browser for a test file's tests: started before the first, stopped after the
 * last; `use` receives them (the file keeps them in its own variables).
 */
export function systemAndBrowserForFile(
  options: Parameters<typeof startSystem>[0],
  use: (started: { system: System; browser: Browser }) => void,
): void {
  let started: { system?: System; browser?: Browser } = {};
  beforeAll(async () => {
    started = { system: await startSystem(options) };
    started.browser = await launchBrowser();
    use(started as { system: System; browser: Browser });
  });
  afterAll(async () => {
    await started.browser?.close();
    await started.system?.stop();
  });
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export function launchPersistentProfile(dir: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, viewport });
}

/**
 * Keep-alive's own race: a pooled connection can be closed for idling just as a request goes out
 * on it (the client gives it up a second before the gateway's hint says, so only a stalled event
 * loop gets there), and the request was never answered. Such a request is sent once more when
 * repeating it is harmless (a read, or a login).
 */
export async function fetchRetryingIdleClose(
  url: string,
  init: RequestInit = {},
  repeatable = !init.method || init.method === 'GET',
): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const closedUnanswered = (error as { cause?: { code?: string } }).cause?.code === 'UND_ERR_SOCKET';
    if (!repeatable || !closedUnanswered) throw error;
    return fetch(url, init);
  }
}

/** A tiny API client for the test itself (another user's edits, server-side checks). */
export async function apiLogin(url: string, who: { email: string; password: string }) {
  const response = await fetchRetryingIdleClose(
    `${url}/api/auth/login`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(who),
    },
    true,
  );
  if (!response.ok) throw new Error(`login ${who.email}: ${response.status}`);
  const session = (await response.json()) as { accessToken: string; user: { id: string } };
  const call = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await fetchRetryingIdleClose(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${session.accessToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  return { userId: session.user.id, accessToken: session.accessToken, call };
}

export async function signIn(page: Page, url: string, who: { email: string; password: string }) {
  await page.goto(url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core in the page; returns serious and critical violations (empty = pass). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated over the DevTools protocol: an inline <script> tag would be refused by the app's CSP.
  await page.evaluate(`${axeSource}\n;undefined`);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} at ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

/** The offline PIN the e2e users set (six characters, the minimum). */
export const OFFLINE_PIN = '246813';

/**
 * Sets the offline PIN on the account page, as a user does before going offline (the device's data
 * is sealed and only the server's key or this PIN opens it), then returns to the page it was on.
 */
export async function setOfflinePin(page: Page, pin = OFFLINE_PIN): Promise<void> {
  const back = page.url();
  await page.goto(new URL('/account', back).href);
  const form = page.getByRole('form', { name: 'Offline PIN' });
  await form.getByLabel(/New PIN/).fill(pin);
  await form.getByLabel('The same PIN again').fill(pin);
  await form.getByRole('button', { name: /Set the PIN|Change the PIN/ }).click();
  await page.getByText('Offline PIN set on this device.').waitFor();
  await page.goto(back);
}

/** After a reload without a network: the PIN screen, then the app. */
export async function enterOfflinePin(page: Page, pin = OFFLINE_PIN): Promise<void> {
  await page.getByRole('heading', { name: 'Offline: enter your PIN' }).waitFor();
  await page.getByLabel('PIN', { exact: true }).fill(pin);
  const heading = page.getByRole('heading', { name: 'Offline: enter your PIN' });
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await heading.waitFor({ state: 'detached' });
}
