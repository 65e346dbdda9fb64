/**
 * Restricted patients and emergency access ("break the glass") against the real API and database:
 * masking in the worklist, its delta feed and details; refusals of reports, FHIR and DICOMweb;
 * reason checks; the window's start and stop events (the stop exactly once, also under concurrent
 * closers); assignment as access; the admin and HL7 sources of a restriction; the privacy review.
 */
import type { StudyChanges, WorklistPage, WorklistStudy } from '@pacs/shared';
import { waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessageXml } from '../src/audit/atna/audit-message';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';
import { seedStudy } from './support/studies';

type User = { id: string; token: string };
let t: TestApp;
let hl7Port: number;
let admin: User;
let attending: User;
let other: User;
let resident: User;

const REASON = 'Unconscious patient in resus, prior imaging needed now';

beforeAll(async () => {
  t = await createTestApp({ PACS_HL7_PORT: '0' });
  hl7Port = await t.app.hl7.listen();
  admin = await t.userWithToken('admin');
  attending = await t.userWithToken('attending');
  other = await t.userWithToken('attending');
  resident = await t.userWithToken('resident');
});
afterAll(async () => {
  await t?.close();
});

const get = (url: string, user: User) => t.app.inject({ method: 'GET', url, headers: bearer(user.token) });
const put = (url: string, user: User, payload: object) => t.app.inject({ method: 'PUT', url, headers: bearer(user.token), payload });
const post = (url: string, user: User, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(user.token), ...(payload ? { payload } : {}) });

async function restrictedStudy(name = 'Secret^Sam') {
  const study = await seedStudy(t.app, { patientName: name, patientId: `VIP-${Math.random().toString(36).slice(2, 8)}` });
  const response = await put(`/api/studies/${study.id}/restriction`, admin, { restricted: true });
  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ restricted: true, source: 'admin' });
  return study;
}

async function rowFor(user: User, studyId: string): Promise<WorklistStudy | undefined> {
  const page = (await get('/api/studies?limit=200', user)).json() as WorklistPage;
  return page.items.find((s) => s.id === studyId);
}

async function feedRow(user: User, studyId: string): Promise<WorklistStudy | undefined> {
  const changes = (await get('/api/studies/changes?limit=1000', user)).json() as StudyChanges;
  return changes.changes.find((c): c is WorklistStudy => c.id === studyId && !('deleted' in c));
}

const breakGlass = (user: User, studyId: string, reason: unknown = REASON) =>
  t.app.inject({ method: 'POST', url: `/api/studies/${studyId}/break-glass`, headers: bearer(user.token), payload: { reason } });

const auditRows = (where: Record<string, unknown>) => t.app.db.models.AuditLog.findAll({ where, order: [['id', 'ASC']], raw: true });
const detailsOf = (row: { details: string | null }) => JSON.parse(row.details ?? '{}') as Record<string, unknown>;

function expectMasked(row: WorklistStudy | undefined) {
  expect(row).toBeDefined();
  expect(row).toMatchObject({ restricted: true, access: 'masked', patientName: '', patientId: '', patientBirthDate: null, indication: '' });
  expect(row!.accessionNumber).not.toBe('');
}

describe('a restricted study without access', () => {
  it('is masked in the worklist, the delta feed and reconciliation; details, reports and FHIR refuse with RESTRICTED_STUDY', async () => {
    const study = await restrictedStudy('Hidden^Harriet');
    for (const user of [attending, admin]) expectMasked(await rowFor(user, study.id));
    expectMasked(await feedRow(attending, study.id));
    // Reconciliation (admins, technologists) works on the row without the patient.
    await t.app.db.models.Study.update({ orderMatch: 'unmatched' }, { where: { id: study.id } });
    const unmatched = (await get('/api/reconciliation/studies', admin)).json() as { items: WorklistStudy[] };
    expectMasked(unmatched.items.find((s) => s.id === study.id));

    // A report on it (written directly: creating one needs the sync-server, which is not the point here).
    const report = await t.app.db.models.Report.create({ studyRef: study.id, primarySlot: study.id, authorId: attending.id });
    const refusals = [
      `/api/studies/${study.id}`,
      `/api/studies/${study.id}/report`,
      `/api/reports/${report.get('id')}`,
      `/api/reports/${report.get('id')}/pdf`,
      `/api/reports/${report.get('id')}/late-edits`,
      `/fhir/ImagingStudy/${study.id}`,
    ];
    for (const url of refusals) {
      const response = await get(url, attending);
      expect(response.statusCode, url).toBe(403);
      expect(response.body).not.toContain('Hidden');
      expect(response.body).not.toContain(study.patientId);
      if (!url.startsWith('/fhir')) expect(response.json().code, url).toBe('RESTRICTED_STUDY');
    }
    const fhirSearch = await get(`/fhir/ImagingStudy?identifier=${study.accessionNumber}`, attending);
    expect(fhirSearch.statusCode).toBe(200);
    expect(fhirSearch.json().entry).toEqual([]);
    // Refusals are audited with the reason.
    const refused = await auditRows({ studyUid: study.studyInstanceUid, outcome: 4 });
    const session = await post(`/api/reports/${report.get('id')}/session`, attending);
    expect(session.statusCode).toBe(403);
    expect(session.json().code).toBe('RESTRICTED_STUDY');
    expect(refused.length).toBeGreaterThanOrEqual(6);
    expect(refused.every((r) => /restricted/.test(String(detailsOf(r).reason)))).toBe(true);
  });

  it('is not found by a search on the patient name, which would tell that the patient has a study here', async () => {
    const study = await restrictedStudy('Findme^Never');
    const page = (await get('/api/studies?q=Findme', attending)).json() as WorklistPage;
    expect(page.items.find((s) => s.id === study.id)).toBeUndefined();
    expect(page.total).toBe(0);
    const byAccession = (await get(`/api/studies?q=${study.accessionNumber}`, attending)).json() as WorklistPage;
    expect(byAccession.items.find((s) => s.id === study.id)).toBeUndefined();
  });

  it("a patient's restriction masks every study of theirs, and lifting it unmasks them", async () => {
    const first = await seedStudy(t.app, { patientName: 'Patient^Level', patientId: 'PL-1' });
    const second = await seedStudy(t.app, { patientName: 'Patient^Level', patientId: 'PL-1' });
    // The same patient record (as ingestion files a second study of a known patient).
    await t.app.db.models.Study.update({ patientRef: first.patientRef }, { where: { id: second.id } });
    const response = await put(`/api/patients/${first.patientRef}/restriction`, admin, { restricted: true });
    expect(response.statusCode).toBe(200);
    expectMasked(await rowFor(attending, first.id));
    expectMasked(await rowFor(attending, second.id));
    expect((await get(`/api/studies/${second.id}`, attending)).statusCode).toBe(403);
    expect((await put(`/api/patients/${first.patientRef}/restriction`, admin, { restricted: false })).statusCode).toBe(200);
    expect(await rowFor(attending, second.id)).toMatchObject({ restricted: false, access: 'open', patientName: 'Patient^Level' });
    const changes = await auditRows({ objectType: 'PatientRestriction', objectId: first.patientRef });
    expect(changes.map((r) => detailsOf(r).event)).toEqual(['restricted', 'restriction-lifted']);
  });
});

describe('breaking the glass', () => {
  const badReasons: [string, unknown][] = [
    ['empty', ''],
    ['only whitespace', '   \t  \n '],
    ['too short', 'need it'],
    ['too short once trimmed', '   short     '],
    ['NUL inside', 'emergency in resus\u0000now'],
    ['a control character', 'emergency in resus \u0007 now'],
    ['an escape sequence', 'emergency \u001b[31m in resus'],
    ['oversize', 'x'.repeat(1001)],
    ['not a string', 42],
    ['null', null],
  ];
  it.each(badReasons)('refuses a reason that is %s (400 with a reason, no window)', async (_name, reason) => {
    const study = await restrictedStudy();
    const response = await breakGlass(attending, study.id, reason);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/.{5,}/);
    expect(['BAD_BREAK_GLASS_REASON', 'VALIDATION_FAILED', 'NUL_CHARACTER']).toContain(response.json().code);
    expect(await t.app.db.models.AccessWindow.count({ where: { studyRef: study.id } })).toBe(0);
  });

  it('refuses a body without a reason, and a study that is not restricted (409)', async () => {
    const study = await restrictedStudy();
    const missing = await t.app.inject({
      method: 'POST',
      url: `/api/studies/${study.id}/break-glass`,
      headers: bearer(attending.token),
      payload: {},
    });
    expect(missing.statusCode).toBe(400);
    const open = await seedStudy(t.app);
    const notRestricted = await breakGlass(attending, open.id);
    expect(notRestricted.statusCode).toBe(409);
    expect(notRestricted.json().code).toBe('NOT_RESTRICTED');
  });

  it('opens the patient to this user: rows, details and FHIR carry the data; the start and every access are audited with the window id', async () => {
    const study = await restrictedStudy('Open^Olivia');
    const opened = await breakGlass(attending, study.id, `  ${REASON}  `);
    expect(opened.statusCode).toBe(201);
    const window = opened.json() as { id: string; expiresAt: string; studyId: string };
    expect(window.studyId).toBe(study.id);
    expect(new Date(window.expiresAt).getTime() - Date.now()).toBeGreaterThan(59 * 60_000);

    const [start] = await auditRows({ objectType: 'EmergencyAccess', objectId: window.id });
    expect(start).toMatchObject({
      eventId: 'SecurityAlert',
      action: 'E',
      outcome: 0,
      userId: attending.id,
      studyUid: study.studyInstanceUid,
    });
    expect(detailsOf(start!)).toMatchObject({ event: 'emergency-override-started', justification: REASON, emergencyAccess: [window.id] });
    // Leaves for the audit repository as PS3.15 Security Alert / Emergency Override Started.
    const xml = auditMessageXml(start!, { sourceId: 'pacs', siteId: 'site', applicationId: 'pacs-api' }, null);
    expect(xml).toContain('csd-code="110113"');
    expect(xml).toContain('csd-code="110127"');

    const row = await rowFor(attending, study.id);
    expect(row).toMatchObject({ restricted: true, access: 'open', patientName: 'Open^Olivia', emergencyAccessUntil: window.expiresAt });
    expect(await feedRow(attending, study.id)).toMatchObject({ access: 'open', patientName: 'Open^Olivia' });
    const detail = await t.app.inject({
      url: `/api/studies/${study.id}`,
      headers: { ...bearer(attending.token), 'x-request-id': `bg-detail-${window.id}` },
    });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().study.patientName).toBe('Open^Olivia');
    expect((await get(`/fhir/ImagingStudy/${study.id}`, attending)).statusCode).toBe(200);
    const noReport = await get(`/api/studies/${study.id}/report`, attending);
    expect(noReport.json().code).toBe('NO_REPORT_YET');

    const [read] = await auditRows({ requestId: `bg-detail-${window.id}` });
    expect(read).toMatchObject({ eventId: 'PatientRecord', action: 'R', outcome: 0, studyUid: study.studyInstanceUid });
    expect(detailsOf(read!).emergencyAccess).toEqual([window.id]);
    const open = (await get('/api/emergency-access', attending)).json() as { items: { id: string }[] };
    expect(open.items.map((w) => w.id)).toContain(window.id);
  });

  it("another user's window does not open the study to anyone else, nor can they close it", async () => {
    const study = await restrictedStudy('Mine^Only');
    const window = (await breakGlass(attending, study.id)).json() as { id: string };
    expectMasked(await rowFor(other, study.id));
    expect((await get(`/api/studies/${study.id}`, other)).statusCode).toBe(403);
    const closeOthers = await t.app.inject({ method: 'DELETE', url: `/api/emergency-access/${window.id}`, headers: bearer(other.token) });
    expect(closeOthers.statusCode).toBe(404);
    expect(await rowFor(attending, study.id)).toMatchObject({ access: 'open' });
  });

  it('closing the window masks the data again, moves the row in the feed and records the stop once', async () => {
    const study = await restrictedStudy('Close^Carl');
    const window = (await breakGlass(attending, study.id)).json() as { id: string };
    const feed = (await get('/api/studies/changes?limit=1000', attending)).json() as StudyChanges;
    const closed = await t.app.inject({ method: 'DELETE', url: `/api/emergency-access/${window.id}`, headers: bearer(attending.token) });
    expect(closed.statusCode).toBe(204);
    const again = await t.app.inject({ method: 'DELETE', url: `/api/emergency-access/${window.id}`, headers: bearer(attending.token) });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('ACCESS_WINDOW_CLOSED');
    // A device that had the row unmasked gets it masked from the feed after its cursor.
    const after = (await get(`/api/studies/changes?cursor=${feed.cursor}`, attending)).json() as StudyChanges;
    expectMasked(after.changes.find((c): c is WorklistStudy => c.id === study.id));
    const stops = (await auditRows({ objectType: 'EmergencyAccess', objectId: window.id })).filter(
      (r) => detailsOf(r).event === 'emergency-override-stopped',
    );
    expect(stops).toHaveLength(1);
    expect(detailsOf(stops[0]!)).toMatchObject({ closedBy: 'user', emergencyAccess: [window.id] });
    expect(auditMessageXml(stops[0]!, { sourceId: 'pacs', siteId: 'site', applicationId: 'pacs-api' }, null)).toContain(
      'csd-code="110138"',
    );
  });

  it('the assigned reader sees the patient without a window; the row stays masked for others', async () => {
    const study = await restrictedStudy('Assigned^Ann');
    const assign = await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${study.id}`,
      headers: bearer(admin.token),
      payload: { assigneeId: resident.id },
    });
    expect(assign.statusCode).toBe(200);
    // The admin who assigned it has no access: the answer is masked too.
    expectMasked(assign.json() as WorklistStudy);
    expect(await rowFor(resident, study.id)).toMatchObject({ access: 'open', patientName: 'Assigned^Ann', emergencyAccessUntil: null });
    expect((await get(`/api/studies/${study.id}`, resident)).statusCode).toBe(200);
    expectMasked(await rowFor(other, study.id));
    expect(await t.app.db.models.AccessWindow.count({ where: { studyRef: study.id } })).toBe(0);
  });
});

describe('restriction sources', () => {
  it('only an admin restricts; a non-admin is refused 403', async () => {
    const study = await seedStudy(t.app);
    for (const user of [attending, resident]) {
      expect((await put(`/api/studies/${study.id}/restriction`, user, { restricted: true })).statusCode).toBe(403);
      expect((await put(`/api/patients/${study.patientRef}/restriction`, user, { restricted: true })).statusCode).toBe(403);
    }
    expect(await rowFor(attending, study.id)).toMatchObject({ restricted: false });
  });

  it('an ORM with ORC-28 confidentiality code R restricts the scheduled row; an admin lifts it only explicitly', async () => {
    const v = uniqueOrderValues();
    const text = sample('orm-o01-v24-no-charset-utf8.hl7', v).replace(
      `ORC|NW|${v.PLACER}|${v.ACCESSION}||SC||^^^^^R\r`,
      `ORC|NW|${v.PLACER}|${v.ACCESSION}||SC||^^^^^R${'|'.repeat(21)}R\r`,
    );
    expect(text).toContain('|||R\r');
    expect(ackOf(await sendWithClient(hl7Port, text)).code).toBe('AA');
    const study = await t.app.db.models.Study.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true });
    expect({ restricted: Boolean(study?.restricted), source: study?.restrictionSource }).toEqual({ restricted: true, source: 'order' });
    expectMasked(await rowFor(attending, study!.id));

    const plainLift = await put(`/api/studies/${study!.id}/restriction`, admin, { restricted: false });
    expect(plainLift.statusCode).toBe(409);
    expect(plainLift.json().code).toBe('CONFIRM_LIFT');
    const lift = await put(`/api/studies/${study!.id}/restriction`, admin, { restricted: false, liftExternal: true });
    expect(lift.json()).toEqual({ restricted: false, source: null });
    const [audit] = await auditRows({ objectType: 'StudyRestriction', objectId: study!.id });
    expect(detailsOf(audit!)).toMatchObject({ event: 'restriction-lifted', from: { restricted: true, source: 'order' } });
  });

  it('an ORM with a PV1-16 VIP indicator restricts; one without either field does not', async () => {
    const vip = uniqueOrderValues();
    const text = sample('orm-o01-v24-no-charset-utf8.hl7', vip).replace(
      'PV1||E|ED^^^NORTHSITE|||||3333^Emergency^Doc^^^Dr\r',
      `PV1||E|ED^^^NORTHSITE|||||3333^Emergency^Doc^^^Dr${'|'.repeat(8)}VIP\r`,
    );
    expect(ackOf(await sendWithClient(hl7Port, text)).code).toBe('AA');
    const restricted = await t.app.db.models.Study.findOne({ where: { accessionNumber: vip.ACCESSION }, raw: true });
    expect({ restricted: Boolean(restricted?.restricted), source: restricted?.restrictionSource }).toEqual({
      restricted: true,
      source: 'order',
    });
    const plain = uniqueOrderValues();
    expect(ackOf(await sendWithClient(hl7Port, sample('orm-o01-v24-no-charset-utf8.hl7', plain))).code).toBe('AA');
    const open = await t.app.db.models.Study.findOne({ where: { accessionNumber: plain.ACCESSION }, raw: true });
    expect({ restricted: Boolean(open?.restricted), source: open?.restrictionSource }).toEqual({ restricted: false, source: null });
  });
});

describe('the privacy review', () => {
  it('lists each emergency access with its reason, what was opened and how often; the admin signs it off once, audited', async () => {
    const study = await restrictedStudy('Review^Rita');
    const window = (await breakGlass(resident, study.id)).json() as { id: string };
    await get(`/api/studies/${study.id}`, resident);

    for (const user of [attending, resident]) {
      expect((await get('/api/privacy/emergency-access', user)).statusCode).toBe(403);
      expect((await post(`/api/privacy/emergency-access/${window.id}/review`, user, { verdict: 'justified' })).statusCode).toBe(403);
    }
    const pending = (await get('/api/privacy/emergency-access?status=pending&limit=200', admin)).json() as {
      items: { id: string; reason: string; patientName: string; accesses: number; study: { id: string }; reviewStatus: string }[];
    };
    const entry = pending.items.find((i) => i.id === window.id);
    expect(entry).toMatchObject({ reason: REASON, patientName: 'Review^Rita', study: { id: study.id }, reviewStatus: 'pending' });
    expect(entry!.accesses).toBeGreaterThanOrEqual(1);

    const bad = await post(`/api/privacy/emergency-access/${window.id}/review`, admin, { verdict: 'maybe' });
    expect(bad.statusCode).toBe(400);
    const signed = await post(`/api/privacy/emergency-access/${window.id}/review`, admin, {
      verdict: 'not-justified',
      note: 'No clinical relationship documented',
    });
    expect(signed.statusCode).toBe(200);
    expect(signed.json()).toMatchObject({
      reviewStatus: 'not-justified',
      reviewedBy: { id: admin.id },
      reviewNote: 'No clinical relationship documented',
    });
    const twice = await post(`/api/privacy/emergency-access/${window.id}/review`, admin, { verdict: 'justified' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('ALREADY_REVIEWED');
    const stillPending = (await get('/api/privacy/emergency-access?status=pending&limit=200', admin)).json() as { items: { id: string }[] };
    expect(stillPending.items.map((i) => i.id)).not.toContain(window.id);
    const reviews = (await auditRows({ objectType: 'EmergencyAccess', objectId: window.id })).filter(
      (r) => detailsOf(r).event === 'emergency-access-reviewed',
    );
    expect(reviews).toHaveLength(1);
    expect(reviews[0]).toMatchObject({ userId: admin.id, action: 'U' });
  });
});

describe('expiry', () => {
  let short: TestApp;
  beforeAll(async () => {
    // A 3-second window, swept every 200 ms.
    short = await createTestApp({ PACS_BREAK_GLASS_MINUTES: '0.05', PACS_BREAK_GLASS_SWEEP_SECONDS: '0.2' });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('access ends at expiry and the stop is recorded exactly once, however many closers race for it', async () => {
    const shortAdmin = await short.userWithToken('admin');
    const user = await short.userWithToken('attending');
    const study = await seedStudy(short.app, { patientName: 'Expire^Ed' });
    await short.app.inject({
      method: 'PUT',
      url: `/api/studies/${study.id}/restriction`,
      headers: bearer(shortAdmin.token),
      payload: { restricted: true },
    });
    const opened = await short.app.inject({
      method: 'POST',
      url: `/api/studies/${study.id}/break-glass`,
      headers: bearer(user.token),
      payload: { reason: REASON },
    });
    const window = opened.json() as { id: string; expiresAt: string };
    expect((await short.app.inject({ url: `/api/studies/${study.id}`, headers: bearer(user.token) })).statusCode).toBe(200);

    // Several closers at once (as several API instances would): one stop event.
    await waitFor(() => Date.now() >= new Date(window.expiresAt).getTime(), { timeoutMs: 10_000, what: 'expiry' });
    const closers = await Promise.all([
      short.app.restrictedAccess.windows.close(window.id, 'expiry', null),
      short.app.restrictedAccess.windows.close(window.id, 'expiry', null),
      short.app.restrictedAccess.windows.sweep(),
    ]);
    expect(closers.filter((c) => c === true || c === 1).length).toBeLessThanOrEqual(1);
    const stops = await waitFor(
      async () => {
        const rows = await short.app.db.models.AuditLog.findAll({
          where: { objectType: 'EmergencyAccess', objectId: window.id },
          raw: true,
        });
        const stopped = rows.filter((r) => detailsOf(r).event === 'emergency-override-stopped');
        return stopped.length > 0 ? stopped : undefined;
      },
      { timeoutMs: 10_000, what: 'stop event' },
    );
    // Let the sweeper run again: nothing more is written.
    const sweptAgain = await short.app.restrictedAccess.windows.sweep();
    expect(sweptAgain).toBe(0);
    const finalStops = (
      await short.app.db.models.AuditLog.findAll({ where: { objectType: 'EmergencyAccess', objectId: window.id }, raw: true })
    ).filter((r) => detailsOf(r).event === 'emergency-override-stopped');
    expect(finalStops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ eventId: 'SecurityAlert', action: 'E', userId: user.id, studyUid: study.studyInstanceUid });
    expect(detailsOf(stops[0]!)).toMatchObject({ closedBy: 'expiry' });
    const row = await short.app.db.models.AccessWindow.findByPk(window.id, { raw: true });
    expect(new Date(row!.closedAt!).toISOString()).toBe(window.expiresAt);

    const after = await short.app.inject({ url: `/api/studies/${study.id}`, headers: bearer(user.token) });
    expect(after.statusCode).toBe(403);
    const closeLate = await short.app.inject({ method: 'DELETE', url: `/api/emergency-access/${window.id}`, headers: bearer(user.token) });
    expect(closeLate.statusCode).toBe(409);
  });
});
