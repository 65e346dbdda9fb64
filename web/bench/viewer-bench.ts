/**
 * Viewer benchmarks in Debian's Chromium against the e2e system with a real Orthanc:
 *   cd web && npx vite build && npx tsx bench/viewer-bench.ts
 * (run it inside a private network namespace like the e2e suite: Orthanc listens on 0.0.0.0).
 *
 * Synthetic 512×512 CT series (the test kit's demo studies) C-STOREd into Orthanc and ingested:
 * - time to first image, 300 images, online through /dicom-web: from a route change (worklist →
 *   viewer, in-page) and from a full page load; offline from IndexedDB (network off), route change;
 * - stack scroll rate (images shown per second, keyboard-driven as fast as the viewer renders):
 *   first pass (fetch + decode) and second pass (decoded cache);
 * - "Make available offline" throughput for the 300-image study;
 * - peak JS heap (CDP Performance.getMetrics JSHeapUsedSize) while scrolling a 600-image series;
 * - side by side: Orthanc's own Web Viewer plugin (Debian orthanc-webviewer, loaded through
 *   PACS_E2E_ORTHANC_WEBVIEWER=1) opening the same 300-image series, full page load to first image.
 * Prints JSON. BENCH_RUNS (default 7) sets the repetitions of the first-image measures. BENCH_PROFILE=DIR profiles
 * the warm online route-change runs (page-profile.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StudySpec } from '@pacs/test-kit/demo-studies';
import type { Page } from 'playwright-core';
import { launchBrowser, launchPersistentProfile, RADIOLOGIST, signIn, startSystem } from '../e2e/support';
import { startPageProfile } from './page-profile';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SERIES = Number(process.env.BENCH_IMAGES ?? 300);
const LARGE = Number(process.env.BENCH_LARGE_IMAGES ?? 600);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 10) / 10;

function ctSpec(accession: string, instances: number): StudySpec {
  return {
    patient: { name: 'Bench^Viewer', id: `PID-${accession}`, birthDate: '19700101', sex: 'O' },
    studyDate: '20261101',
    studyTime: '101500',
    accessionNumber: accession,
    description: 'CT CHEST',
    priority: 'ROUTINE',
    series: [{ modality: 'CT', description: 'Axial 512', instances, rows: 512, columns: 512, bodyPart: 'CHEST' }],
  };
}

// In-page helpers, installed before any page script: the time of each rendered image and a promise
// for "image N of the stack is on screen". No named local functions (tsx would wrap them in __name).
const PAGE_HELPERS = `
globalThis.__name = (f) => f;
window.__bench = { renders: [], waiters: [] };
document.addEventListener('CORNERSTONE_IMAGE_RENDERED', () => {
  const state = window.__pacsViewer && window.__pacsViewer.state();
  if (!state) return;
  const entry = { t: performance.now(), index: state.index, imageId: state.imageId };
  window.__bench.renders.push(entry);
  if (window.__bench.renders.length > 5000) window.__bench.renders.splice(0, 1000);
  window.__bench.waiters = window.__bench.waiters.filter((w) => (w.test(entry) ? (w.resolve(entry), false) : true));
}, true);
window.__benchWait = (test) => new Promise((resolve) => window.__bench.waiters.push({ test, resolve }));
`;

/** Route change (in-page, like a click on a link) to the viewer; ms until the study's first image is rendered. */
async function routeChangeToFirstImage(page: Page, href: string, studyUid: string): Promise<number> {
  return page.evaluate(
    async ([to, uid]) => {
      const w = window as unknown as { __benchWait(test: (e: { imageId: string; index: number }) => boolean): Promise<{ t: number }> };
      const shown = w.__benchWait((e) => e.index === 0 && e.imageId.includes(uid!));
      const start = performance.now();
      window.history.pushState(null, '', to);
      window.dispatchEvent(new PopStateEvent('popstate'));
      const first = await shown;
      return first.t - start;
    },
    [href, studyUid] as const,
  );
}

/**
 * Waits until the viewer has drawn its series thumbnails, which it starts after the first image: leaving at
 * once (no reader does) let that work spill into the next measure.
 */
async function viewerSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const thumbs = [...document.querySelectorAll<HTMLElement>('.viewer-thumb')];
    return thumbs.length > 0 && thumbs.every((t) => t.dataset.state !== 'waiting');
  });
}

async function routeTo(page: Page, href: string): Promise<void> {
  await page.evaluate((to) => {
    window.history.pushState(null, '', to);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, href);
}

/** Scrolls `count` images with the keyboard, each key press as soon as the previous image is on screen. */
async function scrollRate(page: Page, count: number): Promise<{ images: number; ms: number; perSecond: number }> {
  await page.getByTestId('viewport').focus();
  return page.evaluate(async (n) => {
    const w = window as unknown as {
      __benchWait(test: (e: { index: number }) => boolean): Promise<{ t: number }>;
      __pacsViewer: { state(): { index: number; count: number } | null };
    };
    const viewport = document.querySelector('[data-testid="viewport"]') as HTMLElement;
    const start = performance.now();
    let last = start;
    let shown = 0;
    for (let i = 0; i < n; i++) {
      const state = w.__pacsViewer.state()!;
      if (state.index + 1 >= state.count) break;
      const next = w.__benchWait((e) => e.index === state.index + 1);
      viewport.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true, cancelable: true }));
      last = (await next).t;
      shown++;
    }
    return { images: shown, ms: last - start, perSecond: (shown * 1000) / (last - start) };
  }, count);
}

async function home(page: Page): Promise<void> {
  await page.getByTestId('viewport').focus();
  await page.keyboard.press('Home');
  await page.waitForFunction(
    () => (window as unknown as { __pacsViewer: { state(): { index: number } | null } }).__pacsViewer.state()?.index === 0,
  );
}

const started = Date.now();
const system = await startSystem({ orthanc: true, env: { PACS_E2E_ORTHANC_WEBVIEWER: '1' } });
const profile = mkdtempSync(path.join(os.tmpdir(), 'pacs-viewer-bench-'));
const result: Record<string, unknown> = {
  machine: `${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? ''}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  runs: RUNS,
};
try {
  const t0 = Date.now();
  const study = await system.storeStudy(ctSpec('BENCH-VIEW-300', SERIES), 301);
  const large = await system.storeStudy(ctSpec('BENCH-VIEW-600', LARGE), 601);
  result.setup = { images: SERIES + LARGE, seconds: round((Date.now() - t0) / 1000) };
  const orthanc = await system.orthancInfo();

  const context = await launchPersistentProfile(profile, { width: 1280, height: 900 });
  await context.addInitScript({ content: PAGE_HELPERS });
  const page = context.pages()[0] ?? (await context.newPage());
  await signIn(page, system.url, RADIOLOGIST);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  // --- online, route change: worklist → viewer
  const online: number[] = [];
  let stopProfile: (() => Promise<void>) | undefined;
  for (let i = 0; i <= RUNS; i++) {
    await routeTo(page, '/worklist');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    // BENCH_PROFILE: over the warm runs only.
    if (i === 1) stopProfile = await startPageProfile(page, 'first-image-online');
    online.push(await routeChangeToFirstImage(page, `/viewer/${study.id}?source=online`, study.studyInstanceUid));
    await viewerSettled(page);
  }
  await stopProfile?.();
  result.firstImageOnlineRouteChangeMs = {
    first: round(online[0]!),
    median: round(median(online.slice(1))),
    runs: online.slice(1).map(round),
  };

  // --- online, full page load (the same measure as Orthanc's viewer below)
  const loads: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = Date.now();
    await page.goto(`${system.url}/viewer/${study.id}?source=online`);
    await page.evaluate(
      (uid) =>
        (window as unknown as { __benchWait(test: (e: { imageId: string; index: number }) => boolean): Promise<unknown> }).__benchWait(
          (e) => e.index === 0 && e.imageId.includes(uid),
        ),
      study.studyInstanceUid,
    );
    loads.push(Date.now() - start);
  }
  result.firstImageOnlinePageLoadMs = { median: median(loads), runs: loads };

  // --- scroll rate, 300 images: first pass fetches and decodes, second pass from the decoded cache
  await home(page);
  const cold = await scrollRate(page, SERIES - 1);
  await home(page);
  const warm = await scrollRate(page, SERIES - 1);
  result.scroll300 = {
    firstPass: { ...cold, perSecond: round(cold.perSecond) },
    secondPass: { ...warm, perSecond: round(warm.perSecond) },
  };

  // --- offline download of the 300-image study
  const downloadStart = Date.now();
  await page.getByRole('button', { name: 'Make available offline' }).click();
  await page.getByTestId('offline-state').filter({ hasText: 'Available offline' }).waitFor({ timeout: 600_000 });
  const downloadMs = Date.now() - downloadStart;
  const stored = await page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('pacs-worklist-'));
    const open = indexedDB.open(names[0]!);
    const db = await new Promise<IDBDatabase>((resolve) => {
      open.onsuccess = () => resolve(open.result);
    });
    const rows = await new Promise<{ data: ArrayBuffer }[]>((resolve) => {
      const req = db.transaction('offlineFrames').objectStore('offlineFrames').getAll();
      req.onsuccess = () => resolve(req.result as { data: ArrayBuffer }[]);
    });
    db.close();
    return { frames: rows.length, bytes: rows.reduce((n, r) => n + r.data.byteLength, 0) };
  });
  result.offlineDownload300 = {
    seconds: round(downloadMs / 1000),
    images: stored.frames,
    imagesPerSecond: round((stored.frames * 1000) / downloadMs),
    megabytes: round(stored.bytes / 2 ** 20),
    megabytesPerSecond: round(stored.bytes / 2 ** 20 / (downloadMs / 1000)),
  };

  // --- offline, route change (network off; the study opens from IndexedDB)
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  await context.setOffline(true);
  const offline: number[] = [];
  try {
    for (let i = 0; i <= RUNS; i++) {
      await routeTo(page, '/worklist');
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      offline.push(await routeChangeToFirstImage(page, `/viewer/${study.id}`, study.studyInstanceUid));
      await viewerSettled(page);
    }
    const source = await page.evaluate(() => (window as unknown as { __pacsViewer: { source(): string | null } }).__pacsViewer.source());
    result.firstImageOfflineRouteChangeMs = {
      source,
      first: round(offline[0]!),
      median: round(median(offline.slice(1))),
      runs: offline.slice(1).map(round),
    };
  } finally {
    await context.setOffline(false);
  }

  // --- peak JS heap while scrolling the 600-image series once (fetch + decode every image)
  await page.goto(`${system.url}/viewer/${large.id}?source=online`);
  await page.evaluate(
    (uid) =>
      (window as unknown as { __benchWait(test: (e: { imageId: string; index: number }) => boolean): Promise<unknown> }).__benchWait(
        (e) => e.index === 0 && e.imageId.includes(uid),
      ),
    large.studyInstanceUid,
  );
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = async () =>
    ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20;
  const before = await heap();
  let peak = before;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await heap());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const scroll600 = await scrollRate(page, LARGE - 1);
  sampling = false;
  await sampler;
  peak = Math.max(peak, await heap());
  const cacheState = await page.evaluate(
    () => (window as unknown as { __pacsViewer: { cache?(): { maxBytes: number; usedBytes: number } } }).__pacsViewer.cache?.() ?? null,
  );
  result.scroll600 = {
    images: scroll600.images,
    perSecond: round(scroll600.perSecond),
    jsHeapUsedMB: { before: round(before), peak: round(peak) },
    decodedCacheMB: cacheState ? { used: round(cacheState.usedBytes / 2 ** 20), budget: round(cacheState.maxBytes / 2 ** 20) } : null,
  };
  await context.close();

  // --- Orthanc's own Web Viewer, same browser build, same 300-image series, full page load
  const lookup = (await (
    await fetch(`${orthanc.httpUrl}/tools/lookup`, {
      method: 'POST',
      body: study.series[0]!.seriesInstanceUid,
      headers: { authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}` },
    })
  ).json()) as { ID: string; Type: string }[];
  const seriesId = lookup.find((r) => r.Type === 'Series')?.ID;
  if (!seriesId) throw new Error('series not found in Orthanc');
  const browser = await launchBrowser();
  try {
    const peer = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      httpCredentials: { username: orthanc.username, password: orthanc.password },
    });
    const orthancPage = await peer.newPage();
    const times: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const start = Date.now();
      await orthancPage.goto(`${orthanc.httpUrl}/web-viewer/app/viewer.html?series=${seriesId}`);
      // first image: a canvas of the viewer with non-black pixels
      await orthancPage.waitForFunction(
        () =>
          [...document.querySelectorAll('canvas')].some((c) => {
            if (c.width < 64 || c.height < 64) return false;
            const copy = document.createElement('canvas');
            copy.width = c.width;
            copy.height = c.height;
            const ctx = copy.getContext('2d');
            if (!ctx) return false;
            ctx.drawImage(c, 0, 0);
            const { data } = ctx.getImageData(0, 0, c.width, c.height);
            let lit = 0;
            for (let p = 0; p < data.length; p += 64) if (data[p]! > 16) lit++;
            return lit > data.length / 64 / 50;
          }),
        undefined,
        { timeout: 120_000, polling: 16 },
      );
      times.push(Date.now() - start);
    }
    result.orthancWebViewerFirstImagePageLoadMs = { first: times[0], median: median(times.slice(1)), runs: times.slice(1) };
    result.ratioOrthancWebViewerToOursPageLoad = round(median(times.slice(1)) / median(loads));
    result.ratioOrthancWebViewerToOursRouteChange = round(median(times.slice(1)) / median(online.slice(1)));
  } finally {
    await browser.close();
  }
  result.totalSeconds = round((Date.now() - started) / 1000);
  console.log(JSON.stringify(result, null, 2));
} finally {
  await system.stop();
  rmSync(profile, { recursive: true, force: true });
}
