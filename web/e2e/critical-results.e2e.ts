/**
 * The critical-results loop in Chromium against the real API, gateway and sync-server: the order
 * comes in over the API's HL7 pipeline naming its ordering physician, an admin links a referrer
 * account to that physician, the attending flags the report from the report page, the referrer
 * sees it waiting in their own app (nothing of the worklist) and acknowledges it, and the attending's
 * card shows the acknowledgement. A flag raised without a connection waits on the device, says that
 * its clock has not started, and reaches the server when the connection returns.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiLogin, launchBrowser, RADIOLOGIST, type System, seriousViolations, signIn, startSystem } from './support';

let system: System;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  system = await startSystem({ sync: true });
  browser = await launchBrowser();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.context().close();
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function signedIn(who: { email: string; password: string }): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  pages.push(page);
  await signIn(page, system.url, who);
  return page;
}

/**
 * An order from Dr Welby (provider `provider`) over HL7, its images (arrived under another
 * accession and attached to the order, as a technologist would), and the attending's report on it.
 */
async function orderedStudyWithReport(provider: string): Promise<{ studyId: string; reportId: string; accession: string }> {
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const mrn = `MRN${tag}`;
  const accession = `ACC${tag}`;
  const doctor = `${provider}^Welby^Marcus^^^Dr`;
  const message = [
    `MSH|^~\\&|CERNERRIS|MERCYHOSP|PACS|RADIOLOGY|20261204080000||ORM^O01|C${tag}|P|2.4`,
    `PID|1||${mrn}^^^MERCY^MR||Critical^Carla`,
    `ORC|NW|P${tag}^CERNERRIS|F${tag}^RIS||SC||^^^20261204081500^^S||20261204080000|||${doctor}`,
    `OBR|1|P${tag}^CERNERRIS|F${tag}^RIS|CTHEAD^CT head without contrast^L|||20261204080000|||||||||${doctor}||${accession}||||||CT|||^^^20261204081500^^S`,
  ].join('\r');
  expect(await system.hl7(`${message}\r`)).toMatch(/\|AA\|/);
  const images = await system.seed({
    patientId: mrn,
    patientName: 'Critical^Carla',
    accessionNumber: `X${tag}`,
    existingPatient: true,
    orderMatch: 'unmatched',
  });
  const admin = await apiLogin(system.url, ADMIN);
  const orders = await admin.call<{ items: { id: string; accessionNumber: string }[] }>('GET', '/api/reconciliation/orders');
  const orderId = orders.items.find((o) => o.accessionNumber === accession)!.id;
  await admin.call('POST', `/api/studies/${images.id}/order-match`, { orderId });
  const attending = await apiLogin(system.url, RADIOLOGIST);
  const report = await attending.call<{ id: string }>('POST', `/api/studies/${images.id}/report`, {});
  return { studyId: images.id, reportId: report.id, accession };
}

/** A referrer account linked to `provider`, created as an admin does; answers its credentials. */
async function referrer(provider: string): Promise<{ email: string; password: string }> {
  const who = { email: `welby-${provider.toLowerCase()}@hospital.test`, password: `referrer-${randomBytes(8).toString('hex')}` };
  const admin = await apiLogin(system.url, ADMIN);
  await admin.call('POST', '/api/users', { ...who, name: 'Marcus Welby', role: 'referrer', providerId: provider });
  return who;
}

async function flagFromReportPage(page: Page, studyId: string, message: string): Promise<void> {
  await page.goto(`${system.url}/report/${studyId}?images=off`);
  await page.getByRole('button', { name: 'Flag a critical result…' }).click();
  const form = page.getByRole('form', { name: 'Flag a critical result' });
  await form.getByLabel('Red: life-threatening, minutes').check();
  await form.getByLabel('Finding, as the ordering physician must hear it').fill(message);
  await form.getByRole('button', { name: 'Send critical result' }).click();
}

describe('critical results', () => {
  it('an attending flags from the report; the referrer sees it in their own app, acknowledges, and the attending sees that', async () => {
    const provider = `DR${randomBytes(3).toString('hex').toUpperCase()}`;
    const credentials = await referrer(provider);
    const { studyId } = await orderedStudyWithReport(provider);

    const attending = await signedIn(RADIOLOGIST);
    await flagFromReportPage(attending, studyId, 'Acute subdural haematoma with midline shift.');
    const card = attending.getByTestId('critical-result');
    await expect.poll(() => card.getByTestId('critical-status').textContent()).toBe('open');
    expect(await card.getByTestId('critical-clock').textContent()).toMatch(/left$/);
    expect(await seriousViolations(attending)).toEqual([]);
    expect(await card.textContent()).toContain('for Welby, Dr Marcus');
    await attending.getByRole('link', { name: 'Dashboard' }).click();
    await expect.poll(() => attending.getByTestId('critical-summary').textContent()).toContain('Critical, Carla');

    const doctor = await signedIn(credentials);
    const nav = doctor.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Worklist' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Viewer' }).count()).toBe(0);
    await doctor.getByText('1 critical result waiting for your acknowledgement.').waitFor();
    await doctor.getByRole('link', { name: 'Open them' }).click();
    const inbox = doctor.getByTestId('critical-result');
    expect(await inbox.textContent()).toContain('Acute subdural haematoma with midline shift.');
    expect(await inbox.textContent()).toContain('Critical, Carla');
    expect(await seriousViolations(doctor)).toEqual([]);
    await inbox.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => inbox.getByTestId('critical-status').textContent()).toBe('acknowledged');

    await attending.goto(`${system.url}/report/${studyId}?images=off`);
    await expect.poll(() => attending.getByTestId('critical-status').textContent(), { timeout: 20_000 }).toBe('acknowledged');
    expect(await attending.getByTestId('critical-ack').textContent()).toContain('Acknowledged by Marcus Welby (in-app)');
  });

  it('a flag raised offline waits on the device, says its clock has not started, and is sent when the connection returns', async () => {
    const provider = `DR${randomBytes(3).toString('hex').toUpperCase()}`;
    await referrer(provider);
    const { studyId, reportId } = await orderedStudyWithReport(provider);
    const attending = await signedIn(RADIOLOGIST);
    await attending.goto(`${system.url}/report/${studyId}?images=off`);
    await attending.getByRole('button', { name: 'Flag a critical result…' }).waitFor();

    await attending.context().setOffline(true);
    await attending.getByRole('button', { name: 'Flag a critical result…' }).click();
    const form = attending.getByRole('form', { name: 'Flag a critical result' });
    await form.getByLabel('Red: life-threatening, minutes').check();
    await form.getByLabel('Finding, as the ordering physician must hear it').fill('Tension pneumothorax on the right.');
    await form.getByRole('button', { name: 'Send critical result' }).click();
    const pending = attending.getByTestId('critical-pending');
    await pending.waitFor();
    expect(await pending.textContent()).toContain('Its clock starts when the server receives it');
    const admin = await apiLogin(system.url, ADMIN);
    const before = await admin.call<{ items: unknown[] }>('GET', `/api/critical-results?reportId=${reportId}`);
    expect(before.items).toHaveLength(0);

    await attending.context().setOffline(false);
    await expect
      .poll(async () => (await admin.call<{ items: unknown[] }>('GET', `/api/critical-results?reportId=${reportId}`)).items.length, {
        timeout: 45_000,
      })
      .toBe(1);
    const [result] = (
      await admin.call<{ items: { raisedAt: string; flaggedAt: string }[] }>('GET', `/api/critical-results?reportId=${reportId}`)
    ).items;
    expect(Date.parse(result!.flaggedAt)).toBeGreaterThan(Date.parse(result!.raisedAt));
    await expect.poll(() => pending.count(), { timeout: 30_000 }).toBe(0);
    await attending.getByTestId('critical-result').waitFor();
  });
});
