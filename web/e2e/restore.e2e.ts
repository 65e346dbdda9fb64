/**
 * The server's database restored from a backup while a tablet holds newer state, by the restore
 * procedure of DEPLOYMENT.md run on the e2e system (an online backup taken while in use; restore:
 * API and sync-server stopped, the backup put in place, a new database epoch, both started again).
 * The restored counter is behind what the tablet has seen: the tablet must start its worklist again
 * from a snapshot (not wait at its cursor and miss what changes next), and replay its pending change.
 */
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openReport, seedReportStudy, startReportByApi } from './report-scene';
import { caretAtSection, editorText } from './report-support';
import { ADMIN, apiLogin, RADIOLOGIST, RESIDENT, type System, signIn, systemAndBrowserForFile } from './support';

let system: System;
let browser: Browser;

systemAndBrowserForFile({ sync: true }, (started) => ({ system, browser } = started));

type Row = { id: string; version: number; priority: string; assignee: { id: string } | null };

describe('restore from a backup', () => {
  it('the tablet starts its worklist again from the restored database, replays its offline change, and follows later changes', async () => {
    const tag = `${Date.now()}`.slice(-7);
    const seed = (letter: string) => system.seed({ patientName: `Restore^${letter}${tag}`, accessionNumber: `RS${tag}${letter}` });
    const [a, b, c] = [await seed('A'), await seed('B'), await seed('C')];
    const context = await browser.newContext({ viewport: { width: 1180, height: 820 } });
    try {
      const page = await context.newPage();
      await signIn(page, system.url, RADIOLOGIST);
      await page.getByRole('link', { name: 'Worklist', exact: true }).click();
      await page.getByTestId('worklist-search').fill(`RS${tag}`);
      const rows = page.getByTestId('worklist-row');
      const row = (id: string) => page.locator(`[data-testid="worklist-row"][data-study-id="${id}"]`);
      await expect.poll(() => rows.count()).toBe(3);

      const { file } = await system.backup();
      // After the backup: a colleague's change and a new arrival reach the tablet.
      const admin = await apiLogin(system.url, ADMIN);
      await admin.call('PATCH', `/api/studies/${b.id}`, { priority: 'stat', version: b.version });
      const d = await seed('D');
      await expect.poll(() => row(b.id).getAttribute('data-priority')).toBe('stat');
      await expect.poll(() => rows.count()).toBe(4);

      // Offline, the radiologist takes study C: pending on the tablet.
      await context.setOffline(true);
      await expect.poll(() => page.getByTestId('connection-state').textContent()).toBe('Offline');
      await row(c.id).getByRole('button', { name: 'Assign to me' }).click();
      await expect.poll(() => page.getByTestId('pending-count').getAttribute('data-count')).toBe('1');

      const { epoch } = await system.restore(file);
      expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
      // Before the tablet is back, work goes on: three changes numbered from the restored counter
      // pass the tablet's cursor. Without the new epoch it would ask for what came after its cursor
      // and miss the first two (A's priority, E), keeping D and B's lost change.
      const restoredAdmin = await apiLogin(system.url, ADMIN);
      await restoredAdmin.call('PATCH', `/api/studies/${a.id}`, { priority: 'urgent', version: a.version });
      const e = await seed('E');
      const f = await seed('F');
      await context.setOffline(false);

      // The tablet holds what the restored database holds: B as it was, D gone, A, E and F as now.
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(5);
      expect(await row(d.id).count()).toBe(0);
      for (const id of [e.id, f.id]) expect(await row(id).count()).toBe(1);
      await expect.poll(() => row(b.id).getAttribute('data-priority')).toBe('routine');
      await expect.poll(() => row(a.id).getAttribute('data-priority')).toBe('urgent');
      // C's change, made offline against the version the restored database still has, is replayed.
      await expect.poll(() => page.getByTestId('pending-count').getAttribute('data-count'), { timeout: 30_000 }).toBe('0');
      const radiologist = await apiLogin(system.url, RADIOLOGIST);
      const { study } = await radiologist.call<{ study: Row }>('GET', `/api/studies/${c.id}`);
      expect(study.assignee?.id).toBe(radiologist.userId);
      await expect.poll(() => row(c.id).getByTestId('assignee').textContent()).toBe('Me');
    } finally {
      await context.close();
    }
  });

  it('a report typed after the backup: the tablet gives the restored server back what it lost, once', async () => {
    const studyId = await seedReportStudy(system);
    const reportId = await startReportByApi(system, RESIDENT, studyId);
    const tablet = await browser.newContext({ viewport: { width: 1180, height: 820 } });
    const desk = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const page = await tablet.newPage();
      await signIn(page, system.url, RESIDENT);
      expect(await openReport(page, system.url, studyId)).toBe(reportId);
      await expect.poll(() => editorText(page, reportId)).toContain('Clinical history');
      const pending = () => page.getByTestId('report-pending').first().getAttribute('data-count');
      await caretAtSection(page, reportId, 'Findings');
      await page.keyboard.type('Typed before the backup.');
      await expect.poll(pending).toBe('0');

      const { file } = await system.backup();
      await page.keyboard.type(' Typed after the backup.');
      await expect.poll(pending).toBe('0');
      await system.restore(file);

      // The restored server lacks the second sentence; the tablet reconnects and sends it back.
      const attending = await desk.newPage();
      await signIn(attending, system.url, RADIOLOGIST);
      expect(await openReport(attending, system.url, studyId)).toBe(reportId);
      await expect.poll(() => editorText(attending, reportId), { timeout: 30_000 }).toContain('Typed after the backup.');
      const text = (await editorText(attending, reportId))!;
      expect(text.split('Typed before the backup.').length - 1).toBe(1);
      expect(text.split('Clinical history').length - 1).toBe(1);
    } finally {
      await tablet.close();
      await desk.close();
    }
  });
});
