/**
 * Who wrote what, in Chromium: the resident drafts and submits, the attending adds to it and signs;
 * the report's History lists the submitted and the signed version and marks exactly the attending's
 * words as inserted; "Colour by author" shows each user's words in their colour, live and signed;
 * the resident's teaching file shows the size of the change and leads back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Desks, reportScene, signReport } from './report-scene';
import { caretAtSection, editorText } from './report-support';
import { launchBrowser, type System, startSystem } from './support';

let system: System;
let desks: Desks;

beforeAll(async () => {
  system = await startSystem({ sync: true });
  desks = new Desks(await launchBrowser(), system.url);
});

afterEach(async () => {
  await desks.closeAll();
});

afterAll(async () => {
  await desks?.browser.close();
  await system?.stop();
});

describe('report history', () => {
  it("shows the submitted and signed versions, the attending's words marked, and the teaching file counts them", async () => {
    const { reportId, resident, attending } = await reportScene(system, desks, ['resident', 'attending']);
    await caretAtSection(resident, reportId, 'Findings');
    await resident.keyboard.type('Small nodule in the right lung.');
    await expect.poll(() => resident.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    const submitted = resident.waitForResponse(
      (r) => r.url().endsWith(`/api/reports/${reportId}/submit`) && r.request().method() === 'POST',
    );
    await resident.getByRole('button', { name: 'Submit preliminary' }).click();
    expect((await submitted).status()).toBe(200);

    await expect.poll(() => editorText(attending, reportId)).toContain('Small nodule in the right lung.');
    await caretAtSection(attending, reportId, 'Impression');
    await attending.keyboard.type('Follow-up CT in 12 months.');

    // Colour by author: each user's words in their colour in the live editor, then on the signed
    // report from the server's record (two authors, the template's headings plain).
    const documentOf = attending.locator(`[data-report-id="${reportId}"]`);
    await documentOf.getByRole('button', { name: 'Colour by author' }).click();
    const byAuthor = (root: string) => () =>
      documentOf.locator(`${root} .author-mark`).evaluateAll((spans) => {
        const texts: Record<string, string> = {};
        for (const span of spans)
          texts[span.getAttribute('data-author')!] = (texts[span.getAttribute('data-author')!] ?? '') + span.textContent;
        return Object.values(texts).sort();
      });
    const expected = ['Follow-up CT in 12 months.', 'Small nodule in the right lung.'];
    await expect.poll(byAuthor('.report-editor')).toEqual(expected);
    await expect.poll(() => documentOf.locator('.author-legend li[data-author]').count()).toBe(2);
    const colourByAuthor = documentOf.getByRole('button', { name: 'Colour by author' });
    await colourByAuthor.click();
    expect(await colourByAuthor.getAttribute('aria-pressed')).toBe('false');
    await signReport(attending, reportId);
    await colourByAuthor.click();
    await expect.poll(byAuthor('.authored-text')).toEqual(expected);
    await expect.poll(() => documentOf.locator('.author-legend').textContent()).toMatch(/wrote 26 characters, deleted 0 characters/);
    await documentOf.getByRole('button', { name: 'Colour by author' }).click();

    await attending.getByRole('button', { name: /^History/ }).click();
    const versions = attending.locator('.history-versions li');
    await expect.poll(() => versions.count()).toBe(2);
    expect(await versions.nth(0).getAttribute('data-event')).toBe('submit');
    expect(await versions.nth(1).getAttribute('data-event')).toBe('finalize');
    const changes = attending.getByTestId('history-changes');
    await expect.poll(() => changes.locator('ins').allTextContents()).toEqual(['Follow-up CT in 12 months.']);
    expect(await changes.locator('del').count()).toBe(0);
    expect(await changes.locator('[data-section="findings"]').textContent()).toContain('unchanged');

    await attending.getByLabel('Side by side').check();
    const impression = attending.getByTestId('history-sides').locator('.history-side-row').filter({ hasText: 'Impression' });
    await expect.poll(() => impression.locator('.history-text').allTextContents()).toEqual(['', 'Follow-up CT in 12 months.']);

    await resident.goto(`${system.url}/teaching`);
    const row = resident.locator(`tr[data-report-id="${reportId}"]`);
    await expect.poll(() => row.getByTestId('teaching-changes').textContent()).toMatch(/^\+5 −0 words/);
    await row.getByRole('link').click();
    await expect.poll(() => resident.url()).toContain('/report/');
  });
});
