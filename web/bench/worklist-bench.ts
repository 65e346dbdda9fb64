/**
 * Worklist benchmarks in Debian's Chromium with 10,000 rows on the device, sealed (encrypted) as
 * the app stores them, pulled through the real scoped feed:
 *   cd web && npx vite build && npx tsx bench/worklist-bench.ts
 * The server gets 4 × ROWS studies straight into its database (statuses in rotation, arrived over
 * the last 40 hours), so the radiologist's scope (unread arrivals of the last 48 hours) is ROWS rows.
 * Measures: the device's first sync of them, route change → rows painted, filter → repaint, an
 * offline cold start to the PIN screen, and the PIN unlock → rows painted. Prints JSON figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchPersistentProfile, OFFLINE_PIN, RADIOLOGIST, setOfflinePin, signIn, startSystem, WEB } from '../e2e/support';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const RUNS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function initialJsGzip(): { files: string[]; gzipBytes: number } {
  // The same build the system under test serves (startSystem honours PACS_WEB_DIST too).
  const dist = process.env.PACS_WEB_DIST ?? path.join(WEB, 'dist');
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const gzipBytes = files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(dist, f))).length, 0);
  return { files, gzipBytes };
}

const system = await startSystem();
const profile = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-'));
const context = await launchPersistentProfile(profile, { width: 1280, height: 900 });
// tsx (esbuild keepNames) wraps functions in __name(); give the page a no-op one.
await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await signIn(page, system.url, RADIOLOGIST);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await setOfflinePin(page);
  await system.seedBulk(ROWS * 4, 40);
  // The device's first sync of ROWS rows: from a reload (the feed from cursor 0 after a sign-out
  // would also sign in again; a reload with an empty store is the same pull) to the count shown.
  await page.evaluate(async () => {
    for (const { name } of await indexedDB.databases()) {
      if (name && !name.endsWith('.vault'))
        await new Promise((r) => {
          const q = indexedDB.deleteDatabase(name);
          q.onsuccess = q.onerror = q.onblocked = r;
        });
    }
  });
  await page.goto(`${system.url}/worklist`);
  const syncStart = Date.now();
  await page.waitForFunction(
    (n) =>
      /^(\d+) of (\d+) studies$/.test(document.querySelector('[data-testid="worklist-count"]')?.textContent ?? '') &&
      Number(document.querySelector('[data-testid="worklist-count"]')!.textContent!.split(' ')[2]) >= n,
    ROWS,
    { timeout: 600_000, polling: 50 },
  );
  const firstSyncMs = Date.now() - syncStart;
  const held = Number((await page.getByTestId('worklist-count').textContent())!.split(' ')[2]);

  // route change → first rows painted
  const routeTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    routeTimes.push(
      await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const link = [...document.querySelectorAll<HTMLAnchorElement>('nav a')].find((a) => a.textContent === 'Worklist')!;
            const t0 = performance.now();
            const done = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
            const observer = new MutationObserver(() => {
              if (document.querySelector('[data-testid="worklist-row"]')) {
                observer.disconnect();
                done();
              }
            });
            observer.observe(document.body, { childList: true, subtree: true });
            link.click();
          }),
      ),
    );
  }

  // filter → repaint (search box; each term changes the first row)
  const filterTimes: number[] = [];
  const terms = ['number12', 'number777', 'p10999', 'a205', 'mr study 3', 'number9999', 'ct'];
  for (const term of terms) {
    filterTimes.push(
      await page.evaluate(
        (q) =>
          new Promise<number>((resolve) => {
            const input = document.querySelector<HTMLInputElement>('[data-testid="worklist-search"]')!;
            const before = document.querySelector('[data-testid="worklist-count"]')?.textContent;
            const t0 = performance.now();
            const observer = new MutationObserver(() => {
              if (document.querySelector('[data-testid="worklist-count"]')?.textContent !== before) {
                observer.disconnect();
                requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
              }
            });
            observer.observe(document.body, { childList: true, subtree: true, characterData: true });
            const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
            setter.call(input, q);
            input.dispatchEvent(new Event('input', { bubbles: true }));
          }),
        term,
      ),
    );
  }

  // offline cold start of the shell to the PIN screen, then the PIN → rows painted
  const offlineTimes: { loadMs: number; fcpMs: number | null; pinUnlockMs: number | null; pinScreenMs: number; unlockToRowsMs: number }[] =
    [];
  await context.setOffline(true);
  for (let i = 0; i < 3; i++) {
    const cold = await context.newPage();
    const t0 = Date.now();
    await cold.goto(`${system.url}/worklist`);
    await cold.getByLabel('PIN', { exact: true }).waitFor();
    const pinScreenMs = Date.now() - t0;
    await cold.getByLabel('PIN', { exact: true }).fill(OFFLINE_PIN);
    const unlockToRowsMs = await cold.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Open')!;
          const t = performance.now();
          const observer = new MutationObserver(() => {
            if (document.querySelector('[data-testid="worklist-row"]')) {
              observer.disconnect();
              requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t), 0));
            }
          });
          observer.observe(document.body, { childList: true, subtree: true });
          button.click();
        }),
    );
    const timing = await cold.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const tried = performance.getEntriesByName('pacs-vault:pin-tried').at(-1);
      const answered = performance.getEntriesByName('pacs-vault:pin-answered').at(-1);
      return {
        loadMs: nav.loadEventEnd - nav.startTime,
        fcpMs: fcp ? fcp.startTime : null,
        pinUnlockMs: tried && answered ? answered.startTime - tried.startTime : null,
      };
    });
    offlineTimes.push({ ...timing, pinScreenMs, unlockToRowsMs });
    await cold.close();
  }
  await context.setOffline(false);

  const js = initialJsGzip();
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        rowsHeld: held,
        firstSyncMs,
        routeChangeToRowsMs: { median: median(routeTimes), all: routeTimes.map((x) => Math.round(x)) },
        filterToRepaintMs: { median: median(filterTimes), all: filterTimes.map((x) => Math.round(x)) },
        offlineColdStart: offlineTimes.map((t) => ({
          loadMs: Math.round(t.loadMs),
          fcpMs: t.fcpMs && Math.round(t.fcpMs),
          pinScreenMs: t.pinScreenMs,
          pinUnlockMs: t.pinUnlockMs && Math.round(t.pinUnlockMs),
          unlockToRowsMs: Math.round(t.unlockToRowsMs),
        })),
        initialJs: { files: js.files, gzipKB: +(js.gzipBytes / 1024).toFixed(1) },
      },
      null,
      2,
    ),
  );
} finally {
  await context.close();
  await system.stop();
  rmSync(profile, { recursive: true, force: true });
}
