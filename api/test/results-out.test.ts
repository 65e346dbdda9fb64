/**
 * Results out, with real parts: an order over MLLP, a report signed through the real sync-server,
 * and a real MLLP receiver built with @medplum/hl7's server standing in for the hospital's RIS. The
 * ORU arrives once with the signed text, signer, times and the order's numbers; an addendum follows
 * as a corrected result; a receiver that is down loses nothing; one that rejects leaves the message
 * dead for an admin to resend.
 */
import type { Hl7Message } from '@medplum/core';
import { type Hl7Connection, type Hl7MessageEvent, Hl7Server } from '@medplum/hl7';
import type { OutboxPage, Report, WorklistPage } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';
import {
  appendToSection,
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  startSyncServer,
  syncEnv,
  untilServerHolds,
  waitFor,
} from './support/sync-server';

/** The hospital's receiver: answers each message with `answer` (AA by default) and keeps what it got. */
class Receiver {
  readonly received: Hl7Message[] = [];
  answer: 'AA' | 'AE' | 'AR' = 'AA';
  private server: Hl7Server | null = null;
  constructor(readonly port: number) {}
  start(): void {
    this.server = new Hl7Server((connection: Hl7Connection) => {
      connection.addEventListener('message', ({ message }: Hl7MessageEvent) => {
        this.received.push(message);
        connection.send(message.buildAck({ ackCode: this.answer }));
      });
    });
    this.server.start(this.port, 'utf-8');
  }
  async stop(): Promise<void> {
    await this.server?.stop({ forceDrainTimeoutMs: 100 });
    this.server = null;
  }
  forReport(accession: string): Hl7Message[] {
    return this.received.filter((m) => m.getSegment('OBR')?.getField(18)?.toString() === accession);
  }
}

let t: TestApp;
let sync: SyncProcess;
let receiver: Receiver;
let hl7Port: number;
let attending: { id: string; token: string };
let admin: string;
const clients: EditorClient[] = [];

beforeAll(async () => {
  const syncPort = await freePort();
  receiver = new Receiver(await freePort());
  receiver.start();
  t = await createTestApp({
    ...syncEnv(syncPort),
    PACS_HL7_PORT: '0',
    PACS_HL7_RESULT_DESTINATIONS: `RIS@127.0.0.1:${receiver.port}`,
    PACS_HL7_RESULT_RETRY_MAX_SECONDS: '1',
    PACS_HL7_RESULT_ACK_TIMEOUT_SECONDS: '5',
    PACS_HL7_RESULT_MAX_ATTEMPTS: '1000',
    PACS_HL7_RESULT_PRELIMINARY: 'true',
  });
  sync = await startSyncServer(t.database.url, syncPort);
  hl7Port = await t.app.hl7.listen();
  attending = await t.userWithToken('attending');
  admin = (await t.userWithToken('admin')).token;
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.destroy();
  await receiver?.stop();
  await sync?.stop();
  await t?.close();
});

const api = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

/** Order → images (their effect on the row) → report written and signed by the attending. */
async function signedReport(text: string, mrn?: string): Promise<{ reportId: string; accession: string; placer: string; mrn: string }> {
  const v = { ...uniqueOrderValues(), ...(mrn ? { MRN: mrn } : {}) };
  expect(ackOf(await sendWithClient(hl7Port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'S' }))).code).toBe('AA');
  const list = await api(attending.token, 'GET', `/api/studies?q=${v.ACCESSION}`);
  const studyId = (list.json() as WorklistPage).items.find((s) => s.accessionNumber === v.ACCESSION)!.id;
  await t.app.db.models.Study.update({ status: 'unread', numberOfInstances: 1, numberOfSeries: 1 }, { where: { id: studyId } });
  const created = await api(attending.token, 'POST', `/api/studies/${studyId}/report`, {});
  expect(created.statusCode, created.body).toBe(201);
  const reportId = (created.json() as Report).id;
  const c = await connect(reportId);
  appendToSection(c.doc, 'Impression', text);
  const signed = await finalize(reportId, c);
  expect(signed.statusCode, signed.body).toBe(200);
  return { reportId, accession: v.ACCESSION, placer: v.PLACER, mrn: v.MRN };
}

async function connect(reportId: string, token = attending.token): Promise<EditorClient> {
  const session = (await api(token, 'POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const c = editorClient(sync.port, session.document, session.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  return c;
}

/** Signs what the client holds, once the server holds it too (the signer saw what is stored). */
async function finalize(reportId: string, c: EditorClient) {
  await untilServerHolds(sync.url, `report:${reportId}`, c.doc);
  return api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(c.doc));
}

describe('results out as ORU^R01', () => {
  it('a signed report reaches the receiver once, with the text, the signer, the times and the order’s numbers', async () => {
    const { accession, placer, mrn } = await signedReport('No intracranial haemorrhage | no fracture.');
    await waitFor(() => receiver.forReport(accession).length > 0, 'ORU received', 30_000);
    const [oru, ...more] = receiver.forReport(accession);
    expect(more).toHaveLength(0);
    const msh = oru!.header;
    expect(msh.getField(9).toString()).toBe('ORU^R01^ORU_R01');
    expect(msh.getField(5).toString()).toBe('RIS');
    expect(oru!.getSegment('PID')!.getComponent(3, 1)).toBe(mrn);
    const obr = oru!.getSegment('OBR')!;
    expect(obr.getComponent(2, 1)).toBe(placer);
    expect(obr.getField(25).toString()).toBe('F');
    expect(obr.getField(32).toString()).toContain(attending.id);
    expect(obr.getField(22).toString()).toMatch(/^\d{14}/);
    const text = oru!.getAllSegments('OBX').map((obx) => obx.getField(5).toString());
    expect(text.join('\n')).toContain('No intracranial haemorrhage \\F\\ no fracture.');
    await waitFor(async () => (await t.app.db.models.Outbox.count({ where: { status: 'sent' } })) > 0, 'outbox row sent');
    const audit = await t.app.db.models.AuditLog.findAll({
      where: { eventId: 'Export', objectType: 'HL7Message', patientId: mrn },
      raw: true,
    });
    expect(audit).toHaveLength(1);
  });

  it('a receiver that is down for a while loses nothing: the results arrive once it is back, in order per patient', async () => {
    await receiver.stop();
    const first = await signedReport('First result while the receiver is down.');
    const second = await signedReport('Second result while the receiver is down.', first.mrn);
    const pending = await t.app.db.models.Outbox.findAll({ where: { status: 'pending' }, raw: true });
    expect(pending.length).toBeGreaterThanOrEqual(2);
    await waitFor(
      async () => (await t.app.db.models.Outbox.findAll({ where: { status: 'pending' }, raw: true })).some((r) => r.attempts >= 2),
      'failed attempts recorded',
      30_000,
    );
    receiver.start();
    await waitFor(
      () => receiver.forReport(first.accession).length === 1 && receiver.forReport(second.accession).length === 1,
      'both delivered',
      60_000,
    );
    const order = receiver.received.map((m) => m.getSegment('OBR')?.getField(18)?.toString());
    expect(order.indexOf(first.accession)).toBeLessThan(order.indexOf(second.accession));
  });

  it('an addendum is sent as a corrected result carrying the original and the addendum', async () => {
    const { reportId, accession } = await signedReport('Original impression.');
    await waitFor(() => receiver.forReport(accession).length === 1, 'final received', 30_000);
    const created = await api(attending.token, 'POST', `/api/reports/${reportId}/addenda`, { text: 'Addendum: compared with outside CT.' });
    expect(created.statusCode, created.body).toBe(201);
    const addendumId = (created.json() as Report).id;
    const c = await connect(addendumId);
    expect((await finalize(addendumId, c)).statusCode).toBe(200);
    await waitFor(() => receiver.forReport(accession).length === 2, 'corrected result received', 30_000);
    const corrected = receiver.forReport(accession)[1]!;
    expect(corrected.getSegment('OBR')!.getField(25).toString()).toBe('C');
    const lines = corrected
      .getAllSegments('OBX')
      .map((obx) => obx.getField(5).toString())
      .join('\n');
    expect(lines).toContain('Original impression.');
    expect(lines).toContain('Addendum: compared with outside CT.');
  });

  it('a rejection (AR) leaves the message dead, listed for admins, who resend it; others may not', async () => {
    receiver.answer = 'AR';
    const { accession } = await signedReport('Rejected the first time.');
    await waitFor(async () => (await t.app.db.models.Outbox.count({ where: { status: 'dead' } })) === 1, 'dead', 30_000);
    receiver.answer = 'AA';
    expect((await api(attending.token, 'GET', '/api/interfaces/outbox?status=dead')).statusCode).toBe(403);
    const dead = (await api(admin, 'GET', '/api/interfaces/outbox?status=dead')).json() as OutboxPage;
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ destination: 'RIS', status: 'dead', ackCode: 'AR', attempts: 1 });
    const sent = (await api(admin, 'GET', '/api/interfaces/outbox?status=sent')).json() as OutboxPage;
    expect((await api(admin, 'POST', `/api/interfaces/outbox/${sent.items[0]!.id}/resend`)).statusCode).toBe(409);
    const resend = await api(admin, 'POST', `/api/interfaces/outbox/${dead.items[0]!.id}/resend`);
    expect(resend.statusCode, resend.body).toBe(200);
    await waitFor(() => receiver.forReport(accession).length === 2, 'delivered after resend', 30_000);
    expect((await t.app.db.models.Outbox.findByPk(dead.items[0]!.id, { raw: true }))?.status).toBe('sent');
  });

  it('with PACS_HL7_RESULT_PRELIMINARY a resident’s submitted report goes out as P, and the signed one follows as F', async () => {
    const v = uniqueOrderValues();
    expect(ackOf(await sendWithClient(hl7Port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' }))).code).toBe(
      'AA',
    );
    const list = await api(attending.token, 'GET', `/api/studies?q=${v.ACCESSION}`);
    const studyId = (list.json() as WorklistPage).items.find((s) => s.accessionNumber === v.ACCESSION)!.id;
    await t.app.db.models.Study.update({ status: 'unread', numberOfInstances: 1, numberOfSeries: 1 }, { where: { id: studyId } });
    const resident = await t.userWithToken('resident');
    const created = await api(resident.token, 'POST', `/api/studies/${studyId}/report`, {});
    expect(created.statusCode, created.body).toBe(201);
    const reportId = (created.json() as Report).id;
    const c = await connect(reportId, resident.token);
    appendToSection(c.doc, 'Impression', 'Preliminary: small left pleural effusion.');
    await untilServerHolds(sync.url, `report:${reportId}`, c.doc);
    const submitted = await api(resident.token, 'POST', `/api/reports/${reportId}/submit`, {});
    expect(submitted.statusCode, submitted.body).toBe(200);

    await waitFor(() => receiver.forReport(v.ACCESSION).length === 1, 'preliminary received', 30_000);
    const preliminary = receiver.forReport(v.ACCESSION)[0]!;
    expect(preliminary.getSegment('OBR')!.getField(25).toString()).toBe('P');
    expect(preliminary.getSegment('OBR')!.getField(32).toString()).toContain(resident.id);
    const text = preliminary
      .getAllSegments('OBX')
      .map((obx) => obx.getField(5).toString())
      .join('\n');
    expect(text).toContain('Preliminary: small left pleural effusion.');
    // No archive copy of a preliminary report, and one row per destination.
    expect((await t.app.db.models.Outbox.findAll({ where: { reportId }, raw: true })).map((r) => r.destination)).toEqual(['RIS']);

    const signed = await finalize(reportId, await connect(reportId));
    expect(signed.statusCode, signed.body).toBe(200);
    await waitFor(() => receiver.forReport(v.ACCESSION).length === 2, 'final received', 30_000);
    expect(receiver.forReport(v.ACCESSION)[1]!.getSegment('OBR')!.getField(25).toString()).toBe('F');
  });
});
