/**
 * Collaborative reporting in Debian's Chromium against the real API, gateway and
 * sync-server (startSystem({ sync: true })). An attending and a resident (at a workstation, and on
 * a tablet) write one report. The system and the browser are shared; every test seeds its own
 * study, starts its own report through the API and signs in its own browser contexts
 * (report-scene.ts), so each one passes alone and none builds on another.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dumpOriginStorage, dumpProfileFiles, found } from './device-dump';
import { Desks, openReport, reportScene, requireServiceWorker, seedReportStudy, signReport, startReportByApi } from './report-scene';
import { caretAtSection, editorEditable, editorText, shownReportId } from './report-support';
import {
  apiLogin,
  enterOfflinePin,
  launchBrowser,
  launchPersistentProfile,
  RADIOLOGIST,
  RESIDENT,
  type System,
  setOfflinePin,
  signIn,
  startSystem,
} from './support';

let system: System;
let desks: Desks;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-report-e2e-'));

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
  rmSync(tmp, { recursive: true, force: true });
});

const link = (page: Page) => page.getByTestId('report-link').first();
const pending = (page: Page) => page.getByTestId('report-pending').first();

describe('collaborative report editor', () => {
  it('the resident starts the report from the CT template; the attending joins; presence shows both', async () => {
    const studyId = await seedReportStudy(system);
    const [resident, attending] = await Promise.all([desks.open(RESIDENT), desks.open(RADIOLOGIST)]);
    await resident.page.goto(`${system.url}/report/${studyId}?images=off`);
    await resident.page.getByRole('button', { name: 'Start report' }).click();
    const reportId = await shownReportId(resident.page);
    await expect.poll(() => editorText(resident.page, reportId)).toContain('Clinical history');
    expect(await editorText(resident.page, reportId)).toContain('Impression');
    await expect.poll(() => link(resident.page).getAttribute('data-state')).toBe('live');
    expect(await openReport(attending.page, system.url, studyId)).toBe(reportId);
    await expect.poll(() => link(attending.page).getAttribute('data-state')).toBe('live');
    await expect
      .poll(() => attending.page.getByTestId('presence').allTextContents())
      .toEqual([expect.stringContaining('Radiologist'), expect.stringContaining('Demo Resident')]);
    expect((await attending.page.getByTestId('presence').allTextContents()).join(' ')).toContain('resident');
  });

  it('both type at once and converge; the status counts nothing pending', async () => {
    const { reportId, resident, attending } = await reportScene(system, desks, ['resident', 'attending']);
    const text = (page: Page) => editorText(page, reportId);
    await caretAtSection(resident, reportId, 'Clinical history');
    await caretAtSection(attending, reportId, 'Findings');
    await Promise.all([
      resident.keyboard.type('Headache after a fall.', { delay: 15 }),
      attending.keyboard.type('No intracranial haemorrhage.', { delay: 15 }),
    ]);
    await expect.poll(() => text(attending)).toContain('Headache after a fall.');
    await expect.poll(() => text(resident)).toContain('No intracranial haemorrhage.');
    expect(await text(resident)).toBe(await text(attending));
    await expect.poll(() => pending(resident).getAttribute('data-count')).toBe('0');
    await expect.poll(() => pending(attending).getAttribute('data-count')).toBe('0');
    await expect.poll(() => resident.getByTestId('report-saved').first().textContent()).toMatch(/^Last saved /);
  });

  it('undo takes back only your own edit', async () => {
    const { reportId, resident, attending } = await reportScene(system, desks, ['resident', 'attending']);
    const text = (page: Page) => editorText(page, reportId);
    await caretAtSection(attending, reportId, 'Findings');
    await attending.keyboard.type(' Midline shift absent.');
    await expect.poll(() => text(resident)).toContain('Midline shift absent.');
    await caretAtSection(resident, reportId, 'Clinical history');
    await resident.keyboard.type(' On warfarin.');
    await expect.poll(() => text(attending)).toContain('On warfarin.');
    await attending.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => text(resident)).not.toContain('Midline shift absent.');
    expect(await text(resident)).toContain('On warfarin.');
    await expect.poll(() => text(attending)).toBe(await text(resident));
  });

  it('offline: the resident types, reloads offline (text still there), goes online and the attending sees it', async () => {
    const { reportId, resident, attending, contexts } = await reportScene(system, desks, ['resident', 'attending']);
    const text = (page: Page) => editorText(page, reportId);
    await setOfflinePin(resident);
    await requireServiceWorker(resident);
    await expect.poll(() => link(resident).getAttribute('data-state')).toBe('live');
    await contexts.resident.setOffline(true);
    await expect.poll(() => link(resident).getAttribute('data-state')).toBe('offline');
    await caretAtSection(resident, reportId, 'Comparison');
    await resident.keyboard.press('Enter');
    await resident.keyboard.type('Offline paragraph: CT of 2025-03-01 reviewed.');
    await expect.poll(async () => Number(await pending(resident).getAttribute('data-count'))).toBeGreaterThan(0);
    const typedOffline = await text(resident);
    expect(await text(attending)).not.toContain('Offline paragraph');
    // What the status says before the reload: every keystroke is committed on the device.
    await expect.poll(() => resident.getByTestId('report-saved').first().getAttribute('data-on-device')).toBe('true');

    await resident.reload();
    await enterOfflinePin(resident);
    await expect.poll(() => text(resident)).toBe(typedOffline);
    expect(await link(resident).getAttribute('data-state')).toBe('offline');
    // The debt survives the reload: it is computed from the stored server state vector.
    await expect.poll(async () => Number(await pending(resident).getAttribute('data-count'))).toBeGreaterThan(0);

    await contexts.resident.setOffline(false);
    await expect.poll(() => text(attending)).toContain('Offline paragraph: CT of 2025-03-01 reviewed.');
    await expect.poll(() => pending(resident).getAttribute('data-count')).toBe('0');
    await expect.poll(() => link(resident).getAttribute('data-state')).toBe('live');
    expect(await text(resident)).toBe(await text(attending));
  });

  it('nothing typed is lost to a reload 0 ms after the last keystroke (offline, twelve times)', async () => {
    const { reportId, resident, contexts } = await reportScene(system, desks, ['resident']);
    const text = (page: Page) => editorText(page, reportId);
    await setOfflinePin(resident);
    await requireServiceWorker(resident);
    await expect.poll(() => link(resident).getAttribute('data-state')).toBe('live');
    await contexts.resident.setOffline(true);
    const typed: string[] = [];
    const kept: string[] = [];
    for (let round = 0; round < 12; round++) {
      await expect.poll(() => text(resident)).not.toBeNull();
      await caretAtSection(resident, reportId, 'Comparison');
      const phrase = `offline ${randomBytes(3).toString('hex')}`;
      // Typed as a user types: each key is handled by the page before the next; the reload follows the last at once.
      await resident.keyboard.type(` ${phrase}`);
      typed.push(phrase);
      await resident.reload();
      await enterOfflinePin(resident);
      // Everything typed earlier is there once the copy is open; then the newest phrase must be too.
      await expect.poll(() => text(resident), { timeout: 15_000 }).toContain(typed[0]!);
      if ((await text(resident))?.includes(phrase)) kept.push(phrase);
    }
    console.log(`report: reload 0 ms after the last keystroke, offline: ${kept.length} of ${typed.length} phrases kept`);
    expect(kept).toEqual(typed);
  });

  it("a copy of the device's storage holds no patient data: name, accession number and report text are sealed", async () => {
    const studyId = await seedReportStudy(system);
    const admin = await apiLogin(system.url, RADIOLOGIST);
    const { study } = await admin.call<{ study: { patientName: string; accessionNumber: string; patientId: string } }>(
      'GET',
      `/api/studies/${studyId}`,
    );
    const marker = `Dump marker ${randomBytes(4).toString('hex')}`;
    const profileDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-e2e-dump-'));
    const context = await launchPersistentProfile(profileDir, { width: 1180, height: 820 });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await signIn(page, system.url, RADIOLOGIST);
      await setOfflinePin(page);
      const reportId = await startReportByApi(system, RADIOLOGIST, studyId);
      expect(await openReport(page, system.url, studyId)).toBe(reportId);
      // The template's sections arrive with the first sync.
      await expect
        .poll(() =>
          caretAtSection(page, reportId, 'Findings').then(
            () => true,
            () => false,
          ),
        )
        .toBe(true);
      await page.keyboard.type(marker);
      await expect.poll(() => page.getByTestId('report-saved').first().getAttribute('data-on-device')).toBe('true');
      // Offline: reopened with the PIN; the report and the worklist are read from the device.
      await requireServiceWorker(page);
      await context.setOffline(true);
      await page.reload();
      await enterOfflinePin(page);
      await expect.poll(() => editorText(page, reportId)).toContain(marker);
      await page.getByRole('link', { name: 'Worklist', exact: true }).click();
      await page.getByTestId('worklist-search').fill(study.accessionNumber);
      await expect.poll(() => page.getByTestId('worklist-row').count()).toBe(1);

      const terms = [study.patientName, study.patientName.split('^').reverse().join(', '), study.accessionNumber, study.patientId, marker];
      expect(found(await dumpOriginStorage(page), terms)).toEqual([]);
      // The same search of the profile's files finds what a page stores in the clear (so it would find a leak).
      const control = `Control^Plain${randomBytes(4).toString('hex')}`;
      await page.evaluate(
        (text) =>
          new Promise<void>((resolve, reject) => {
            const req = indexedDB.open('e2e-control');
            req.onupgradeneeded = () => req.result.createObjectStore('plain');
            req.onsuccess = () => {
              const tx = req.result.transaction('plain', 'readwrite');
              tx.objectStore('plain').put({ text }, 1);
              tx.oncomplete = () => resolve();
              tx.onerror = () => reject(tx.error);
            };
          }),
        control,
      );
      await context.close();
      const disk = dumpProfileFiles(profileDir);
      expect(found(disk, [control])).toEqual([control]);
      expect(found(disk, terms)).toEqual([]);
    } finally {
      await context.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    }
  });

  it('a sync-server crash mid-session loses nothing and both editors reconnect by themselves', async () => {
    const { reportId, resident, attending } = await reportScene(system, desks, ['resident', 'attending']);
    const text = (page: Page) => editorText(page, reportId);
    await caretAtSection(attending, reportId, 'Technique');
    await attending.keyboard.type('Axial CT without contrast.');
    await expect.poll(() => text(resident)).toContain('Axial CT without contrast.');
    const restarted = system.restartSync({ crash: true });
    await caretAtSection(resident, reportId, 'Impression');
    await resident.keyboard.type('No acute intracranial abnormality.');
    await restarted;
    await expect.poll(() => text(attending)).toContain('No acute intracranial abnormality.');
    expect(await text(attending)).toContain('Axial CT without contrast.');
    await expect.poll(() => link(resident).getAttribute('data-state')).toBe('live');
    await expect.poll(() => link(attending).getAttribute('data-state')).toBe('live');
    await expect.poll(() => pending(resident).getAttribute('data-count')).toBe('0');
    expect(await text(resident)).toBe(await text(attending));
  });

  it('the resident tablet opens the report, then goes offline and keeps typing', async () => {
    const { reportId, tablet, attending, contexts } = await reportScene(system, desks, ['attending', 'tablet']);
    await expect.poll(() => editorText(tablet, reportId)).toBe(await editorText(attending, reportId));
    await contexts.tablet.setOffline(true);
    await expect.poll(() => link(tablet).getAttribute('data-state')).toBe('offline');
    await caretAtSection(tablet, reportId, 'Findings');
    await tablet.keyboard.press('Enter');
    await tablet.keyboard.type('Tablet note: small right frontal contusion.');
    expect(await editorText(tablet, reportId)).toContain('Tablet note: small right frontal contusion.');
    await expect.poll(async () => Number(await pending(tablet).getAttribute('data-count'))).toBeGreaterThan(0);
    expect(await editorText(attending, reportId)).not.toContain('Tablet note');
  });

  it('signing while someone types: 409, the new text is shown, the attending signs again; the resident turns read-only', async () => {
    const { reportId, resident, attending } = await reportScene(system, desks, ['resident', 'attending']);
    await caretAtSection(resident, reportId, 'Clinical history');
    await resident.keyboard.type('Fall from standing height.');
    await expect.poll(() => editorText(attending, reportId)).toContain('Fall from standing height.');
    // Hold the first finalize request until the resident's edit has reached the server, so the
    // state vector it carries is stale.
    let held = false;
    await attending.route('**/api/reports/*/finalize', async (route) => {
      if (held) return route.continue();
      held = true;
      await caretAtSection(resident, reportId, 'Impression');
      await resident.keyboard.type(' Follow-up CT in 24 h.');
      await expect.poll(() => editorText(attending, reportId)).toContain('Follow-up CT in 24 h.');
      await route.continue();
    });
    await expect.poll(() => pending(attending).getAttribute('data-count')).toBe('0');
    await attending.getByRole('button', { name: 'Sign and finalize' }).click();
    const review = attending.getByRole('heading', { name: 'The report changed while you were reviewing it' });
    await review.waitFor();
    expect(await attending.locator('.stale-review').textContent()).toContain('Follow-up CT in 24 h.');
    expect(await attending.getByTestId('report-status-name').textContent()).toBe('draft');

    expect(await editorEditable(resident, reportId)).toBe(true);
    const finalized = attending.waitForResponse((r) => r.url().endsWith('/finalize') && r.request().method() === 'POST');
    await attending.getByRole('button', { name: 'Sign this version' }).click();
    expect((await finalized).status()).toBe(200);
    // null: the live editor has already been replaced by the signed, read-only view.
    await expect.poll(() => editorEditable(resident, reportId), { interval: 50 }).not.toBe(true);
    await expect
      .poll(() => attending.locator('.final-banner').first().textContent())
      .toMatch(/^Final — signed by Demo Radiologist at .* · sealed with key [0-9a-f]{8}, verified$/);
    await expect.poll(() => resident.locator('.final-banner').first().textContent()).toMatch(/^Final — signed by/);
    // The banner can come a moment before the signed read-only editor has mounted.
    await expect.poll(() => editorText(attending, reportId, 'signed')).toContain('Follow-up CT in 24 h.');
    const signed = await editorText(attending, reportId, 'signed');
    expect(signed).toContain('Fall from standing height.');
    await expect.poll(() => editorText(resident, reportId, 'signed')).toBe(signed);
  });

  it("the tablet's offline edits surface as late edits and become an addendum", async () => {
    const { reportId, tablet, attending, contexts } = await reportScene(system, desks, ['attending', 'tablet']);
    await contexts.tablet.setOffline(true);
    await expect.poll(() => link(tablet).getAttribute('data-state')).toBe('offline');
    await caretAtSection(tablet, reportId, 'Findings');
    await tablet.keyboard.press('Enter');
    await tablet.keyboard.type('Tablet note: small right frontal contusion.');
    await caretAtSection(attending, reportId, 'Impression');
    await attending.keyboard.type('No acute intracranial abnormality.');
    await signReport(attending, reportId);

    await contexts.tablet.setOffline(false);
    const panel = tablet.getByTestId('late-edits');
    await expect.poll(() => panel.textContent()).toContain('Tablet note: small right frontal contusion.');
    expect(await panel.textContent()).toContain('These edits were not applied because the report was signed at');
    // Residents read them; the addendum is the attending's.
    expect(await panel.getByRole('button', { name: 'Create addendum from these edits' }).count()).toBe(0);
    expect(await tablet.getByTestId('report-pending').first().textContent()).toMatch(/not applied: the report was signed/);
    // The signed text does not contain them.
    expect(await editorText(tablet, reportId, 'signed')).not.toContain('Tablet note');

    const attendingPanel = attending.getByTestId('late-edits');
    await expect.poll(() => attendingPanel.textContent()).toContain('Tablet note: small right frontal contusion.');
    await attendingPanel.getByRole('button', { name: 'Create addendum from these edits' }).click();
    const addendum = attending.locator('.report-addendum .report-document');
    await addendum.waitFor();
    const addendumId = (await addendum.getAttribute('data-report-id'))!;
    await expect.poll(() => editorText(attending, addendumId)).toContain('Findings: Tablet note: small right frontal contusion.');
    await expect.poll(() => addendum.getByTestId('report-link').getAttribute('data-state')).toBe('live');
    await addendum.getByRole('button', { name: 'Sign addendum' }).click();
    await expect.poll(() => attending.locator('.report-addendum .final-banner').textContent()).toMatch(/^Final — signed by/);
  });

  it('the downloaded PDF contains the signed text and the addendum', async () => {
    const { reportId, attending } = await reportScene(system, desks, ['attending'], { acceptDownloads: true });
    await caretAtSection(attending, reportId, 'Findings');
    await attending.keyboard.type('Small right frontal contusion.');
    await attending.keyboard.press('Enter');
    await attending.keyboard.type('No midline shift.');
    await signReport(attending, reportId);
    const admin = await apiLogin(system.url, RADIOLOGIST);
    await admin.call('POST', `/api/reports/${reportId}/addenda`, { text: 'Findings: follow-up CT shows no change.' });
    // The page learns of the addendum at its next report poll; a reload shows it at once.
    await attending.reload();
    const addendum = attending.locator('.report-addendum .report-document');
    await addendum.waitFor();
    await expect.poll(() => addendum.getByTestId('report-link').getAttribute('data-state')).toBe('live');
    await addendum.getByRole('button', { name: 'Sign addendum' }).click();
    await expect.poll(() => attending.locator('.report-addendum .final-banner').textContent()).toMatch(/^Final — signed by/);

    const download = attending.waitForEvent('download');
    await attending.locator('.report-app > .report-document').getByRole('button', { name: 'Download PDF' }).click();
    const file = path.join(tmp, `report-${reportId}.pdf`);
    await (await download).saveAs(file);
    const converted = spawnSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    expect(converted.status).toBe(0);
    const pdfText = converted.stdout.replace(/\s+/g, ' ');
    // Every line of the signed text, as the editors showed it, is in the PDF (wrapped lines rejoin).
    const signed = (await editorText(attending, reportId, 'signed'))!;
    const lines = signed
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    expect(lines).toContain('No midline shift.');
    for (const line of lines) expect(pdfText).toContain(line.replace(/\s+/g, ' '));
    expect(pdfText).toContain('Findings: follow-up CT shows no change.');
    expect(pdfText).toMatch(/Electronically signed: Demo Radiologist/);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('%PDF-');

    // The PDF as downloaded is authentic on the account page; one changed byte is not.
    await attending.goto(`${system.url}/account`);
    const picker = attending.getByLabel('Check a report PDF');
    await picker.setInputFiles(file);
    await expect
      .poll(() => attending.locator('[data-verdict]').textContent())
      .toMatch(new RegExp(`authentic — sealed by this system.*report ${reportId} as addended`));
    const altered = Buffer.from(readFileSync(file));
    const middle = Math.floor(altered.length / 2);
    altered[middle] = altered[middle]! ^ 0x01;
    await picker.setInputFiles({ name: 'altered.pdf', mimeType: 'application/pdf', buffer: altered });
    await expect
      .poll(() => attending.locator('[data-verdict]').textContent())
      .toMatch(/^altered\.pdf: not authentic — the PDF was changed after it was sealed/);
  });
});

describe('report route layout', () => {
  it('shows the report beside the images on a landscape screen and a toggle on portrait', async () => {
    const studyId = await seedReportStudy(system);
    await startReportByApi(system, RADIOLOGIST, studyId);
    const { page } = await desks.open(RADIOLOGIST);
    await page.goto(`${system.url}/report/${studyId}`);
    await page.locator('.report-layout.split .report-images').waitFor();
    await page.locator('.report-layout.split .report-pane .report-app > .report-document').waitFor();
    await page.setViewportSize({ width: 800, height: 1100 });
    const toggle = page.getByRole('button', { name: 'Show images', exact: true });
    await toggle.waitFor();
    expect(await page.locator('.report-images').count()).toBe(0);
    await toggle.click();
    await page.locator('.report-images').waitFor();
    expect(await page.locator('.report-pane').count()).toBe(0);
    await page.getByRole('button', { name: 'Show report', exact: true }).click();
    await page.locator('.report-pane .report-app > .report-document').waitFor();
  });
});
