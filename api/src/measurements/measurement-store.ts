/**
 * Measurements over the database: each belongs to a study and its author; everyone who may read
 * the study's measurements sees all of them, only the author changes or deletes theirs. The
 * device's id is the row's id, so a create replayed from an offline outbox is recorded once;
 * a deleted measurement stays as a tombstone so a late replay does not bring it back.
 */
import {
  MEASUREMENT_POINT_COUNT,
  type MeasuredValues,
  type Measurement,
  type MeasurementCreate,
  type MeasurementTool,
  type MeasurementUnits,
  type MeasurementUpdate,
} from '@pacs/shared';
import { Op, type Sequelize, type Transaction, UniqueConstraintError } from 'sequelize';
import type { MeasurementAttributes } from '../db/measurement-models';
import type { Models, StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, notFound } from '../http-errors';

export interface Author {
  userId: string;
}

/** The study facts an audit row names. */
export type StudySubject = Pick<StudyAttributes, 'id' | 'patientId' | 'studyInstanceUid'>;

export type AuditWrite = (transaction: Transaction, subject: StudySubject) => Promise<void>;

/** Which values each tool measures: anything else in a request is refused, not stored. */
const TOOL_VALUES: Readonly<Record<MeasurementTool, readonly (keyof MeasuredValues)[]>> = {
  Length: ['length'],
  Angle: ['angle'],
  EllipticalROI: ['mean', 'stdDev', 'area', 'majorAxis', 'minorAxis'],
};

export function checkShape(tool: MeasurementTool, shape: MeasurementUpdate): void {
  if (shape.points.length !== MEASUREMENT_POINT_COUNT[tool])
    throw badRequest(`a ${tool} measurement has ${MEASUREMENT_POINT_COUNT[tool]} points`, 'BAD_MEASUREMENT');
  const foreign = Object.keys(shape.values).filter((key) => !TOOL_VALUES[tool].includes(key as keyof MeasuredValues));
  if (foreign.length > 0) throw badRequest(`a ${tool} measurement does not measure ${foreign.join(', ')}`, 'BAD_MEASUREMENT');
}

export interface ImagePlace {
  seriesNumber: number | null;
  instanceNumber: number | null;
}

/** The image a measurement or key image names must be the study's: its series, and its instance when the archive listed them. */
export async function findImage(
  models: Models,
  studyId: string,
  image: { seriesInstanceUid: string; sopInstanceUid: string; frame: number },
  transaction?: Transaction,
): Promise<ImagePlace> {
  const series = await models.Series.findOne({
    where: { studyRef: studyId, seriesInstanceUid: image.seriesInstanceUid },
    attributes: ['id', 'seriesNumber'],
    transaction,
    raw: true,
  });
  if (!series) throw badRequest('the series is not part of this study', 'IMAGE_NOT_IN_STUDY');
  const instance = await models.Instance.findOne({
    where: { sopInstanceUid: image.sopInstanceUid },
    attributes: ['seriesRef', 'instanceNumber', 'numberOfFrames'],
    transaction,
    raw: true,
  });
  if (instance) {
    if (instance.seriesRef !== series.id) throw badRequest('the instance is not part of this series', 'IMAGE_NOT_IN_STUDY');
    if (image.frame > Math.max(1, instance.numberOfFrames)) throw badRequest('the instance has no such frame', 'IMAGE_NOT_IN_STUDY');
    return { seriesNumber: series.seriesNumber, instanceNumber: instance.instanceNumber };
  }
  const listed = await models.Instance.count({ where: { seriesRef: series.id }, transaction });
  if (listed > 0) throw badRequest('the instance is not part of this series', 'IMAGE_NOT_IN_STUDY');
  return { seriesNumber: series.seriesNumber, instanceNumber: null };
}

/** Series and instance numbers of several images at once, for lists. */
export async function placesOf(
  models: Models,
  studyId: string,
  images: readonly { seriesInstanceUid: string; sopInstanceUid: string }[],
  transaction?: Transaction,
): Promise<(image: { seriesInstanceUid: string; sopInstanceUid: string }) => ImagePlace> {
  if (images.length === 0) return () => ({ seriesNumber: null, instanceNumber: null });
  const series = await models.Series.findAll({
    where: { studyRef: studyId },
    attributes: ['id', 'seriesInstanceUid', 'seriesNumber'],
    transaction,
    raw: true,
  });
  const instances = await models.Instance.findAll({
    where: { sopInstanceUid: { [Op.in]: [...new Set(images.map((i) => i.sopInstanceUid))] } },
    attributes: ['sopInstanceUid', 'instanceNumber'],
    transaction,
    raw: true,
  });
  const seriesNumber = new Map(series.map((s) => [s.seriesInstanceUid, s.seriesNumber]));
  const instanceNumber = new Map(instances.map((i) => [i.sopInstanceUid, i.instanceNumber]));
  return (image) => ({
    seriesNumber: seriesNumber.get(image.seriesInstanceUid) ?? null,
    instanceNumber: instanceNumber.get(image.sopInstanceUid) ?? null,
  });
}

export async function studySubject(models: Models, studyId: string, transaction?: Transaction): Promise<StudySubject> {
  const study = await models.Study.findByPk(studyId, { attributes: ['id', 'patientId', 'studyInstanceUid'], transaction, raw: true });
  if (!study) throw notFound('study not found');
  return study;
}

export class MeasurementStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  async list(studyId: string, viewer: Author): Promise<{ items: Measurement[]; subject: StudySubject }> {
    const subject = await studySubject(this.models, studyId);
    const rows = await this.models.Measurement.findAll({
      where: { studyRef: studyId, deletedAt: null },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    });
    return { items: await this.present(rows, viewer), subject };
  }

  /** Creates it, or answers the one a replay of the same id already recorded (`created: false`). */
  async create(
    studyId: string,
    input: MeasurementCreate,
    author: Author,
    audit: AuditWrite,
  ): Promise<{ measurement: Measurement; created: boolean; subject: StudySubject }> {
    checkShape(input.tool, input);
    try {
      return await this.sequelize.transaction(async (transaction) => {
        const subject = await studySubject(this.models, studyId, transaction);
        const earlier = await this.models.Measurement.findByPk(input.id, { transaction, raw: true });
        if (earlier) return { measurement: await this.replayed(earlier, studyId, author), created: false, subject };
        await findImage(this.models, studyId, input, transaction);
        const row = await this.models.Measurement.create(
          {
            id: input.id,
            studyRef: studyId,
            authorId: author.userId,
            tool: input.tool,
            label: input.label.trim(),
            seriesInstanceUid: input.seriesInstanceUid,
            sopInstanceUid: input.sopInstanceUid,
            frame: input.frame,
            points: JSON.stringify(input.points),
            measuredValues: JSON.stringify(input.values),
            units: JSON.stringify(input.units),
          },
          { transaction },
        );
        await audit(transaction, subject);
        return { measurement: (await this.present([row.get()], author, transaction))[0]!, created: true, subject };
      });
    } catch (error) {
      // Two replays of one create at once: the loser answers what the winner recorded.
      if (!(error instanceof UniqueConstraintError)) throw error;
      const earlier = await this.models.Measurement.findByPk(input.id, { raw: true });
      if (!earlier) throw error;
      return {
        measurement: await this.replayed(earlier, studyId, author),
        created: false,
        subject: await studySubject(this.models, studyId),
      };
    }
  }

  async update(studyId: string, id: string, shape: MeasurementUpdate, author: Author, audit: AuditWrite): Promise<Measurement> {
    return this.sequelize.transaction(async (transaction) => {
      const subject = await studySubject(this.models, studyId, transaction);
      const row = await this.own(studyId, id, author, transaction);
      checkShape(row.tool, shape);
      await this.models.Measurement.update(
        {
          label: shape.label.trim(),
          points: JSON.stringify(shape.points),
          measuredValues: JSON.stringify(shape.values),
          units: JSON.stringify(shape.units),
        },
        { where: { id, deletedAt: null }, transaction },
      );
      await audit(transaction, subject);
      const updated = await this.models.Measurement.findByPk(id, { transaction, raw: true });
      return (await this.present([updated!], author, transaction))[0]!;
    });
  }

  async remove(studyId: string, id: string, author: Author, audit: AuditWrite): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      const subject = await studySubject(this.models, studyId, transaction);
      await this.own(studyId, id, author, transaction);
      await this.models.Measurement.update({ deletedAt: new Date() }, { where: { id, deletedAt: null }, transaction });
      await audit(transaction, subject);
    });
  }

  /** One live measurement of the study, for the report's citation. */
  async get(studyId: string, id: string, viewer: Author): Promise<Measurement> {
    const row = await this.models.Measurement.findOne({ where: { id, studyRef: studyId, deletedAt: null }, raw: true });
    if (!row) throw notFound('measurement not found');
    return (await this.present([row], viewer))[0]!;
  }

  private async own(studyId: string, id: string, author: Author, transaction: Transaction): Promise<MeasurementAttributes> {
    const row = await this.models.Measurement.findOne({
      where: { id, studyRef: studyId, deletedAt: null },
      transaction,
      lock: transaction.LOCK.UPDATE,
      raw: true,
    });
    if (!row) throw notFound('measurement not found');
    if (row.authorId !== author.userId)
      throw forbidden('this measurement is someone else’s: it is read-only for you', 'MEASUREMENT_NOT_YOURS');
    return row;
  }

  private async replayed(earlier: MeasurementAttributes, studyId: string, author: Author): Promise<Measurement> {
    if (earlier.studyRef !== studyId || earlier.authorId !== author.userId)
      throw conflict('this id already names another measurement', 'MEASUREMENT_ID_REUSED');
    return (await this.present([earlier], author))[0]!;
  }

  private async present(rows: MeasurementAttributes[], viewer: Author, transaction?: Transaction): Promise<Measurement[]> {
    if (rows.length === 0) return [];
    const authors = await this.models.User.findAll({
      where: { id: { [Op.in]: [...new Set(rows.map((r) => r.authorId))] } },
      attributes: ['id', 'name', 'role'],
      transaction,
      raw: true,
    });
    const byId = new Map(authors.map((a) => [a.id, a]));
    const place = await placesOf(this.models, rows[0]!.studyRef, rows, transaction);
    return rows.map((row) => ({
      id: row.id,
      studyId: row.studyRef,
      tool: row.tool,
      seriesInstanceUid: row.seriesInstanceUid,
      sopInstanceUid: row.sopInstanceUid,
      frame: row.frame,
      label: row.label,
      points: JSON.parse(row.points) as number[][],
      values: JSON.parse(row.measuredValues) as MeasuredValues,
      units: JSON.parse(row.units) as MeasurementUnits,
      ...place(row),
      authorId: row.authorId,
      authorName: byId.get(row.authorId)?.name ?? '',
      authorRole: byId.get(row.authorId)?.role ?? '',
      mine: row.authorId === viewer.userId,
      createdAt: new Date(row.createdAt).toISOString(),
      updatedAt: new Date(row.updatedAt).toISOString(),
    }));
  }
}
