/**
 * The PWA in Debian's Chromium against the real API and gateway (see support.ts). One system and
 * one browser for the file; every test opens its own signed-in browser context (closed after it),
 * seeds its own studies and sets up its own service worker and offline state, so each test runs
 * alone as well as in the file, in any order.
 */

import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireServiceWorker } from './report-scene';
import {
  ADMIN,
  apiLogin,
  enterOfflinePin,
  launchBrowser,
  launchPersistentProfile,
  RADIOLOGIST,
  RESIDENT,
  type System,
  seriousViolations,
  setOfflinePin,
  signIn,
  startSystem,
  WEB_DIST,
} from './support';

interface Row {
  id: string;
  priority: string;
  version: number;
  assignee: { id: string; name: string } | null;
}

type Credentials = { email: string; password: string };
type Viewport = { width: number; height: number };

/** The radiologist's tablet. */
const TABLET: Viewport = { width: 1180, height: 820 };

interface Device {
  context: BrowserContext;
  page: Page;
}

/** The browser contexts (and anything else) a test sets up, undone after it (call `closeAll` in afterEach). */
class Devices {
  private readonly cleanups: (() => Promise<void>)[] = [];
  constructor(
    readonly browser: Browser,
    readonly url: string,
  ) {}

  /** A fresh incognito context, not signed in. */
  async blank(viewport: Viewport = TABLET): Promise<Device> {
    const context = await this.browser.newContext({ viewport });
    this.defer(() => context.close());
    return { context, page: await context.newPage() };
  }

  async signedIn(who: Credentials, viewport: Viewport = TABLET): Promise<Device> {
    const device = await this.blank(viewport);
    await signIn(device.page, this.url, who);
    return device;
  }

  /** A persistent profile of its own, signed in: an incognito context is never installable. */
  async installable(who: Credentials, viewport: Viewport = TABLET): Promise<Device> {
    const profileDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-e2e-profile-'));
    const context = await launchPersistentProfile(profileDir, viewport);
    this.defer(async () => {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await signIn(page, this.url, who);
    return { context, page };
  }

  /** Runs after the test, before the contexts opened earlier are closed. */
  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async closeAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
    if (failures.length) throw failures[0];
  }
}

let system: System;
let browser: Browser;
let devices: Devices;

beforeAll(async () => {
  system = await startSystem();
  browser = await launchBrowser();
  devices = new Devices(browser, system.url);
});

afterEach(async () => {
  await devices?.closeAll();
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const WORKLIST_SIZE = 12;

/** The time limit of the test that signs in two users and runs seven accessibility scans. */
const TWO_USERS_SEVEN_SCANS = 180_000;

/**
 * Twelve studies of one test (one STAT, two urgent, alternating CT and MR) whose accession numbers
 * start with `E2E-<tag>-`: searching for that prefix shows exactly these, whatever other tests seeded.
 * Answers the prefix to search for and the study ids in seeding order.
 */
async function seedWorklist(tag: string): Promise<{ search: string; ids: string[] }> {
  const search = `E2E-${tag.toUpperCase()}-`;
  const ids: string[] = [];
  for (let i = 0; i < WORKLIST_SIZE; i++) {
    const { id } = await system.seed({
      patientName: `Test^Patient${String(i).padStart(2, '0')}`,
      accessionNumber: `${search}${i}`,
      priority: i === 0 ? 'stat' : i < 3 ? 'urgent' : 'routine',
      modalities: [i % 2 ? 'MR' : 'CT'],
      description: i % 2 ? 'MR BRAIN' : 'CT CHEST',
    });
    ids.push(id);
  }
  return { search, ids };
}

/** How many studies `who`'s devices hold (their scope, as the device feed answers a new device): "N of N studies" unfiltered. */
async function studiesInScope(who: { email: string; password: string }): Promise<number> {
  const user = await apiLogin(system.url, who);
  const held = new Set<string>();
  let cursor = '0';
  for (let pages = 0; pages < 100; pages++) {
    const page = await user.call<{ changes: { id: string; deleted?: true }[]; cursor: string; hasMore: boolean }>(
      'GET',
      `/api/studies/changes?cursor=${encodeURIComponent(cursor)}&limit=500`,
    );
    for (const change of page.changes) change.deleted ? held.delete(change.id) : held.add(change.id);
    cursor = page.cursor;
    if (!page.hasMore) return held.size;
  }
  throw new Error('the device feed did not end');
}

const rows = (page: Page) => page.getByTestId('worklist-row');
const pendingCount = (page: Page) => page.getByTestId('pending-count');
const connectionState = (page: Page) => page.getByTestId('connection-state');
const rowFor = (page: Page, id: string) => page.locator(`[data-testid="worklist-row"][data-study-id="${id}"]`);

/** Opens the worklist from the main navigation and searches for `search`; waits for `expected` rows. */
async function openWorklist(page: Page, search: string, expected = WORKLIST_SIZE): Promise<void> {
  await page.getByRole('link', { name: 'Worklist', exact: true }).click();
  await page.getByTestId('worklist-search').fill(search);
  await expect.poll(() => rows(page).count()).toBe(expected);
}

async function expectNoSeriousA11yIssues(p: Page) {
  expect(await seriousViolations(p)).toEqual([]);
}

describe('web app end to end', () => {
  it('login page is accessible and a radiologist signs in and sees the worklist', async () => {
    const { search } = await seedWorklist('signin');
    const total = await studiesInScope(RADIOLOGIST);
    const { page } = await devices.blank();
    await page.goto(system.url);
    await page.getByLabel('Email').waitFor();
    await expectNoSeriousA11yIssues(page);
    await signIn(page, system.url, RADIOLOGIST);
    await expectNoSeriousA11yIssues(page); // dashboard
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    // Every study in the radiologist's scope reaches the device.
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe(`${total} of ${total} studies`);
    await page.getByTestId('worklist-search').fill(search);
    await expect.poll(() => rows(page).count()).toBe(WORKLIST_SIZE);
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe(`${WORKLIST_SIZE} of ${total} studies`);
    // STAT first
    expect(await rows(page).first().getAttribute('data-priority')).toBe('stat');
    await expectNoSeriousA11yIssues(page);
  });

  it('filters and searches locally', async () => {
    const { search } = await seedWorklist('filters');
    const total = await studiesInScope(RADIOLOGIST);
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    await page.getByTestId('worklist-search').fill(`${search} patient03`);
    await expect.poll(() => rows(page).count()).toBe(1);
    await page.getByTestId('worklist-search').fill(search);
    await page.getByLabel('Modality').selectOption('MR');
    await expect.poll(() => rows(page).count()).toBe(6);
    await page.getByRole('button', { name: 'Clear' }).click();
    // Clear drops the search as well as the modality: every study on the device shows again.
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe(`${total} of ${total} studies`);
    expect(await page.getByTestId('worklist-search').inputValue()).toBe('');
    await page.getByTestId('worklist-search').fill(search);
    await expect.poll(() => rows(page).count()).toBe(WORKLIST_SIZE);
  });

  it('shows a colleague’s change through the event stream, well before the fallback poll', async () => {
    const { search, ids } = await seedWorklist('stream');
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    const connection = page.getByTestId('connection');
    await expect.poll(() => connection.getAttribute('data-live'), { timeout: 20_000 }).toBe('true');
    const nudgesBefore = Number(await connection.getAttribute('data-nudges'));
    const target = ids[9]!;
    expect(await rowFor(page, target).getAttribute('data-priority')).toBe('routine');
    const admin = await apiLogin(system.url, ADMIN);
    const { study } = await admin.call<{ study: Row }>('GET', `/api/studies/${target}`);
    const changedAt = Date.now();
    await admin.call('PATCH', `/api/studies/${target}`, { priority: 'urgent', version: study.version });
    await expect.poll(() => rowFor(page, target).getAttribute('data-priority'), { timeout: 10_000 }).toBe('urgent');
    // While the stream is up the engine does not poll at all (the fallback poll is every 30 s):
    // the change came in through a nudge, in well under the poll interval.
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    expect(Number(await connection.getAttribute('data-nudges'))).toBeGreaterThan(nudgesBefore);
    expect(await connection.getAttribute('data-live')).toBe('true');
  });

  it('has a valid manifest, is installable and the service worker controls the page', async () => {
    const { context, page } = await devices.installable(RADIOLOGIST);
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
      return link ? ((await (await fetch(link.href)).json()) as Record<string, unknown>) : null;
    });
    expect(manifest).toMatchObject({ name: 'PACS Reading Room', display: 'standalone', start_url: '/' });
    const icons = manifest!.icons as { src: string; sizes: string; purpose: string }[];
    for (const size of ['192x192', '512x512']) {
      expect(icons.some((i) => i.sizes === size && i.purpose === 'maskable')).toBe(true);
      expect(icons.some((i) => i.sizes === size && i.purpose === 'any')).toBe(true);
    }
    for (const icon of icons) {
      const response = await page.request.get(`${system.url}${icon.src}`);
      expect(response.headers()['content-type']).toBe('image/png');
    }
    // The worker claims open pages on first install (clientsClaim); a page that was loaded before
    // it activated may still be uncontrolled, so reload once if needed, then require control.
    await requireServiceWorker(page);
    const cdp = await context.newCDPSession(page);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] };
    expect(installabilityErrors).toEqual([]);
    // the service worker never answers API paths with the shell
    const apiAnswer = await page.evaluate(async () => {
      const r = await fetch('/api/auth/me');
      return { status: r.status, type: r.headers.get('content-type') };
    });
    expect(apiAnswer.status).toBe(401);
    expect(apiAnswer.type).toContain('application/json');
  });

  it('reloads offline with the worklist still there', async () => {
    const { search } = await seedWorklist('reload');
    const total = await studiesInScope(RADIOLOGIST);
    const { context, page } = await devices.signedIn(RADIOLOGIST);
    await setOfflinePin(page);
    await openWorklist(page, search);
    await requireServiceWorker(page); // what answers the offline reload
    await context.setOffline(true);
    await page.reload();
    await enterOfflinePin(page);
    // The search text is kept in memory only (it may be a name): typed again after the reload.
    await page.getByTestId('worklist-search').fill(search);
    await expect.poll(() => rows(page).count()).toBe(WORKLIST_SIZE);
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe(`${WORKLIST_SIZE} of ${total} studies`);
    await expect.poll(() => connectionState(page).textContent()).toBe('Offline');
  });

  it('assigns a study offline, shows it pending and delivers it when back online', async () => {
    const { search, ids } = await seedWorklist('queue');
    const { context, page } = await devices.signedIn(RADIOLOGIST);
    await setOfflinePin(page);
    await openWorklist(page, search);
    // The device went offline and the app was reopened from the service worker's cache.
    await requireServiceWorker(page);
    await context.setOffline(true);
    await page.reload();
    await enterOfflinePin(page);
    await page.getByTestId('worklist-search').fill(search);
    await expect.poll(() => rows(page).count()).toBe(WORKLIST_SIZE);
    await expect.poll(() => connectionState(page).textContent()).toBe('Offline');

    const target = ids[5]!;
    await rowFor(page, target).getByRole('button', { name: 'Assign to me' }).click();
    await expect.poll(() => pendingCount(page).getAttribute('data-count')).toBe('1');
    await rowFor(page, target).getByTestId('row-pending').waitFor();
    expect(await rowFor(page, target).getByTestId('assignee').textContent()).toBe('Me');

    await context.setOffline(false);
    await expect.poll(() => pendingCount(page).getAttribute('data-count'), { timeout: 20_000 }).toBe('0');
    const radiologist = await apiLogin(system.url, RADIOLOGIST);
    const { study } = await radiologist.call<{ study: Row }>('GET', `/api/studies/${target}`);
    expect(study.assignee?.id).toBe(radiologist.userId);
    await expect.poll(() => connectionState(page).textContent()).toBe('Online');
  });

  it('the attending hands a study to a resident from its details', async () => {
    const { search, ids } = await seedWorklist('handover');
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    const target = ids[3]!;
    await rowFor(page, target).locator('.row-open').click();
    const detail = page.getByTestId('study-detail');
    const picker = detail.getByLabel('Assign to');
    await expect.poll(() => picker.locator('option').allTextContents()).toContain('Demo Resident (resident)');
    await picker.selectOption({ label: 'Demo Resident (resident)' });
    await expect.poll(() => pendingCount(page).getAttribute('data-count'), { timeout: 20_000 }).toBe('0');
    const resident = await apiLogin(system.url, RESIDENT);
    await expect
      .poll(async () => (await resident.call<{ study: Row }>('GET', `/api/studies/${target}`)).study.assignee?.id)
      .toBe(resident.userId);
  });

  it('shows a conflict view when another user changed the study meanwhile', async () => {
    const { search, ids } = await seedWorklist('conflict');
    const { context, page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    await requireServiceWorker(page);
    const target = ids[7]!;
    await context.setOffline(true);
    await expect.poll(() => connectionState(page).textContent()).toBe('Offline');
    await rowFor(page, target).getByRole('button', { name: 'Assign to me' }).click();
    await expect.poll(() => pendingCount(page).getAttribute('data-count')).toBe('1');

    const admin = await apiLogin(system.url, ADMIN);
    const { study } = await admin.call<{ study: Row }>('GET', `/api/studies/${target}`);
    await admin.call('PATCH', `/api/studies/${target}`, { priority: 'stat', version: study.version });

    await context.setOffline(false);
    const view = page.getByTestId('conflict-view');
    await view.waitFor({ timeout: 20_000 });
    expect(await view.getByTestId('conflict-mine').textContent()).toContain('assign to me');
    expect(await view.getByTestId('conflict-server').textContent()).toContain('priority stat');
    await expectNoSeriousA11yIssues(page);

    await view.getByRole('button', { name: 'Apply my change anyway' }).click();
    await view.waitFor({ state: 'detached', timeout: 20_000 });
    await expect.poll(() => pendingCount(page).getAttribute('data-count'), { timeout: 20_000 }).toBe('0');
    const after = await admin.call<{ study: Row }>('GET', `/api/studies/${target}`);
    expect(after.study.priority).toBe('stat');
    expect(after.study.assignee?.name).toBeTruthy();
  });

  it('says what the device holds, finds the rest in the archive, and keeps what the user opens or follows', async () => {
    const tag = `${Date.now()}`.slice(-7);
    // Signed last year: in nobody's arrival window, assigned to no one.
    const old = { status: 'final', receivedAt: '2025-01-10T09:00:00.000Z', modalities: ['CT'], description: 'CT ABDOMEN' };
    const opened = await system.seed({ ...old, patientName: `Archive^Olga${tag}`, accessionNumber: `OLD${tag}` });
    const followed = await system.seed({ ...old, patientName: `Archive^Fritz${tag}`, accessionNumber: `FOL${tag}` });
    const { context, page } = await devices.signedIn(RADIOLOGIST);
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    expect(await page.getByTestId('device-scope').textContent()).toContain('This device holds studies assigned to you');
    const search = page.getByTestId('worklist-search');
    await search.fill(`OLD${tag}`);
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toMatch(/^0 of \d+ studies$/);

    // The archive has it; the device does not (no "on device" mark), and nothing of it is stored.
    await page.getByTestId('worklist-source-server').click();
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe('1 of 1 studies in the archive');
    expect(await rowFor(page, opened.id).getByTestId('held-on-device').count()).toBe(0);
    const storedRow = (id: string) =>
      page.evaluate(
        (studyId) => (window as unknown as { __pacsDevice: { storedRow(id: string): Promise<unknown> } }).__pacsDevice.storedRow(studyId),
        id,
      );
    expect(await storedRow(opened.id)).toBeNull();
    // Opening it records the opening: the study joins the device as "opened recently".
    await rowFor(page, opened.id).locator('.row-open').click();
    await rowFor(page, opened.id).getByTestId('held-on-device').waitFor();
    expect(await storedRow(opened.id)).toMatchObject({ id: opened.id, scope: ['recent'] });
    await page.getByTestId('worklist-source-device').click();
    await expect.poll(() => rows(page).count()).toBe(1);
    await rowFor(page, opened.id).locator('.row-open').click();
    await expect.poll(() => page.getByTestId('held-reasons').textContent()).toBe('opened recently');

    // Follow: found in the archive, followed from its details, kept on the device.
    await page.getByTestId('worklist-source-server').click();
    await search.fill(`FOL${tag}`);
    await rowFor(page, followed.id).locator('.row-open').click();
    await page.getByTestId('study-detail').getByRole('button', { name: 'Follow' }).click();
    await page.getByTestId('worklist-source-device').click();
    await rowFor(page, followed.id).locator('.row-open').click();
    await expect.poll(() => page.getByTestId('held-reasons').textContent()).toBe('followed, opened recently');
    expect(await page.getByTestId('study-detail').getByRole('button', { name: 'Unfollow' }).getAttribute('aria-pressed')).toBe('true');

    // Offline only the device's studies can be searched, and the page says so.
    await context.setOffline(true);
    await expect.poll(() => page.getByTestId('worklist-source-server').isDisabled()).toBe(true);
    expect(await page.getByTestId('device-scope').textContent()).toContain('Offline: only these can be opened.');
    await context.setOffline(false);
  });

  it('highlights a STAT study that arrives while the worklist is open', async () => {
    const { search } = await seedWorklist('arrival');
    const total = await studiesInScope(RADIOLOGIST);
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    // Synced once already: only what comes after the first sync is an arrival.
    await expect.poll(() => page.getByTestId('worklist-count').textContent()).toBe(`${WORKLIST_SIZE} of ${total} studies`);
    const accessionNumber = 'E2E-STAT-ARRIVAL';
    await page.getByTestId('worklist-search').fill(accessionNumber); // the new row shows whatever else is STAT
    const { id } = await system.seed({ patientName: 'Urgent^Arrival', priority: 'stat', description: 'CT HEAD STROKE', accessionNumber });
    await page.getByTestId('stat-banner').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('stat-banner').textContent()).toContain('Urgent, Arrival');
    await expect.poll(() => rowFor(page, id).getAttribute('class')).toContain('highlight');
  });

  // Two users' sign-ins and seven accessibility scans: on a loaded two-core machine this one test
  // alone can take the suite's usual two minutes.
  it(
    'admin creates a user who can sign in; a resident cannot open the admin view',
    async () => {
      const { search } = await seedWorklist('resident');
      const { page: adminPage } = await devices.signedIn(ADMIN, { width: 1366, height: 1024 });
      await adminPage.getByRole('link', { name: 'Admin', exact: true }).click();
      await adminPage.getByTestId('users-table').waitFor();
      await expectNoSeriousA11yIssues(adminPage);
      const email = `resident-${Date.now()}@pacs.local`;
      const form = adminPage.getByRole('form', { name: 'Create a user' });
      await form.getByLabel('Email').fill(email);
      await form.getByLabel('Name').fill('Rita Resident');
      await form.getByLabel('Role').selectOption('resident');
      await form.getByLabel('Initial password (12+ characters)').fill('amber-Tundra-kettle-58');
      await form.getByRole('button', { name: 'Create user' }).click();
      await adminPage.locator(`tr[data-email="${email}"]`).waitFor();

      await adminPage.getByRole('tab', { name: 'Audit log' }).click();
      await adminPage.getByTestId('audit-table').locator('tbody tr').first().waitFor();
      await expectNoSeriousA11yIssues(adminPage);
      await adminPage.getByRole('tab', { name: 'System status' }).click();
      await adminPage.getByTestId('system-table').waitFor();
      await expectNoSeriousA11yIssues(adminPage);
      await adminPage.getByRole('tab', { name: 'Report templates' }).click();
      await expectNoSeriousA11yIssues(adminPage);

      const rita = { email, password: 'amber-Tundra-kettle-58' };
      const { page: residentPage } = await devices.signedIn(rita, { width: 768, height: 1024 });
      const total = await studiesInScope(rita);
      expect(await residentPage.getByRole('link', { name: 'Admin', exact: true }).count()).toBe(0);
      await residentPage.goto(`${system.url}/admin`);
      await residentPage.getByText('The admin view is for administrators only.').waitFor();
      await residentPage.getByRole('link', { name: 'Worklist', exact: true }).click();
      // The new resident's device holds their part of the worklist (a resident's scope).
      await expect.poll(() => residentPage.getByTestId('worklist-count').textContent()).toBe(`${total} of ${total} studies`);
      await residentPage.getByTestId('worklist-search').fill(search);
      await expect.poll(() => residentPage.getByTestId('worklist-row').count()).toBe(WORKLIST_SIZE);
      await expectNoSeriousA11yIssues(residentPage); // worklist in tablet portrait
      await residentPage.getByRole('link', { name: 'Viewer', exact: true }).click();
      await residentPage.getByRole('heading', { name: 'Viewer' }).waitFor();
      await expectNoSeriousA11yIssues(residentPage);
      await residentPage.getByRole('link', { name: 'Report', exact: true }).click();
      await residentPage.getByRole('heading', { name: 'Report' }).waitFor();
      await expectNoSeriousA11yIssues(residentPage);
    },
    TWO_USERS_SEVEN_SCANS,
  );

  it('admin creates, edits and retires a report template, with the API’s validation shown inline', async () => {
    const { page: adminPage } = await devices.signedIn(ADMIN, { width: 1366, height: 1024 });
    await adminPage.getByRole('link', { name: 'Admin', exact: true }).click();
    await adminPage.getByRole('tab', { name: 'Report templates' }).click();
    await adminPage.getByTestId('templates-table').locator('tbody tr').first().waitFor();
    await adminPage.getByRole('button', { name: 'New template' }).click();

    const name = `E2E MR knee ${Date.now()}`;
    const form = adminPage.getByRole('form', { name: 'New report template' });
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Modalities', { exact: true }).fill('M1'); // not a DICOM modality code
    await form.getByLabel('Body part', { exact: true }).fill('KNEE');
    const findings = form.locator('[data-section-key="findings"]');
    await findings.getByLabel('Default text', { exact: true }).fill('No joint effusion.');
    await findings.getByLabel('Pick-list phrases (one per line)').fill('Meniscal tear.\nACL intact.');
    await form
      .locator('[data-section-key="clinical-history"]')
      .getByLabel('Placeholder (hint, never inserted)')
      .fill('Why was it requested?');
    await form.getByRole('button', { name: 'Create template' }).click();
    // The server refuses the modality; its reason appears at the field, not as a crash.
    await expect.poll(() => form.getByLabel('Modalities', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByTestId('field-error').first().textContent()).toContain('must match pattern');
    await expectNoSeriousA11yIssues(adminPage);

    await form.getByLabel('Modalities', { exact: true }).fill('MR');
    await form.getByRole('button', { name: 'Create template' }).click();
    const row = (n: string) => adminPage.locator(`tr[data-template-name="${n}"]`);
    await row(name).waitFor();
    const admin = await apiLogin(system.url, ADMIN);
    type Template = {
      id: string;
      name: string;
      modalities: string[];
      bodyPart: string;
      version: number;
      retired: boolean;
      sections: { key: string; defaultText?: string; placeholder?: string; picklist?: string[] }[];
    };
    const find = async (n: string, includeRetired = false) =>
      (await admin.call<{ items: Template[] }>('GET', `/api/templates?includeRetired=${includeRetired}`)).items.find((t) => t.name === n);
    const created = await find(name);
    expect(created).toMatchObject({ modalities: ['MR'], bodyPart: 'KNEE', version: 1 });
    expect(created!.sections.map((s) => s.key)).toEqual(['clinical-history', 'technique', 'comparison', 'findings', 'impression']);
    expect(created!.sections[3]).toMatchObject({ defaultText: 'No joint effusion.', picklist: ['Meniscal tear.', 'ACL intact.'] });
    expect(created!.sections[0]).toMatchObject({ placeholder: 'Why was it requested?' });

    await adminPage.getByRole('button', { name: `Edit ${name}` }).click();
    const editForm = adminPage.getByRole('form', { name: `Edit template ${name}` });
    const renamed = `${name} v2`;
    await editForm.getByLabel('Name', { exact: true }).fill(renamed);
    await editForm.locator('[data-section-key="impression"]').getByLabel('Default text', { exact: true }).fill('Normal MRI of the knee.');
    await editForm.getByRole('button', { name: 'Save template' }).click();
    await row(renamed).waitFor();
    const edited = await find(renamed);
    expect(edited).toMatchObject({ id: created!.id, version: 2 });
    expect(edited!.sections[4]).toMatchObject({ defaultText: 'Normal MRI of the knee.' });
    expect(edited!.sections[3]).toMatchObject({ defaultText: 'No joint effusion.' });

    await adminPage.getByRole('button', { name: `Retire ${renamed}` }).click();
    await row(renamed).waitFor({ state: 'detached' });
    expect(await find(renamed)).toBeUndefined();
    expect(await find(renamed, true)).toMatchObject({ retired: true, version: 3 });
    await adminPage.getByLabel('Show retired templates').check();
    await expect.poll(() => row(renamed).getAttribute('data-retired')).toBe('true');
    await expectNoSeriousA11yIssues(adminPage);
  });

  it('offers "a new version is ready — reload" when a new service worker waits, and swaps only on the user’s click', async () => {
    const { search } = await seedWorklist('update');
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    await requireServiceWorker(page);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active !== null)).toBe(true);
    // A new build on the same origin: a copy of the app whose service worker differs by a byte
    // (what every deploy changes: the precache revisions in sw.js).
    const newBuildDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-e2e-newbuild-'));
    // The gateway serves the original build again afterwards: later tests install that one.
    devices.defer(async () => {
      await system.useWebRoot(WEB_DIST);
      rmSync(newBuildDir, { recursive: true, force: true });
    });
    cpSync(WEB_DIST, newBuildDir, { recursive: true });
    appendFileSync(path.join(newBuildDir, 'sw.js'), '\n// e2e: a newer build\n');
    await system.useWebRoot(newBuildDir);
    await page.evaluate(() => {
      (window as unknown as { pageBeforeUpdate: boolean }).pageBeforeUpdate = true;
    });
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    const prompt = page.getByRole('status').filter({ hasText: 'A new version is ready.' });
    await prompt.waitFor({ timeout: 30_000 });
    // Nothing was swapped under the user: same page, the new worker waits.
    expect(await page.evaluate(() => (window as unknown as { pageBeforeUpdate?: boolean }).pageBeforeUpdate)).toBe(true);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null)).toBe(true);
    await expectNoSeriousA11yIssues(page);

    await prompt.getByRole('button', { name: 'Reload' }).click();
    await page.waitForFunction(() => !(window as unknown as { pageBeforeUpdate?: boolean }).pageBeforeUpdate);
    await rows(page).first().waitFor();
    const after = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration();
      return { waiting: registration?.waiting ?? null, controlled: navigator.serviceWorker.controller !== null };
    });
    expect(after).toEqual({ waiting: null, controlled: true });
    expect(await page.getByText('A new version is ready.').count()).toBe(0);
  });

  it('locks the device after the offline limit and shows no patient data', async () => {
    const { search } = await seedWorklist('lock');
    const { context, page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    await requireServiceWorker(page); // what answers the offline reload
    // The last server confirmation was 13 hours ago (the limit is 12 h).
    await page.evaluate(() => {
      const stored = JSON.parse(localStorage.getItem('pacs.lastSession') ?? '{}') as { verifiedAt: string };
      stored.verifiedAt = new Date(Date.now() - 13 * 3_600_000).toISOString();
      localStorage.setItem('pacs.lastSession', JSON.stringify(stored));
    });
    await context.setOffline(true);
    await page.reload();
    await page.getByRole('heading', { name: 'Offline session limit reached' }).waitFor();
    // textContent, not innerText: hidden text (screen-reader only, collapsed) counts too.
    const text = (await page.locator('body').textContent()) ?? '';
    for (const phi of ['Patient', 'Test', 'E2E-', 'CT CHEST', 'MR BRAIN', 'Urgent']) expect(text).not.toContain(phi);
    expect(await rows(page).count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    await expectNoSeriousA11yIssues(page);
    // Back online the session is confirmed again (the refresh cookie is still valid) and the data returns.
    await context.setOffline(false);
    // The app tries by itself on `online`; if that attempt raced the network coming up, the user's
    // "Try to reconnect" is the way back, as it would be on the ward.
    const nav = page.getByRole('navigation', { name: 'Main' });
    const reconnect = page.getByRole('button', { name: 'Try to reconnect' });
    await expect
      .poll(
        async () => {
          if ((await nav.count()) > 0) return 'signed in';
          if ((await reconnect.count()) > 0) await reconnect.click({ timeout: 2000 }).catch(() => undefined);
          return (await page.locator('main').textContent())?.slice(0, 120);
        },
        { timeout: 20_000 },
      )
      .toBe('signed in');
    await expect.poll(() => rows(page).count()).toBeGreaterThan(0);
  });

  it('logout wipes the worklist databases from the device', async () => {
    const { search } = await seedWorklist('logout');
    const { page } = await devices.signedIn(RADIOLOGIST);
    await openWorklist(page, search);
    const worklistDatabases = () =>
      page.evaluate(async () => (await indexedDB.databases()).filter((d) => d.name?.startsWith('pacs-worklist-')).length);
    expect(await worklistDatabases()).toBeGreaterThan(0); // there is something to wipe
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').waitFor();
    await expect.poll(worklistDatabases).toBe(0);
  });
});
