/**
 * Reports on ordered studies, with the real sync-server: the order's indication and clinical
 * history fill the template's "Clinical history" section and print in the PDF; a study still
 * scheduled (no images) cannot be reported on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report, WorklistPage } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentFromUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';
import { freePort, type SyncProcess, serverState, startSyncServer, syncEnv } from './support/sync-server';

let t: TestApp;
let sync: SyncProcess;
let hl7Port: number;
let attending: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-report-orders-'));

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({
    ...syncEnv(port),
    PACS_HL7_PORT: '0',
  });
  sync = await startSyncServer(t.database.url, port);
  hl7Port = await t.app.hl7.listen();
  attending = (await t.userWithToken('attending')).token;
}, 120_000);
afterAll(async () => {
  await sync?.stop();
  await t?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** An order over MLLP; returns its worklist row id. */
async function ordered(): Promise<{ id: string; accession: string }> {
  const v = uniqueOrderValues();
  expect(ackOf(await sendWithClient(hl7Port, sample('orm-o01-v231-latin1.hl7', v), 'iso-8859-1')).code).toBe('AA');
  const list = await t.app.inject({ url: `/api/studies?q=${v.ACCESSION}`, headers: bearer(attending) });
  const row = (list.json() as WorklistPage).items.find((s) => s.accessionNumber === v.ACCESSION)!;
  return { id: row.id, accession: v.ACCESSION };
}

describe('reports on ordered studies', () => {
  it('a scheduled study (no images yet) cannot be reported on: 409 NO_IMAGES_YET, no report created', async () => {
    const { id } = await ordered();
    const response = await t.app.inject({ method: 'POST', url: `/api/studies/${id}/report`, headers: bearer(attending), payload: {} });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'NO_IMAGES_YET' });
    expect(await t.app.db.models.Report.count({ where: { studyRef: id } })).toBe(0);
  });

  it('once the images are in, the new report opens with the order’s indication and clinical history, and the PDF prints the indication', async () => {
    const { id } = await ordered();
    // The images' arrival (tested with Orthanc in orders-arrival.test.ts) reduced to its effect on the row.
    await t.app.db.models.Study.update({ status: 'unread', numberOfInstances: 3, numberOfSeries: 1 }, { where: { id } });
    const created = await t.app.inject({ method: 'POST', url: `/api/studies/${id}/report`, headers: bearer(attending), payload: {} });
    expect(created.statusCode, created.body).toBe(201);
    const report = created.json() as Report;
    const state = await serverState(sync.url, report.document);
    const text = contentFromUpdate(new Uint8Array(Buffer.from(state.update, 'base64'))).contentText;
    expect(text).toContain('Clinical history\nVerdacht auf Blutung\nSturz auf der Treppe & Kopfschmerz\nPatient nimmt Antikoagulanzien');

    const pdf = await t.app.inject({ url: `/api/reports/${report.id}/pdf`, headers: bearer(attending) });
    expect(pdf.statusCode).toBe(200);
    const file = path.join(tmp, `${report.id}.pdf`);
    writeFileSync(file, pdf.rawPayload);
    const printed = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(printed, printed).toContain('Indication: Verdacht auf Blutung');
  });
});
