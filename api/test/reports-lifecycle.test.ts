/**
 * The whole reporting lifecycle through the API with the real sync-server (child process, same
 * database) and real y-websocket providers: resident drafts and submits, attending edits and signs
 * what they saw, hash stored, late edits captured, addendum signed, PDF checked with poppler.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Report } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import { contentFromUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import {
  addBulletList,
  appendToSection,
  deleteInSection,
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  serverState,
  startSyncServer,
  syncEnv,
  waitFor,
} from './support/sync-server';

type User = { id: string; email: string; token: string };
let t: TestApp;
let sync: SyncProcess;
let resident: User;
let attending: User;
let attending2: User;
let admin: User;
let technologist: User;
const clients: EditorClient[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-report-test-'));

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({
    ...syncEnv(port),
    PACS_INSTITUTION_NAME: 'Hôpital Général — Radiologie',
  });
  sync = await startSyncServer(t.database.url, port);
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  attending2 = await t.userWithToken('attending');
  admin = await t.userWithToken('admin');
  technologist = await t.userWithToken('technologist');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const api = (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });

async function session(user: User, reportId: string) {
  const response = await api(user.token, 'POST', `/api/reports/${reportId}/session`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { token: string; document: string; mode: 'rw' | 'ro'; expiresAt: string };
}

async function connect(user: User, reportId: string): Promise<EditorClient> {
  const s = await session(user, reportId);
  const c = editorClient(sync.port, s.document, s.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  return c;
}

async function serverText(document: string): Promise<string> {
  return contentFromUpdate(new Uint8Array(Buffer.from((await serverState(sync.url, document)).update, 'base64'))).contentText;
}

function pdfText(pdf: Buffer): string {
  const file = path.join(tmp, `r-${Date.now()}-${Math.random()}.pdf`);
  writeFileSync(file, pdf);
  // Lines wrap where the layout puts them: compare with whitespace folded.
  return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
}

/** Minimal PNG reader (8-bit, non-interlaced) → pixel variance of the first channel. */
function pngVariance(file: string): number {
  const png = readFileSync(file);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 1;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[data[9]!] ?? 1;
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x += 1) {
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      out[y * stride + x] = (line[x]! + predictor) & 0xff;
    }
  }
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let i = 0; i < out.length; i += channels) {
    sum += out[i]!;
    sq += out[i]! * out[i]!;
    n += 1;
  }
  const mean = sum / n;
  return sq / n - mean * mean;
}

describe('report lifecycle with the real sync-server', () => {
  let studyId: string;
  let reportId: string;
  let residentClient: EditorClient;
  let attendingClient: EditorClient;

  it('a resident creates the report from the CT template; the study goes in progress', async () => {
    const study = await seedStudy(t.app, {
      modalities: ['CT'],
      patientName: 'Müller^Zoë',
      assigneeId: null,
      accessionNumber: 'ACC-LIFE-1',
    });
    studyId = study.id;
    const created = await api(resident.token, 'POST', `/api/studies/${studyId}/report`, {});
    expect(created.statusCode, created.body).toBe(201);
    const report = created.json() as Report;
    reportId = report.id;
    expect(report).toMatchObject({ status: 'draft', studyId, parentReportId: null, document: `report:${reportId}`, locked: false });
    expect(report.templateId).not.toBeNull();
    const again = await api(attending.token, 'POST', `/api/studies/${studyId}/report`, {});
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(reportId);
    const s = await api(resident.token, 'GET', `/api/studies/${studyId}`);
    expect(s.json().study.status).toBe('in_progress');
    // The seeded document: the five sections as level-2 headings.
    const text = await serverText(report.document);
    for (const title of ['Clinical history', 'Technique', 'Comparison', 'Findings', 'Impression']) expect(text).toContain(title);
  });

  it('the resident edits through a y-websocket provider and submits (preliminary)', async () => {
    const s = await session(resident, reportId);
    expect(s.mode).toBe('rw');
    residentClient = await connect(resident, reportId);
    appendToSection(residentClient.doc, 'Clinical history', 'Headache after a fall.');
    appendToSection(residentClient.doc, 'Findings', 'Resident: 4 mm nodule in the right frontal lobe.');
    await waitFor(async () => (await serverText(`report:${reportId}`)).includes('4 mm nodule'), 'resident edit stored');
    const submitted = await api(resident.token, 'POST', `/api/reports/${reportId}/submit`, {});
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.json()).toMatchObject({ status: 'preliminary', preliminarySignature: { userId: resident.id } });
    expect((await api(resident.token, 'GET', `/api/studies/${studyId}`)).json().study.status).toBe('preliminary');
    // After submitting, the resident only reads.
    expect((await session(resident, reportId)).mode).toBe('ro');
    // Submitting twice is not a transition.
    const twice = await api(resident.token, 'POST', `/api/reports/${reportId}/submit`, {});
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('TRANSITION_NOT_ALLOWED');
  });

  it('a preliminary PDF carries the PRELIMINARY watermark and the current text', async () => {
    const response = await api(resident.token, 'GET', `/api/reports/${reportId}/pdf`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    const text = pdfText(response.rawPayload);
    expect(text).toContain('PRELIMINARY');
    expect(text).toContain('4 mm nodule');
    expect(text).toContain('Preliminary report');
  });

  it('a stale state vector or an unseen deletion gets 409 and nothing is locked', async () => {
    attendingClient = await connect(attending, reportId);
    await waitFor(() => attendingClient.doc.getXmlFragment('default').toString().includes('4 mm nodule'), 'attending sees the draft');
    const before = reviewed(attendingClient.doc);
    appendToSection(attendingClient.doc, 'Impression', 'No acute ', { bold: {} });
    appendToSection(attendingClient.doc, 'Impression', 'intracranial abnormality. <script>alert(1)</script> %PDF-1.4 (x) Tj');
    addBulletList(attendingClient.doc, 'Impression', ['Follow-up CT in 6 months.', 'Clinical correlation.']);
    await waitFor(async () => (await serverText(`report:${reportId}`)).includes('Follow-up CT'), 'attending edit stored');

    const stale = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, before);
    expect(stale.statusCode, stale.body).toBe(409);
    expect(stale.json().code).toBe('UNSEEN_UPDATES');
    expect(stale.json().stateVector).toEqual(expect.any(String));
    expect((await serverState(sync.url, `report:${reportId}`)).locked).toBe(false);
    const row = await t.app.db.models.Report.findByPk(reportId, { raw: true });
    expect(row).toMatchObject({ status: 'preliminary', finalizingBy: null, contentHash: null });

    // A deletion adds no clock: only the snapshot shows the attending has not seen it.
    const seen = reviewed(attendingClient.doc);
    // By a second attending: the resident's socket turned read-only at the submit (sync-server REVOKE-2).
    const secondAttending = await connect(attending2, reportId);
    deleteInSection(secondAttending.doc, 'Clinical history', 'Headache'.length);
    await waitFor(async () => !(await serverText(`report:${reportId}`)).includes('Headache'), 'deletion stored');
    await waitFor(() => !attendingClient.doc.getXmlFragment('default').toString().includes('Headache'), 'attending got the deletion');
    const unseenDeletion = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, seen);
    expect(unseenDeletion.statusCode, unseenDeletion.body).toBe(409);
    expect((await serverState(sync.url, `report:${reportId}`)).locked).toBe(false);
  });

  it('the attending signs what they saw: locked, content and hash stored, study final', async () => {
    // The resident goes offline before the signature (tablet out of range).
    residentClient.provider.disconnect();
    const response = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(attendingClient.doc));
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json() as Report;
    expect(report).toMatchObject({
      status: 'final',
      locked: true,
      integrity: { verified: true },
      finalSignature: { userId: attending.id },
    });
    expect(report.content!.hash).toMatch(/^[0-9a-f]{64}$/);
    const sections = Object.fromEntries(report.content!.sections.map((s) => [s.key, s.text]));
    expect(sections.findings).toContain('4 mm nodule');
    expect(sections.impression).toContain('No acute intracranial abnormality.');
    expect(sections.impression).toContain('- Follow-up CT in 6 months.');
    expect(sections['clinical-history']).toBe(' after a fall.');
    const impression = JSON.stringify(report.content!.doc);
    expect(impression).toContain('{"marks":[{"type":"bold"}],"text":"No acute ","type":"text"}');
    expect(impression).toContain('{"text":"intracranial abnormality.');
    expect((await serverState(sync.url, `report:${reportId}`)).locked).toBe(true);
    expect((await api(attending.token, 'GET', `/api/studies/${studyId}`)).json().study.status).toBe('final');
    await waitFor(() => attendingClient.notices.some((n) => n.type === 'locked'), 'locked notice');
    // Nothing changes a final report any more.
    expect((await session(attending, reportId)).mode).toBe('ro');
    expect((await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(attendingClient.doc))).statusCode).toBe(409);
    expect((await api(attending.token, 'POST', `/api/reports/${reportId}/return`, { comment: 'x' })).statusCode).toBe(409);
    const audit = await t.app.db.models.AuditLog.findAll({
      where: { objectId: reportId, eventId: 'PatientRecord', action: 'U' },
      raw: true,
    });
    expect(audit.some((a) => JSON.parse(a.details ?? '{}').transition === 'finalize')).toBe(true);
    // Each transition's row records where the report came from, not only where it went.
    const moves = audit.map((a) => JSON.parse(a.details ?? '{}') as { transition?: string; from?: string; to?: string });
    expect(moves.find((m) => m.transition === 'submit')).toMatchObject({ from: 'draft', to: 'preliminary' });
    expect(moves.find((m) => m.transition === 'finalize')).toMatchObject({ from: 'preliminary', to: 'final' });
  });

  it("the resident's offline edits, replayed after the lock, become late edits", async () => {
    appendToSection(residentClient.doc, 'Findings', ' Offline remark: also a small cyst.');
    residentClient.provider.connect();
    await waitFor(async () => {
      const response = await api(attending.token, 'GET', `/api/reports/${reportId}/late-edits`);
      return response.statusCode === 200 && (response.json().lateEdits as { userId: string }[]).some((e) => e.userId === resident.id);
    }, 'late edit listed');
    expect(await serverText(`report:${reportId}`)).not.toContain('small cyst');
  });

  let addendumId: string;
  it('an attending adds an addendum with its own document and signature; the original becomes addended', async () => {
    expect((await api(resident.token, 'POST', `/api/reports/${reportId}/addenda`, {})).statusCode).toBe(403);
    const created = await api(attending2.token, 'POST', `/api/reports/${reportId}/addenda`, {
      text: 'Late remark from the resident: small cyst.',
    });
    expect(created.statusCode, created.body).toBe(201);
    const addendum = created.json() as Report;
    addendumId = addendum.id;
    expect(addendum).toMatchObject({ status: 'draft', parentReportId: reportId, document: `report:${addendumId}` });
    expect((await session(resident, addendumId)).mode).toBe('ro');
    const c = await connect(attending2, addendumId);
    appendToSection(c.doc, 'Addendum', ' Confirmed on review: simple cyst, no follow-up needed.');
    await waitFor(async () => (await serverText(`report:${addendumId}`)).includes('simple cyst'), 'addendum edit stored');
    // Residents never submit addenda.
    expect((await api(resident.token, 'POST', `/api/reports/${addendumId}/submit`, {})).statusCode).toBe(409);
    const signed = await api(attending2.token, 'POST', `/api/reports/${addendumId}/finalize`, reviewed(c.doc));
    expect(signed.statusCode, signed.body).toBe(200);
    expect(signed.json()).toMatchObject({ status: 'final', finalSignature: { userId: attending2.id }, integrity: { verified: true } });

    const original = (await api(resident.token, 'GET', `/api/reports/${reportId}`)).json() as Report;
    expect(original.status).toBe('addended');
    expect(original.integrity.verified).toBe(true);
    expect(original.addenda).toHaveLength(1);
    expect(original.addenda[0]).toMatchObject({ id: addendumId, status: 'final', finalSignature: { userId: attending2.id } });
    expect((await serverState(sync.url, `report:${reportId}`)).locked).toBe(true);
  });

  it('the final PDF has the sections, signatures, addendum, page numbers, no watermark; text stays text', async () => {
    const response = await api(resident.token, 'GET', `/api/reports/${reportId}/pdf`);
    expect(response.statusCode).toBe(200);
    const text = pdfText(response.rawPayload);
    if (process.env.KEEP_PDF) writeFileSync(process.env.KEEP_PDF, response.rawPayload);
    for (const expected of [
      'Hôpital Général — Radiologie',
      'Müller, Zoë',
      'ACC-LIFE-1',
      'Findings',
      '4 mm nodule in the right frontal lobe',
      'No acute intracranial abnormality.',
      'Follow-up CT in 6 months.',
      '<script>alert(1)</script> %PDF-1.4 (x) Tj',
      'Electronically signed',
      'Preliminary report',
      'Addendum 1',
      'simple cyst, no follow-up needed',
      'Page 1 of',
    ]) {
      expect(text, expected).toContain(expected);
    }
    expect(text).not.toContain('PRELIMINARY');
    const names = await t.app.db.models.User.findAll({ where: { id: [attending.id, attending2.id, resident.id] }, raw: true });
    for (const u of names) expect(text).toContain(u.name);
    const exportRow = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(exportRow).toMatchObject({ eventId: 'Export', outcome: 0, objectId: reportId });

    // Page 1 rendered by poppler is not blank.
    const file = path.join(tmp, 'final.pdf');
    writeFileSync(file, response.rawPayload);
    if (process.env.KEEP_PDF) writeFileSync(process.env.KEEP_PDF, response.rawPayload);
    execFileSync('pdftoppm', ['-png', '-gray', '-r', '40', '-f', '1', '-l', '1', '-singlefile', file, path.join(tmp, 'page1')]);
    expect(pngVariance(path.join(tmp, 'page1.png'))).toBeGreaterThan(50);
  });

  it('an altered signed report raises an alarm (audit outcome 12, flag), never silently fixed', async () => {
    await t.app.db.sequelize.query('UPDATE reports SET "contentText" = :text WHERE id = :id', {
      replacements: { text: 'tampered', id: addendumId },
    });
    const response = await api(attending.token, 'GET', `/api/reports/${reportId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().addenda[0].integrity.verified).toBe(false);
    expect(response.json().integrity.verified).toBe(true);
    const alarms = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', objectId: addendumId }, raw: true });
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms[0]).toMatchObject({ outcome: 12 });
    const pdf = await api(attending.token, 'GET', `/api/reports/${reportId}/pdf`);
    expect(pdf.headers['x-report-integrity']).toBe('mismatch');
    expect(pdfText(pdf.rawPayload)).toContain('INTEGRITY CHECK FAILED');
    const stored = await t.app.db.models.Report.findByPk(addendumId, { raw: true });
    expect(stored!.contentText).toBe('tampered');
  });
});

describe('finalize under concurrency and failure', () => {
  async function preliminaryReport(): Promise<{ reportId: string; studyId: string; doc: Y.Doc }> {
    const study = await seedStudy(t.app, { modalities: ['MR'] });
    const created = await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {});
    const reportId = created.json().id as string;
    const c = await connect(resident, reportId);
    appendToSection(c.doc, 'Findings', 'Normal.');
    await waitFor(async () => (await serverText(`report:${reportId}`)).includes('Normal.'), 'edit stored');
    expect((await api(resident.token, 'POST', `/api/reports/${reportId}/submit`, {})).statusCode).toBe(200);
    return { reportId, studyId: study.id, doc: c.doc };
  }

  it('two attendings signing at once: exactly one 200 and one 409', async () => {
    const { reportId, doc } = await preliminaryReport();
    const body = reviewed(doc);
    const results = await Promise.all([
      api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, body),
      api(attending2.token, 'POST', `/api/reports/${reportId}/finalize`, body),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes, results.map((r) => r.body).join('\n')).toEqual([200, 409]);
    const row = await t.app.db.models.Report.findByPk(reportId, { raw: true });
    expect(row!.status).toBe('final');
    const winner = results.find((r) => r.statusCode === 200)!.json() as Report;
    expect(row!.finalSignerId).toBe(winner.finalSignature!.userId);
  });

  it('concurrent creates give one report per study', async () => {
    const study = await seedStudy(t.app, { modalities: ['US'] });
    const results = await Promise.all(
      [resident, attending, attending2].map((u) => api(u.token, 'POST', `/api/studies/${study.id}/report`, {})),
    );
    expect(
      results.every((r) => r.statusCode === 200 || r.statusCode === 201),
      results.map((r) => r.body).join('\n'),
    ).toBe(true);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(await t.app.db.models.Report.count({ where: { studyRef: study.id } })).toBe(1);
  });

  it('a database failure after the lock unlocks the document again: nothing is final', async () => {
    const { reportId, doc } = await preliminaryReport();
    const hook = 'fail-final-store';
    t.app.db.models.Report.addHook('beforeUpdate', hook, (instance: { get(k: string): unknown }) => {
      if (instance.get('id') === reportId && instance.get('status') === 'final') throw new Error('simulated database failure');
    });
    try {
      const response = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(doc));
      expect(response.statusCode).toBe(500);
    } finally {
      t.app.db.models.Report.removeHook('beforeUpdate', hook);
    }
    const row = await t.app.db.models.Report.findByPk(reportId, { raw: true });
    expect(row).toMatchObject({ status: 'preliminary', contentHash: null, finalizingBy: null });
    expect((await serverState(sync.url, `report:${reportId}`)).locked).toBe(false);
    // And it can be signed afterwards.
    const retry = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(doc));
    expect(retry.statusCode, retry.body).toBe(200);
  });

  it('return to the resident with a comment: returned, study back in progress, resident may edit again', async () => {
    const { reportId, studyId } = await preliminaryReport();
    const missing = await api(attending.token, 'POST', `/api/reports/${reportId}/return`, {});
    expect(missing.statusCode).toBe(400);
    const returned = await api(attending.token, 'POST', `/api/reports/${reportId}/return`, { comment: 'Please measure the lesion.' });
    expect(returned.statusCode, returned.body).toBe(200);
    expect(returned.json()).toMatchObject({ status: 'returned', returnComment: 'Please measure the lesion.' });
    expect((await api(resident.token, 'GET', `/api/studies/${studyId}`)).json().study.status).toBe('in_progress');
    expect((await session(resident, reportId)).mode).toBe('rw');
    expect((await api(resident.token, 'POST', `/api/reports/${reportId}/submit`, {})).json().status).toBe('preliminary');
  });
});

describe('permissions and bad input', () => {
  it('follows the matrix: admins and technologists do not author; residents never finalize', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    expect((await api(admin.token, 'POST', `/api/studies/${study.id}/report`, {})).statusCode).toBe(403);
    expect((await api(technologist.token, 'POST', `/api/studies/${study.id}/report`, {})).statusCode).toBe(403);
    const created = await api(attending.token, 'POST', `/api/studies/${study.id}/report`, {});
    const id = created.json().id as string;
    expect((await api(admin.token, 'GET', `/api/reports/${id}`)).statusCode).toBe(403);
    expect((await api(technologist.token, 'POST', `/api/reports/${id}/session`)).statusCode).toBe(403);
    expect((await api(resident.token, 'POST', `/api/reports/${id}/finalize`, { stateVector: 'AA==' })).statusCode).toBe(403);
    expect((await api(attending.token, 'POST', `/api/reports/${id}/submit`, {})).statusCode).toBe(403);
    expect((await api(resident.token, 'POST', `/api/reports/${id}/return`, { comment: 'x' })).statusCode).toBe(403);
    const pdf = await api(admin.token, 'GET', `/api/reports/${id}/pdf`);
    expect(pdf.statusCode).toBe(403);
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(pdf.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({ eventId: 'Export', outcome: 4, userRole: 'admin' });
    // Return from draft is not a transition.
    const ret = await api(attending.token, 'POST', `/api/reports/${id}/return`, { comment: 'x' });
    expect(ret.statusCode).toBe(409);
  });

  it('a resident edits and submits only studies assigned to them or to nobody', async () => {
    const other = await t.userWithToken('resident');
    const study = await seedStudy(t.app, { modalities: ['CT'], assigneeId: other.id });
    const id = (await api(other.token, 'POST', `/api/studies/${study.id}/report`, {})).json().id as string;
    expect((await session(resident, id)).mode).toBe('ro');
    expect((await session(other, id)).mode).toBe('rw');
    const submit = await api(resident.token, 'POST', `/api/reports/${id}/submit`, {});
    expect(submit.statusCode).toBe(403);
    expect(submit.json().code).toBe('NOT_ASSIGNED');
    expect((await api(other.token, 'POST', `/api/reports/${id}/submit`, { version: 99 })).json().code).toBe('STALE_VERSION');
  });

  it('document tokens are what the sync-server verifies (HS256, aud/iss, ≤ 3600 s)', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const id = (await api(attending.token, 'POST', `/api/studies/${study.id}/report`, {})).json().id as string;
    const s = await session(attending, id);
    const [h, p] = s.token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(claims).toMatchObject({
      sub: attending.id,
      role: 'attending',
      doc: `report:${id}`,
      mode: 'rw',
      aud: 'pacs-sync',
      iss: 'pacs-api',
    });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(3600);
    expect(new Date(s.expiresAt).getTime()).toBe(claims.exp * 1000);
  });

  it('unknown ids: 404; malformed finalize body: 400', async () => {
    const unknown = '3f1d2c4b-5a69-4788-9abc-def012345678';
    expect((await api(attending.token, 'GET', `/api/reports/${unknown}`)).statusCode).toBe(404);
    expect((await api(attending.token, 'POST', `/api/studies/${unknown}/report`, {})).statusCode).toBe(404);
    expect((await api(attending.token, 'POST', `/api/reports/${unknown}/finalize`, { stateVector: 'AA==' })).statusCode).toBe(404);
    expect((await api(attending.token, 'POST', `/api/reports/${unknown}/finalize`, { stateVector: '***' })).statusCode).toBe(400);
    expect((await api(attending.token, 'POST', `/api/reports/${unknown}/finalize`, {})).statusCode).toBe(400);
  });
});
