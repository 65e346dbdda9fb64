/**
 * The worklist's free-text search through its token index (FTS5 trigrams on SQLite, pg_trgm on
 * PostgreSQL): substring matches without accents or case, short words, words the index syntax would
 * read as operators, hostile input, and the index following every insert, rename and delete; a
 * database that had studies before the index existed is indexed by the migration.
 */

import { Op, type Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate';
import { nextChangeSeq } from '../src/worklist/change-feed';
import { textSearchWhere } from '../src/worklist/text-search';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let token: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  token = (await t.userWithToken('attending')).token;
  const seeds = {
    muller: { patientName: 'Müller^Zoë', patientId: 'MRN-0042177', accessionNumber: 'ACC-9912', description: 'MR KNEE LEFT' },
    obrien: { patientName: "O'Brien^Seán", patientId: 'MRN-0042178', accessionNumber: 'ACC-9913', description: 'CT HEAD' },
    quoted: { patientName: 'Smith^Ann "Annie"', patientId: 'X1', accessionNumber: 'AB', description: 'XR HAND' },
    operators: { patientName: 'Near^Or', patientId: 'MRN-NOT-1', accessionNumber: 'ACC-AND', description: 'US ABDOMEN' },
    lee: { patientName: 'Lee^Kim', patientId: 'MRN-0077', accessionNumber: 'A-778899', description: 'CT CHEST' },
  };
  for (const [name, seed] of Object.entries(seeds)) ids[name] = (await seedStudy(t.app, seed)).id;
});
afterAll(async () => t?.close());

async function search(q: string): Promise<{ status: number; ids: string[]; total: number | null; body: unknown }> {
  const response = await t.app.inject({ url: `/api/studies?q=${encodeURIComponent(q)}&limit=200`, headers: bearer(token) });
  const body = response.json() as { items?: { id: string }[]; total?: number | null };
  return { status: response.statusCode, ids: (body.items ?? []).map((i) => i.id).sort(), total: body.total ?? null, body };
}
const of = (...names: string[]) => names.map((n) => ids[n]!).sort();

describe('worklist text search', () => {
  it.each([
    ['a whole surname', 'muller', ['muller']],
    ['accents and case in the query', 'MÜLLER', ['muller']],
    ['the inside of a word', 'ulle', ['muller']],
    ['a prefix of an MRN', 'mrn-00421', ['muller', 'obrien']],
    ['the end of an MRN', '42177', ['muller']],
    ['an accession', 'acc-9913', ['obrien']],
    ['the description', 'knee', ['muller']],
    ['two words, both required', 'ct mrn-0077', ['lee']],
    ['two words in any order', 'kim lee', ['lee']],
    ['a short word alone (below the trigram)', 'zo', ['muller']],
    ['a short word beside a long one', 'kn muller', ['muller']],
    ['an apostrophe', "o'brien", ['obrien']],
    ['a double quote', '"annie"', ['quoted']],
    ['words the index syntax would read as operators', 'near or', ['operators']],
    ['AND NOT as words', 'acc-and not', ['operators']],
    ['a term nobody has', 'zzqx', []],
  ])('%s: %s', async (_what, q, expected) => {
    const found = await search(q);
    expect(found.status).toBe(200);
    expect(found.ids).toEqual(of(...(expected as string[])));
    expect(found.total).toBe((expected as string[]).length);
  });

  it.each([
    ['an FTS5 column filter', 'searchText:muller', []],
    ['a NEAR group', 'NEAR(muller zoe)', []],
    ['a prefix star', 'mull*', []],
    ['an unbalanced quote', 'mul"ler', []],
    ['parentheses', '(muller) OR (lee)', []],
    ['a caret and a minus', '^muller -lee', []],
    ['LIKE wildcards only (dropped: no words left, no condition)', '%_%', ['muller', 'obrien', 'quoted', 'operators', 'lee']],
    ['SQL', "'); DROP TABLE studies; --", []],
    ['brackets', '[a-z]', []],
    ['an emoji', '🦴🦴🦴', []],
    ['a backslash (dropped like the LIKE wildcards)', 'mul\\ler', ['muller']],
    ['a right-to-left override', '\u202emuller', []],
  ])('hostile input answers 200 with its literal meaning, never an index syntax error: %s', async (_what, q, expected) => {
    const found = await search(q);
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    // The seeded texts contain none of these as written (the right-to-left mark is not folded away).
    expect(found.ids).toEqual(of(...(expected as string[])));
  });

  it.each([
    ['NUL', 'mul\u0000ler'],
    ['over the length limit', 'm'.repeat(65)],
    ['empty', ''],
  ])('refuses %s with 400', async (_what, q) => {
    const response = await t.app.inject({ url: `/api/studies?q=${encodeURIComponent(q)}`, headers: bearer(token) });
    expect(response.statusCode).toBe(400);
    expect((response.json() as { message: string }).message).toBeTruthy();
  });

  it('is answered from the token index, not by reading every study', async () => {
    const { models, sequelize } = t.app.db;
    let sql = '';
    await models.Study.findAll({
      where: { [Op.and]: textSearchWhere('muller mrn', sequelize) },
      limit: 51,
      logging: (text: string) => {
        sql = text.replace(/^Executing \([^)]*\): /, '');
      },
    });
    if (sequelize.getDialect() === 'sqlite') {
      const [plan] = await sequelize.query(`EXPLAIN QUERY PLAN ${sql}`);
      const steps = (plan as { detail: string }[]).map((step) => step.detail).join('\n');
      expect(steps).toMatch(/VIRTUAL TABLE INDEX \d+:/);
      expect(steps).not.toMatch(/^SCAN (studies|Study)\b/m);
    } else {
      await sequelize.transaction(async (transaction) => {
        // Few rows here: the planner would rightly read them all; told not to, it must have the index.
        await sequelize.query('SET LOCAL enable_seqscan = off', { transaction });
        const [plan] = await sequelize.query(`EXPLAIN ${sql}`, { transaction });
        expect((plan as { 'QUERY PLAN': string }[]).map((line) => line['QUERY PLAN']).join('\n')).toContain('studies_search_trigrams');
      });
    }
  });

  it("finds a restricted patient's studies only for those who may see them: assigned, or holding an open emergency window", async () => {
    const admin = await t.userWithToken('admin');
    const other = await t.userWithToken('attending');
    const assigned = await t.userWithToken('attending');
    const ask = async (q: string, who: { token: string }) => {
      const response = await t.app.inject({ url: `/api/studies?q=${encodeURIComponent(q)}`, headers: bearer(who.token) });
      return (response.json() as { items: { id: string }[]; total: number }).items.map((i) => i.id).sort();
    };
    const first = await seedStudy(t.app, { patientName: 'Vipson^Vera', patientId: 'MRN-VIP-1', assigneeId: assigned.id });
    const second = await seedStudy(t.app, { patientName: 'Vipson^Vera', patientId: 'MRN-VIP-1', samePatientAs: first.id });
    const both = [first.id, second.id].sort();
    expect(await ask('vipson', other)).toEqual(both);
    // The patient (not a study) is restricted.
    const restrict = await t.app.inject({
      method: 'PUT',
      url: `/api/patients/${first.patientRef}/restriction`,
      headers: bearer(admin.token),
      payload: { restricted: true },
    });
    expect(restrict.statusCode).toBe(200);
    expect(await ask('vipson', other)).toEqual([]);
    expect(await ask('mrn-vip', other)).toEqual([]);
    expect(await ask('vipson', assigned)).toEqual([first.id]);
    // An emergency window opens the patient's every study, until it expires.
    const glass = await t.app.inject({
      method: 'POST',
      url: `/api/studies/${second.id}/break-glass`,
      headers: bearer(other.token),
      payload: { reason: 'Trauma call, prior imaging needed at once' },
    });
    expect(glass.statusCode).toBe(201);
    expect(await ask('vipson', other)).toEqual(both);
    await t.app.db.models.AccessWindow.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { userId: other.id } });
    expect(await ask('vipson', other)).toEqual([]);
  });

  it('follows a new study, a renamed patient and a deleted study', async () => {
    const added = await seedStudy(t.app, { patientName: 'Kowalczyk^Ewa', patientId: 'MRN-5550001' });
    expect((await search('kowalczyk')).ids).toEqual([added.id]);

    const { models, sequelize } = t.app.db;
    // Changed as the application changes a study: in a transaction that moves the change sequence
    // (which the worklist's page cache is keyed on).
    const change = (run: (row: InstanceType<typeof models.Study>, transaction: Transaction) => Promise<unknown>) =>
      sequelize.transaction(async (transaction) => {
        const row = (await models.Study.findByPk(added.id, { transaction }))!;
        await row.update({ changeSeq: await nextChangeSeq(models, transaction) }, { transaction });
        await run(row, transaction);
      });
    await change((row, transaction) => row.update({ patientName: 'Nowak^Ewa', searchText: 'nowak ewa mrn-5550001' }, { transaction }));
    expect((await search('kowalczyk')).ids).toEqual([]);
    expect((await search('nowak')).ids).toEqual([added.id]);
    // An update that leaves the text alone keeps the study found.
    await change((row, transaction) => row.update({ priority: 'urgent', priorityRank: 1 }, { transaction }));
    expect((await search('nowak')).ids).toEqual([added.id]);

    await change(async (row, transaction) => {
      await models.Series.destroy({ where: { studyRef: added.id }, transaction, force: true });
      await row.destroy({ transaction, force: true });
    });
    expect((await search('nowak')).ids).toEqual([]);
    expect((await search('mrn-555')).ids).toEqual([]);
  });

  it('a database that held studies before the index was made finds them once migrated', async () => {
    const { sequelize } = t.app.db;
    const dialect = sequelize.getDialect();
    // Back to the state before the index: its objects gone and its ledger line removed.
    if (dialect === 'sqlite') {
      for (const trigger of ['studies_search_insert', 'studies_search_update', 'studies_search_delete']) {
        await sequelize.query(`DROP TRIGGER ${trigger}`);
      }
      await sequelize.query('DROP TABLE study_search');
    } else {
      await sequelize.query('DROP INDEX studies_search_trigrams');
    }
    await sequelize.query(`DELETE FROM pacs_migrations WHERE name = '0019-study-search'`);
    const before = await seedStudy(t.app, { patientName: 'Wiśniewska^Maria', patientId: 'MRN-7770001' });
    expect(await migrate(sequelize)).toEqual(['0019-study-search']);
    expect((await search('wisniewska')).ids).toEqual([before.id]);
    expect((await search('muller')).ids).toEqual(of('muller'));
    // And it keeps following: a study after the migration is found too.
    const after = await seedStudy(t.app, { patientName: 'Wiśniewski^Jan' });
    expect((await search('wisniewsk')).ids).toEqual([before.id, after.id].sort());
  });
});
