/**
 * Interop: OHIF Viewer 3.13.2 (the prebuilt `dist/` of the @ohif/app npm package, see ohif-dist.mjs)
 * served by our gateway in place of our app, against our own same-origin /dicom-web with the bearer
 * token of a real login, in Debian's Chromium. Demo studies go generated DICOM → C-STORE → Orthanc →
 * ingestion, as in the viewer e2e. OHIF's study list must show patient names and study descriptions
 * (it asks QIDO-RS for them with an `includefield` list), and a study must render pixels.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureOhifDist, OHIF_CACHE } from './ohif-dist.mjs';
import { apiLogin, type DicomStudy, launchBrowser, RADIOLOGIST, type System, startSystem } from './support';

/**
 * OHIF's config, for our origin: one DICOMweb source at /dicom-web. The bearer token comes from
 * the page (the test puts a real login's token there); OHIF's services exist only once the app
 * starts, so the config is a function and sets the header when the data source initialises.
 */
const APP_CONFIG = `/* Written by web/e2e/ohif.e2e.ts: OHIF against the PACS's same-origin /dicom-web. */
window.config = ({ servicesManager }) => ({
  routerBasename: '/',
  extensions: [],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  defaultDataSourceName: 'pacs',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'pacs',
      configuration: {
        friendlyName: 'PACS DICOMweb',
        name: 'pacs',
        wadoUriRoot: window.location.origin + '/dicom-web',
        qidoRoot: window.location.origin + '/dicom-web',
        wadoRoot: window.location.origin + '/dicom-web',
        qidoSupportsIncludeField: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true },
        onConfiguration: (configuration) => {
          servicesManager.services.userAuthenticationService.setServiceImplementation({
            getAuthorizationHeader: () => ({ Authorization: 'Bearer ' + window.__pacsBearer }),
          });
          return configuration;
        },
      },
    },
  ],
});
`;

/**
 * Static headers for OHIF's files: ours minus what OHIF's build cannot live with (an inline script
 * in index.html, WebAssembly codecs, blob workers). Proxied answers (/dicom-web, /api) keep the API's.
 */
const OHIF_HEADERS = `add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' data: blob:; worker-src 'self' blob:; font-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'" always;
add_header X-Content-Type-Options "nosniff" always;
add_header Referrer-Policy "no-referrer" always;
add_header Cross-Origin-Opener-Policy "same-origin" always;
add_header Cross-Origin-Resource-Policy "same-origin" always;
`;

let system: System;
let browser: Browser;
let bearer: string;
const studies: (DicomStudy & { patientName: string; description: string })[] = [];
const opened: Page[] = [];

beforeAll(async () => {
  const dist = ensureOhifDist();
  writeFileSync(path.join(dist, 'app-config.js'), APP_CONFIG);
  const headersFile = path.join(OHIF_CACHE, 'security-headers.conf');
  writeFileSync(headersFile, OHIF_HEADERS);
  system = await startSystem({ orthanc: true, env: { PACS_E2E_SECURITY_HEADERS: headersFile } });
  // Three of the demo protocols (CT head, chest radiographs, DX), patient names in Latin-1 and UTF-8.
  for (const index of [4, 2, 5]) studies.push(await system.storeDemoStudy(index, 3));
  await system.useWebRoot(dist);
  bearer = (await apiLogin(system.url, RADIOLOGIST)).accessToken;
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.context().close()));
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function ohifPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript({ content: `window.__pacsBearer = ${JSON.stringify(bearer)};` });
  const page = await context.newPage();
  opened.push(page);
  return page;
}

/** How OHIF shows a DICOM person name in its study list: "Family, Given". */
const shownName = (pn: string) => {
  const [family, given] = pn.split('^');
  return given ? `${family}, ${given}` : family!;
};

describe('OHIF Viewer against /dicom-web', () => {
  it('lists the studies with patient names and study descriptions', async () => {
    const page = await ohifPage();
    await page.goto(`${system.url}/`);
    const list = page.locator('body');
    for (const { patientName } of studies) await expect.poll(() => list.textContent()).toContain(shownName(patientName));
    const text = (await list.textContent()) ?? '';
    for (const { description } of studies) expect(text).toContain(description);
    expect(text).not.toContain('No Description');
  });

  it('opens a study and renders its image (a canvas that is not blank)', async () => {
    const page = await ohifPage();
    const ct = studies[0]!;
    await page.goto(`${system.url}/viewer?StudyInstanceUIDs=${ct.studyInstanceUid}`);
    const stats = () =>
      page.evaluate(() => {
        let best: { width: number; height: number; nonBlack: number; levels: number } | null = null;
        for (const canvas of document.querySelectorAll<HTMLCanvasElement>('canvas.cornerstone-canvas')) {
          const context = canvas.getContext('2d');
          if (!context || canvas.width < 64 || canvas.height < 64) continue;
          const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
          const levels = new Set<number>();
          let nonBlack = 0;
          for (let i = 0; i < data.length; i += 4) {
            const grey = data[i]! + data[i + 1]! + data[i + 2]!;
            if (grey > 30) nonBlack += 1;
            levels.add(data[i]!);
          }
          const found = { width: canvas.width, height: canvas.height, nonBlack: nonBlack / (data.length / 4), levels: levels.size };
          if (!best || found.levels > best.levels) best = found;
        }
        return best;
      });
    // The viewport is painted once in a flat colour before the image arrives (and OHIF may mount it
    // again meanwhile): wait for a canvas holding the image itself.
    let rendered: Awaited<ReturnType<typeof stats>> = null;
    await expect
      .poll(
        async () => {
          rendered = await stats();
          return rendered && rendered.nonBlack > 0.05 && rendered.levels > 10 ? 'image' : JSON.stringify(rendered);
        },
        { timeout: 60_000 },
      )
      .toBe('image');
    expect(rendered!.width).toBeGreaterThan(200);
  });

  it("lists our DICOM SR measurement report (TID 1500) among the study's series: its SR handler took it", async () => {
    const ct = studies[0]!;
    const series = ct.series[0]!;
    const auth = { authorization: `Bearer ${bearer}` };
    const instances = (await (
      await fetch(`${system.url}/dicom-web/studies/${ct.studyInstanceUid}/series/${series.seriesInstanceUid}/instances`, { headers: auth })
    ).json()) as { '00080018': { Value: [string] } }[];
    const measurement = {
      id: randomUUID(),
      tool: 'Length',
      seriesInstanceUid: series.seriesInstanceUid,
      sopInstanceUid: instances[0]!['00080018'].Value[0],
      frame: 1,
      label: 'Lesion',
      points: [
        [20, 20],
        [80, 20],
      ],
      values: { length: 31.5 },
      units: { length: 'mm' },
    };
    const json = { ...auth, 'content-type': 'application/json' };
    const created = await fetch(`${system.url}/api/studies/${ct.id}/measurements`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(measurement),
    });
    expect(created.status).toBe(201);
    const exported = await fetch(`${system.url}/api/studies/${ct.id}/measurements/dicom-sr`, { method: 'POST', headers: auth });
    expect(exported.status).toBe(200);

    const page = await ohifPage();
    await page.goto(`${system.url}/viewer?StudyInstanceUIDs=${ct.studyInstanceUid}`);
    // OHIF shows a non-image display set only for an SR its SR extension could read.
    const sr = page.locator('[data-cy="study-browser-thumbnail-no-image"]');
    await expect.poll(() => sr.count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => sr.first().textContent()).toMatch(/SR[\s\S]*Measurements|Measurements[\s\S]*SR/);
  });
});
