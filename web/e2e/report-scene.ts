/**
 * What each report e2e test sets up for itself: a study of its own, its report started through the
 * API, signed-in browser contexts (closed after the test). No test depends on another's leftovers.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { editorText, shownReportId } from './report-support';
import { apiLogin, RADIOLOGIST, RESIDENT, type System, signIn } from './support';

type Credentials = { email: string; password: string };

/** A browser context signed in as one user: a workstation or a tablet. */
export interface Desk {
  context: BrowserContext;
  page: Page;
}

export const WORKSTATION = { width: 1280, height: 860 };
export const TABLET = { width: 1180, height: 820 };

/** Opens signed-in browser contexts for a test and closes them after it (call `closeAll` in afterEach). */
export class Desks {
  private readonly opened: BrowserContext[] = [];
  constructor(
    readonly browser: Browser,
    readonly url: string,
  ) {}

  async open(who: Credentials, options: { viewport?: { width: number; height: number }; acceptDownloads?: boolean } = {}): Promise<Desk> {
    const context = await this.browser.newContext({ viewport: options.viewport ?? WORKSTATION, acceptDownloads: options.acceptDownloads });
    this.opened.push(context);
    const page = await context.newPage();
    await signIn(page, this.url, who);
    return { context, page };
  }

  async closeAll(): Promise<void> {
    const contexts = this.opened.splice(0);
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  }
}

let studies = 0;

/** A fresh CT study of its own for one test. */
export async function seedReportStudy(system: System): Promise<string> {
  studies += 1;
  const { id } = await system.seed({
    patientName: `Test^Report${studies}`,
    modalities: ['CT'],
    description: 'CT HEAD',
    accessionNumber: `E2E-R${studies}-${Date.now()}`,
  });
  return id;
}

/** Starts the study's report through the API (what "Start report" does); answers its id. */
export async function startReportByApi(system: System, who: Credentials, studyId: string): Promise<string> {
  const client = await apiLogin(system.url, who);
  return (await client.call<{ id: string }>('POST', `/api/studies/${studyId}/report`, {})).id;
}

/** Opens the study's report page (without the images) and answers the report id shown. */
export async function openReport(page: Page, url: string, studyId: string): Promise<string> {
  await page.goto(`${url}/report/${studyId}?images=off`);
  return shownReportId(page);
}

/** The page is controlled by the service worker (needed for an offline reload). */
export async function requireServiceWorker(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

type Role = 'attending' | 'resident' | 'tablet';
const WHO: Record<Role, { who: Credentials; viewport: { width: number; height: number } }> = {
  attending: { who: RADIOLOGIST, viewport: WORKSTATION },
  resident: { who: RESIDENT, viewport: WORKSTATION },
  tablet: { who: RESIDENT, viewport: TABLET },
};

export type ReportScene = { studyId: string; reportId: string; contexts: Record<Role, BrowserContext> } & Record<Role, Page>;

/**
 * A new study with its report started (through the API, by the resident), and one signed-in
 * page per role with the live editor on it: what most report tests start from.
 */
export async function reportScene(
  system: System,
  desks: Desks,
  roles: Role[],
  options: { acceptDownloads?: boolean } = {},
): Promise<ReportScene> {
  const studyId = await seedReportStudy(system);
  const [reportId, opened] = await Promise.all([
    startReportByApi(system, RESIDENT, studyId),
    Promise.all(roles.map((role) => desks.open(WHO[role].who, { viewport: WHO[role].viewport, acceptDownloads: options.acceptDownloads }))),
  ]);
  const scene = { studyId, reportId, contexts: {} } as ReportScene;
  await Promise.all(
    roles.map(async (role, i) => {
      const { context, page } = opened[i]!;
      scene[role] = page;
      scene.contexts[role] = context;
      const shown = await openReport(page, system.url, studyId);
      if (shown !== reportId) throw new Error(`${role} sees report ${shown}, not ${reportId}`);
      await expect.poll(() => editorText(page, reportId)).toContain('Clinical history');
      await expect.poll(() => page.getByTestId('report-link').first().getAttribute('data-state')).toBe('live');
    }),
  );
  return scene;
}

/** Signs the report as the attending on `page` (nothing pending first) and waits for the signed view. */
export async function signReport(page: Page, reportId: string): Promise<void> {
  await expect.poll(() => page.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
  const finalized = page.waitForResponse((r) => r.url().endsWith(`/api/reports/${reportId}/finalize`) && r.request().method() === 'POST');
  await page.locator('.report-app > .report-document').getByRole('button', { name: 'Sign and finalize' }).click();
  expect((await finalized).status()).toBe(200);
  await expect.poll(() => page.locator('.report-app > .report-document .final-banner').first().textContent()).toMatch(/^Final — signed by/);
  await expect.poll(() => editorText(page, reportId, 'signed')).not.toBeNull();
}
