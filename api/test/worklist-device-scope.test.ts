/**
 * The device feed: each user's devices hold their part of the worklist (shared/src/device-scope.ts),
 * a new device gets a snapshot then the changes, rows that leave come as tombstones, a restore
 * makes devices start again, and nothing of another user's scope or a restricted patient leaks.
 */
import type { DeviceStudy, Role, StudyChanges, StudyTombstone } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewDatabaseEpoch } from '../src/worklist/epoch';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let admin: User;
type User = { id: string; token: string };

const LONG_AGO = new Date(Date.UTC(2025, 0, 10));
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
});
afterAll(async () => t?.close());

const get = (url: string, user: User) => t.app.inject({ url, headers: bearer(user.token) });

/** A user whose arrival window covers `modalities` only (none by default, so other tests' arrivals stay out). */
async function userOf(role: Role, modalities: string[] | null = []): Promise<User> {
  const user = await t.userWithToken(role);
  const response = await t.app.inject({
    method: 'PATCH',
    url: `/api/users/${user.id}`,
    headers: bearer(admin.token),
    payload: { modalities },
  });
  expect(response.statusCode).toBe(200);
  expect(response.json().modalities).toEqual(modalities);
  return user;
}

type Change = DeviceStudy | StudyTombstone;
const isRow = (c: Change): c is DeviceStudy => !('deleted' in c);

/** A device: follows the feed to the end, upserting rows and dropping tombstones, like the web app's store. */
class Device {
  rows = new Map<string, DeviceStudy>();
  cursor = '0';
  epoch: string | undefined;
  constructor(readonly user: User) {}
  async page(limit = 500): Promise<StudyChanges> {
    const epoch = this.epoch ? `&epoch=${this.epoch}` : '';
    const response = await get(`/api/studies/changes?cursor=${encodeURIComponent(this.cursor)}&limit=${limit}${epoch}`, this.user);
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as StudyChanges;
    for (const change of body.changes) {
      if (isRow(change)) this.rows.set(change.id, change);
      else this.rows.delete(change.id);
    }
    this.cursor = body.cursor;
    this.epoch = body.epoch;
    return body;
  }
  async sync(limit = 500): Promise<this> {
    for (let pages = 0; pages < 100; pages += 1) if (!(await this.page(limit)).hasMore) return this;
    throw new Error('the feed did not end');
  }
  reasons(id: string) {
    return this.rows.get(id)?.scope;
  }
}
const newDevice = (user: User) => new Device(user).sync();

/** A patient registered under exactly this id, so seedStudy({ existingPatient: true }) files studies under it. */
async function patient(prefix: string): Promise<string> {
  const patientId = `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await t.app.db.models.Patient.create({ patientId, name: 'Prior^Patient' });
  return patientId;
}

const assign = (studyId: string, assigneeId: string | null) =>
  t.app.inject({ method: 'PATCH', url: `/api/studies/${studyId}`, headers: bearer(admin.token), payload: { assigneeId } });

describe('what a device holds, and why', () => {
  it('assigned: open studies assigned to the user, not their final ones', async () => {
    const me = await userOf('attending');
    const open = await seedStudy(t.app, { assigneeId: me.id, status: 'in_progress', receivedAt: LONG_AGO });
    const final = await seedStudy(t.app, { assigneeId: me.id, status: 'final', receivedAt: LONG_AGO });
    const device = await newDevice(me);
    expect(device.reasons(open.id)).toEqual(['assigned']);
    expect(device.rows.has(final.id)).toBe(false);
  });

  it('window: unread arrivals of the last 48 h in the user’s modalities (null: all), not older or other modalities', async () => {
    const xa = await userOf('attending', ['XA']);
    const fresh = await seedStudy(t.app, { modalities: ['XA'], receivedAt: daysAgo(1) });
    const old = await seedStudy(t.app, { modalities: ['XA'], receivedAt: daysAgo(3) });
    const otherModality = await seedStudy(t.app, { modalities: ['MG'], receivedAt: daysAgo(1) });
    const read = await seedStudy(t.app, { modalities: ['XA'], status: 'final', receivedAt: daysAgo(1) });
    const device = await newDevice(xa);
    expect(device.reasons(fresh.id)).toEqual(['window']);
    for (const id of [old.id, otherModality.id, read.id]) expect(device.rows.has(id)).toBe(false);

    const all = await newDevice(await userOf('resident', null));
    expect(all.reasons(fresh.id)).toEqual(['window']);
    expect(all.reasons(otherModality.id)).toEqual(['window']);
    // Admins have no window; technologists see today's arrivals, scheduled ones too.
    expect((await newDevice(await userOf('admin', null))).rows.has(fresh.id)).toBe(false);
    const scheduled = await seedStudy(t.app, { modalities: ['XA'], status: 'scheduled', receivedAt: daysAgo(0.5) });
    expect((await newDevice(await userOf('technologist', ['XA']))).reasons(scheduled.id)).toEqual(['window']);
  });

  it('recent: studies whose details the user opened in the last 7 days, written once per few minutes', async () => {
    const me = await userOf('resident');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);
    expect((await get(`/api/studies/${study.id}`, me)).statusCode).toBe(200);
    const { StudyOpen } = t.app.db.models;
    const first = await StudyOpen.findOne({ where: { userId: me.id, studyRef: study.id }, raw: true });
    expect((await get(`/api/studies/${study.id}`, me)).statusCode).toBe(200);
    expect(await StudyOpen.findAll({ where: { userId: me.id, studyRef: study.id }, raw: true })).toEqual([first]);
    const device = await newDevice(me);
    expect(device.reasons(study.id)).toEqual(['recent']);
    expect(new Date(device.rows.get(study.id)!.openedAt!).getTime()).toBe(new Date(first!.openedAt).getTime());

    // An opening eight days ago no longer counts.
    await StudyOpen.update({ openedAt: daysAgo(8) }, { where: { userId: me.id, studyRef: study.id } });
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);
  });

  it('recent: reading a study’s report is opening it', async () => {
    const me = await userOf('resident');
    const author = await t.userWithToken('attending');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO, status: 'final' });
    await t.app.db.models.Report.create({ studyRef: study.id, primarySlot: study.id, authorId: author.id });
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);
    expect((await get(`/api/studies/${study.id}/report`, me)).statusCode).toBe(200);
    expect((await newDevice(me)).reasons(study.id)).toEqual(['recent']);
  });

  it('a device downloading a report to hold it is not opening it; the audit row says device-copy; other purposes are refused', async () => {
    const me = await userOf('resident');
    const author = await t.userWithToken('attending');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO, status: 'final' });
    await t.app.db.models.Report.create({ studyRef: study.id, primarySlot: study.id, authorId: author.id });
    const copied = await get(`/api/studies/${study.id}/report?purpose=device-copy`, me);
    expect(copied.statusCode).toBe(200);
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);
    const audit = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(copied.headers['x-request-id']) }, raw: true });
    expect(audit).toMatchObject({ action: 'R', objectType: 'Report', userId: me.id });
    expect(JSON.parse(String(audit?.details))).toMatchObject({ purpose: 'device-copy' });
    for (const query of ['purpose=open', 'purpose=DEVICE-COPY', 'purpose=device-copy%00', 'purpose=device-copy&x=1']) {
      const refused = await get(`/api/studies/${study.id}/report?${query}`, me);
      expect(refused.statusCode, query).toBe(400);
    }
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);
  });

  it('recent: starting a study’s report is opening it (its status may leave the window meanwhile)', async () => {
    const me = await userOf('attending');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    const started = await t.app.inject({ method: 'POST', url: `/api/studies/${study.id}/report`, headers: bearer(me.token), payload: {} });
    expect([200, 201, 503]).toContain(started.statusCode);
    expect((await newDevice(me)).reasons(study.id)).toEqual(['recent']);
  });

  it('device-row: the device that opened a study found by a search stores it at once, with its reasons; audited', async () => {
    const me = await userOf('resident');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    const before = await get(`/api/studies/${study.id}/device-row`, me);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({ id: study.id, deleted: true });
    expect((await get(`/api/studies/${study.id}`, me)).statusCode).toBe(200);
    const after = await get(`/api/studies/${study.id}/device-row`, me);
    expect(after.json()).toMatchObject({ id: study.id, scope: ['recent'], patientName: study.patientName });
    const audit = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(after.headers['x-request-id']) }, raw: true });
    expect(audit).toMatchObject({ eventId: 'PatientRecord', action: 'R', objectId: study.id });
  });

  it('followed: PUT answers the row to store, DELETE a tombstone (or the row while another reason holds it)', async () => {
    const me = await userOf('attending');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    const follow = await t.app.inject({ method: 'PUT', url: `/api/studies/${study.id}/follow`, headers: bearer(me.token) });
    expect(follow.statusCode).toBe(200);
    expect(follow.json()).toMatchObject({ id: study.id, scope: ['followed'], patientName: study.patientName });
    const again = await t.app.inject({ method: 'PUT', url: `/api/studies/${study.id}/follow`, headers: bearer(me.token) });
    expect(again.json().scope).toEqual(['followed']);
    expect(await t.app.db.models.StudyFollow.count({ where: { userId: me.id } })).toBe(1);
    expect((await newDevice(me)).reasons(study.id)).toEqual(['followed']);

    const unfollow = await t.app.inject({ method: 'DELETE', url: `/api/studies/${study.id}/follow`, headers: bearer(me.token) });
    expect(unfollow.json()).toEqual({ id: study.id, deleted: true });
    expect((await newDevice(me)).rows.has(study.id)).toBe(false);

    const mine = await seedStudy(t.app, { assigneeId: me.id, receivedAt: LONG_AGO });
    await t.app.inject({ method: 'PUT', url: `/api/studies/${mine.id}/follow`, headers: bearer(me.token) });
    const kept = await t.app.inject({ method: 'DELETE', url: `/api/studies/${mine.id}/follow`, headers: bearer(me.token) });
    expect(kept.json()).toMatchObject({ id: mine.id, scope: ['assigned'] });

    const missing = await t.app.inject({
      method: 'PUT',
      url: '/api/studies/00000000-0000-4000-8000-000000000000/follow',
      headers: bearer(me.token),
    });
    expect(missing.statusCode).toBe(404);
    const audit = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(follow.headers['x-request-id']) }, raw: true });
    expect(audit).toMatchObject({ eventId: 'PatientRecord', action: 'R', objectId: study.id });
  });

  it('refuses more follows than a device holds for them', async () => {
    const me = await userOf('attending');
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    const { MAX_FOLLOWS } = await import('../src/worklist/device-feed-routes');
    const { randomUUID } = await import('node:crypto');
    await t.app.db.models.StudyFollow.bulkCreate(Array.from({ length: MAX_FOLLOWS }, () => ({ userId: me.id, studyRef: randomUUID() })));
    const response = await t.app.inject({ method: 'PUT', url: `/api/studies/${study.id}/follow`, headers: bearer(me.token) });
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('FOLLOW_LIMIT');
    expect(await t.app.db.models.StudyFollow.count({ where: { userId: me.id, studyRef: study.id } })).toBe(0);
  });

  it('prior: up to five earlier studies of the same patient come with a study held for itself', async () => {
    const me = await userOf('attending');
    const patientId = await patient('PRIOR');
    const earlier = [];
    for (let i = 7; i >= 1; i -= 1)
      earlier.push(await seedStudy(t.app, { patientId, existingPatient: true, receivedAt: daysAgo(100 * i) }));
    const anchor = await seedStudy(t.app, { patientId, existingPatient: true, assigneeId: me.id, receivedAt: daysAgo(10) });
    const later = await seedStudy(t.app, { patientId, existingPatient: true, status: 'final', receivedAt: daysAgo(5) });
    const device = await newDevice(me);
    const newestFive = earlier.slice(2).map((s) => s.id);
    expect([...device.rows.keys()].sort()).toEqual([anchor.id, ...newestFive].sort());
    for (const id of newestFive) expect(device.rows.get(id)).toMatchObject({ scope: ['prior'], priorOf: [anchor.id] });
    expect(device.rows.has(later.id)).toBe(false);
    // Technologists and admins hold no priors.
    expect((await newDevice(await userOf('technologist'))).rows.size).toBe(0);
  });
});

describe('changes after the snapshot', () => {
  it('a reassignment away gives the old assignee a tombstone and the new one the row with its priors', async () => {
    const first = await userOf('attending');
    const second = await userOf('attending');
    const patientId = await patient('REASSIGN');
    const prior = await seedStudy(t.app, { patientId, existingPatient: true, status: 'final', receivedAt: daysAgo(400) });
    const study = await seedStudy(t.app, { patientId, existingPatient: true, assigneeId: first.id, receivedAt: daysAgo(30) });
    const a = await newDevice(first);
    const b = await newDevice(second);
    expect(a.reasons(study.id)).toEqual(['assigned']);
    expect(a.reasons(prior.id)).toEqual(['prior']);
    expect(b.rows.size).toBe(0);

    expect((await assign(study.id, second.id)).statusCode).toBe(200);
    const toFirst = await a.page();
    expect(toFirst.changes).toEqual([{ id: study.id, deleted: true }]);
    const toSecond = await b.page();
    expect(toSecond.changes.map((c) => c.id)).toEqual([study.id, prior.id]);
    expect(b.rows.get(prior.id)).toMatchObject({ scope: ['prior'], priorOf: [study.id] });
    // The prior stays on the first device until its client prunes it (its anchor is gone).
    expect(a.rows.has(prior.id)).toBe(true);
  });

  it('pages a snapshot while studies change and arrive: nothing is lost, the device ends as a new one would', async () => {
    const me = await userOf('resident', ['NM']);
    const seeded = [];
    for (let i = 0; i < 10; i += 1) seeded.push(await seedStudy(t.app, { modalities: ['NM'], receivedAt: daysAgo(0.5) }));
    const device = new Device(me);
    const first = await device.page(3);
    expect(first.hasMore).toBe(true);
    expect(first.cursor).toMatch(/^s:\d+:/);
    expect(first.changes).toHaveLength(3);

    // Meanwhile: arrivals, one unsent study read by someone else, one sent study assigned away.
    const sent = new Set(first.changes.map((c) => c.id));
    const unsent = seeded.find((s) => !sent.has(s.id))!;
    const gone = seeded.find((s) => sent.has(s.id))!;
    const other = await userOf('attending');
    await assign(unsent.id, other.id);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${unsent.id}`,
      headers: bearer(other.token),
      payload: { status: 'in_progress' },
    });
    await t.app.inject({ method: 'PATCH', url: `/api/studies/${gone.id}`, headers: bearer(admin.token), payload: { priority: 'stat' } });
    await seedStudy(t.app, { modalities: ['NM'], receivedAt: daysAgo(0.1) });
    await seedStudy(t.app, { modalities: ['NM'], receivedAt: daysAgo(0.1) });

    await device.sync(3);
    const fresh = await newDevice(me);
    expect([...device.rows.keys()].sort()).toEqual([...fresh.rows.keys()].sort());
    expect(device.rows.has(unsent.id)).toBe(false);
    expect(device.rows.get(gone.id)?.priority).toBe('stat');
    expect(device.rows.size).toBe(11);
  });

  it('sends nothing of another user: their rows are tombstones, their snapshot cursor is refused', async () => {
    const alice = await userOf('attending');
    const bob = await userOf('attending');
    const bobs = await seedStudy(t.app, { assigneeId: bob.id, patientName: 'Secret^Bob', receivedAt: LONG_AGO });
    await t.app.inject({ method: 'PUT', url: `/api/studies/${bobs.id}/follow`, headers: bearer(bob.token) });
    const device = await newDevice(alice);
    expect(device.rows.has(bobs.id)).toBe(false);
    await assign(bobs.id, null);
    await assign(bobs.id, bob.id);
    const later = await get(`/api/studies/changes?cursor=${device.cursor}`, alice);
    expect(later.body).not.toContain('Secret^Bob');
    expect(later.json().changes).toContainEqual({ id: bobs.id, deleted: true });

    const bobDevice = new Device(bob);
    await seedStudy(t.app, { assigneeId: bob.id, receivedAt: LONG_AGO });
    const bobPage = await bobDevice.page(1);
    expect(bobPage.hasMore).toBe(true);
    const stolen = await get(`/api/studies/changes?cursor=${encodeURIComponent(bobPage.cursor)}`, alice);
    expect(stolen.statusCode).toBe(400);
    expect(stolen.json()).toMatchObject({ code: 'BAD_CURSOR', message: "the snapshot cursor is another user's" });
  });
});

describe('restricted patients', () => {
  it('masks restricted rows as the worklist does, and sends no priors of a row the user sees masked', async () => {
    const me = await userOf('attending', ['DX']);
    const patientId = await patient('RESTRICTED');
    const prior = await seedStudy(t.app, {
      patientId,
      existingPatient: true,
      patientName: 'Hidden^Hanna',
      modalities: ['DX'],
      status: 'final',
      receivedAt: daysAgo(300),
    });
    const study = await seedStudy(t.app, {
      patientId,
      existingPatient: true,
      patientName: 'Hidden^Hanna',
      modalities: ['DX'],
      receivedAt: daysAgo(1),
    });
    const restrict = await t.app.inject({
      method: 'PUT',
      url: `/api/studies/${study.id}/restriction`,
      headers: bearer(admin.token),
      payload: { restricted: true },
    });
    expect(restrict.statusCode).toBe(200);
    const response = await get('/api/studies/changes', me);
    expect(response.body).not.toContain('Hidden^Hanna');
    const device = await newDevice(me);
    expect(device.rows.get(study.id)).toMatchObject({ scope: ['window'], access: 'masked', patientName: '', patientId: '' });
    // The prior is not restricted, but it would name the masked study's patient.
    expect(device.rows.has(prior.id)).toBe(false);

    // Assigned to them, it opens, and its prior comes too.
    await assign(study.id, me.id);
    await device.sync();
    expect(device.rows.get(study.id)).toMatchObject({ access: 'open', patientName: 'Hidden^Hanna', scope: ['assigned', 'window'] });
    expect(device.rows.get(prior.id)).toMatchObject({ scope: ['prior'], priorOf: [study.id] });
  });

  it('audits the feed as a worklist query, as before', async () => {
    const me = await userOf('attending');
    const response = await get('/api/studies/changes?cursor=0', me);
    const audit = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(audit).toMatchObject({ eventId: 'Query', action: 'R', objectType: 'Worklist', outcome: 0 });
    expect(JSON.parse(audit!.details!)).toMatchObject({ feed: 'changes', after: '0' });
  });
});

describe('restores: epoch and cursor ahead', () => {
  it('answers 409 FEED_RESET with the new epoch when the epoch changed or the cursor is ahead; cursor 0 starts again', async () => {
    const me = await userOf('attending');
    const device = await newDevice(me);
    const before = device.epoch!;
    expect(before).toMatch(/^[0-9a-f-]{36}$/);
    expect((await get(`/api/studies/changes?cursor=${device.cursor}&epoch=${before}`, me)).statusCode).toBe(200);

    const ahead = await get(`/api/studies/changes?cursor=${Number(device.cursor) + 1000}&epoch=${before}`, me);
    expect(ahead.statusCode).toBe(409);
    expect(ahead.json()).toMatchObject({ code: 'FEED_RESET', epoch: before });

    const renewed = await renewDatabaseEpoch(t.app.db.models);
    expect(renewed).not.toBe(before);
    const stale = await get(`/api/studies/changes?cursor=${device.cursor}&epoch=${before}`, me);
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'FEED_RESET', epoch: renewed });
    const restart = await get(`/api/studies/changes?cursor=0&epoch=${renewed}`, me);
    expect(restart.statusCode).toBe(200);
    expect(restart.json().epoch).toBe(renewed);
  });
});

describe('hostile feed requests', () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  it.each([
    ['negative cursor', 'cursor=-1'],
    ['fractional cursor', 'cursor=1.5'],
    ['letters', 'cursor=abc'],
    ['exponent', 'cursor=1e3'],
    ['twenty digits', `cursor=${'9'.repeat(20)}`],
    ['beyond exact integers', 'cursor=9007199254740993'],
    ['oversize', `cursor=${'1'.repeat(500)}`],
    ['NUL', 'cursor=1%00'],
    ['empty', 'cursor='],
    ['snapshot without an id', `cursor=s:1:${uuid}:`],
    ['snapshot with junk after it', `cursor=s:1:${uuid}:${uuid}:x`],
    ['snapshot with a negative sequence', `cursor=s:-1:${uuid}:${uuid}`],
    ['twice', 'cursor=1&cursor=2'],
    ['epoch not a uuid', 'epoch=restored'],
    ['epoch oversize', `epoch=${'a'.repeat(300)}`],
    ['epoch NUL', `epoch=${uuid.slice(0, 35)}%00`],
    ['epoch empty', 'epoch='],
    ['unknown field', 'since=1'],
    ['limit zero', 'limit=0'],
    ['limit too large', 'limit=100000'],
    ['limit not a number', 'limit=all'],
  ])('%s → 400 with a reason', async (_name, query) => {
    const me = await userOf('attending');
    const response = await get(`/api/studies/changes?${query}`, me);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toEqual(expect.any(String));
    expect(response.json().message.length).toBeGreaterThan(0);
  });

  it.each([
    ['not a uuid', 'abc'],
    ['traversal', '..%2F..%2Fusers'],
    ['NUL', `${uuid.slice(0, 35)}%00`],
    ['oversize', 'a'.repeat(500)],
  ])('device-row and follow with an id that is %s → refused with a reason (400; 414 for a path too long)', async (_name, id) => {
    const me = await userOf('attending');
    for (const response of [
      await get(`/api/studies/${id}/device-row`, me),
      await t.app.inject({ method: 'PUT', url: `/api/studies/${id}/follow`, headers: bearer(me.token) }),
    ]) {
      expect([400, 414]).toContain(response.statusCode);
      expect(response.json().message.length).toBeGreaterThan(0);
    }
  });

  it('device-row of a study that does not exist → 404', async () => {
    const me = await userOf('attending');
    expect((await get(`/api/studies/${uuid}/device-row`, me)).statusCode).toBe(404);
  });

  it('refuses the feed and follows to referrers (no worklist)', async () => {
    const referrer = await t.userWithToken('referrer', { providerId: 'REF-1' });
    expect((await get('/api/studies/changes', referrer)).statusCode).toBe(403);
    const study = await seedStudy(t.app, { receivedAt: LONG_AGO });
    expect((await get(`/api/studies/${study.id}/device-row`, referrer)).statusCode).toBe(403);
    expect(
      (await t.app.inject({ method: 'PUT', url: `/api/studies/${study.id}/follow`, headers: bearer(referrer.token) })).statusCode,
    ).toBe(403);
  });
});

describe('the users API: window modalities', () => {
  it.each([
    ['lower case', ['ct']],
    ['too long', ['CTMRX']],
    ['a number', [42]],
    ['a string', 'CT'],
    ['NUL', ['C\u0000']],
    ['repeated', ['CT', 'CT']],
    [
      'too many',
      Array.from({ length: 21 }, (_, i) => `M${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + Math.floor(i / 26))}`),
    ],
  ])('%s → 400, nothing changed', async (_name, modalities) => {
    const user = await userOf('attending', ['CT']);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/users/${user.id}`,
      headers: bearer(admin.token),
      payload: { modalities },
    });
    expect(response.statusCode).toBe(400);
    expect((await t.app.db.models.User.findByPk(user.id, { raw: true }))!.modalities).toBe('|CT|');
  });

  it('only admins change them; null means all; the user sees theirs', async () => {
    const user = await userOf('attending', ['CT', 'MR']);
    expect((await get('/api/auth/me', user)).json().modalities).toEqual(['CT', 'MR']);
    const self = await t.app.inject({
      method: 'PATCH',
      url: `/api/users/${user.id}`,
      headers: bearer(user.token),
      payload: { modalities: null },
    });
    expect(self.statusCode).toBe(403);
    const reset = await t.app.inject({
      method: 'PATCH',
      url: `/api/users/${user.id}`,
      headers: bearer(admin.token),
      payload: { modalities: null },
    });
    expect(reset.json().modalities).toBeNull();
  });
});
