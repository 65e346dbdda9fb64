/**
 * A resident's shift on a tablet, end to end against the real API, sync-server and gateway: 20
 * assigned studies with a prior each; the network drops and returns ten times; ten reports drafted,
 * two of them started offline (the server adopts them when the network returns), five of them signed by the attending while the tablet is offline (what the tablet typed meanwhile
 * becomes late edits); worklist changes made offline (one meets a colleague's change: a conflict);
 * offline views of the worklist and the reports; the servers restarted once and the database
 * restored from a backup once. At the end it prints what was typed, changed and viewed against
 * what the server holds, which must be equal, and searches a raw dump of the tablet's storage for
 * the patients' names, which must find none.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { dumpOriginStorage, dumpProfileFiles, found } from './device-dump';
import { requireServiceWorker, signReport } from './report-scene';
import { caretAtSection, editorText, shownReportId } from './report-support';
import {
  ADMIN,
  apiLogin,
  enterOfflinePin,
  launchPersistentProfile,
  RADIOLOGIST,
  RESIDENT,
  type System,
  setOfflinePin,
  signIn,
  systemAndBrowserForFile,
} from './support';

let system: System;
let browser: Browser;

systemAndBrowserForFile({ sync: true }, (started) => ({ system, browser } = started));

const STUDIES = 20;
const REPORTS = 10;
const CYCLES = 10;
/** Reports the attending signs while the tablet is offline (in those cycles). */
const SIGNED_OFFLINE = new Set([5, 6, 7, 8, 9]);
const RESTART_CYCLE = 4;
/** Reports started with the network gone (adopted by the server when it returns). */
const STARTED_OFFLINE = 2;
const RESTORE_CYCLE = 7;
/** Studies nobody was assigned that the resident takes offline; the last one meets a colleague's change. */
const TAKEN = 4;

type Row = { id: string; version: number; priority: string; assignee: { id: string } | null };
type AuditItem = { details: Record<string, unknown> | null };

interface Typed {
  report: number;
  text: string;
}

describe('a shift on a tablet', () => {
  it(
    'nothing typed, changed or viewed offline is lost across drops, a restart and a restore, and no patient name is on the device in the clear',
    async () => {
      const tag = randomBytes(3).toString('hex').toUpperCase();
      const resident = await apiLogin(system.url, RESIDENT);
      const shiftStart = new Date(Date.now() - 1000).toISOString();

      // ---------------------------------------------------------------- the worklist of the shift
      const names: string[] = [];
      const assigned: { id: string; version: number }[] = [];
      for (let i = 0; i < STUDIES; i++) {
        const patientName = `Shift${tag}^Patient${String.fromCharCode(65 + i)}`;
        names.push(patientName);
        const prior = await system.seed({
          patientName,
          accessionNumber: `SH${tag}P${i}`,
          status: 'final',
          receivedAt: '2025-06-01T09:00:00.000Z',
          description: 'CT HEAD',
        });
        assigned.push(
          await system.seed({
            patientName,
            accessionNumber: `SH${tag}S${i}`,
            samePatientAs: prior.id,
            assigneeId: resident.userId,
            description: 'CT HEAD',
          }),
        );
      }
      const taken: { id: string; version: number }[] = [];
      for (let i = 0; i < TAKEN; i++) {
        const patientName = `Shift${tag}^Walkin${String.fromCharCode(65 + i)}`;
        names.push(patientName);
        taken.push(await system.seed({ patientName, accessionNumber: `SH${tag}X${i}` }));
      }

      const profileDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-e2e-shift-'));
      const tablet = await launchPersistentProfile(profileDir, { width: 1180, height: 820 });
      const desk = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        const page = tablet.pages()[0] ?? (await tablet.newPage());
        const requests = new Map<unknown, string>();
        const requestLog: string[] = [];
        page.on('request', (r) => {
          requests.set(r, `${new Date().toISOString().slice(11, 23)} ${r.method()} ${r.url().replace(system.url, '')}`);
        });
        const settle = (r: unknown, how: string) => {
          requestLog.push(`${requests.get(r)} → ${how} at ${new Date().toISOString().slice(11, 23)}`);
          requests.delete(r);
          if (requestLog.length > 60) requestLog.shift();
        };
        page.on('requestfinished', (r) => settle(r, 'done'));
        page.on('requestfailed', (r) => settle(r, `failed ${r.failure()?.errorText}`));
        /** For a wait that timed out: which requests were still open, and the last ones that ended. */
        const logRequests = (what: string) => {
          console.log(`shift: ${what}; requests still open:\n${[...requests.values()].join('\n')}`);
          console.log(`shift: last requests:\n${requestLog.join('\n')}`);
        };
        await signIn(page, system.url, RESIDENT);
        await setOfflinePin(page);
        await requireServiceWorker(page);
        const attending = await desk.newPage();
        await signIn(attending, system.url, RADIOLOGIST);

        // The tablet takes the 20 studies, their priors and the walk-ins.
        await page.getByRole('link', { name: 'Worklist', exact: true }).click();
        await page.getByTestId('worklist-search').fill(`SH${tag}`);
        const shown = () =>
          page
            .getByTestId('worklist-count')
            .textContent()
            .then((t) => Number(t?.split(' ')[0]));
        await expect.poll(shown).toBe(STUDIES * 2 + TAKEN);

        const typed: Typed[] = [];
        const reportIds: string[] = [];
        let changesMade = 0;
        let backup: string | null = null;
        /** Waits for the tablet's connection state; if it does not come, says which requests were still open. */
        const connection = async (state: 'Online' | 'Offline') => {
          try {
            // Back online may take up to the client's request timeout (60 s): a request caught by the
            // drop or a server restart on a half-open connection is given up then and sent again.
            await expect
              .poll(() => page.getByTestId('connection-state').textContent(), { timeout: state === 'Online' ? 90_000 : 30_000 })
              .toBe(state);
          } catch (error) {
            logRequests(`${await page.getByTestId('connection').getAttribute('title')}`);
            throw error;
          }
        };
        const reportPending = () => page.getByTestId('report-pending').first().getAttribute('data-count');
        const type = async (report: number, words: string) => {
          const text = `${words} ${randomBytes(3).toString('hex')}.`;
          // A paragraph of its own, so a late edit shows this sentence alone.
          await caretAtSection(page, reportIds[report]!, 'Findings');
          await page.keyboard.press('Enter');
          await page.keyboard.type(text);
          typed.push({ report, text });
        };
        const offlineReads = () =>
          page.evaluate(() =>
            (
              window as unknown as { __pacsDevice: { offlineReads(): Promise<{ recorded: number; waiting: number }> } }
            ).__pacsDevice.offlineReads(),
          );

        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const study = assigned[cycle]!;
          console.log(`shift: cycle ${cycle}`);
          // The study's report, started on the first visit: online, or (the first ones) with the
          // network already gone, from the template the device keeps.
          const startedOffline = cycle < STARTED_OFFLINE;
          await page.goto(`${system.url}/report/${study.id}?images=off`);
          const start = page.getByRole('button', { name: 'Start report' });
          await start.waitFor();
          if (startedOffline) {
            await tablet.setOffline(true);
            await connection('Offline');
            await expect.poll(() => start.isEnabled()).toBe(true);
          }
          await start.click();
          reportIds[cycle] = await shownReportId(page);
          await expect.poll(() => editorText(page, reportIds[cycle]!)).toContain('Findings');
          if (startedOffline) {
            await expect.poll(() => page.locator('.report-meta').textContent()).toContain('not yet on the server');
          }
          if (cycle === RESTORE_CYCLE) {
            // The backup is taken once the tablet's earlier offline views are on the server; what
            // it types next reaches the server after the backup and is lost by the restore.
            await expect.poll(async () => (await offlineReads()).waiting).toBe(0);
            backup = (await system.backup()).file;
          }
          await type(cycle, `Cycle ${cycle} ${startedOffline ? 'started offline' : 'online'}: no acute abnormality in study ${cycle}`);
          if (!startedOffline) {
            await expect.poll(reportPending).toBe('0');
            // The network drops.
            await tablet.setOffline(true);
            await connection('Offline');
          }
          await type(cycle, `Cycle ${cycle} offline: comparison with the prior`);
          const typedOffline = typed.at(-1)!.text;
          // Offline views: the worklist, then the report again (in the app, from the device).
          await page.getByRole('link', { name: 'Worklist', exact: true }).click();
          await page.getByTestId('worklist-search').fill(`SH${tag}`);
          await expect.poll(shown).toBe(STUDIES * 2 + TAKEN);
          if (cycle < TAKEN) {
            await page.getByTestId('worklist-search').fill(`SH${tag}X${cycle}`);
            const row = page.locator(`[data-testid="worklist-row"][data-study-id="${taken[cycle]!.id}"]`);
            await row.getByRole('button', { name: 'Assign to me' }).click();
            await row.getByTestId('row-pending').waitFor();
            changesMade += 1;
            if (cycle === TAKEN - 1) {
              // A colleague changes the same study meanwhile.
              const admin = await apiLogin(system.url, ADMIN);
              await admin.call('PATCH', `/api/studies/${taken[cycle]!.id}`, { priority: 'urgent', version: taken[cycle]!.version });
            }
          }
          await page.goBack();
          await expect.poll(() => editorText(page, reportIds[cycle]!)).toContain(`Cycle ${cycle} offline`);
          if (cycle === 2) {
            // A reload without a network: the PIN opens the device's copy.
            await page.reload();
            await enterOfflinePin(page);
            await expect.poll(() => editorText(page, reportIds[cycle]!)).toContain(`Cycle ${cycle} offline`);
          }
          // Meanwhile at the servers.
          if (cycle === RESTART_CYCLE) await system.restartServers();
          if (cycle === RESTORE_CYCLE) await system.restore(backup!);
          if (SIGNED_OFFLINE.has(cycle)) {
            await attending.goto(`${system.url}/report/${study.id}?images=off`);
            expect(await shownReportId(attending)).toBe(reportIds[cycle]);
            await expect.poll(() => editorText(attending, reportIds[cycle]!)).toContain('Findings');
            await signReport(attending, reportIds[cycle]!);
          }

          // The network returns.
          await tablet.setOffline(false);
          await connection('Online');
          if (SIGNED_OFFLINE.has(cycle)) {
            // Signed meanwhile: what the tablet typed offline is kept as a late edit.
            await expect.poll(() => page.getByTestId('late-edits').textContent(), { timeout: 30_000 }).toContain(typedOffline);
          } else {
            // A report started offline is adopted by the server (under the device's id) first.
            await expect.poll(() => page.locator('.report-meta').textContent(), { timeout: 30_000 }).not.toContain('not yet on the server');
            await expect.poll(reportPending, { timeout: 30_000 }).toBe('0');
          }
          try {
            // An upload caught by the drop or the restart on a half-open connection is given up
            // after the client's request timeout (60 s) and sent again.
            await expect.poll(async () => (await offlineReads()).waiting, { timeout: 90_000 }).toBe(0);
          } catch (error) {
            logRequests('offline reads still waiting');
            throw error;
          }
        }

        // ---------------------------------------------------------------- the account
        const { recorded: offlineViews } = await offlineReads();
        const admin = await apiLogin(system.url, ADMIN);
        let offlineInTrail = 0;
        let cursor: string | null = null;
        do {
          const query: string = `/api/audit?userId=${resident.userId}&from=${encodeURIComponent(shiftStart)}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const auditPage: { items: AuditItem[]; nextCursor: string | null } = await admin.call('GET', query);
          offlineInTrail += auditPage.items.filter((item) => item.details?.offline === true).length;
          cursor = auditPage.nextCursor;
        } while (cursor);

        // Worklist changes: landed on the server, or shown to the resident as a conflict.
        let landed = 0;
        for (const study of taken) {
          const { study: row } = await admin.call<{ study: Row }>('GET', `/api/studies/${study.id}`);
          if (row.assignee?.id === resident.userId) landed += 1;
        }
        await page.goto(`${system.url}/worklist`);
        const conflictsShown = () => page.getByTestId('conflict-view').getByTestId('conflict-mine').count();
        // The banner shows once the device's outbox is read after the page load.
        await expect.poll(conflictsShown).toBe(changesMade - landed);
        const conflicts = await conflictsShown();

        // Keystrokes: in the server's document, the signed text or the late edits, seen from the desk.
        const serverText: string[] = [];
        for (let report = 0; report < REPORTS; report++) {
          await attending.goto(`${system.url}/report/${assigned[report]!.id}?images=off`);
          const id = reportIds[report]!;
          expect(await shownReportId(attending)).toBe(id);
          const signed = SIGNED_OFFLINE.has(report);
          await expect.poll(() => editorText(attending, id, signed ? 'signed' : 'live')).not.toBeNull();
          const mine = typed.filter((t) => t.report === report);
          const lateEdits = attending.getByTestId('late-edits');
          const textOf = async () =>
            `${await editorText(attending, id, signed ? 'signed' : 'live')}\n${(await lateEdits.count()) ? await lateEdits.textContent() : ''}`;
          // Late edits are read from the server after the page loads: wait until every sentence is in.
          await expect
            .poll(async () => {
              const text = await textOf();
              return mine.filter((t) => text.includes(t.text)).length;
            })
            .toBe(mine.length);
          const text = await textOf();
          serverText.push(text);
          for (const t of mine) expect(text.split(t.text).length - 1, `"${t.text}" once in report ${report}`).toBe(1);
        }
        const keystrokesTyped = typed.reduce((sum, t) => sum + t.text.length, 0);
        const keystrokesKept = typed.reduce((sum, t) => sum + (serverText[t.report]!.includes(t.text) ? t.text.length : 0), 0);

        // The raw storage of the tablet: every database record, the storage areas, the caches and the profile's files.
        const terms = names.flatMap((name) => [name, name.split('^').reverse().join(', ')]);
        const inStorage = found(await dumpOriginStorage(page), terms);
        await tablet.close();
        const onDisk = found(dumpProfileFiles(profileDir), terms);
        const namesFound = new Set([...inStorage, ...onDisk]).size;

        console.log(
          `shift: keystrokes typed ${keystrokesTyped}, in a signed report, a draft or a late edit ${keystrokesKept}; ` +
            `worklist changes made ${changesMade}, landed ${landed}, shown as conflicts ${conflicts}; ` +
            `offline views ${offlineViews}, in the audit trail ${offlineInTrail}; patient names in a raw dump of the device ${namesFound}`,
        );
        expect(keystrokesKept).toBe(keystrokesTyped);
        expect(landed + conflicts).toBe(changesMade);
        expect(conflicts).toBe(1);
        expect(offlineViews).toBeGreaterThanOrEqual(CYCLES * 2);
        expect(offlineInTrail).toBe(offlineViews);
        expect(namesFound).toBe(0);
      } finally {
        await tablet.close().catch(() => undefined);
        await desk.close();
        rmSync(profileDir, { recursive: true, force: true });
      }
    },
    15 * 60_000,
  );
});
