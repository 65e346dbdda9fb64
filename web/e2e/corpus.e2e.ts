/**
 * Transfer-syntax corpus check in Debian's Chromium: every valid image file of the
 * DICOM corpus (PACS_DICOM_CORPUS, set by .ci/run) is stored in a real Orthanc over REST, ingested,
 * opened in the viewer through /dicom-web, and every frame the viewport renders is compared with DCMTK's
 * `dcm2pnm` rendering of the same frame with the same window (method and tolerances: corpus/index.ts
 * and web/README.md). DCMTK 3.6.7 cannot decode JPEG 2000 or HTJ2K: those are decoded by GDCM (then
 * rendered by DCMTK) or OpenJPEG (j2k-references.ts), and compared with their twin in the corpus too where
 * there is one; Deflated Image Frame files only with their twin. Each test title names its references.
 * A file that cannot be decoded must show a message in the viewport and leave the app usable.
 *
 * Without PACS_DICOM_CORPUS the same comparison runs on files this test makes with DCMTK and GDCM (a
 * synthetic CT in eight transfer syntaxes, an RGB image as is, as JPEG baseline YBR and as lossy JPEG
 * 2000), so the file is never hollow.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Capture,
  type Case,
  type Comparison,
  captureViewport,
  compareCapture,
  compareCaptures,
  corpusCases,
  corpusDir,
  generatedCases,
  KNOWN_DEFECTS,
  NO_REFERENCE,
  type OrthancRest,
  orthancFetch,
  plannedGeneratedCases,
  recordRenders,
  referenceLabel,
  renderReference,
  rounds,
  studyInstanceUid,
  tolerance,
  UNDECODABLE_CANDIDATES,
  uploadInstance,
  withStudyUids,
} from './corpus';
import { launchBrowser, RADIOLOGIST, signIn } from './support';
import { startViewerSystem, type ViewerSystem } from './viewer-support';

const CORPUS = corpusDir();
/** Each case's name and the references it is checked against (known before any file is made: one test each). */
const CASE_TITLES: [name: string, references: string][] = (CORPUS ? corpusCases(CORPUS) : plannedGeneratedCases('generated')).map((c) => [
  c.name,
  c.references.length ? c.references.map(referenceLabel).join(' and ') : 'no pixel reference',
]);

interface FrameResult {
  frame: number;
  /** The viewport's error message. */
  error?: string;
  /** One per reference of the case, in its order: the comparison, or why the reference could not be made. */
  checks?: ({ comparison: Comparison } | { referenceError: string })[];
}
interface CaseResult {
  case: Case;
  stored: boolean;
  storeError?: string;
  frames: FrameResult[];
  firstCapture?: Capture;
}

let system: ViewerSystem;
let browser: Browser;
let page: Page;
let orthanc: OrthancRest;
let work: string;
let cases: Case[] = [];
let undecodable: string[] = [];
const results = new Map<string, CaseResult>();
const twinReport: string[] = [];
let elapsedMs = 0;

function uidRootFor(name: string): string {
  let h = 0n;
  for (const ch of name) h = (h * 131n + BigInt(ch.codePointAt(0)!)) % 10n ** 30n;
  return `2.25.${h + 1n}`;
}

async function openStudy(apiId: string): Promise<number> {
  await page.goto(`${system.url}/viewer/${apiId}?source=online`);
  await seriesButtons().first().waitFor({ timeout: 30_000 });
  return seriesButtons().count();
}

/** The series of the open study (the side panel also lists earlier studies: not those). */
function seriesButtons() {
  return page.locator('nav[aria-label="Series"] .viewer-series button');
}

/** Walks every frame of every series of the open study; compares the frames of the cases in `bySop`. */
async function walkStudy(seriesCount: number, bySop: Map<string, CaseResult>): Promise<void> {
  const visited: string[] = [];
  for (let s = 0; s < seriesCount; s++) {
    if (s > 0) await seriesButtons().nth(s).click();
    let index = 0;
    for (;;) {
      const outcome = await page
        .waitForFunction(
          ([i, seen]) => {
            const w = window as unknown as {
              __corpusRendered?: { index: number; imageId: string };
              __pacsViewer?: { state(): { index: number; imageId: string } | null };
            };
            const state = w.__pacsViewer?.state();
            if (!state || state.index !== i || (seen as string[]).some((uid) => state.imageId.includes(`/series/${uid}/`))) return false;
            const message = document.querySelector('[data-testid="viewport-message"]');
            if (message?.getAttribute('role') === 'alert') return { imageId: state.imageId, error: message.textContent ?? '' };
            const r = w.__corpusRendered;
            if (!message && r && r.index === i && r.imageId === state.imageId) return { imageId: state.imageId, error: null };
            return false;
          },
          // after a series change, wait until the stack shows a series not seen before
          [index, index === 0 ? visited : []] as const,
          { timeout: 30_000 },
        )
        .then((h) => h.jsonValue() as Promise<{ imageId: string; error: string | null }>)
        .catch(async (error: Error) => {
          const seen = await page.evaluate(() => {
            const w = window as unknown as { __corpusRendered?: unknown; __pacsViewer?: { state(): unknown } };
            return {
              rendered: w.__corpusRendered,
              state: w.__pacsViewer?.state() ?? null,
              message: document.querySelector('[data-testid="viewport-message"]')?.textContent ?? null,
            };
          });
          throw new Error(`${error.message}; waiting for image ${index}, viewer: ${JSON.stringify(seen)}`);
        });
      const m = /\/series\/([^/]+)\/instances\/([^/]+)\/frames\/(\d+)/.exec(outcome.imageId);
      if (!m) throw new Error(`unexpected image id ${outcome.imageId}`);
      const [, seriesUid, sop, frameText] = m as unknown as [string, string, string, string];
      if (index === 0) visited.push(seriesUid);
      const target = bySop.get(sop);
      const frame = Number(frameText);
      if (target) {
        if (outcome.error) target.frames.push({ frame, error: outcome.error });
        else {
          const capture = await captureViewport(page);
          if (frame === 1) target.firstCapture = capture;
          // A reference that cannot be made (a tool missing, a decoder failing) fails this file's test, not the run.
          const checks = target.case.references.map((ref) => {
            try {
              const bitmap = renderReference(ref, frame, capture.voi);
              return { comparison: compareCapture(capture, bitmap, tolerance(ref.lossy).outlierLevel) };
            } catch (error) {
              return { referenceError: `${referenceLabel(ref)}: ${(error as Error).message}` };
            }
          });
          target.frames.push({ frame, checks });
        }
      }
      const count = await page.evaluate(
        () => (window as unknown as { __pacsViewer?: { state(): { count: number } | null } }).__pacsViewer?.state()?.count ?? 0,
      );
      if (index + 1 >= count) break;
      index++;
      if (index === 1) await page.getByTestId('viewport').focus();
      await page.keyboard.press('ArrowDown');
    }
  }
}

async function runRound(round: Case[]): Promise<void> {
  const uploaded: string[] = [];
  const studies = new Map<string, Map<string, CaseResult>>();
  for (const c of round) {
    const result: CaseResult = { case: c, stored: false, frames: [] };
    results.set(c.name, result);
    const { bytes } = withStudyUids(readFileSync(c.file), uidRootFor(c.name));
    const answer = await uploadInstance(orthanc, bytes);
    if (!answer.ok) {
      result.storeError = `Orthanc refused it (HTTP ${answer.httpStatus})`;
      continue;
    }
    result.stored = true;
    uploaded.push(answer.instance);
    const bySop = studies.get(answer.study) ?? new Map<string, CaseResult>();
    // The SOP Instance UID as Orthanc indexed it (the manifest's for corpus files).
    const tags = (await (await orthancFetch(orthanc, `/instances/${answer.instance}`)).json()) as {
      MainDicomTags: { SOPInstanceUID: string };
    };
    bySop.set(tags.MainDicomTags.SOPInstanceUID, result);
    studies.set(answer.study, bySop);
  }
  for (const [orthancStudy, bySop] of studies) {
    const { id } = await system.ingestStudy(await studyInstanceUid(orthanc, orthancStudy));
    if (process.env.E2E_VERBOSE)
      console.log(`${new Date().toISOString()} opening ${[...bySop.values()].map((r) => r.case.name).join(', ')}`);
    const seriesCount = await openStudy(id);
    await walkStudy(seriesCount, bySop);
  }
  for (const instance of uploaded) await orthancFetch(orthanc, `/instances/${instance}`, { method: 'DELETE' });
}

beforeAll(async () => {
  const started = Date.now();
  work = mkdtempSync(path.join(os.tmpdir(), 'pacs-corpus-'));
  system = await startViewerSystem();
  orthanc = await system.orthancInfo();
  if (CORPUS) {
    cases = corpusCases(CORPUS);
    // The corpus's invalid files mostly never reach a viewer (Orthanc refuses them) and its corrupt J2K
    // decodes to noise, so a file made here with an undecodable codestream is added.
    undecodable = [...UNDECODABLE_CANDIDATES.map((p) => path.join(CORPUS, p)), (await generatedCases(work)).undecodable];
  } else {
    const generated = await generatedCases(work);
    cases = generated.cases;
    undecodable = [generated.undecodable];
  }
  browser = await launchBrowser();
  // A modest window keeps each read-back small (the viewport canvas is what is compared).
  const context = await browser.newContext({ viewport: { width: 960, height: 640 } });
  page = await context.newPage();
  await recordRenders(page);
  await signIn(page, system.url, RADIOLOGIST);
  for (const round of rounds(cases)) await runRound(round);
  elapsedMs = Date.now() - started;
  console.log(report());
}, 900_000);

afterAll(async () => {
  if (twinReport.length) console.log(`viewer twins:\n${twinReport.join('\n')}`);
  await browser?.close();
  await system?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The worst figures over the frames against reference `index` of the case, and the errors on the way. */
function summary(
  result: CaseResult,
  index: number,
): { compared: Comparison[]; maxExcess: number; mean: number; outliers: number; errors: string[]; referenceErrors: string[] } {
  const checks = result.frames.map((f) => f.checks?.[index]);
  const compared = checks.flatMap((c) => (c && 'comparison' in c ? [c.comparison] : []));
  return {
    compared,
    maxExcess: Math.max(0, ...compared.map((c) => c.maxExcess)),
    mean: Math.max(0, ...compared.map((c) => c.mean)),
    outliers: Math.max(0, ...compared.map((c) => c.outlierFraction)),
    errors: result.frames.flatMap((f) => (f.error ? [`frame ${f.frame}: ${f.error}`] : [])),
    referenceErrors: result.frames.flatMap((f, i) => {
      const c = checks[i];
      return c && 'referenceError' in c ? [`frame ${f.frame}: ${c.referenceError}`] : [];
    }),
  };
}

/** One line per file and reference. */
function report(): string {
  const lines = [`corpus check (${CORPUS ? 'corpus' : 'generated files'}): ${results.size} files in ${(elapsedMs / 1000).toFixed(0)} s`];
  lines.push('file | transfer syntax | frames | reference | max excess | % beyond | mean | result');
  for (const r of results.values()) {
    const refs = r.case.references.length ? r.case.references : [null];
    refs.forEach((ref, i) => {
      const s = summary(r, i);
      const status = r.storeError ?? s.errors[0] ?? s.referenceErrors[0] ?? 'rendered';
      lines.push(
        `${r.case.name} | ${r.case.transferSyntax} | ${r.frames.length}/${r.case.frames} | ${ref ? referenceLabel(ref) : 'none'} | ${s.maxExcess} | ${(s.outliers * 100).toFixed(2)} | ${s.mean.toFixed(2)} | ${status}`,
      );
    });
  }
  return lines.join('\n');
}

const SUITE = CORPUS ? 'transfer-syntax corpus (PACS_DICOM_CORPUS)' : 'transfer syntaxes, files made here with DCMTK and GDCM (no corpus)';
describe(SUITE, () => {
  const known = ([name]: [string, string]) => !!KNOWN_DEFECTS[name];
  // Known defects (corpus/cases.ts KNOWN_DEFECTS): it.fails, so they turn red once fixed.
  it.fails.each(CASE_TITLES.filter(known))('%s renders like %s (known defect)', (name) => check(name));
  it.each(CASE_TITLES.filter((t) => !known(t)))('%s renders like %s', (name) => check(name));

  function check(name: string): void {
    const result = results.get(name);
    expect(result, 'processed').toBeDefined();
    const c = result!.case;
    expect(result!.storeError ?? null, 'stored in Orthanc').toBeNull();
    expect(summary(result!, 0).errors, 'decoded without an error message').toEqual([]);
    // every frame of the file was shown
    expect(result!.frames.map((f) => f.frame).sort((a, b) => a - b)).toEqual(Array.from({ length: c.frames }, (_, i) => i + 1));
    c.references.forEach((ref, i) => {
      const label = referenceLabel(ref);
      const s = summary(result!, i);
      // A missing tool names its Debian package here.
      expect(s.referenceErrors, `${label}: reference made`).toEqual([]);
      const tol = tolerance(ref.lossy);
      expect(s.compared.length === c.frames && s.compared.every((cmp) => cmp.pixels > 64), `${label}: every frame compared`).toBe(true);
      expect(s.maxExcess, `${label}: max excess (tolerance ${tol.maxExcess})`).toBeLessThanOrEqual(tol.maxExcess);
      expect(s.outliers, `${label}: outlier fraction`).toBeLessThanOrEqual(tol.maxOutlierFraction);
      expect(s.mean, `${label}: mean distance`).toBeLessThanOrEqual(tol.maxMean);
    });
    if (!c.references.length) {
      expect(NO_REFERENCE.has(name) || c.viewerTwin !== undefined, 'a file without a reference is a known one').toBe(true);
      const shot = result!.firstCapture;
      expect(shot, 'first frame captured').toBeDefined();
      let lit = 0;
      for (let i = 0; i < shot!.rgb.length; i += 3) if (shot!.rgb[i]! > 8 || shot!.rgb[i + 1]! > 8 || shot!.rgb[i + 2]! > 8) lit++;
      expect(lit / (shot!.rgb.length / 3), 'not a blank canvas').toBeGreaterThan(0.01);
    }
    if (c.viewerTwin) {
      // The same image in another encoding, decoded by the viewer too (another codec, or lossless vs lossy).
      const twin = results.get(c.viewerTwin.name)?.firstCapture;
      expect(twin, `${c.viewerTwin.name} captured`).toBeDefined();
      const tol = tolerance(c.viewerTwin.lossy);
      const cmp = compareCaptures(result!.firstCapture!, twin!, tol.outlierLevel);
      expect(cmp, 'same geometry as the twin').not.toBeNull();
      twinReport.push(
        `${name} vs ${c.viewerTwin.name}: max ${cmp!.maxExcess}, >${tol.outlierLevel}: ${(cmp!.outlierFraction * 100).toFixed(2)} %, mean ${cmp!.mean.toFixed(2)}`,
      );
      expect(cmp!.maxExcess, `max difference (tolerance ${tol.maxExcess})`).toBeLessThanOrEqual(tol.maxExcess);
      expect(cmp!.outlierFraction).toBeLessThanOrEqual(tol.maxOutlierFraction);
      expect(cmp!.mean).toBeLessThanOrEqual(tol.maxMean);
    }
  }

  it('shows a message in the viewport for a file that cannot be decoded, and the app stays usable', async () => {
    let shown = 0;
    for (const file of undecodable) {
      const answer = await uploadInstance(orthanc, readFileSync(file));
      if (!answer.ok) {
        console.log(
          `undecodable candidate ${path.basename(file)}: Orthanc refused it (HTTP ${answer.httpStatus}), it never reaches a viewer`,
        );
        continue;
      }
      const { id } = await system.ingestStudy(await studyInstanceUid(orthanc, answer.study));
      await openStudy(id);
      const message = page.getByTestId('viewport-message');
      // The defect may be in a later frame (a truncated multi-frame file): then go to the last one.
      const first = await page.waitForFunction(
        () =>
          document.querySelector('[data-testid="viewport-message"]')?.getAttribute('role') === 'alert'
            ? 'alert'
            : (window as unknown as { __corpusRendered?: { n: number } }).__corpusRendered!.n > 0 &&
                !document.querySelector('[data-testid="viewport-message"]')
              ? 'image'
              : false,
        undefined,
        { timeout: 30_000 },
      );
      if ((await first.jsonValue()) === 'image') {
        await page.getByTestId('viewport').focus();
        await page.keyboard.press('End');
      }
      const alerted = await page
        .waitForFunction(() => document.querySelector('[data-testid="viewport-message"]')?.getAttribute('role') === 'alert', undefined, {
          timeout: 20_000,
        })
        .then(() => true)
        .catch(() => false);
      if (!alerted) {
        // The decoder made something of it (a corrupt J2K codestream decodes to noise): an image, not a hang.
        expect(await page.evaluate(() => (window as unknown as { __corpusRendered: { n: number } }).__corpusRendered.n)).toBeGreaterThan(0);
        console.log(`undecodable candidate ${path.basename(file)}: decoded without an error`);
        await orthancFetch(orthanc, `/instances/${answer.instance}`, { method: 'DELETE' });
        continue;
      }
      expect(await message.textContent()).toMatch(/cannot be (decoded|loaded)/);
      console.log(`undecodable ${path.basename(file)}: "${await message.textContent()}"`);
      shown++;
      // not frozen: the page still answers (a series button takes focus and the message stays readable)
      const series = page.getByRole('navigation', { name: 'Series' }).getByRole('button').first();
      await series.focus();
      expect(await page.evaluate(() => document.activeElement?.closest('nav')?.getAttribute('aria-label'))).toBe('Series');
      await expect.poll(async () => message.getAttribute('role')).toBe('alert');
      await orthancFetch(orthanc, `/instances/${answer.instance}`, { method: 'DELETE' });
    }
    expect(shown, 'at least one undecodable file reached the viewer').toBeGreaterThan(0);
    await page.goto(`${system.url}/worklist`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });
});
