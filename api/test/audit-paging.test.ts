/**
 * The audit trail's pages: filters at their edges, keyset paging at page boundaries, the page's
 * shape against the published schema, and the index each filter's statement reads through.
 */
import { AuditPage } from '@pacs/shared';
import { QueryTypes } from 'sequelize';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrailPages, auditPageStatement } from '../src/audit/trail-page';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: { id: string; token: string };
const DAY = Date.UTC(2025, 5, 1);
const HOUR = 3_600_000;

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
  // A background the planner can tell rare values from common ones by (PostgreSQL keeps statistics).
  const background = Array.from({ length: 3000 }, (_, i) => ({
    eventId: 'PatientRecord' as const,
    action: 'R' as const,
    outcome: 0 as const,
    eventDateTime: new Date(DAY - (i + 1) * 60_000),
    userId: null,
    userRole: 'attending',
    networkAddress: '10.0.0.1',
    objectType: 'Study',
    objectId: null,
    patientId: `BG-${i % 300}`,
    studyUid: `1.2.9.${i}`,
    requestId: null,
    details: JSON.stringify({ method: 'GET', route: '/api/studies/:id', status: 200 }),
  }));
  await t.app.db.models.AuditLog.bulkCreate(background);
  // Ten rows an hour apart from DAY: the edges of the filters below fall on them exactly.
  for (let i = 0; i < 10; i++) {
    await t.app.audit.record({
      eventId: i === 9 ? 'Export' : 'DICOMInstancesAccessed',
      action: i === 8 ? 'D' : 'R',
      outcome: i === 7 ? 8 : 0,
      userId: admin.id,
      userRole: 'admin',
      patientId: i % 2 ? "PAT-O'Brien" : 'PAT-EDGE',
      studyUid: `1.2.3.${i}`,
      objectType: 'Instance',
      details: { index: i, note: 'quote " and backslash \\' },
      at: new Date(DAY + i * HOUR),
    });
  }
  if (t.database.dialect === 'postgres') await t.app.db.sequelize.query('ANALYZE audit_logs');
});
afterAll(async () => t?.close());

type Page = { items: { id: string; studyUid: string | null; details: Record<string, unknown> | null }[]; nextCursor: string | null };
const query = async (qs: string): Promise<Page> => {
  const response = await t.app.inject({ url: `/api/audit?${qs}`, headers: bearer(admin.token) });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  return response.json();
};
const studies = (page: Page) => page.items.map((item) => item.studyUid);

/** Every page of a query, following its cursors. */
async function allPages(qs: string): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const page = await query(`${qs}${cursor ? `&cursor=${cursor}` : ''}`);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 20);
  return pages;
}

describe('audit trail pages', () => {
  it('includes a row at exactly `from` and leaves out one at exactly `to`', async () => {
    const page = await query(
      `from=${new Date(DAY + 2 * HOUR).toISOString()}&to=${new Date(DAY + 5 * HOUR).toISOString()}&objectType=Instance`,
    );
    expect(studies(page)).toEqual(['1.2.3.4', '1.2.3.3', '1.2.3.2']);
  });

  it('pages a filter whose rows fill the last page exactly, with no empty page after it', async () => {
    // Reading a patient's trail writes a row with that patient too: objectType keeps those out.
    const pages = await allPages('patientId=PAT-EDGE&objectType=Instance&limit=5');
    expect(pages).toHaveLength(1);
    expect(studies(pages[0]!)).toEqual(['1.2.3.8', '1.2.3.6', '1.2.3.4', '1.2.3.2', '1.2.3.0']);
    expect(pages[0]!.nextCursor).toBeNull();

    const byTwo = await allPages('patientId=PAT-EDGE&objectType=Instance&limit=2');
    expect(byTwo.map(studies)).toEqual([['1.2.3.8', '1.2.3.6'], ['1.2.3.4', '1.2.3.2'], ['1.2.3.0']]);
  });

  it('pages newest first across page edges without gaps or repeats, filters kept on every page', async () => {
    const pages = await allPages('objectType=Instance&limit=3');
    expect(pages.map((page) => page.items.length)).toEqual([3, 3, 3, 1]);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const ids = pages.flatMap((page) => page.items.map((item) => BigInt(item.id)));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(pages.flatMap(studies)).toEqual(Array.from({ length: 10 }, (_, i) => `1.2.3.${9 - i}`));
  });

  it('matches values with quotes exactly, and the rare values each filter exists for', async () => {
    expect(studies(await query(`patientId=${encodeURIComponent("PAT-O'Brien")}&limit=2`))).toEqual(['1.2.3.9', '1.2.3.7']);
    expect(studies(await query('outcome=8'))).toEqual(['1.2.3.7']);
    expect(studies(await query('action=D'))).toEqual(['1.2.3.8']);
    expect(studies(await query('eventId=Export&outcome=0'))).toEqual(['1.2.3.9']);
    expect(studies(await query(`userId=${admin.id}&studyUid=1.2.3.5`))).toEqual(['1.2.3.5']);
    expect((await query('patientId=nobody')).items).toEqual([]);
  });

  it('answers pages in the published AuditPage shape, details parsed back to objects', async () => {
    const page = await query('objectType=Instance&limit=10');
    expect(Value.Check(AuditPage, page)).toBe(true);
    expect(page.items[0]!.details).toEqual({ index: 9, note: 'quote " and backslash \\' });
    // The trail's own reads are rows too, with the filters they used: the newest is the read above.
    const reads = await query('objectType=AuditLog&limit=1');
    expect(Value.Check(AuditPage, reads)).toBe(true);
    expect(reads.items[0]!.details).toMatchObject({ route: '/api/audit', filters: { objectType: 'Instance' } });
  });

  it('answers the same pages whatever rows it keeps, also when keeping a row pushes out another of the same page', async () => {
    const filter = { objectType: 'Instance' };
    const roomy = new AuditTrailPages(t.app.db.sequelize);
    const cramped = new AuditTrailPages(t.app.db.sequelize, 2);
    for (const limit of [4, 10]) {
      const expected = await roomy.page(filter, limit);
      // Twice: cold, then with the last rows kept and the page's first rows pushed out again.
      expect(await cramped.page(filter, limit)).toBe(expected);
      expect(await cramped.page(filter, limit)).toBe(expected);
      expect(await roomy.page(filter, limit)).toBe(expected);
    }
  });

  it('fetches a row once when many pages ask for it at the same time', async () => {
    const statements: string[] = [];
    const pages = new (class extends AuditTrailPages {
      protected override select<T extends object>(sql: string): Promise<T[]> {
        statements.push(sql);
        return super.select<T>(sql);
      }
    })(t.app.db.sequelize);
    const answers = await Promise.all(Array.from({ length: 8 }, () => pages.page({ objectType: 'Instance' }, 10)));
    expect(new Set(answers).size).toBe(1);
    expect(statements.filter((sql) => sql.includes(' IN ('))).toHaveLength(1);
    expect(statements).toHaveLength(9);
  });

  it('refuses a cursor that is not an id with 400', async () => {
    for (const cursor of [
      'nonsense',
      Buffer.from('["1 OR 1=1"]').toString('base64url'),
      Buffer.from('["9999999999999999999"]').toString('base64url'),
    ]) {
      const response = await t.app.inject({ url: `/api/audit?cursor=${cursor}`, headers: bearer(admin.token) });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('BAD_CURSOR');
    }
  });
});

describe('the statements behind the pages', () => {
  async function plan(qs: string): Promise<string> {
    const params = Object.fromEntries(new URLSearchParams(qs)) as Record<string, string | number>;
    if (params.outcome !== undefined) params.outcome = Number(params.outcome);
    const sql = auditPageStatement(t.app.db.sequelize, params, 50);
    const { sequelize } = t.app.db;
    if (sequelize.getDialect() === 'sqlite') {
      const steps = await sequelize.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, { type: QueryTypes.SELECT });
      return steps.map((step) => step.detail).join('\n');
    }
    const lines = await sequelize.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, { type: QueryTypes.SELECT });
    return lines.map((line) => line['QUERY PLAN']).join('\n');
  }

  it('reads the default page in key order, without sorting', async () => {
    const steps = await plan('');
    expect(steps).not.toMatch(/TEMP B-TREE|Sort/);
    expect(steps).not.toMatch(/Seq Scan/);
  });

  it.each([
    ['userId', 'audit_logs_user'],
    ['patientId=PAT-EDGE', 'audit_logs_patient'],
    ['studyUid=1.2.3.4', 'audit_logs_study'],
    ['eventId=Export', 'audit_logs_event'],
    ['outcome=8', 'audit_logs_outcome'],
    ['action=D', 'audit_logs_action'],
    ['objectType=Instance', 'audit_logs_object_type'],
  ])('reads %s through %s', async (filter, index) => {
    const steps = await plan(filter === 'userId' ? `userId=${admin.id}` : filter);
    expect(steps).toContain(index);
    expect(steps).not.toMatch(/Seq Scan/);
    // SQLite has no statistics to weigh a sort of few rows against reading in order: its plan must
    // read the index in order. PostgreSQL may rightly sort the handful of rows a rare value has.
    if (t.database.dialect === 'sqlite') expect(steps).not.toMatch(/TEMP B-TREE/);
  });

  it('continues a keyset page from the key, not by scanning', async () => {
    const steps = await plan(`cursor=${Buffer.from('["1500"]').toString('base64url')}`);
    expect(steps).toMatch(/INTEGER PRIMARY KEY \(rowid<\?\)|Index Cond: \(id < '?1500'?(::bigint)?\)/);
  });
});
