/**
 * Seeds N worklist studies straight into the database (three per patient, one every 30 s back from
 * `now`, statuses, priorities and modalities in rotation), for the benchmarks at scale.
 */
import { randomUUID } from 'node:crypto';
import { foldForSearch, PRIORITY_RANK, STUDY_PRIORITIES, STUDY_STATUSES } from '@pacs/shared';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { encodeModalities } from '../src/worklist/present';

const STEMS = [
  'Kow',
  'Nów',
  'Wiś',
  'Mar',
  'Gar',
  'Ros',
  'Dub',
  'Joh',
  'Sil',
  'Tan',
  'Oka',
  'Ngu',
  'Mül',
  'Smi',
  'Bra',
  'Fer',
  'Lóp',
  'Her',
  'Sch',
  'Wag',
];
const MIDDLES = ['al', 'an', 'er', 'in', 'or', 'us', 'el', 'ik'];
const ENDINGS = ['ski', 'son', 'ez', 'i', 'er', 'ová', 'ato', 'ides', 'ović', 'sen'];
/** 1,600 surnames (a real archive's are many, so a search by one finds hundreds of studies at a million, not a twelfth of them). */
export const FAMILY = STEMS.flatMap((stem) => MIDDLES.flatMap((middle) => ENDINGS.map((ending) => `${stem}${middle}${ending}`)));
/** Patient `p`'s surname: spread over the list, not in runs. */
export const familyOf = (p: number): string => FAMILY[(p * 7919) % FAMILY.length]!;
const GIVEN = ['Anna', 'José', 'Zoë', 'Li', 'Marek', 'Giulia', 'Élodie', 'Lars', 'João', 'Petra', 'Chidi', 'Yuki'];
export const MODALITIES = ['CT', 'MR', 'CR', 'US', 'DX', 'PT', 'MG', 'NM'];
const DESCRIPTIONS = ['CT HEAD', 'MR BRAIN', 'CHEST PA', 'US ABDOMEN', 'CT THORAX', 'MR KNEE', 'PET CT', 'MAMMO'];

/** The columns a seeded study row fills, in the order of its values (the benchmarks' own inserts use them too). */
export const STUDY_COLUMNS = [
  'id',
  'studyInstanceUid',
  'patientRef',
  'patientName',
  'patientId',
  'accessionNumber',
  'studyDate',
  'studyTime',
  'description',
  'modalities',
  'bodyPart',
  'searchText',
  'numberOfSeries',
  'numberOfInstances',
  'status',
  'priority',
  'priorityRank',
  'receivedAt',
  'version',
  'changeSeq',
  'createdAt',
  'updatedAt',
  'updatedAfterArrival',
];

/** `spacingMs`: between two arrivals; the changes are numbered after the database's own (a running system's too). */
export async function seedStudies(databaseUrl: string, count: number, now = Date.UTC(2026, 10, 1), spacingMs = 30_000): Promise<void> {
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const patientIds: string[] = [];
  const BATCH = 1000;
  const tag = randomUUID().slice(0, 8);
  await sequelize.transaction(async (transaction) => {
    const [[counter]] = (await sequelize.query(`SELECT "value" FROM counters WHERE "name" = 'worklist'`, { transaction })) as [
      { value: number | string }[],
      unknown,
    ];
    const base = Number(counter?.value ?? 0);
    const patients = Math.ceil(count / 3);
    for (let offset = 0; offset < patients; offset += BATCH) {
      const rows: unknown[] = [];
      const placeholders: string[] = [];
      for (let i = offset; i < Math.min(patients, offset + BATCH); i++) {
        const id = randomUUID();
        patientIds.push(id);
        placeholders.push('(?,?,?,?,?,?)');
        rows.push(
          id,
          `P${i}-${tag}`,
          '',
          `${familyOf(i)}^${GIVEN[(i * 7) % 12]}`,
          '2026-01-01 00:00:00.000 +00:00',
          '2026-01-01 00:00:00.000 +00:00',
        );
      }
      await sequelize.query(
        `INSERT INTO patients ("id", "patientId", "issuerOfPatientId", "name", "createdAt", "updatedAt") VALUES ${placeholders.join(',')}`,
        {
          replacements: rows,
          transaction,
        },
      );
    }
    for (let offset = 0; offset < count; offset += BATCH) {
      const rows: unknown[] = [];
      const placeholders: string[] = [];
      for (let i = offset; i < Math.min(count, offset + BATCH); i++) {
        const p = Math.floor(i / 3);
        const priority = STUDY_PRIORITIES[i % 50 === 0 ? 0 : i % 10 === 0 ? 1 : 2]!;
        const status = STUDY_STATUSES[i % 4]!;
        const name = `${familyOf(p)}^${GIVEN[(p * 7) % 12]}`;
        const modality = MODALITIES[i % 8]!;
        const description = DESCRIPTIONS[i % 8]!;
        const received = new Date(now - (count - i) * spacingMs).toISOString().replace('T', ' ').replace('Z', ' +00:00');
        const studyDate = received.slice(0, 10).replace(/-/g, '');
        placeholders.push('(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
        rows.push(
          randomUUID(),
          `1.2.826.0.1.3680043.10.9.${base + i}`,
          patientIds[p],
          name,
          `P${p}`,
          `A${i}`,
          studyDate,
          '120000',
          description,
          encodeModalities([modality]),
          '',
          foldForSearch(`${name} P${p} A${i} ${description}`),
          1,
          10 + (i % 200),
          status,
          priority,
          PRIORITY_RANK[priority],
          received,
          1,
          base + i + 1,
          received,
          received,
          false,
        );
      }
      await sequelize.query(`INSERT INTO studies (${STUDY_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${placeholders.join(',')}`, {
        replacements: rows,
        transaction,
      });
    }
    await sequelize.query(`UPDATE counters SET "value" = ${base + count} WHERE "name" = 'worklist'`, { transaction });
  });
  await sequelize.query('ANALYZE');
  await sequelize.close();
}
