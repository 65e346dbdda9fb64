/** Worklist rows written straight into the database (no Orthanc), for worklist tests and benchmarks. */
import { randomUUID } from 'node:crypto';
import { foldForSearch, type OrderMatch, PRIORITY_RANK, type StudyPriority, type StudyStatus } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { nextChangeSeq } from '../../src/worklist/change-feed';
import { encodeModalities } from '../../src/worklist/present';

export interface StudySeed {
  patientName?: string;
  patientId?: string;
  accessionNumber?: string;
  description?: string;
  modalities?: string[];
  studyDate?: string | null;
  priority?: StudyPriority;
  status?: StudyStatus;
  assigneeId?: string | null;
  receivedAt?: Date;
  series?: { modality: string; description?: string; instances: number }[];
  /** Whether the study has its order (reconciliation); 'none' by default. */
  orderMatch?: OrderMatch;
  /** File the study under the patient already registered with `patientId` (say, by an HL7 order) instead of a new one. */
  existingPatient?: boolean;
  /** File the study under the patient of this study (its prior, or a later one). */
  samePatientAs?: string;
}

let n = 0;
export async function seedStudy(app: FastifyInstance, seed: StudySeed = {}) {
  const { models, sequelize } = app.db;
  n += 1;
  const patientName = seed.patientName ?? `Doe^Jane${n}`;
  const patientId = seed.patientId ?? `PID-${n}`;
  const accessionNumber = seed.accessionNumber ?? `ACC-${n}`;
  const description = seed.description ?? 'CT HEAD';
  const series: NonNullable<StudySeed['series']> =
    seed.series ?? (seed.modalities ?? ['CT']).map((modality) => ({ modality, instances: 3 }));
  const priority = seed.priority ?? 'routine';
  return sequelize.transaction(async (transaction) => {
    const sibling = seed.samePatientAs ? await models.Study.findByPk(seed.samePatientAs, { transaction, raw: true }) : null;
    if (seed.samePatientAs && !sibling) throw new Error(`no study ${seed.samePatientAs}`);
    const known = sibling
      ? await models.Patient.findByPk(sibling.patientRef, { transaction })
      : seed.existingPatient
        ? await models.Patient.findOne({ where: { patientId }, transaction })
        : null;
    if (seed.existingPatient && !known) throw new Error(`no patient ${patientId} is registered`);
    const patient =
      known ?? (await models.Patient.create({ patientId: `${patientId}-${randomUUID().slice(0, 8)}`, name: patientName }, { transaction }));
    const study = await models.Study.create(
      {
        studyInstanceUid: `1.2.826.0.1.3680043.10.${Date.now()}.${n}.${Math.floor(Math.random() * 1e6)}`,
        patientRef: patient.get('id'),
        patientName,
        patientId,
        accessionNumber,
        description,
        studyDate: seed.studyDate === undefined ? '20260105' : seed.studyDate,
        modalities: encodeModalities(seed.modalities ?? series.map((s) => s.modality)),
        searchText: foldForSearch([patientName, patientId, accessionNumber, description].join(' ')),
        numberOfSeries: series.length,
        numberOfInstances: series.reduce((sum, s) => sum + s.instances, 0),
        status: seed.status ?? 'unread',
        priority,
        priorityRank: PRIORITY_RANK[priority],
        assigneeId: seed.assigneeId ?? null,
        ...(seed.orderMatch ? { orderMatch: seed.orderMatch } : {}),
        receivedAt: seed.receivedAt ?? new Date(Date.now() - 3_600_000 + n * 1000),
        changeSeq: await nextChangeSeq(models, transaction),
      },
      { transaction },
    );
    for (const [i, s] of series.entries()) {
      await models.Series.create(
        {
          seriesInstanceUid: `${study.get('studyInstanceUid')}.${i + 1}`,
          studyRef: study.get('id'),
          modality: s.modality,
          seriesNumber: i + 1,
          description: s.description ?? '',
          numberOfInstances: s.instances,
        },
        { transaction },
      );
    }
    return study.get();
  });
}
