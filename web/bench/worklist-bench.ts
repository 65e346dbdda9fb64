/**
 * Worklist benchmarks in Debian's Chromium with 10,000 rows cached on the device.
 *   cd web && npx vite build && npx tsx bench/worklist-bench.ts
 * Rows are written straight into the user's IndexedDB (the server has none: seeding 10,000 through
 * the API's helper takes minutes and measures the server, not the app). Prints JSON figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchPersistentProfile, RADIOLOGIST, signIn, startSystem, WEB } from '../e2e/support';

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
  const userId = await page.evaluate(
    () => (JSON.parse(localStorage.getItem('pacs.lastSession') ?? '{}') as { user: { id: string } }).user.id,
  );
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  // 10,000 rows into the device database
  await page.evaluate(
    async ({ userId, count }) => {
      const open = indexedDB.open(`pacs-worklist-${userId}`);
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const tx = db.transaction('studies', 'readwrite');
      const store = tx.objectStore('studies');
      const mods = ['CT', 'MR', 'CR', 'US', 'MG', 'PT'];
      const prios = ['stat', 'urgent', 'routine', 'routine', 'routine'];
      const statuses = ['unread', 'unread', 'in_progress', 'preliminary', 'final'];
      for (let i = 0; i < count; i++) {
        const t = Date.UTC(2026, 0, 1) + i * 60_000;
        store.put({
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          studyInstanceUid: `1.2.826.0.1.${i}`,
          patientName: `Patient^Number${i}`,
          patientId: `P${100000 + i}`,
          patientBirthDate: '19700101',
          patientSex: i % 2 ? 'F' : 'M',
          accessionNumber: `A${200000 + i}`,
          studyDate: '20260105',
          studyTime: null,
          description: `${mods[i % 6]} STUDY ${i % 37}`,
          modalities: [mods[i % 6]],
          bodyPart: 'CHEST',
          referringPhysician: 'Ref^Doc',
          numberOfSeries: 2,
          numberOfInstances: 120,
          status: statuses[i % 5],
          priority: prios[i % 5],
          assignee: null,
          updatedAfterArrival: false,
          receivedAt: new Date(t).toISOString(),
          updatedAt: new Date(t + 3_600_000).toISOString(),
          version: 1,
        });
      }
      await new Promise((resolve) => {
        tx.oncomplete = resolve;
      });
      db.close();
    },
    { userId, count: ROWS },
  );
  await page.reload();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  await page.waitForFunction((n) => document.body.textContent?.includes(`${n} studies on this device`), ROWS);

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

  // offline cold load of the shell: a new tab with the network off
  const offlineTimes: { loadMs: number; fcpMs: number | null; rowsMs: number }[] = [];
  await context.setOffline(true);
  for (let i = 0; i < 3; i++) {
    const cold = await context.newPage();
    const t0 = Date.now();
    await cold.goto(`${system.url}/worklist`);
    await cold.getByTestId('worklist-row').first().waitFor();
    const rowsMs = Date.now() - t0;
    const timing = await cold.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return { loadMs: nav.loadEventEnd - nav.startTime, fcpMs: fcp ? fcp.startTime : null };
    });
    offlineTimes.push({ ...timing, rowsMs });
    await cold.close();
  }
  await context.setOffline(false);

  const js = initialJsGzip();
  console.log(
    JSON.stringify(
      {
        rows: ROWS,
        routeChangeToRowsMs: { median: median(routeTimes), all: routeTimes.map((x) => Math.round(x)) },
        filterToRepaintMs: { median: median(filterTimes), all: filterTimes.map((x) => Math.round(x)) },
        offlineColdLoad: offlineTimes.map((t) => ({
          loadMs: Math.round(t.loadMs),
          fcpMs: t.fcpMs && Math.round(t.fcpMs),
          rowsPaintedMs: t.rowsMs,
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
