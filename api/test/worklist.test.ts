import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let resident: { id: string; token: string };
let attending: { id: string; token: string };
let technologist: { id: string; token: string };
const hour = (h: number) => new Date(Date.UTC(2026, 5, 1, h));
let ids: { old: string; stat: string; urgent: string; mine: string; newest: string };

beforeAll(async () => {
  t = await createTestApp();
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  technologist = await t.userWithToken('technologist');
  const old = await seedStudy(t.app, {
    patientName: 'Müller^Zoë',
    modalities: ['MR'],
    receivedAt: hour(1),
    studyDate: '20260110',
    description: 'MR KNEE',
  });
  const stat = await seedStudy(t.app, {
    patientName: 'García^José',
    priority: 'stat',
    receivedAt: hour(5),
    modalities: ['CT'],
    studyDate: '20260201',
  });
  const urgent = await seedStudy(t.app, {
    patientName: 'Smith^Ann',
    priority: 'urgent',
    receivedAt: hour(3),
    modalities: ['PT', 'CT'],
    studyDate: '20260115',
  });
  const mine = await seedStudy(t.app, {
    patientName: 'Brown^Bob',
    assigneeId: resident.id,
    status: 'in_progress',
    receivedAt: hour(2),
    modalities: ['CR'],
    studyDate: null,
  });
  const newest = await seedStudy(t.app, {
    patientName: 'Lee^Kim',
    receivedAt: hour(6),
    modalities: ['US'],
    accessionNumber: 'A-778899',
    studyDate: '20251231',
  });
  ids = { old: old.id, stat: stat.id, urgent: urgent.id, mine: mine.id, newest: newest.id };
});
afterAll(async () => t?.close());

const list = async (qs: string, token = resident.token) => {
  const response = await t.app.inject({ url: `/api/studies?${qs}`, headers: bearer(token) });
  return {
    response,
    body: response.json() as { items: { id: string; patientName: string }[]; nextCursor: string | null; total: number | null },
  };
};
const idsOf = (items: { id: string }[]) => items.map((i) => i.id);

describe('worklist list', () => {
  it('orders STAT first, then urgent, then oldest first', async () => {
    const { body } = await list('');
    expect(idsOf(body.items)).toEqual([ids.stat, ids.urgent, ids.old, ids.mine, ids.newest]);
    expect(body.total).toBe(5);
  });

  it('filters by status, priority, modality (exactly), assignee and date', async () => {
    expect(idsOf((await list('status=in_progress')).body.items)).toEqual([ids.mine]);
    expect(idsOf((await list('priority=stat&priority=urgent')).body.items)).toEqual([ids.stat, ids.urgent]);
    expect(idsOf((await list('modality=CT')).body.items)).toEqual([ids.stat, ids.urgent]);
    expect(idsOf((await list('modality=PT')).body.items)).toEqual([ids.urgent]);
    expect(idsOf((await list('assignee=me')).body.items)).toEqual([ids.mine]);
    expect(idsOf((await list('assignee=me', attending.token)).body.items)).toEqual([]);
    expect((await list('assignee=unassigned')).body.total).toBe(4);
    expect(idsOf((await list('dateFrom=2026-01-10&dateTo=2026-01-31')).body.items)).toEqual([ids.urgent, ids.old]);
  });

  it('searches names without accents or case, ids, accession and description', async () => {
    expect(idsOf((await list('q=muller')).body.items)).toEqual([ids.old]);
    expect(idsOf((await list('q=ZOË')).body.items)).toEqual([ids.old]);
    expect(idsOf((await list('q=jose garcia')).body.items)).toEqual([ids.stat]);
    expect(idsOf((await list('q=778899')).body.items)).toEqual([ids.newest]);
    expect(idsOf((await list('q=knee')).body.items)).toEqual([ids.old]);
    expect((await list('q=%25')).body.total).toBe(5);
  });

  it('pages by keyset without gaps or repeats, in every sort, even when rows arrive between pages', async () => {
    for (const sort of ['priority', 'received_desc', 'received_asc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { body } = await list(`sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...idsOf(body.items));
        cursor = body.nextCursor;
        pages += 1;
        if (pages === 1 && sort === 'priority') await seedStudy(t.app, { priority: 'routine', receivedAt: hour(23) });
      } while (cursor);
      expect(new Set(seen).size, sort).toBe(seen.length);
      expect(seen.length, sort).toBeGreaterThanOrEqual(5);
    }
  });

  it('rejects bad filters and cursors with 400', async () => {
    for (const qs of [
      'status=bogus',
      'priority=high',
      'modality=ct',
      'dateFrom=2026-13-45',
      'cursor=nope!',
      'cursor=WzEsMl0',
      'sort=name',
      'limit=0',
      'assignee=someone',
      'color=red',
    ]) {
      expect((await list(qs)).response.statusCode, qs).toBe(400);
    }
  });

  it('audits each list as a query with its filters', async () => {
    const { response } = await list('status=unread&q=smith');
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({ eventId: 'Query', action: 'R', outcome: 0, userId: resident.id });
    expect(JSON.parse(row!.details!).filters).toMatchObject({ status: ['unread'], q: 'smith' });
  });
});

describe('one study', () => {
  it('returns the study with its series and an ETag, and audits the read with patient and study', async () => {
    const response = await t.app.inject({ url: `/api/studies/${ids.urgent}`, headers: bearer(attending.token) });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.study).toMatchObject({
      id: ids.urgent,
      patientName: 'Smith^Ann',
      modalities: ['CT', 'PT'],
      priority: 'urgent',
      numberOfSeries: 2,
    });
    expect(body.series.map((s: { modality: string }) => s.modality)).toEqual(['PT', 'CT']);
    expect(response.headers.etag).toBe(`"${body.study.version}"`);
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({
      eventId: 'PatientRecord',
      action: 'R',
      studyUid: body.study.studyInstanceUid,
      patientId: body.study.patientId,
    });
  });

  it('answers 404 for an unknown study and 400 for a malformed id', async () => {
    expect(
      (await t.app.inject({ url: '/api/studies/5b3a2c1d-0000-4000-8000-000000000000', headers: bearer(resident.token) })).statusCode,
    ).toBe(404);
    expect((await t.app.inject({ url: '/api/studies/123', headers: bearer(resident.token) })).statusCode).toBe(400);
  });
});

describe('changing a study', () => {
  const patch = (id: string, token: string, payload: object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'PATCH', url: `/api/studies/${id}`, headers: { ...bearer(token), ...headers }, payload });

  it('assigns to me and bumps the version; a stale version gets 409 with the current row', async () => {
    const study = (await t.app.inject({ url: `/api/studies/${ids.newest}`, headers: bearer(resident.token) })).json().study;
    const assigned = await patch(ids.newest, resident.token, { assigneeId: resident.id, version: study.version });
    expect(assigned.statusCode).toBe(200);
    expect(assigned.json()).toMatchObject({ assignee: { id: resident.id }, version: study.version + 1 });

    const stale = await patch(ids.newest, attending.token, { assigneeId: attending.id, version: study.version });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'STALE_VERSION', current: { assignee: { id: resident.id }, version: study.version + 1 } });
    const viaIfMatch = await patch(ids.newest, attending.token, { priority: 'urgent' }, { 'if-match': `"${study.version}"` });
    expect(viaIfMatch.statusCode).toBe(409);
  });

  it('gives exactly one winner when two users change the same version at once', async () => {
    const { version } = (await t.app.inject({ url: `/api/studies/${ids.old}`, headers: bearer(resident.token) })).json().study;
    const [a, b] = await Promise.all([
      patch(ids.old, resident.token, { assigneeId: resident.id, version }),
      patch(ids.old, attending.token, { assigneeId: attending.id, version }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
  });

  it('takes field permissions from the matrix', async () => {
    expect((await patch(ids.urgent, technologist.token, { assigneeId: technologist.id })).statusCode).toBe(403);
    expect((await patch(ids.urgent, resident.token, { priority: 'stat' })).statusCode).toBe(403);
    const raised = await patch(ids.urgent, technologist.token, { priority: 'stat' });
    expect(raised.statusCode).toBe(200);
    expect(raised.json().priority).toBe('stat');
  });

  it('moves status only along the state machine', async () => {
    const started = await patch(ids.stat, attending.token, { status: 'in_progress' });
    expect(started.statusCode).toBe(200);
    const toFinal = await patch(ids.stat, attending.token, { status: 'final' });
    expect(toFinal.statusCode).toBe(403);
    expect(toFinal.json().code).toBe('TRANSITION_FORBIDDEN');
    expect((await patch(ids.stat, technologist.token, { status: 'unread' })).statusCode).toBe(200);
  });

  it('refuses an assignee who cannot report, and unknown fields', async () => {
    expect((await patch(ids.urgent, attending.token, { assigneeId: technologist.id })).json().code).toBe('BAD_ASSIGNEE');
    expect((await patch(ids.urgent, attending.token, { reportText: 'x' })).statusCode).toBe(400);
    expect((await patch(ids.urgent, attending.token, {})).statusCode).toBe(400);
  });

  it('audits each change inside its transaction, with from and to', async () => {
    const response = await patch(ids.mine, attending.token, { assigneeId: null });
    expect(response.statusCode).toBe(200);
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({ eventId: 'PatientRecord', action: 'U', outcome: 0, objectId: ids.mine });
    expect(JSON.parse(row!.details!).changes).toEqual({ assigneeId: { from: resident.id, to: null } });
  });
});

describe('delta feed (what a device holds: the scope itself is tested in worklist-device-scope.test.ts)', () => {
  const feed = async (qs: string) => (await t.app.inject({ url: `/api/studies/changes${qs}`, headers: bearer(resident.token) })).json();

  it("sends the changes after a cursor in commit order: the user's rows, tombstones for other and deleted studies", async () => {
    // The seeded rows arrived months ago: a new device of the resident holds the two they opened
    // (and the tests above assigned to them), not the others.
    const snapshot = await feed('');
    const held = snapshot.changes as { id: string; scope: string[] }[];
    expect(held.map((c) => c.id).sort()).toEqual([ids.newest, ids.old].sort());
    for (const row of held) expect(row.scope).toContain('recent');
    const cursor = snapshot.cursor;
    expect(cursor).toMatch(/^\d+$/);
    expect((await feed(`?cursor=${cursor}`)).changes).toEqual([]);

    const { priority } = (await t.app.inject({ url: `/api/studies/${ids.urgent}`, headers: bearer(attending.token) })).json().study;
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${ids.urgent}`,
      headers: bearer(attending.token),
      payload: { priority: priority === 'stat' ? 'urgent' : 'stat' },
    });
    expect(patched.statusCode).toBe(200);
    const created = await seedStudy(t.app, { patientName: 'New^Arrival' });
    const next = await feed(`?cursor=${cursor}`);
    expect(next.changes).toEqual([{ id: ids.urgent, deleted: true }, expect.objectContaining({ id: created.id, scope: ['window'] })]);

    const { models, sequelize } = t.app.db;
    await sequelize.transaction(async (transaction) => {
      const study = await models.Study.findByPk(created.id, { transaction });
      const { nextChangeSeq } = await import('../src/worklist/change-feed');
      await study!.update({ changeSeq: await nextChangeSeq(models, transaction) }, { transaction });
      await study!.destroy({ transaction });
    });
    const after = await feed(`?cursor=${next.cursor}`);
    expect(after.changes).toEqual([{ id: created.id, deleted: true }]);
    expect(idsOf((await list('q=arrival')).body.items)).toEqual([]);
  });

  it('pages with hasMore and rejects a malformed cursor', async () => {
    await seedStudy(t.app, { patientName: 'Page^One' });
    await seedStudy(t.app, { patientName: 'Page^Two' });
    const first = await feed('?limit=1');
    expect(first.changes).toHaveLength(1);
    expect(first.hasMore).toBe(true);
    const second = await feed(`?limit=1&cursor=${encodeURIComponent(first.cursor)}`);
    expect(second.changes).toHaveLength(1);
    expect(second.changes[0].id).not.toBe(first.changes[0].id);
    expect((await t.app.inject({ url: '/api/studies/changes?cursor=abc', headers: bearer(resident.token) })).statusCode).toBe(400);
  });
});
