/**
 * Report editor benchmarks in Debian's Chromium against the real API, gateway and sync-server.
 *   cd web && npx vite build --outDir /tmp/dist-editor --emptyOutDir
 *   unshare --net sh -c 'ip link set lo up && … && PACS_WEB_DIST=/tmp/dist-editor npx tsx bench/editor-bench.ts'
 * (a private network namespace with a non-loopback interface, as for the e2e suite).
 *
 *  1. keystroke → remote paint: the attending types; per character, from the sender's keydown
 *     (event.timeStamp) to the first animation frame in the resident's page after the character
 *     appeared in its editor. Both pages share the machine clock (timeOrigin + now).
 *  2. input latency in a 20-page report (~60,000 characters): keydown → the end of the next frame
 *     (rAF, then a message after it), plus the Event Timing API's count of keystrokes ≥ 16 ms.
 *  3. cached report offline → editable editor: (a) in-app navigation to the report, (b) a full
 *     offline reload of the report URL (service worker), from the offline PIN's Open (the device's
 *     data is sealed: an offline start opens it with the PIN).
 * Prints JSON. BENCH_PROFILE=DIR profiles the typing in the 20-page report (page-profile.ts).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { caretAtSection, editorEditable, editorText, shownReportId } from '../e2e/report-support';
import { ADMIN, apiLogin, launchBrowser, OFFLINE_PIN, RADIOLOGIST, setOfflinePin, signIn, startSystem } from '../e2e/support';
import { startPageProfile } from './page-profile';

const KEYS = Number(process.env.BENCH_KEYS ?? 200);
const RUNS = 7;
const RESIDENT = { email: 'bench-resident@pacs.local', password: 'night-shift-reader-Qv7-0123' };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
const round = (x: number) => Math.round(x * 10) / 10;
const stats = (xs: number[]) => ({ n: xs.length, p50: round(pct(xs, 0.5)), p95: round(pct(xs, 0.95)), max: round(Math.max(...xs)) });

const system = await startSystem({ sync: true });
const browser = await launchBrowser();
const contexts: BrowserContext[] = [];
try {
  const { id: studyId } = await system.seed({ patientName: 'Bench^Report', modalities: ['CT'], description: 'CT CHEST' });
  const admin = await apiLogin(system.url, ADMIN);
  await admin.call('POST', '/api/users', { email: RESIDENT.email, name: 'Bench Resident', role: 'resident', password: RESIDENT.password });
  const open = async (who: typeof RADIOLOGIST) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // tsx (esbuild keepNames) wraps functions in __name(); give the page a no-op one.
    await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    contexts.push(context);
    const page = await context.newPage();
    await signIn(page, system.url, who);
    return { context, page };
  };
  const attending = await open(RADIOLOGIST);
  const resident = await open(RESIDENT);
  const reportUrl = `${system.url}/report/${studyId}?images=off`;
  await resident.page.goto(reportUrl);
  await resident.page.getByRole('button', { name: 'Start report' }).click();
  const reportId = await shownReportId(resident.page);
  await attending.page.goto(reportUrl);
  const live = async (page: Page) => {
    for (;;) {
      if ((await page.getByTestId('report-link').first().getAttribute('data-state')) === 'live') return;
      await page.waitForTimeout(50);
    }
  };
  await Promise.all([live(attending.page), live(resident.page)]);

  // ------------------------------------------------------------ 1. keystroke → remote paint
  await resident.page.evaluate((key) => {
    const w = window as unknown as { __arrivals: number[]; __pacsEditors: Record<string, { getText(): string }> };
    w.__arrivals = [];
    const root = document.querySelector('.report-editor .tiptap')!;
    new MutationObserver(() => {
      requestAnimationFrame(() => {
        const t = performance.timeOrigin + performance.now();
        const n = (w.__pacsEditors[key]!.getText().match(/z/g) ?? []).length;
        while (w.__arrivals.length < n) w.__arrivals.push(t);
      });
    }).observe(root, { subtree: true, childList: true, characterData: true });
  }, `live:${reportId}`);
  await attending.page.evaluate(() => {
    const w = window as unknown as { __sent: number[] };
    w.__sent = [];
    document.addEventListener('keydown', (e) => w.__sent.push(performance.timeOrigin + e.timeStamp), true);
  });
  await caretAtSection(attending.page, reportId, 'Findings');
  await attending.page.keyboard.type('z'.repeat(KEYS), { delay: 30 });
  for (;;) {
    const n = await resident.page.evaluate(() => (window as unknown as { __arrivals: number[] }).__arrivals.length);
    if (n >= KEYS) break;
    await resident.page.waitForTimeout(50);
  }
  const sent = await attending.page.evaluate(() => (window as unknown as { __sent: number[] }).__sent);
  const arrivals = await resident.page.evaluate(() => (window as unknown as { __arrivals: number[] }).__arrivals);
  const remotePaint = stats(sent.slice(0, KEYS).map((t, i) => arrivals[i]! - t));

  // ------------------------------------------------------------ helpers for 2 and 3
  const page = resident.page;
  const installLatencyProbe = () =>
    page.evaluate(() => {
      const w = window as unknown as { __latency: number[]; __slowEvents: number; __down: number; __probe?: boolean };
      if (w.__probe) return;
      w.__probe = true;
      w.__latency = [];
      w.__slowEvents = 0;
      document.addEventListener('keydown', (e) => (w.__down = e.timeStamp), true);
      document.addEventListener('input', () => {
        const down = w.__down;
        requestAnimationFrame(() => {
          const channel = new MessageChannel();
          channel.port1.onmessage = () => w.__latency.push(performance.now() - down);
          channel.port2.postMessage(null);
        });
      });
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (entry.name === 'keydown') w.__slowEvents += 1;
      }).observe({ type: 'event', durationThreshold: 16 } as PerformanceObserverInit);
    });
  const PHRASE = 'Impression typed into the report. ';
  async function measureTyping() {
    await installLatencyProbe();
    await page.evaluate(() => {
      const w = window as unknown as { __latency: number[]; __slowEvents: number };
      w.__latency = [];
      w.__slowEvents = 0;
    });
    await caretAtSection(page, reportId, 'Impression');
    const typed = PHRASE.repeat(4);
    await page.keyboard.type(typed, { delay: 40 });
    // every keystroke's frame measured before reading
    for (;;) {
      const n = await page.evaluate(() => (window as unknown as { __latency: number[] }).__latency.length);
      if (n >= typed.length) break;
      await page.waitForTimeout(20);
    }
    const typing = await page.evaluate(() => {
      const w = window as unknown as { __latency: number[]; __slowEvents: number };
      return { latency: w.__latency, slow: w.__slowEvents };
    });
    return {
      ...stats(typing.latency),
      keystrokesOver16msByEventTiming: typing.slow,
      documentChars: (await editorText(page, reportId))!.length,
    };
  }

  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  // Watches from document start, every frame, for the editor to be editable with the report text.
  await resident.context.addInitScript({
    content: `
    (() => {
      const tick = () => {
        const e = window.__pacsEditors && window.__pacsEditors[${JSON.stringify(`live:${reportId}`)}];
        if (e && e.isEditable && e.getText().includes('Impression typed')) { window.__editableAt = performance.now(); return; }
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })();`,
  });
  const waitEditable = () =>
    page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const w = window as unknown as { __editableAt?: number };
          const wait = () => (w.__editableAt !== undefined ? resolve(w.__editableAt) : setTimeout(wait, 5));
          wait();
        }),
    );
  /** An offline start asks for the PIN (the device's data is sealed): typed, then Open clicked; answers the click's time. */
  const unlock = async () => {
    await page.getByLabel('PIN', { exact: true }).fill(OFFLINE_PIN);
    return page.evaluate(() => {
      const open = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Open')!;
      const clicked = performance.now();
      open.click();
      return clicked;
    });
  };
  async function measureOfflineOpen() {
    await live(page);
    await setOfflinePin(page);
    await resident.context.setOffline(true);
    const inApp: number[] = [];
    const reload: number[] = [];
    const marks: Record<string, number>[] = [];
    for (let run = 0; run < RUNS; run++) {
      // (a) in-app: from the worklist to the report, offline
      await page.goto(`${system.url}/worklist`);
      await unlock();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      const t0 = await page.evaluate((url) => {
        const start = performance.now();
        window.history.pushState(null, '', url);
        window.dispatchEvent(new PopStateEvent('popstate'));
        return start;
      }, `/report/${studyId}?images=off`);
      inApp.push((await waitEditable()) - t0);
      marks.push(
        await page.evaluate(
          (start) =>
            Object.fromEntries(
              performance
                .getEntriesByType('mark')
                .filter((m) => m.name.startsWith('pacs-report:'))
                .map((m) => [m.name.slice(12), Math.round(m.startTime - start)]),
            ),
          t0,
        ),
      );
      // (b) full offline reload of the report URL, from the PIN's Open (the vault opens, then the report)
      await page.goto(reportUrl);
      const opened = await unlock();
      reload.push((await waitEditable()) - opened);
      if (!(await editorEditable(page, reportId))) throw new Error('editor not editable offline');
    }
    await resident.context.setOffline(false);
    await live(page);
    const phase = (name: string) =>
      round(
        pct(
          marks.map((m) => m[name] ?? Number.NaN),
          0.5,
        ),
      );
    return {
      // Where the in-app time goes: report chunk evaluated, connection created, IndexedDB read, ready to edit.
      inAppPhasesP50: { chunk: phase('chunk'), connection: phase('connection'), idbSynced: phase('idb-synced'), loaded: phase('loaded') },
      inAppNavigation: stats(inApp),
      fullReloadFromPinOpen: stats(reload),
      documentChars: (await editorText(page, reportId))!.length,
    };
  }

  // ------------------------------------------------------------ 2 and 3 on the one-page report (baseline)
  const typingSmall = await measureTyping();
  const offlineSmall = await measureOfflineOpen();

  // ------------------------------------------------------------ 2 and 3 on a 20-page report
  await page.evaluate((key) => {
    const editor = (
      window as unknown as {
        __pacsEditors: Record<
          string,
          { commands: { insertContentAt(pos: number, c: unknown): boolean }; state: { doc: { content: { size: number } } } }
        >;
      }
    ).__pacsEditors[key]!;
    const sentence = 'The liver, spleen and pancreas are unremarkable, with no focal lesion and normal enhancement. ';
    const paragraphs = [];
    for (let i = 0; i < 20 * 12; i++)
      paragraphs.push({ type: 'paragraph', content: [{ type: 'text', text: `${i + 1}. ${sentence.repeat(3)}` }] });
    editor.commands.insertContentAt(editor.state.doc.content.size, paragraphs);
  }, `live:${reportId}`);
  const chars = (await editorText(page, reportId))!.length;
  for (;;) {
    if (((await editorText(attending.page, reportId)) ?? '').length >= chars) break;
    await attending.page.waitForTimeout(100);
  }
  // BENCH_PROFILE: the resident page while typing in the 20-page report.
  const stopProfile = await startPageProfile(page, 'typing-20-pages');
  const typingLarge = await measureTyping();
  await stopProfile();
  const offlineLarge = await measureOfflineOpen();
  const inputLatency = { onePage: typingSmall, twentyPages: typingLarge };
  const offlineOpen = { onePage: offlineSmall, twentyPages: offlineLarge };

  console.log(
    JSON.stringify({ keys: KEYS, remotePaintMs: remotePaint, inputLatencyMs: inputLatency, offlineOpenMs: offlineOpen }, null, 2),
  );
} finally {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser.close();
  await system.stop();
}
