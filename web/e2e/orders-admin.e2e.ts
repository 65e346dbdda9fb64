/**
 * The hospital-interface pages in Chromium against the real API and gateway: a technologist's or
 * admin's reconciliation of images that came without their order (attach to the order, or confirm
 * none is needed), and the admin's Interfaces tab, where an undeliverable result is sent again.
 * The order comes in through the API's HL7 pipeline, as over MLLP.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiLogin, launchBrowser, type System, signIn, startSystem } from './support';

let system: System;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  system = await startSystem();
  browser = await launchBrowser();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.context().close();
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function signedIn(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  pages.push(page);
  await signIn(page, system.url, ADMIN);
  return page;
}

/** An ORM^O01 new order for `mrn`, as an interface engine sends it; answers its accession. */
async function order(mrn: string, accession: string): Promise<void> {
  const tag = randomBytes(4).toString('hex').toUpperCase();
  const message = [
    `MSH|^~\\&|EPICRIS|GENHOSP|PACS|RADIOLOGY|20261203140000||ORM^O01|C${tag}|P|2.3.1`,
    `PID|1||${mrn}^^^GENHOSP^MR||Reconcile^Rita`,
    `ORC|NW|P${tag}^EPICRIS|F${tag}^RIS||||^^^20261205090000^^R`,
    `OBR|1|P${tag}^EPICRIS|F${tag}^RIS|CTCHEST^CT chest with contrast^L||||||||||||||${accession}||||||CT|||^^^20261205090000^^R||||^Follow-up of nodule`,
  ].join('\r');
  expect(await system.hl7(`${message}\r`)).toMatch(/\|AA\|/);
}

describe('reconciliation', () => {
  it('attaches images that came without their order to it, and confirms others need none', async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    const mrn = `MRN${tag}`;
    await order(mrn, `ACC${tag}`);
    // Images for that patient under another accession (the modality typed it), and another patient's.
    const stray = await system.seed({
      patientId: mrn,
      patientName: 'Reconcile^Rita',
      accessionNumber: `X${tag}`,
      existingPatient: true,
      orderMatch: 'unmatched',
    });
    const walkIn = await system.seed({ patientName: `Walkin^${tag}`, accessionNumber: `W${tag}`, orderMatch: 'unmatched' });

    const page = await signedIn();
    await page.getByRole('link', { name: 'Reconcile' }).click();
    const studies = page.getByTestId('unmatched-studies');
    await studies.getByText(`accession X${tag}`).waitFor();
    await studies
      .getByRole('radio')
      .and(page.locator(`xpath=//li[contains(., "accession X${tag}")]//input`))
      .check();
    const orders = page.getByTestId('pending-orders');
    await orders.getByRole('button', { name: 'Attach to this order' }).click();
    await expect.poll(() => page.getByTestId('reconcile-notice').textContent()).toBe(`Attached to order ACC${tag}.`);
    await expect.poll(() => studies.getByText(`accession X${tag}`).count()).toBe(0);
    await expect.poll(() => orders.getByText(`accession ACC${tag}`).count()).toBe(0);

    await studies.locator(`xpath=.//li[contains(., "accession W${tag}")]//input`).check();
    // Only the same patient's orders can be attached: none is offered for the walk-in.
    expect(await orders.getByRole('button', { name: 'Attach to this order' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Needs no order' }).click();
    await expect.poll(() => studies.getByText(`accession W${tag}`).count()).toBe(0);

    const client = await apiLogin(system.url, ADMIN);
    const attached = await client.call<{ study: { orderMatch: string; indication: string } }>('GET', `/api/studies/${stray.id}`);
    expect(attached.study).toMatchObject({ orderMatch: 'matched', indication: 'Follow-up of nodule' });
    const confirmed = await client.call<{ study: { orderMatch: string } }>('GET', `/api/studies/${walkIn.id}`);
    expect(confirmed.study.orderMatch).toBe('unordered');
  });
});

describe('interfaces (admin)', () => {
  it('lists a result the hospital refused and sends it again', async () => {
    const patientId = `MRN${randomBytes(3).toString('hex').toUpperCase()}`;
    await system.deadResult(patientId);
    const page = await signedIn();
    await page.goto(`${system.url}/admin/interfaces`);
    const row = page.getByTestId('outbox-table').locator('tr', { hasText: patientId });
    await expect.poll(() => row.textContent()).toContain('AR: unknown patient');
    await row.getByRole('button', { name: 'Send again' }).click();
    await expect.poll(() => page.getByTestId('outbox-notice').textContent()).toBe('ORU^R01 to RIS queued again.');
    // Shown are the dead ones: it has left the list, and waits among the pending.
    await expect.poll(() => row.count()).toBe(0);
    await page.getByTestId('outbox-status').selectOption('pending');
    await expect.poll(() => page.getByTestId('outbox-table').locator('tr', { hasText: patientId }).textContent()).toContain('pending');
  });
});
