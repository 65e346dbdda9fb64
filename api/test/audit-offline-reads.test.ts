/**
 * Offline reads: a device uploads its hash-chained record of patient data viewed offline; each
 * new entry becomes an audit row at its original time, flagged offline, with the patient and study
 * looked up; a replay writes nothing; hostile uploads are refused with nothing written; a broken
 * chain raises an alarm in the system status until an admin acknowledges it, after which the
 * device's next entries are accepted from wherever they are. The rows leave through ATNA with the
 * original time and the offline flag. Runs on SQLite and on PostgreSQL (PACS_TEST_DIALECT=postgres).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type ChainHead,
  chainEntry,
  type DeviceCredentials,
  hashOfEntry,
  type OfflineReadEntry,
  type OfflineReadFields,
  type SessionResponse,
  type SystemStatus,
} from '@pacs/shared';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessageXml } from '../src/audit/atna/audit-message';
import type { AuditLogAttributes } from '../src/db/models';
import { bearer, createTestApp, TEST_PASSWORD, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let admin: { id: string; token: string };
let study: { id: string; patientId: string; studyInstanceUid: string };
let seriesUid: string;
let report: { id: string };

beforeAll(async () => {
  t = await createTestApp({ PACS_LOGIN_RATE_PER_MINUTE: '1000', PACS_OFFLINE_AUDIT_MAX_AGE_DAYS: '30' });
  admin = await t.userWithToken('admin');
  const seeded = await seedStudy(t.app, { patientId: 'PID-OFFLINE-1' });
  study = { id: seeded.id, patientId: seeded.patientId, studyInstanceUid: seeded.studyInstanceUid };
  const series = await t.app.db.models.Series.findOne({ where: { studyRef: seeded.id }, raw: true });
  seriesUid = series!.seriesInstanceUid;
  const author = await t.userWithToken('attending');
  const created = await t.app.db.models.Report.create({ studyRef: seeded.id, primarySlot: seeded.id, authorId: author.id });
  report = { id: created.get('id') };
});
afterAll(async () => t?.close());

interface DeviceUser {
  userId: string;
  token: string;
  deviceId: string;
}

/** A user of `role` signed in from a device of their own (the session names the device). */
async function deviceUser(role: 'resident' | 'attending' | 'technologist' | 'admin' = 'resident'): Promise<DeviceUser> {
  const user = await t.userWithToken(role);
  const device: DeviceCredentials = { id: randomUUID(), secret: randomBytes(32).toString('base64url') };
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: user.email, password: TEST_PASSWORD, device },
  });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json() as SessionResponse;
  return { userId: user.id, token: body.accessToken, deviceId: body.device!.id };
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

async function chain(views: OfflineReadFields[], prev: ChainHead | OfflineReadEntry | null = null): Promise<OfflineReadEntry[]> {
  const entries: OfflineReadEntry[] = [];
  for (const view of views) entries.push(await chainEntry(entries.at(-1) ?? prev, view));
  return entries;
}
/** `n` worklist views, a minute apart, ending `endMinutesAgo` ago. */
const worklistViews = (n: number, endMinutesAgo = 1): OfflineReadFields[] =>
  Array.from({ length: n }, (_, i) => ({ at: minutesAgo(endMinutesAgo + n - i), event: 'worklist-open' as const }));

const upload = (who: { token: string }, payload: unknown) =>
  t.app.inject({ method: 'POST', url: '/api/audit/offline-reads', headers: bearer(who.token), payload: payload as object });
const codeOf = (response: LightMyRequestResponse) => (response.json() as { code?: string }).code;

async function allRows(): Promise<AuditLogAttributes[]> {
  return t.app.db.models.AuditLog.findAll({ order: [['id', 'ASC']], raw: true });
}
const detailsOf = (row: AuditLogAttributes) => (row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {});
async function offlineRows(deviceId: string) {
  return (await allRows()).filter((row) => {
    const details = detailsOf(row);
    return details.offline === true && details.deviceId === deviceId;
  });
}
const headOf = (deviceId: string) => t.app.db.models.OfflineAuditChain.findByPk(deviceId, { raw: true });
const status = async () => {
  const response = await t.app.inject({ url: '/api/system/status', headers: bearer(admin.token) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as SystemStatus;
};
const acknowledge = (deviceId: string, token = admin.token) =>
  t.app.inject({ method: 'POST', url: `/api/admin/offline-audit/${deviceId}/acknowledge`, headers: bearer(token) });

describe('uploading the offline read record', () => {
  it('records each view as an audit row at its original time, flagged offline, with the patient and study filled in', async () => {
    const me = await deviceUser('resident');
    const unknownStudy = randomUUID();
    const views: OfflineReadFields[] = [
      { at: minutesAgo(90), event: 'worklist-open' },
      { at: minutesAgo(80), event: 'study-open', studyId: study.id },
      { at: minutesAgo(70), event: 'series-view', studyId: study.id, seriesInstanceUid: seriesUid },
      { at: minutesAgo(60), event: 'report-open', reportId: report.id },
      { at: minutesAgo(50), event: 'report-pdf', reportId: report.id },
      { at: minutesAgo(40), event: 'study-open', studyId: unknownStudy },
    ];
    const entries = await chain(views);
    const before = Date.now();
    const response = await upload(me, { deviceId: me.deviceId, entries });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ accepted: 6, replayed: 0, head: { seq: 6, hash: entries[5]!.hash } });

    const rows = await offlineRows(me.deviceId);
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => new Date(r.eventDateTime).toISOString())).toEqual(views.map((v) => v.at));
    expect(rows.map((r) => [r.eventId, r.action, r.objectType])).toEqual([
      ['Query', 'R', 'Worklist'],
      ['PatientRecord', 'R', 'Study'],
      ['DICOMInstancesAccessed', 'R', 'Study'],
      ['PatientRecord', 'R', 'Report'],
      ['Export', 'R', 'Report'],
      ['PatientRecord', 'R', 'Study'],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ userId: me.userId, userRole: 'resident', outcome: 0, networkAddress: null });
      const details = detailsOf(row);
      expect(details.offline).toBe(true);
      expect(Date.parse(String(details.receivedAt))).toBeGreaterThanOrEqual(before - 1000);
    }
    for (const row of rows.slice(1, 5)) expect(row).toMatchObject({ patientId: study.patientId, studyUid: study.studyInstanceUid });
    expect(rows[0]).toMatchObject({ patientId: null, studyUid: null });
    expect(detailsOf(rows[2]!)).toMatchObject({ seriesInstanceUid: seriesUid, seq: 3, hash: entries[2]!.hash });
    expect(rows[3]).toMatchObject({ objectId: report.id });
    // An id the server does not know is still recorded, as sent.
    expect(rows[5]).toMatchObject({ objectId: unknownStudy, patientId: null, studyUid: null });
    expect(detailsOf(rows[5]!)).toMatchObject({ studyId: unknownStudy, unknown: ['study'] });
    expect(await headOf(me.deviceId)).toMatchObject({ userId: me.userId, lastSeq: 6, lastHash: entries[5]!.hash, brokenAt: null });

    // The admin's audit search finds them by patient, at their original times.
    const search = await t.app.inject({ url: `/api/audit?patientId=${study.patientId}&limit=100`, headers: bearer(admin.token) });
    const found = (search.json() as { items: { eventDateTime: string; details: { offline?: boolean } }[] }).items.filter(
      (item) => item.details?.offline,
    );
    expect(found.map((item) => item.eventDateTime).sort()).toEqual(views.slice(1, 5).map((v) => v.at));
  });

  it('answers a replay as accepted and writes nothing; an overlapping upload adds only its new entries; a stale one is refused', async () => {
    const me = await deviceUser('technologist');
    const entries = await chain(worklistViews(6, 10));
    expect((await upload(me, { deviceId: me.deviceId, entries: entries.slice(0, 4) })).statusCode).toBe(200);
    const rowsBefore = (await allRows()).length;

    const replay = await upload(me, { deviceId: me.deviceId, entries: entries.slice(0, 4) });
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toEqual({ accepted: 0, replayed: 4, head: { seq: 4, hash: entries[3]!.hash } });
    const tail = await upload(me, { deviceId: me.deviceId, entries: entries.slice(3, 4) });
    expect(tail.json()).toMatchObject({ accepted: 0, replayed: 1 });
    expect((await allRows()).length).toBe(rowsBefore);

    const overlapping = await upload(me, { deviceId: me.deviceId, entries: entries.slice(2) });
    expect(overlapping.statusCode, overlapping.body).toBe(200);
    expect(overlapping.json()).toEqual({ accepted: 2, replayed: 2, head: { seq: 6, hash: entries[5]!.hash } });
    expect((await offlineRows(me.deviceId)).map((r) => detailsOf(r).seq)).toEqual([1, 2, 3, 4, 5, 6]);

    const stale = await upload(me, { deviceId: me.deviceId, entries: entries.slice(0, 3) });
    expect(stale.statusCode).toBe(409);
    expect(codeOf(stale)).toBe('AUDIT_CHAIN_STALE');
    expect((stale.json() as { message: string }).message).toContain('upload from 7');
    expect(await offlineRows(me.deviceId)).toHaveLength(6);
    expect((await headOf(me.deviceId))!.brokenAt).toBeNull();
  });
});

describe('uploads racing', () => {
  it('records a batch sent twice at once exactly once (the head row is locked while one upload decides)', async () => {
    const me = await deviceUser('resident');
    const entries = await chain(worklistViews(5, 5));
    const answers = await Promise.all([1, 2, 3].map(() => upload(me, { deviceId: me.deviceId, entries })));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    const bodies = answers.map((a) => a.json() as { accepted: number; replayed: number });
    expect(bodies.map((b) => b.accepted).sort()).toEqual([0, 0, 5]);
    expect(bodies.map((b) => b.replayed).sort()).toEqual([0, 5, 5]);
    expect((await offlineRows(me.deviceId)).map((r) => detailsOf(r).seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

interface Hostile {
  name: string;
  /** Builds the request from the user's accepted entries 1–3 (the head is at 3). */
  payload(me: DeviceUser, accepted: OfflineReadEntry[], other: DeviceUser): Promise<unknown>;
  status: number;
  code?: string;
  /** The break raises the alarm (and a Security Alert row) rather than only refusing. */
  alarm?: boolean;
}

const next = (accepted: OfflineReadEntry[], views: OfflineReadFields[]) => chain(views, accepted.at(-1)!);

const HOSTILE: Hostile[] = [
  {
    name: "another user's device id",
    payload: async (_me, accepted, other) => ({ deviceId: other.deviceId, entries: await next(accepted, worklistViews(1)) }),
    status: 403,
    code: 'OFFLINE_AUDIT_DEVICE_REFUSED',
  },
  {
    name: 'an unknown device id',
    payload: async (_me, accepted) => ({ deviceId: randomUUID(), entries: await next(accepted, worklistViews(1)) }),
    status: 403,
    code: 'OFFLINE_AUDIT_DEVICE_REFUSED',
  },
  {
    name: 'a gap (entry 5 after 3)',
    payload: async (me, accepted) => ({ deviceId: me.deviceId, entries: (await next(accepted, worklistViews(2))).slice(1) }),
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'reordered entries (5 before 4)',
    payload: async (me, accepted) => ({ deviceId: me.deviceId, entries: (await next(accepted, worklistViews(2))).reverse() }),
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'a tampered hash',
    payload: async (me, accepted) => {
      const [entry] = await next(accepted, worklistViews(1));
      return { deviceId: me.deviceId, entries: [{ ...entry!, hash: 'e'.repeat(64) }] };
    },
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'a changed entry with its hash left as it was',
    payload: async (me, accepted) => {
      const [entry] = await next(accepted, [{ at: minutesAgo(1), event: 'study-open', studyId: randomUUID() }]);
      return { deviceId: me.deviceId, entries: [{ ...entry!, studyId: randomUUID() }] };
    },
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'an accepted number sent again with other content (rehashed)',
    payload: async (me, accepted) => {
      const { hash: _hash, ...third } = accepted[2]!;
      const changed = { ...third, at: minutesAgo(200) };
      const forged = { ...changed, hash: await hashOfEntry(changed) };
      return { deviceId: me.deviceId, entries: [forged, ...(await chain(worklistViews(1), forged))] };
    },
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'an inserted entry',
    payload: async (me, accepted) => {
      const fresh = await next(accepted, worklistViews(2));
      const inserted = await chainEntry(fresh[0]!, { at: minutesAgo(1), event: 'study-open', studyId: study.id });
      return { deviceId: me.deviceId, entries: [fresh[0], inserted, { ...fresh[1]!, seq: 6 }] };
    },
    status: 409,
    code: 'AUDIT_CHAIN_BROKEN',
    alarm: true,
  },
  {
    name: 'an oversize batch (1001 entries)',
    payload: async (me, accepted) => ({ deviceId: me.deviceId, entries: await next(accepted, worklistViews(1001)) }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a NUL in a string',
    payload: async (me, accepted) => {
      const [entry] = await next(accepted, [
        { at: minutesAgo(1), event: 'series-view', studyId: study.id, seriesInstanceUid: '1.2\u00003' },
      ]);
      return { deviceId: me.deviceId, entries: [entry] };
    },
    status: 400,
  },
  {
    name: 'an unknown field in an entry',
    payload: async (me, accepted) => {
      const [entry] = await next(accepted, worklistViews(1));
      return { deviceId: me.deviceId, entries: [{ ...entry!, patientName: 'Doe^Jane' }] };
    },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown field in the body',
    payload: async (me, accepted) => ({ deviceId: me.deviceId, entries: await next(accepted, worklistViews(1)), userId: randomUUID() }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a number as text',
    payload: async (me, accepted) => {
      const [entry] = await next(accepted, worklistViews(1));
      return { deviceId: me.deviceId, entries: [{ ...entry!, seq: '4' }] };
    },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'entries that are not an array',
    payload: async (me) => ({ deviceId: me.deviceId, entries: { 0: 'x' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a time 10 minutes in the future',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: minutesAgo(-10), event: 'worklist-open' }]),
    }),
    status: 400,
    code: 'OFFLINE_AUDIT_TIME_REFUSED',
  },
  {
    name: 'a time older than 30 days',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: minutesAgo(31 * 24 * 60), event: 'worklist-open' }]),
    }),
    status: 400,
    code: 'OFFLINE_AUDIT_TIME_REFUSED',
  },
  {
    name: 'a time that is not ISO 8601 UTC',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: minutesAgo(1).replace('T', ' '), event: 'worklist-open' }]),
    }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a time with an offset instead of Z',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: minutesAgo(1).replace('Z', '+01:00'), event: 'worklist-open' }]),
    }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a day that does not exist',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: `${new Date().getUTCFullYear()}-02-30T10:00:00.000Z`, event: 'worklist-open' }]),
    }),
    status: 400,
    code: 'OFFLINE_AUDIT_BAD_ENTRY',
  },
  {
    name: 'a study view that names no study',
    payload: async (me, accepted) => ({
      deviceId: me.deviceId,
      entries: await next(accepted, [{ at: minutesAgo(1), event: 'study-open' }]),
    }),
    status: 400,
    code: 'OFFLINE_AUDIT_BAD_ENTRY',
  },
];

describe('hostile uploads are refused with nothing written', () => {
  it.each(HOSTILE)('$name → $status', async (hostile) => {
    const [me, other] = await Promise.all([deviceUser('resident'), deviceUser('attending')]);
    const accepted = await chain(worklistViews(3, 20));
    expect((await upload(me, { deviceId: me.deviceId, entries: accepted })).statusCode).toBe(200);
    const rowsBefore = await allRows();

    const response = await upload(me, await hostile.payload(me, accepted, other));
    expect(response.statusCode, response.body).toBe(hostile.status);
    if (hostile.code) expect(codeOf(response)).toBe(hostile.code);
    expect((response.json() as { message: string }).message.length).toBeGreaterThan(0);

    // No entry was recorded for either device, and the heads did not move.
    expect(await offlineRows(me.deviceId)).toHaveLength(3);
    expect(await offlineRows(other.deviceId)).toHaveLength(0);
    const head = await headOf(me.deviceId);
    expect(head).toMatchObject({ lastSeq: 3, lastHash: accepted[2]!.hash });
    expect(await headOf(other.deviceId)).toBeNull();

    // The refusal itself is audited: one row, a Security Alert for a forged device or a broken chain.
    const added = (await allRows()).slice(rowsBefore.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ userId: me.userId, outcome: hostile.alarm ? 8 : 4, patientId: null, studyUid: null });
    if (hostile.status === 403 || hostile.alarm) expect(added[0]!.eventId).toBe('SecurityAlert');
    expect(head!.brokenAt !== null).toBe(hostile.alarm === true);
    if (hostile.alarm) expect(detailsOf(added[0]!)).toMatchObject({ event: 'offline-audit-chain-broken', acceptedUpTo: 3 });
  });

  it("refuses the user's own other device: entries come from the device of the session", async () => {
    const me = await deviceUser('resident');
    const user = await t.app.db.models.User.findByPk(me.userId, { raw: true });
    const second: DeviceCredentials = { id: randomUUID(), secret: randomBytes(32).toString('base64url') };
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user!.email, password: TEST_PASSWORD, device: second },
    });
    const secondToken = (login.json() as SessionResponse).accessToken;
    const response = await upload({ token: secondToken }, { deviceId: me.deviceId, entries: await chain(worklistViews(1)) });
    expect(response.statusCode).toBe(403);
    expect(codeOf(response)).toBe('OFFLINE_AUDIT_DEVICE_REFUSED');
    expect(await offlineRows(me.deviceId)).toHaveLength(0);
  });

  it('refuses roles that keep no patient data offline, and lets only admins acknowledge', async () => {
    const referrer = await t.userWithToken('referrer', { providerId: 'DR-OFFLINE' });
    const response = await upload(referrer, { deviceId: randomUUID(), entries: await chain(worklistViews(1)) });
    expect(response.statusCode).toBe(403);
    const resident = await deviceUser('resident');
    expect((await acknowledge(resident.deviceId, resident.token)).statusCode).toBe(403);
    for (const role of ['admin', 'attending', 'technologist'] as const) {
      const user = await deviceUser(role);
      expect((await upload(user, { deviceId: user.deviceId, entries: await chain(worklistViews(1)) })).statusCode, role).toBe(200);
    }
  });
});

describe('a broken chain', () => {
  it('raises an alarm in the system status until an admin acknowledges it; then the next entries are accepted from wherever they are', async () => {
    const me = await deviceUser('resident');
    const accepted = await chain([
      { at: minutesAgo(30), event: 'study-open', studyId: study.id },
      { at: minutesAgo(29), event: 'report-open', reportId: report.id },
    ]);
    expect((await upload(me, { deviceId: me.deviceId, entries: accepted })).statusCode).toBe(200);
    const afterGap = (await chain(worklistViews(3, 10), accepted.at(-1)!)).slice(1);
    const broken = await upload(me, { deviceId: me.deviceId, entries: afterGap });
    expect(broken.statusCode).toBe(409);
    expect(codeOf(broken)).toBe('AUDIT_CHAIN_BROKEN');

    const alarms = (await status()).alarms.filter((alarm) => alarm.deviceId === me.deviceId);
    expect(alarms).toEqual([
      {
        kind: 'offline-audit-chain-broken',
        deviceId: me.deviceId,
        deviceLabel: expect.any(String),
        userId: me.userId,
        userName: expect.stringMatching(/^Test resident/),
        since: expect.any(String),
        reason: expect.stringContaining('entry 4 follows 2'),
      },
    ]);
    // Device and user only: nothing of the patient.
    const statusText = JSON.stringify(await status());
    expect(statusText).not.toContain(study.patientId);
    expect(statusText).not.toContain(study.id);

    // Until acknowledged, even a proper continuation is refused.
    const proper = await chain(worklistViews(1), accepted.at(-1)!);
    const waiting = await upload(me, { deviceId: me.deviceId, entries: proper });
    expect(waiting.statusCode).toBe(409);
    expect(codeOf(waiting)).toBe('AUDIT_CHAIN_BROKEN');
    expect(await offlineRows(me.deviceId)).toHaveLength(2);

    const rowsBefore = (await allRows()).length;
    const ack = await acknowledge(me.deviceId);
    expect(ack.statusCode, ack.body).toBe(204);
    const ackRows = (await allRows()).slice(rowsBefore);
    expect(ackRows).toHaveLength(1);
    expect(ackRows[0]).toMatchObject({
      eventId: 'SecurityAlert',
      action: 'U',
      userId: admin.id,
      objectType: 'Device',
      objectId: me.deviceId,
    });
    expect(detailsOf(ackRows[0]!)).toMatchObject({ event: 'offline-audit-alarm-acknowledged', deviceUserId: me.userId, acceptedUpTo: 2 });
    expect((await status()).alarms.filter((alarm) => alarm.deviceId === me.deviceId)).toEqual([]);
    const again = await acknowledge(me.deviceId);
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('NO_CHAIN_ALARM');
    expect((await acknowledge(randomUUID())).statusCode).toBe(404);

    // The device's next upload starts wherever its record is (here: after the gap it had).
    const resumed = await upload(me, { deviceId: me.deviceId, entries: afterGap });
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ accepted: 2, head: { seq: 5, hash: afterGap[1]!.hash } });
    const continued = await upload(me, { deviceId: me.deviceId, entries: await chain(worklistViews(1), afterGap[1]!) });
    expect(continued.json()).toMatchObject({ accepted: 1, replayed: 0, head: { seq: 6 } });
    // And the chain is enforced again from there.
    const gapAgain = await upload(me, {
      deviceId: me.deviceId,
      entries: (await chain(worklistViews(2), { seq: 6, hash: 'a'.repeat(64) })).slice(1),
    });
    expect(codeOf(gapAgain)).toBe('AUDIT_CHAIN_BROKEN');
    expect((await offlineRows(me.deviceId)).map((r) => detailsOf(r).seq)).toEqual([1, 2, 4, 5, 6]);
  });
});

describe('ATNA export of offline reads', () => {
  it('carries the original time as EventDateTime and says the view was offline, on which device, received when', async () => {
    const me = await deviceUser('resident');
    const at = minutesAgo(45);
    const entries = await chain([{ at, event: 'study-open', studyId: study.id }]);
    expect((await upload(me, { deviceId: me.deviceId, entries })).statusCode).toBe(200);
    const [row] = await offlineRows(me.deviceId);
    const xml = auditMessageXml(row!, { sourceId: 'pacs', siteId: 'site', applicationId: 'pacs-api' }, null);
    expect(xml).toContain(`EventDateTime="${at}"`);
    expect(xml).toContain('csd-code="110110"');
    expect(xml).toMatch(
      new RegExp(
        `<EventOutcomeDescription>viewed offline on device ${me.deviceId}; received \\d{4}-\\d\\d-\\d\\dT[^<]+Z</EventOutcomeDescription>`,
      ),
    );
    expect(xml).toContain(`ParticipantObjectID="${study.patientId}"`);
    expect(xml).toContain(`ParticipantObjectID="${study.studyInstanceUid}"`);
    expect(xml).not.toContain('NetworkAccessPointID="127.0.0.1"');
  });
});

describe('after a restore from a backup', () => {
  it('a device whose uploads after the backup went with the restore continues its record: no alarm, the gap named in the trail', async () => {
    const me = await deviceUser('resident');
    const beforeBackup = await chain(worklistViews(2, 30));
    expect((await upload(me, { deviceId: me.deviceId, entries: beforeBackup })).statusCode).toBe(200);
    // Entries 3 and 4 were uploaded after the backup: the restored database never had them.
    const lostWithRestore = await chain(worklistViews(2, 20), beforeBackup.at(-1)!);
    const { afterRestore } = await import('../src/db/after-restore');
    const { offlineChains } = await afterRestore(t.app.db.models);
    expect(offlineChains).toBeGreaterThan(0);

    const rowsBefore = (await allRows()).length;
    const next = await chain(worklistViews(2, 10), lostWithRestore.at(-1)!);
    const resumed = await upload(me, { deviceId: me.deviceId, entries: next });
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ accepted: 2, head: { seq: 6, hash: next[1]!.hash } });
    expect((await status()).alarms.filter((alarm) => alarm.deviceId === me.deviceId)).toEqual([]);
    const written = (await allRows()).slice(rowsBefore);
    expect(written.map((row) => row.eventId)).toEqual(['ApplicationActivity', 'Query', 'Query']);
    expect(written[0]).toMatchObject({ objectType: 'Device', objectId: me.deviceId, userId: me.userId });
    expect(detailsOf(written[0]!)).toMatchObject({
      event: 'offline-audit-chain-resumed',
      acceptedUpTo: 2,
      resumedAt: 5,
      notInTrail: [3, 4],
    });
    expect((await offlineRows(me.deviceId)).map((r) => detailsOf(r).seq)).toEqual([1, 2, 5, 6]);

    // One restart per restore: the next gap is a broken record again.
    const gap = (await chain(worklistViews(2), next[1]!)).slice(1);
    expect(codeOf(await upload(me, { deviceId: me.deviceId, entries: gap }))).toBe('AUDIT_CHAIN_BROKEN');
  });
});
