/**
 * SQLite's search index is keyed on the studies' implicit rowids, which nothing declares: this
 * checks that the backup (`VACUUM INTO`, DEPLOYMENT.md) and a `VACUUM` keep them, so a restored or
 * compacted database still finds every study by name, and none that was deleted. SQLite always,
 * whichever database the rest of the suite runs on.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Op } from 'sequelize';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDatabase } from '../src/db/connect';
import { defineModels } from '../src/db/models';
import { nextChangeSeq } from '../src/worklist/change-feed';
import { textSearchWhere } from '../src/worklist/text-search';
import { createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
const kept: Record<string, string> = {};

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-search-backup-'));
  t = await createTestApp({ DATABASE_URL: `sqlite:${path.join(dir, 'pacs.sqlite')}` });
  // Deleted studies leave holes in the rowids: a copy that renumbered rows would shift the index.
  const removed: string[] = [];
  for (let i = 0; i < 30; i++) {
    const study = await seedStudy(t.app, { patientName: `Family${i}q^Given`, patientId: `MRN-B${i}` });
    if (i % 3 === 0) removed.push(study.id);
    else kept[`family${i}q`] = study.id;
  }
  const { models, sequelize } = t.app.db;
  await sequelize.transaction(async (transaction) => {
    for (const id of removed) {
      const row = (await models.Study.findByPk(id, { transaction }))!;
      await row.update({ changeSeq: await nextChangeSeq(models, transaction) }, { transaction });
      await models.Series.destroy({ where: { studyRef: id }, transaction, force: true });
      await row.destroy({ transaction, force: true });
    }
  });
});
afterAll(async () => t?.close());

async function found(databaseFile: string, q: string): Promise<string[]> {
  const sequelize = await connectDatabase(`sqlite:${databaseFile}`);
  try {
    const { Study } = defineModels(sequelize);
    const rows = await Study.findAll({ where: { [Op.and]: textSearchWhere(q, sequelize) }, attributes: ['id'], raw: true });
    return rows.map((row) => row.id).sort();
  } finally {
    await sequelize.close();
  }
}

it('a backup taken with VACUUM INTO, and a VACUUM, find the same studies as the original', async () => {
  const { sequelize } = t.app.db;
  const original = t.config.databaseUrl.replace(/^sqlite:/, '');
  const backup = path.join(path.dirname(original), 'backup.sqlite');
  await sequelize.query(`VACUUM INTO '${backup}'`);
  await sequelize.query('VACUUM');
  for (const file of [original, backup]) {
    for (const [name, id] of Object.entries(kept)) expect(await found(file, name), `${name} in ${file}`).toEqual([id]);
    // Every study left (and no deleted one) through a word they all share.
    expect(await found(file, 'given')).toEqual(Object.values(kept).sort());
  }
});
