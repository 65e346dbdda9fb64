/**
 * The DICOM Modality Worklist with real parts: orders over MLLP (independent client), the API's
 * worklist folder, Orthanc's worklist plugin, and DCMTK's findscu as the modality, filtering by
 * modality, date and station AE title. A cancelled or arrived order leaves the worklist.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiEnvFor, type OrthancInstance, startOrthanc } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';

const run = promisify(execFile);
const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } };
    DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown> };
  };
};

let orthanc: OrthancInstance;
let t: TestApp;
let hl7Port: number;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-mwl-'));
  const worklists = path.join(dir, 'worklists');
  orthanc = await startOrthanc({ worklistsDir: worklists });
  t = await createTestApp({ ...apiEnvFor(orthanc), PACS_HL7_PORT: '0', PACS_MWL_DIR: worklists, PACS_RECONCILE_INTERVAL_SECONDS: '0' });
  hl7Port = await t.app.hl7.listen();
}, 60_000);
afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Item = Record<string, unknown> & { ScheduledProcedureStepSequence?: Record<string, unknown>[] };

/** C-FIND on the modality worklist as a modality does it; the matching items, parsed. */
async function findscu(keys: string[]): Promise<Item[]> {
  const out = await mkdtemp(path.join(dir, 'find-'));
  const returned = [
    '0008,0050', // AccessionNumber
    '0010,0010',
    '0010,0020',
    '0020,000D',
    '0032,1060', // RequestedProcedureDescription
    '0040,1001', // RequestedProcedureID
    '0040,1003', // RequestedProcedurePriority
    '(0040,0100)[0].Modality',
    '(0040,0100)[0].ScheduledStationAETitle',
    '(0040,0100)[0].ScheduledProcedureStepStartDate',
  ];
  const args = ['-W', '-aet', 'CT_CONSOLE', '-aec', orthanc.aet, '-X', '-od', out];
  for (const key of [...returned.filter((r) => !keys.some((k) => k.startsWith(`${r}=`))), ...keys]) args.push('-k', key);
  args.push('127.0.0.1', String(orthanc.dicomPort));
  await run('findscu', args, { env: { ...process.env, TCP_NODELAY: '1' }, timeout: 30_000 });
  const items: Item[] = [];
  for (const file of (await readdir(out)).sort()) {
    const bytes = await readFile(path.join(out, file));
    const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    items.push(dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict) as Item);
  }
  return items;
}

async function order(file: string, values: Record<string, string>, encoding = 'utf-8'): Promise<void> {
  expect(ackOf(await sendWithClient(hl7Port, sample(file, values), encoding)).code).toBe('AA');
}

describe('modality worklist through Orthanc', () => {
  it('syncs asked for together all finish (one pass after another, never chasing each other)', async () => {
    const v = uniqueOrderValues();
    await order('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' });
    const folder = t.app.hl7.worklist!;
    let settled = 0;
    const all = Promise.all(Array.from({ length: 20 }, () => folder.sync().then(() => (settled += 1))));
    folder.schedule();
    await all;
    expect(settled).toBe(20);
    expect((await readdir(path.join(dir, 'worklists'))).filter((f) => f.endsWith('.wl')).length).toBeGreaterThanOrEqual(1);
  });

  it('a scheduled order is found by a modality with its patient, accession, UID and step; filtered by modality, date and station', async () => {
    const mr = uniqueOrderValues();
    const ct = uniqueOrderValues();
    await order('omi-o23-v251-utf8.hl7', mr);
    await order('orm-o01-v231-latin1.hl7', ct, 'iso-8859-1');
    await t.app.hl7.worklist!.sync();

    const byAccession = await findscu([`0008,0050=${mr.ACCESSION}`]);
    expect(byAccession).toHaveLength(1);
    const item = byAccession[0]!;
    expect(item).toMatchObject({ AccessionNumber: mr.ACCESSION, StudyInstanceUID: mr.STUDY_UID, RequestedProcedurePriority: 'HIGH' });
    expect(JSON.stringify(item.PatientName)).toContain('Nguyễn');
    expect(item.ScheduledProcedureStepSequence?.[0]).toMatchObject({
      Modality: 'MR',
      ScheduledStationAETitle: 'MR_ROOM1',
      ScheduledProcedureStepStartDate: '20261204',
    });

    const mrOnly = await findscu(['(0040,0100)[0].Modality=MR']);
    const accessions = mrOnly.map((i) => i.AccessionNumber);
    expect(accessions).toContain(mr.ACCESSION);
    expect(accessions).not.toContain(ct.ACCESSION);

    const ctOnDay = await findscu(['(0040,0100)[0].Modality=CT', '(0040,0100)[0].ScheduledProcedureStepStartDate=20261204']);
    expect(ctOnDay.map((i) => i.AccessionNumber)).toContain(ct.ACCESSION);
    expect(
      (await findscu(['(0040,0100)[0].Modality=CT', '(0040,0100)[0].ScheduledProcedureStepStartDate=20300101'])).map(
        (i) => i.AccessionNumber,
      ),
    ).not.toContain(ct.ACCESSION);

    const byStation = await findscu(['(0040,0100)[0].ScheduledStationAETitle=MR_ROOM1']);
    expect(byStation.map((i) => i.AccessionNumber)).toContain(mr.ACCESSION);
    expect(byStation.map((i) => i.AccessionNumber)).not.toContain(ct.ACCESSION);
  });

  it('a cancelled or held order leaves the worklist; a released one comes back', async () => {
    const v = uniqueOrderValues();
    const send = (control: string) =>
      order('orm-o01-control.hl7', { ...v, CONTROL: `${v.CONTROL}${control}`, ORDER_CONTROL: control, PRIORITY: 'R' });
    const listed = async () => (await findscu([`0008,0050=${v.ACCESSION}`])).length;
    await send('NW');
    await t.app.hl7.worklist!.sync();
    expect(await listed()).toBe(1);
    await send('HD');
    await t.app.hl7.worklist!.sync();
    expect(await listed()).toBe(0);
    await send('RL');
    await t.app.hl7.worklist!.sync();
    expect(await listed()).toBe(1);
    await send('CA');
    await t.app.hl7.worklist!.sync();
    expect(await listed()).toBe(0);
  });
});
