/**
 * Lighthouse 12 (mobile preset: simulated slow 4G, 4× CPU slowdown) on the login page and, signed
 * in, on the worklist page. Builds nothing: it serves PACS_WEB_DIST (default web/dist) through the
 * same system the e2e suite and worklist-bench.ts start (real API + gateway, e2e/server.mjs).
 *
 *   cd web && npx vite build && npx tsx bench/lighthouse.ts
 *
 * Run it where Chromium sees a network (the e2e suite's network namespace, see web/README.md),
 * or the app starts in offline mode. Prints JSON scores per page and category, plus what costs.
 * One Chromium, launched by Playwright with a DevTools port that Lighthouse attaches to, so the
 * worklist run uses the signed-in profile (refresh cookie, service worker, IndexedDB) as a user would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, RADIOLOGIST, signIn, startSystem } from '../e2e/support';

const CATEGORIES = ['performance', 'accessibility', 'best-practices'];
const RUNS = Number(process.env.LIGHTHOUSE_RUNS ?? 3);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface PageScores {
  scores: Record<string, number>;
  metrics: Record<string, number>;
  failing: string[];
}

async function audit(url: string, port: number, keepStorage: boolean): Promise<PageScores> {
  const result = await lighthouse(
    url,
    { port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES, disableStorageReset: keepStorage },
    undefined,
  );
  if (!result) throw new Error(`lighthouse gave no result for ${url}`);
  const { lhr } = result;
  // LIGHTHOUSE_SAVE=dir keeps each full report (JSON) for a closer look.
  if (process.env.LIGHTHOUSE_SAVE) {
    const name = `${new URL(url).pathname.replace(/\W+/g, '_') || 'root'}-${Date.now()}.json`;
    writeFileSync(path.join(process.env.LIGHTHOUSE_SAVE, name), JSON.stringify(lhr));
  }
  if (lhr.runtimeError) throw new Error(`lighthouse: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  const scores = Object.fromEntries(CATEGORIES.map((c) => [c, Math.round((lhr.categories[c]?.score ?? 0) * 100)]));
  const metric = (id: string) => Math.round(Number(lhr.audits[id]?.numericValue ?? Number.NaN));
  const metrics = {
    fcpMs: metric('first-contentful-paint'),
    lcpMs: metric('largest-contentful-paint'),
    tbtMs: metric('total-blocking-time'),
    cls: Number(lhr.audits['cumulative-layout-shift']?.numericValue?.toFixed(3) ?? Number.NaN),
    siMs: metric('speed-index'),
  };
  // Audits that lost points, so a low score says where to look.
  const failing = Object.values(lhr.audits)
    .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'manual')
    .map((a) => `${a.id}${a.displayValue ? ` (${a.displayValue})` : ''}`);
  return { scores, metrics, failing };
}

/** Median per category and metric over the runs (Lighthouse varies a few points between runs). */
function medianOf(runs: PageScores[]): PageScores & { runs: Record<string, number>[] } {
  const mid = <T>(xs: T[], key: (x: T) => number) => [...xs].map(key).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    scores: Object.fromEntries(CATEGORIES.map((c) => [c, mid(runs, (r) => r.scores[c]!)])),
    metrics: Object.fromEntries(Object.keys(runs[0]!.metrics).map((m) => [m, mid(runs, (r) => r.metrics[m]!)])),
    failing: [...new Set(runs.flatMap((r) => r.failing))],
    runs: runs.map((r) => r.scores),
  };
}

const system = await startSystem();
const profile = mkdtempSync(path.join(os.tmpdir(), 'pacs-lighthouse-'));
const port = await freePort();
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM_PATH,
  args: [...CHROMIUM_ARGS, `--remote-debugging-port=${port}`],
  headless: true,
});
try {
  const login: PageScores[] = [];
  for (let i = 0; i < RUNS; i++) login.push(await audit(`${system.url}/`, port, false));

  const page = context.pages()[0] ?? (await context.newPage());
  await signIn(page, system.url, RADIOLOGIST);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  const worklist: PageScores[] = [];
  for (let i = 0; i < RUNS; i++) worklist.push(await audit(`${system.url}/worklist`, port, true));

  const report = {
    lighthouse: '12.2.3',
    preset: 'mobile (default config)',
    runs: RUNS,
    login: medianOf(login),
    worklistSignedIn: medianOf(worklist),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const below = Object.entries({ login: report.login.scores, worklist: report.worklistSignedIn.scores }).flatMap(([name, scores]) =>
    Object.entries(scores)
      .filter(([, score]) => score < 95)
      .map(([category, score]) => `${name} ${category} ${score}`),
  );
  process.stdout.write(below.length ? `BELOW GOAL (95): ${below.join(', ')}\n` : 'all scores ≥ 95\n');
} finally {
  await context.close();
  await system.stop();
  rmSync(profile, { recursive: true, force: true });
}
