/**
 * WebKit for the e2e tests: Debian's WebKitGTK (`webkit2gtk-driver`: WebKitWebDriver + MiniBrowser)
 * on its own Xvfb display, driven with selenium-webdriver 4.46 (the last line that runs on Node 20;
 * 4.47+ needs Node 22). Playwright's WebKit cannot be downloaded here; this is the same engine
 * family as Safari on iPadOS, not the same build (see web/README.md for what differs).
 *
 * What made it run here (Debian 12, WebKitGTK 2.50.6, as root, in the suite's loopback-only network
 * namespace):
 * - `WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1`: the bubblewrap sandbox of the web processes cannot
 *   set up its own namespaces as root inside `unshare --net`; the tests' pages are our own app.
 * - `GIO_USE_NETWORK_MONITOR=base`: WebKitGTK takes `navigator.onLine` from GLib's network monitor,
 *   which by default (netlink) says "offline" without a default route, as in the suite's namespace
 *   (loopback and a veth pair, no route out; Chromium is content with the pair). There the app never
 *   synced. The base monitor always says "online", which is what a tablet on Wi-Fi reports; going
 *   offline is the server becoming unreachable (see the e2e file), not this flag.
 * - Xvfb with `-displayfd` picks a free display itself (several suites may run at once).
 * - Everything is started in its own process group and ended by that group's id, so MiniBrowser's
 *   web, network and GPU processes go too, also when a test fails half-way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Builder, Capabilities, type WebDriver } from 'selenium-webdriver';

export const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

export interface WebKit {
  driver: WebDriver;
  /** The WebKit version the session reports (e.g. "2.50.6"). */
  version: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function stopGroup(child: ChildProcess | null): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      // The group may outlive its leader (web processes): end what is left of it.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
      resolve();
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}

/** Xvfb on a display it chooses itself; answers ":N". */
function startXvfb(): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-2000);
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${err}`)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve({ child, display: `:${out.trim()}` });
    });
  });
}

async function waitForDriver(url: string, driver: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited (${driver.exitCode}): ${log()}`);
    const ready = await fetch(`${url}/status`)
      .then(async (r) => ((await r.json()) as { value?: { ready?: boolean } }).value?.ready === true)
      .catch(() => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver did not answer: ${log()}`);
}

/** Xvfb + WebKitWebDriver + one MiniBrowser session with a fresh profile; `close()` ends all three. */
export async function launchWebKit(viewport = { width: 1180, height: 820 }): Promise<WebKit> {
  let xvfb: ChildProcess | null = null;
  let driverProcess: ChildProcess | null = null;
  let driver: WebDriver | null = null;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'pacs-webkit-'));
  // If the test process ends without `close()` (a worker torn down), its groups go with it.
  const killGroups = () => {
    for (const child of [driverProcess, xvfb]) {
      try {
        if (child?.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  };
  process.once('exit', killGroups);
  const close = async () => {
    process.off('exit', killGroups);
    await driver?.quit().catch(() => undefined);
    await stopGroup(driverProcess);
    await stopGroup(xvfb);
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const started = await startXvfb();
    xvfb = started.child;
    const port = await freePort();
    let log = '';
    driverProcess = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DISPLAY: started.display,
        WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS: '1',
        GIO_USE_NETWORK_MONITOR: 'base',
        // A private data directory per run (IndexedDB, service worker, cache), removed at the end.
        XDG_DATA_HOME: path.join(profile, 'data'),
        XDG_CACHE_HOME: path.join(profile, 'cache'),
        XDG_CONFIG_HOME: path.join(profile, 'config'),
      },
    });
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (process.env.E2E_VERBOSE) process.stderr.write(chunk);
    };
    driverProcess.stdout!.on('data', keep);
    driverProcess.stderr!.on('data', keep);
    const url = `http://127.0.0.1:${port}`;
    await waitForDriver(url, driverProcess, () => log);
    const capabilities = new Capabilities({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', `--geometry=${viewport.width}x${viewport.height}`] },
    });
    driver = await new Builder().usingServer(url).withCapabilities(capabilities).build();
    const version = String((await driver.getCapabilities()).get('browserVersion') ?? '');
    return { driver, version, close };
  } catch (error) {
    await close();
    throw error;
  }
}
