/**
 * One Orthanc study → Patient, Study, Series and Instance rows, upserted in one transaction keyed
 * on the DICOM UIDs. Idempotent: the same study twice changes nothing; a late series updates the
 * counts and flags the worklist row "updated". Calls for one study are serialised in-process.
 */
import { normaliseDicomDate, normaliseDicomTime, PRIORITY_RANK, type StudyPriority, studyTransition } from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import { Op, type Transaction, UniqueConstraintError } from 'sequelize';
import type { AuditRecorder } from '../audit/recorder';
import type { Models, StudyAttributes } from '../db/models';
import { orderArrived, orderMatchOfUnorderedStudy, scheduledRowByAccession } from '../orders/order-matching';
import { studySearchText, upsertPatient } from '../patients/patient-store';
import { nextChangeSeq, studyChangeStamp } from '../worklist/change-feed';
import { encodeModalities } from '../worklist/present';
import { type OrthancClient, type OrthancInstance, OrthancNotFound, type OrthancSeries, tag } from './orthanc-client';

export type IngestSource = 'webhook' | 'reconcile' | 'manual';
export type IngestOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';

/** DICOM RequestedProcedurePriority (0040,1003) → worklist priority. */
/**
 * Confidentiality Code (0040,1008) or Confidentiality Constraint on Patient Data Description
 * (0040,3001) with any value: the modality or the RIS marked the patient's data confidential.
 */
export function confidentialInDicom(tags: Record<string, unknown>): boolean {
  return tag(tags, 'ConfidentialityCode').trim() !== '' || tag(tags, 'ConfidentialityConstraintOnPatientDataDescription').trim() !== '';
}

export function priorityFromDicom(value: string): StudyPriority {
  const v = value.trim().toUpperCase();
  if (v === 'STAT') return 'stat';
  if (v === 'HIGH') return 'urgent';
  return 'routine';
}

function int(value: string): number | null {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && Math.abs(n) < 2 ** 31 ? n : null;
}

function findPriority(tags: Record<string, unknown>): string {
  const direct = tag(tags, 'RequestedProcedurePriority');
  if (direct) return direct;
  const requests = tags.RequestAttributesSequence;
  if (Array.isArray(requests)) {
    for (const item of requests) {
      const nested = tag(item as Record<string, unknown>, 'RequestedProcedurePriority');
      if (nested) return nested;
    }
  }
  return '';
}

/** At most N ingests at once, so a burst of stable studies does not flood Orthanc or the pool. */
class Slots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await work();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

export interface IngestedStudy {
  orthancStudyId: string;
  studyUid: string;
  outcome: 'created' | 'updated';
}

/**
 * Modalities of series that hold documents, not images: the signed reports (DOC), measurement
 * reports (SR) and key image selections (KO) this PACS archives among them.
 */
const DOCUMENT_MODALITIES = new Set(['DOC', 'SR', 'KO']);

/**
 * The study's image series and their instance count: what the worklist row counts and lists as
 * modalities. A report archived into the study is no new image, so it does not mark the study as
 * updated after arrival.
 */
function imagesOf(series: OrthancSeries[], instances: OrthancInstance[]) {
  const images = series.filter((s) => !DOCUMENT_MODALITIES.has(tag(s.MainDicomTags, 'Modality')));
  // A study of documents only is still listed, with what it holds.
  const counted = images.length > 0 ? images : series;
  const seriesIds = new Set(counted.map((s) => s.ID));
  return { series: counted, seriesIds, instanceCount: instances.filter((i) => seriesIds.has(i.ParentSeries)).length };
}

export class Ingestor {
  private readonly inFlight = new Map<string, Promise<IngestOutcome>>();
  private readonly ingestedListeners = new Set<(study: IngestedStudy) => void>();
  // Fetching from Orthanc overlaps; the database writes queue (one SQLite transaction at a time).
  private readonly slots = new Slots(6);

  constructor(
    private readonly models: Models,
    private readonly orthanc: OrthancClient,
    private readonly audit: AuditRecorder,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Called after a study was created or changed (committed); e.g. to warm the metadata cache. */
  onIngested(listener: (study: IngestedStudy) => void): () => void {
    this.ingestedListeners.add(listener);
    return () => this.ingestedListeners.delete(listener);
  }

  /** Serialised per Orthanc study id: a webhook and a reconcile run never race on one study. */
  ingest(orthancStudyId: string, source: IngestSource): Promise<IngestOutcome> {
    const previous = this.inFlight.get(orthancStudyId) ?? Promise.resolve('unchanged' as IngestOutcome);
    const next = previous
      .catch(() => 'unchanged' as IngestOutcome)
      .then(() => this.slots.run(() => this.ingestNow(orthancStudyId, source)));
    this.inFlight.set(orthancStudyId, next);
    void next
      .finally(() => {
        if (this.inFlight.get(orthancStudyId) === next) this.inFlight.delete(orthancStudyId);
      })
      .catch(() => {});
    return next;
  }

  private async ingestNow(orthancStudyId: string, source: IngestSource): Promise<IngestOutcome> {
    let fetched: Awaited<ReturnType<Ingestor['fetchStudy']>>;
    try {
      fetched = await this.fetchStudy(orthancStudyId);
    } catch (error) {
      if (error instanceof OrthancNotFound) return this.markDeleted(orthancStudyId, source);
      throw error;
    }
    const { study, series, instances, firstTags, images } = fetched;
    const studyUid = tag(study.MainDicomTags, 'StudyInstanceUID');
    if (!studyUid) throw new Error('Orthanc study without StudyInstanceUID');
    const sequelize = this.models.Study.sequelize!;
    const outcome = await this.retryOnConflict(() =>
      sequelize.transaction(async (transaction) => {
        const patientRef = await this.upsertPatient(study, transaction);
        const { row, outcome } = await this.upsertStudy(study, images.series, images.instances, firstTags, patientRef, transaction);
        const seriesIds = await this.upsertSeries(row.id, series, transaction);
        await this.insertMissingInstances(seriesIds, instances, transaction);
        if (outcome !== 'unchanged') {
          await this.audit.record(
            {
              eventId: 'Import',
              action: outcome === 'created' ? 'C' : 'U',
              outcome: 0,
              objectType: 'Study',
              objectId: row.id,
              patientId: row.patientId,
              studyUid,
              details: { source, outcome, series: series.length, instances: instances.length },
            },
            transaction,
          );
        }
        return outcome;
      }),
    );
    this.log.info({ orthancStudyId, source, outcome, series: series.length, instances: instances.length }, 'study ingested');
    if (outcome === 'created' || outcome === 'updated')
      for (const listener of this.ingestedListeners) listener({ orthancStudyId, studyUid, outcome });
    return outcome;
  }

  /**
   * Two studies of one new patient ingested at once both try to create the patient; on a server
   * database one insert loses on the unique key. The loser's transaction is rolled back whole and
   * run again, and then finds the patient.
   */
  private async retryOnConflict<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof UniqueConstraintError) || attempt >= 3) throw error;
      }
    }
  }

  private async fetchStudy(id: string) {
    const [study, series, instances] = await Promise.all([
      this.orthanc.study(id),
      this.orthanc.studySeries(id),
      this.orthanc.studyInstances(id),
    ]);
    const images = imagesOf(series, instances);
    // Tags not in Orthanc's main tags (priority, SOP class) come from one image.
    const first = instances.find((instance) => images.seriesIds.has(instance.ParentSeries));
    const firstTags = first ? await this.orthanc.instanceTags(first.ID).catch(() => ({})) : {};
    return { study, series, instances, firstTags, images: { series: images.series, instances: images.instanceCount } };
  }

  private async upsertPatient(study: { PatientMainDicomTags: Record<string, unknown> }, transaction: Transaction): Promise<string> {
    const p = study.PatientMainDicomTags;
    return upsertPatient(
      this.models,
      {
        patientId: tag(p, 'PatientID').slice(0, 64),
        issuerOfPatientId: tag(p, 'IssuerOfPatientID').slice(0, 64),
        name: tag(p, 'PatientName').slice(0, 324),
        birthDate: normaliseDicomDate(tag(p, 'PatientBirthDate')),
        sex: tag(p, 'PatientSex').slice(0, 16) || null,
      },
      transaction,
    );
  }

  private async upsertStudy(
    study: { ID: string; MainDicomTags: Record<string, unknown>; PatientMainDicomTags: Record<string, unknown> },
    series: { MainDicomTags: Record<string, unknown> }[],
    instanceCount: number,
    firstTags: Record<string, unknown>,
    patientRef: string,
    transaction: Transaction,
  ): Promise<{ row: StudyAttributes; outcome: IngestOutcome }> {
    const m = study.MainDicomTags;
    const p = study.PatientMainDicomTags;
    const modalities = encodeModalities(series.map((s) => tag(s.MainDicomTags, 'Modality')));
    const description = tag(m, 'StudyDescription').slice(0, 256);
    const patientName = tag(p, 'PatientName').slice(0, 324);
    const patientId = tag(p, 'PatientID').slice(0, 64);
    const accessionNumber = tag(m, 'AccessionNumber').slice(0, 64);
    const values = {
      studyInstanceUid: tag(m, 'StudyInstanceUID'),
      orthancId: study.ID,
      patientRef,
      patientName,
      patientId,
      patientBirthDate: normaliseDicomDate(tag(p, 'PatientBirthDate')),
      patientSex: tag(p, 'PatientSex').slice(0, 16) || null,
      accessionNumber,
      studyDate: normaliseDicomDate(tag(m, 'StudyDate')),
      studyTime: normaliseDicomTime(tag(m, 'StudyTime')),
      description,
      modalities,
      bodyPart: (tag(firstTags, 'BodyPartExamined') || tag(series[0]?.MainDicomTags, 'BodyPartExamined')).slice(0, 64),
      referringPhysician: tag(m, 'ReferringPhysicianName').slice(0, 324),
      searchText: studySearchText({ patientName, patientId, accessionNumber, description }),
      numberOfSeries: series.length,
      numberOfInstances: instanceCount,
    };
    // The images ask for confidentiality: the row is restricted (never lifted here: an admin does that).
    const restriction = confidentialInDicom(firstTags) ? { restricted: true, restrictionSource: 'dicom' as const } : {};
    const existing =
      (await this.models.Study.findOne({ where: { studyInstanceUid: values.studyInstanceUid }, paranoid: false, transaction })) ??
      (await scheduledRowByAccession(this.models, accessionNumber, patientId, transaction));
    if (!existing) {
      const priority = priorityFromDicom(findPriority(firstTags));
      const created = await this.models.Study.create(
        {
          ...values,
          ...restriction,
          orderMatch: await orderMatchOfUnorderedStudy(this.models, transaction),
          priority,
          priorityRank: PRIORITY_RANK[priority],
          receivedAt: new Date(),
          changeSeq: await nextChangeSeq(this.models, transaction),
        },
        { transaction },
      );
      return { row: created.get(), outcome: 'created' };
    }
    const before = existing.get();
    const wasDeleted = before.deletedAt !== null;
    if (wasDeleted) await existing.restore({ transaction });
    const changed = (Object.keys(values) as (keyof typeof values)[]).filter((key) => values[key] !== before[key]);
    const newlyRestricted = restriction.restricted === true && !before.restricted;
    if (changed.length === 0 && !wasDeleted && !newlyRestricted) return { row: before, outcome: 'unchanged' };
    const grew = values.numberOfInstances > before.numberOfInstances || values.numberOfSeries > before.numberOfSeries;
    // A scheduled row's first images: it becomes the study, to be read from now (the order's priority stays).
    const arrival = studyTransition(before.status, 'images-arrived', 'system');
    const arriving = arrival.ok;
    await existing.update(
      {
        ...values,
        ...(newlyRestricted ? restriction : {}),
        ...(arrival.ok
          ? { status: arrival.to, receivedAt: new Date(), updatedAfterArrival: false }
          : { updatedAfterArrival: before.updatedAfterArrival || (grew && !wasDeleted) }),
        ...(await studyChangeStamp(this.models, before, transaction)),
      },
      { transaction },
    );
    if (arriving) await orderArrived(this.models, before.orderRef, transaction);
    return { row: existing.get(), outcome: arriving ? 'created' : 'updated' };
  }

  private async upsertSeries(
    studyRef: string,
    series: { ID: string; MainDicomTags: Record<string, unknown>; Instances: string[] }[],
    transaction: Transaction,
  ) {
    const uids = series.map((s) => tag(s.MainDicomTags, 'SeriesInstanceUID'));
    const existing = await this.models.Series.findAll({ where: { seriesInstanceUid: { [Op.in]: uids } }, transaction });
    const byUid = new Map(existing.map((row) => [row.get('seriesInstanceUid'), row]));
    const ids = new Map<string, string>();
    for (const s of series) {
      const m = s.MainDicomTags;
      const values = {
        seriesInstanceUid: tag(m, 'SeriesInstanceUID'),
        orthancId: s.ID,
        studyRef,
        modality: tag(m, 'Modality').slice(0, 16),
        seriesNumber: int(tag(m, 'SeriesNumber')),
        description: tag(m, 'SeriesDescription').slice(0, 256),
        bodyPart: tag(m, 'BodyPartExamined').slice(0, 64),
        numberOfInstances: s.Instances.length,
      };
      const row = byUid.get(values.seriesInstanceUid);
      if (!row) {
        ids.set(s.ID, (await this.models.Series.create(values, { transaction })).get('id'));
        continue;
      }
      const before = row.get();
      if ((Object.keys(values) as (keyof typeof values)[]).some((key) => values[key] !== before[key]))
        await row.update(values, { transaction });
      ids.set(s.ID, before.id);
    }
    return ids;
  }

  private async insertMissingInstances(
    seriesIds: Map<string, string>,
    instances: { ID: string; MainDicomTags: Record<string, unknown>; ParentSeries: string }[],
    transaction: Transaction,
  ) {
    const uids = instances.map((i) => tag(i.MainDicomTags, 'SOPInstanceUID'));
    const present = new Set<string>();
    // IN lists are chunked: SQL Server accepts at most 2100 parameters per statement.
    for (let i = 0; i < uids.length; i += 1000) {
      const rows = await this.models.Instance.findAll({
        where: { sopInstanceUid: { [Op.in]: uids.slice(i, i + 1000) } },
        attributes: ['sopInstanceUid'],
        raw: true,
        transaction,
      });
      for (const row of rows) present.add(row.sopInstanceUid);
    }
    const missing = instances
      .filter((i) => !present.has(tag(i.MainDicomTags, 'SOPInstanceUID')) && seriesIds.has(i.ParentSeries))
      .map((i) => ({
        sopInstanceUid: tag(i.MainDicomTags, 'SOPInstanceUID'),
        orthancId: i.ID,
        seriesRef: seriesIds.get(i.ParentSeries)!,
        sopClassUid: '',
        instanceNumber: int(tag(i.MainDicomTags, 'InstanceNumber')),
        numberOfFrames: int(tag(i.MainDicomTags, 'NumberOfFrames')) ?? 1,
      }));
    for (let i = 0; i < missing.length; i += 200) {
      await this.models.Instance.bulkCreate(missing.slice(i, i + 200), { transaction });
    }
  }

  /** A study Orthanc no longer has: soft-delete its worklist row (a tombstone for offline caches). */
  async markDeleted(orthancStudyId: string, source: IngestSource): Promise<IngestOutcome> {
    const sequelize = this.models.Study.sequelize!;
    return sequelize.transaction(async (transaction) => {
      const study = await this.models.Study.findOne({ where: { orthancId: orthancStudyId }, transaction });
      if (!study) return 'unchanged' as const;
      await study.update(await studyChangeStamp(this.models, study.get(), transaction), { transaction });
      await study.destroy({ transaction });
      await this.audit.record(
        {
          eventId: 'Import',
          action: 'D',
          outcome: 0,
          objectType: 'Study',
          objectId: study.get('id'),
          patientId: study.get('patientId'),
          studyUid: study.get('studyInstanceUid'),
          details: { source, reason: 'deleted in Orthanc' },
        },
        transaction,
      );
      return 'deleted' as const;
    });
  }
}
