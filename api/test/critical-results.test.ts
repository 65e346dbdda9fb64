/**
 * The critical-results loop with real parts: orders over MLLP name the ordering physician, a real
 * SMTP server (smtp-server) receives the e-mails, a real MLLP receiver the ORU, and the real
 * sync-server holds the report that is signed. A flag reaches the referrer at once (in the app and by
 * e-mail), their acknowledgement stops the clock, and a result nobody acknowledges escalates to the
 * attending and then to the department list, each step in the record and the audit trail.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Hl7Message } from '@medplum/core';
import { type Hl7Connection, type Hl7MessageEvent, Hl7Server } from '@medplum/hl7';
import type { CriticalResult, CriticalResultList, ReferrerReportPage, Report, WorklistPage } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { fhirSchemaErrors } from './support/fhir-schema';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';
import { MailSink } from './support/smtp';
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

const DEPARTMENT = 'radiology-duty@hospital.test';

let t: TestApp;
let sync: SyncProcess;
let mail: MailSink;
let hl7Port: number;
let ris: { server: Hl7Server; received: Hl7Message[] };
let attending: { id: string; email: string; token: string };
let resident: { id: string; token: string };
const clients: EditorClient[] = [];

beforeAll(async () => {
  mail = new MailSink();
  const smtpPort = await mail.start();
  const syncPort = await freePort();
  const risPort = await freePort();
  const received: Hl7Message[] = [];
  const server = new Hl7Server((connection: Hl7Connection) => {
    connection.addEventListener('message', ({ message }: Hl7MessageEvent) => {
      received.push(message);
      connection.send(message.buildAck({ ackCode: 'AA' }));
    });
  });
  server.start(risPort, 'utf-8');
  ris = { server, received };
  t = await createTestApp({
    ...syncEnv(syncPort),
    PACS_HL7_PORT: '0',
    PACS_HL7_RESULT_DESTINATIONS: `RIS@127.0.0.1:${risPort}`,
    PACS_HL7_RESULT_RETRY_MAX_SECONDS: '1',
    PACS_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    PACS_MAIL_FROM: 'PACS <pacs@hospital.test>',
    PACS_PUBLIC_URL: 'https://pacs.hospital.test',
    PACS_CRITICAL_LIMITS: 'red=3s,orange=2h',
    PACS_CRITICAL_ESCALATION_EMAILS: DEPARTMENT,
    PACS_CRITICAL_CHECK_SECONDS: '1',
  });
  sync = await startSyncServer(t.database.url, syncPort);
  hl7Port = await t.app.hl7.listen();
  attending = await t.userWithToken('attending');
  resident = await t.userWithToken('resident');
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.destroy();
  await ris?.server.stop({ forceDrainTimeoutMs: 100 });
  await mail?.stop();
  await sync?.stop();
  await t?.close();
});

const api = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

interface Case {
  reportId: string;
  accession: string;
  mrn: string;
  referrer: { id: string; email: string; token: string };
}

/** An order from a physician with a referrer account (unless `provider` is ''), its images, and a report started by the attending. */
async function orderedStudyWithReport(provider = `DR${Math.random().toString(36).slice(2, 8).toUpperCase()}`): Promise<Case> {
  const v = { ...uniqueOrderValues(), PROVIDER: provider };
  expect(ackOf(await sendWithClient(hl7Port, sample('orm-o01-ordering-physician.hl7', v))).code).toBe('AA');
  const list = await api(attending.token, 'GET', `/api/studies?q=${v.ACCESSION}`);
  const studyId = (list.json() as WorklistPage).items.find((s) => s.accessionNumber === v.ACCESSION)!.id;
  await t.app.db.models.Study.update({ status: 'unread', numberOfInstances: 1, numberOfSeries: 1 }, { where: { id: studyId } });
  const created = await api(attending.token, 'POST', `/api/studies/${studyId}/report`, {});
  expect(created.statusCode, created.body).toBe(201);
  const referrer = await t.userWithToken('referrer', provider ? { providerId: provider } : {});
  return { reportId: (created.json() as Report).id, accession: v.ACCESSION, mrn: v.MRN, referrer };
}

async function flag(reportId: string, body: object, token = attending.token) {
  return api(token, 'POST', `/api/reports/${reportId}/critical-results`, body);
}

async function current(id: string): Promise<CriticalResult> {
  return (await api(attending.token, 'GET', `/api/critical-results/${id}`)).json() as CriticalResult;
}

async function signed(reportId: string): Promise<void> {
  const session = (await api(attending.token, 'POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const c = editorClient(sync.port, session.document, session.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  appendToSection(c.doc, 'Impression', 'Acute subdural haematoma, 9 mm, with midline shift.');
  await untilServerHolds(sync.url, `report:${reportId}`, c.doc);
  const response = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(c.doc));
  expect(response.statusCode, response.body).toBe(200);
}

describe('flagging and acknowledging a critical result', () => {
  it('tells the ordering physician at once in the app and by an e-mail that names no patient; their acknowledgement closes it', async () => {
    const c = await orderedStudyWithReport();
    const response = await flag(c.reportId, { category: 'red', message: 'Acute subdural haematoma with midline shift.' });
    expect(response.statusCode, response.body).toBe(201);
    const result = response.json() as CriticalResult;
    expect(result).toMatchObject({
      status: 'open',
      category: 'red',
      level: 0,
      recipientName: 'Welby, Dr Marcus',
      recipientReachable: true,
    });
    expect(Date.parse(result.dueAt) - Date.parse(result.flaggedAt)).toBe(3000);
    expect(result.events.map((e) => `${e.kind}/${e.channel}`)).toEqual(['flagged/in-app', 'notified/in-app', 'notified/email']);

    await waitFor(() => mail.to(c.referrer.email).length === 1, 'e-mail to the referrer', 20_000);
    const [message] = mail.to(c.referrer.email);
    expect(message!.subject).toMatch(/^Critical result \(RED\) for your patient: acknowledge by /);
    expect(message!.text).toContain(`Accession: ${c.accession}`);
    expect(message!.text).toContain(`https://pacs.hospital.test/critical/${result.id}`);
    for (const secret of ['Roe', 'Richard', c.mrn, 'subdural']) expect(message!.raw).not.toContain(secret);

    // In the app: the referrer's own list holds it; another physician's does not.
    const mine = (await api(c.referrer.token, 'GET', '/api/critical-results?status=open')).json() as CriticalResultList;
    expect(mine.items.map((i) => i.id)).toEqual([result.id]);
    expect(mine.items[0]!.message).toBe('Acute subdural haematoma with midline shift.');
    const stranger = await t.userWithToken('referrer', { providerId: 'SOMEONE-ELSE' });
    expect(((await api(stranger.token, 'GET', '/api/critical-results')).json() as CriticalResultList).items).toEqual([]);
    expect((await api(stranger.token, 'GET', `/api/critical-results/${result.id}`)).statusCode).toBe(403);
    const unlinked = await t.userWithToken('referrer');
    expect(((await api(unlinked.token, 'GET', '/api/critical-results')).json() as CriticalResultList).items).toEqual([]);
    const refused = await api(stranger.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, { channel: 'in-app' });
    expect(refused.statusCode).toBe(403);

    const ack = await api(c.referrer.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, { channel: 'in-app' });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({
      status: 'acknowledged',
      ackChannel: 'in-app',
      acknowledgedByName: expect.stringContaining('referrer'),
    });
    const again = await api(c.referrer.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, { channel: 'in-app' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'CRITICAL_CLOSED' });

    // The acknowledgement stopped the clock: a result flagged after it escalates all the way while this one stays put.
    const other = await orderedStudyWithReport();
    const open = (await flag(other.reportId, { category: 'red', message: 'Tension pneumothorax.' })).json() as CriticalResult;
    await waitFor(async () => (await current(open.id)).level === 2, 'the other result reaches the department', 30_000);
    const closed = await current(result.id);
    expect(closed.level).toBe(0);
    expect(closed.events.filter((e) => e.kind === 'escalated')).toEqual([]);

    const audit = await t.app.db.models.AuditLog.findAll({ where: { objectType: 'CriticalResult', objectId: result.id }, raw: true });
    const events = audit.map((row) => JSON.parse(row.details ?? '{}').event as string);
    expect(events).toEqual(expect.arrayContaining(['critical-flagged', 'critical-notified', 'critical-acknowledged']));
    expect(audit.every((row) => row.patientId === c.mrn)).toBe(true);
  });

  it('unacknowledged past its limit escalates to the attending, then to the department list, each step recorded', async () => {
    const c = await orderedStudyWithReport();
    const result = (await flag(c.reportId, { category: 'red', message: 'Free air under the diaphragm.' })).json() as CriticalResult;
    await waitFor(async () => (await current(result.id)).level === 2, 'escalated to the department', 30_000);
    const record = await current(result.id);
    expect(record.status).toBe('open');
    const escalations = record.events.filter((e) => e.kind === 'escalated').map((e) => `${e.level}/${e.channel}/${e.target}`);
    expect(escalations).toHaveLength(3);
    expect(escalations[0]).toMatch(/^1\/in-app\/Test attending \d+$/);
    expect(escalations.slice(1)).toEqual([`1/email/${attending.email}`, `2/email/${DEPARTMENT}`]);
    const escalatedAt = record.events.filter((e) => e.kind === 'escalated').map((e) => Date.parse(e.at));
    expect(escalatedAt[0]! - Date.parse(result.flaggedAt)).toBeGreaterThanOrEqual(3000);
    expect(escalatedAt[2]! - Date.parse(result.flaggedAt)).toBeGreaterThanOrEqual(6000);

    await waitFor(() => mail.to(attending.email).some((m) => m.text.includes(c.accession)), 'e-mail to the attending', 20_000);
    await waitFor(() => mail.to(DEPARTMENT).some((m) => m.text.includes(c.accession)), 'e-mail to the department', 20_000);
    expect(mail.to(DEPARTMENT).find((m) => m.text.includes(c.accession))!.subject).toContain('escalated to the department');
    const audit = await t.app.db.models.AuditLog.findAll({ where: { objectType: 'CriticalResult', objectId: result.id }, raw: true });
    const levels = audit
      .map((row) => JSON.parse(row.details ?? '{}') as { event?: string; level?: number })
      .filter((d) => d.event === 'critical-escalated');
    expect(levels.map((d) => d.level).sort()).toEqual([1, 2]);

    // The radiologist reaches the physician by phone at last and records it, read back.
    const ack = await api(attending.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, {
      channel: 'phone',
      receivedBy: 'Dr Marcus Welby',
      readBack: true,
    });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'acknowledged', receivedBy: 'Dr Marcus Welby', ackChannel: 'phone', level: 2 });
  });

  it('says so when nobody can be told in the app: the order names no physician id', async () => {
    const c = await orderedStudyWithReport('');
    const result = (
      await flag(c.reportId, { category: 'orange', message: 'New pulmonary embolism.' }, resident.token)
    ).json() as CriticalResult;
    expect(result.recipientReachable).toBe(false);
    expect(result.events.find((e) => e.kind === 'unreachable')!.detail).toMatch(/call them/);
    const audit = await t.app.db.models.AuditLog.findOne({
      where: { objectType: 'CriticalResult', objectId: result.id, outcome: 4 },
      raw: true,
    });
    expect(JSON.parse(audit!.details ?? '{}')).toMatchObject({ event: 'critical-notified', recipients: 0 });
  });

  it('a flag replayed from an offline outbox is recorded once; its clock started at the first receipt', async () => {
    const c = await orderedStudyWithReport();
    const clientId = crypto.randomUUID();
    const raisedAt = new Date(Date.now() - 10 * 60_000).toISOString();
    const first = await flag(c.reportId, { category: 'orange', message: 'Appendicitis.', clientId, raisedAt });
    expect(first.statusCode, first.body).toBe(201);
    const replay = await flag(c.reportId, { category: 'orange', message: 'Appendicitis.', clientId, raisedAt });
    expect(replay.statusCode).toBe(200);
    expect((replay.json() as CriticalResult).id).toBe((first.json() as CriticalResult).id);
    const recorded = first.json() as CriticalResult;
    expect(recorded.raisedAt).toBe(raisedAt);
    expect(Date.parse(recorded.flaggedAt)).toBeGreaterThan(Date.parse(raisedAt));
    expect(await t.app.db.models.CriticalResult.count({ where: { clientId } })).toBe(1);
    const elsewhere = await orderedStudyWithReport();
    const reused = await flag(elsewhere.reportId, { category: 'orange', message: 'Appendicitis.', clientId });
    expect(reused.statusCode).toBe(409);
    expect(reused.json()).toMatchObject({ code: 'CRITICAL_ID_REUSED' });
  });
});

describe('the hospital’s copy', () => {
  it('a signed report with a critical result goes out with the abnormal flag AA and the communication in an NTE', async () => {
    const c = await orderedStudyWithReport();
    const result = (await flag(c.reportId, { category: 'red', message: 'Subdural haematoma.' })).json() as CriticalResult;
    await api(c.referrer.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, { channel: 'in-app' });
    await signed(c.reportId);
    const forAccession = () => ris.received.filter((m) => m.getSegment('OBR')?.getField(18)?.toString() === c.accession);
    await waitFor(() => forAccession().length === 1, 'ORU received', 30_000);
    const oru = forAccession()[0]!;
    expect(oru.getAllSegments('OBX').every((obx) => obx.getField(8).toString() === 'AA')).toBe(true);
    const nte = oru.getSegment('NTE')!.getField(3).toString();
    expect(nte).toContain('CRITICAL RESULT (red)');
    expect(nte).toContain('Subdural haematoma.');
    expect(nte).toMatch(/Acknowledged recorded by Test referrer \d+ \(in-app\)/);
  });

  it('a report flagged after its signature is sent again as corrected, with the flag', async () => {
    const c = await orderedStudyWithReport();
    await signed(c.reportId);
    const forAccession = () => ris.received.filter((m) => m.getSegment('OBR')?.getField(18)?.toString() === c.accession);
    await waitFor(() => forAccession().length === 1, 'final received', 30_000);
    expect(forAccession()[0]!.getSegment('OBX')!.getField(8).toString()).toBe('');
    const result = (
      await flag(c.reportId, { category: 'yellow', message: 'Incidental 4 cm abdominal aortic aneurysm.' })
    ).json() as CriticalResult;
    expect(result.events.some((e) => e.channel === 'hl7' && e.target === 'RIS')).toBe(true);
    await waitFor(() => forAccession().length === 2, 'corrected result received', 30_000);
    const corrected = forAccession()[1]!;
    expect(corrected.getSegment('OBR')!.getField(25).toString()).toBe('C');
    expect(corrected.getSegment('OBX')!.getField(8).toString()).toBe('AA');
  });
});

describe('the referrer', () => {
  it('reads the signed reports of their own orders, and nothing of the worklist, images or other physicians’ patients', async () => {
    const c = await orderedStudyWithReport();
    await signed(c.reportId);
    const page = (await api(c.referrer.token, 'GET', '/api/referrer/reports')).json() as ReferrerReportPage;
    expect(page.items.map((r) => r.reportId)).toEqual([c.reportId]);
    expect(page.items[0]).toMatchObject({ accessionNumber: c.accession, patientId: c.mrn, studyDescription: 'CT head without contrast' });
    expect(page.items[0]!.text).toContain('Acute subdural haematoma');
    expect(page.items[0]!.verified).toBe(true);
    const other = await t.userWithToken('referrer', { providerId: 'DR-NOBODY' });
    expect(((await api(other.token, 'GET', '/api/referrer/reports')).json() as ReferrerReportPage).items).toEqual([]);
    for (const url of [
      '/api/studies',
      `/api/reports/${c.reportId}`,
      `/api/reports/${c.reportId}/pdf`,
      '/api/studies/events',
      `/fhir/DiagnosticReport/${c.reportId}`,
    ]) {
      expect((await api(c.referrer.token, 'GET', url)).statusCode, url).toBe(403);
    }
    expect((await api(attending.token, 'GET', '/api/referrer/reports')).statusCode).toBe(403);
    expect((await api(c.referrer.token, 'GET', '/api/referrer/reports?before=yesterday')).statusCode).toBe(400);
  });

  it('is told when a report no longer matches its signature, and the alarm is raised', async () => {
    const c = await orderedStudyWithReport();
    await signed(c.reportId);
    await t.app.db.models.Report.update({ contentText: 'Altered behind the application.' }, { where: { id: c.reportId } });
    const page = (await api(c.referrer.token, 'GET', '/api/referrer/reports')).json() as ReferrerReportPage;
    expect(page.items.find((r) => r.reportId === c.reportId)?.verified).toBe(false);
    const alarms = await t.app.db.models.AuditLog.count({ where: { eventId: 'SecurityAlert', objectId: c.reportId, outcome: 12 } });
    expect(alarms).toBeGreaterThan(0);
  });
});

describe('the communication record in the PDF and in FHIR', () => {
  it('prints it after the report and contains it in the DiagnosticReport as a Communication that validates', async () => {
    const c = await orderedStudyWithReport();
    const result = (await flag(c.reportId, { category: 'red', message: 'Aortic dissection, Stanford A.' })).json() as CriticalResult;
    await api(attending.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, {
      channel: 'phone',
      receivedBy: 'Dr Marcus Welby',
      readBack: true,
    });
    await signed(c.reportId);

    const pdf = await api(attending.token, 'GET', `/api/reports/${c.reportId}/pdf`);
    expect(pdf.statusCode).toBe(200);
    const dir = mkdtempSync(path.join(tmpdir(), 'critical-pdf-'));
    const file = path.join(dir, 'report.pdf');
    writeFileSync(file, pdf.rawPayload);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    rmSync(dir, { recursive: true, force: true });
    expect(text).toContain('Critical result communication');
    expect(text).toContain('CRITICAL RESULT (red)');
    expect(text).toContain('Aortic dissection, Stanford A.');
    expect(text).toContain('received by Dr Marcus Welby');
    expect(text).toContain('(phone, read back)');

    const fhir = await api(attending.token, 'GET', `/fhir/DiagnosticReport/${c.reportId}`);
    expect(fhir.statusCode, fhir.body).toBe(200);
    const report = fhir.json() as { resourceType: string; contained?: Record<string, unknown>[] };
    expect(fhirSchemaErrors(report)).toEqual([]);
    expect(report.contained).toHaveLength(1);
    expect(report.contained![0]).toMatchObject({
      resourceType: 'Communication',
      status: 'completed',
      priority: 'stat',
      about: [{ reference: '#' }],
      recipient: [{ display: 'Dr Marcus Welby' }],
      payload: [{ contentString: 'Aortic dissection, Stanford A.' }],
    });
    expect(Date.parse(String(report.contained![0]!.received))).toBeGreaterThanOrEqual(Date.parse(result.flaggedAt));
  });
});

describe('bad input and the wrong people change nothing', () => {
  it.each([
    ['an unknown category', { category: 'purple', message: 'x' }],
    ['an empty message', { category: 'red', message: '' }],
    ['an oversize message', { category: 'red', message: 'x'.repeat(2001) }],
    ['a NUL in the message', { category: 'red', message: 'bleed\u0000' }],
    ['an unknown field', { category: 'red', message: 'x', dueAt: '2020-01-01T00:00:00Z' }],
    ['a clientId that is not a UUID', { category: 'red', message: 'x', clientId: '../../etc' }],
    ['a raisedAt that is not a date', { category: 'red', message: 'x', raisedAt: 'yesterday' }],
  ])('a flag with %s is refused with 400', async (_name, body) => {
    const c = await orderedStudyWithReport();
    const before = await t.app.db.models.CriticalResult.count();
    const response = await flag(c.reportId, body);
    expect(response.statusCode, response.body).toBe(400);
    expect(await t.app.db.models.CriticalResult.count()).toBe(before);
  });

  it('refuses flags from roles without the permission, and on reports that do not exist', async () => {
    const c = await orderedStudyWithReport();
    const body = { category: 'red', message: 'x' };
    for (const role of ['technologist', 'admin', 'referrer'] as const) {
      const user = await t.userWithToken(role);
      expect((await flag(c.reportId, body, user.token)).statusCode, role).toBe(403);
    }
    expect((await flag(crypto.randomUUID(), body)).statusCode).toBe(404);
    expect((await api((await t.userWithToken('technologist')).token, 'GET', '/api/critical-results')).statusCode).toBe(403);
    expect(await t.app.db.models.CriticalResult.count({ where: { reportId: c.reportId } })).toBe(0);
  });

  it.each([
    ['a radiologist acknowledging "in-app"', 'attending', { channel: 'in-app' }],
    ['a radiologist not naming who received it', 'attending', { channel: 'in-person' }],
    ['a phone call not read back', 'attending', { channel: 'phone', receivedBy: 'Dr Welby' }],
    ['a referrer acknowledging by phone', 'referrer', { channel: 'phone', receivedBy: 'me', readBack: true }],
    ['an unknown channel', 'attending', { channel: 'pager', receivedBy: 'Dr Welby' }],
  ] as const)('an acknowledgement with %s is refused with 400 and the result stays open', async (_name, who, body) => {
    const c = await orderedStudyWithReport();
    const result = (await flag(c.reportId, { category: 'orange', message: 'Pneumonia.' })).json() as CriticalResult;
    const token = who === 'referrer' ? c.referrer.token : attending.token;
    const response = await api(token, 'POST', `/api/critical-results/${result.id}/acknowledge`, body);
    expect(response.statusCode, response.body).toBe(400);
    expect((await current(result.id)).status).toBe('open');
  });

  it('a withdrawal by another resident is refused; by the attending it closes the result and keeps its record', async () => {
    const c = await orderedStudyWithReport();
    const result = (await flag(c.reportId, { category: 'orange', message: 'Wrong patient.' }, resident.token)).json() as CriticalResult;
    const other = await t.userWithToken('resident');
    expect((await api(other.token, 'POST', `/api/critical-results/${result.id}/withdraw`, { reason: 'no' })).statusCode).toBe(403);
    const withdrawn = await api(attending.token, 'POST', `/api/critical-results/${result.id}/withdraw`, {
      reason: 'Flagged on the wrong study.',
    });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    expect(withdrawn.json()).toMatchObject({ status: 'withdrawn' });
    expect((withdrawn.json() as CriticalResult).events.at(-1)).toMatchObject({ kind: 'withdrawn', detail: 'Flagged on the wrong study.' });
    const ack = await api(c.referrer.token, 'POST', `/api/critical-results/${result.id}/acknowledge`, { channel: 'in-app' });
    expect(ack.statusCode).toBe(409);
  });
});
