/**
 * Key images of a study: flagged by any radiologist reading it, listed on the report and printed
 * in its PDF. One row per image (and frame): flagging it again answers the row there is. The
 * device's id is the row's id, so a flag replayed from an offline outbox is recorded once.
 */
import type { KeyImage, KeyImageCreate } from '@pacs/shared';
import { Op, type Sequelize, type Transaction, UniqueConstraintError } from 'sequelize';
import type { KeyImageAttributes } from '../db/measurement-models';
import type { Models } from '../db/models';
import { conflict, notFound } from '../http-errors';
import { type AuditWrite, type Author, findImage, placesOf, type StudySubject, studySubject } from './measurement-store';

export class KeyImageStore {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  async list(studyId: string): Promise<{ items: KeyImage[]; subject: StudySubject }> {
    const subject = await studySubject(this.models, studyId);
    const rows = await this.models.KeyImage.findAll({
      where: { studyRef: studyId },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    });
    return { items: await this.present(rows), subject };
  }

  async flag(
    studyId: string,
    input: KeyImageCreate,
    author: Author,
    audit: AuditWrite,
  ): Promise<{ keyImage: KeyImage; created: boolean; subject: StudySubject }> {
    const existing = async (transaction?: Transaction) => {
      const byId = await this.models.KeyImage.findByPk(input.id, { transaction, raw: true });
      if (byId && byId.studyRef !== studyId) throw conflict('this id already names a key image of another study', 'MEASUREMENT_ID_REUSED');
      return (
        byId ??
        (await this.models.KeyImage.findOne({
          where: { studyRef: studyId, sopInstanceUid: input.sopInstanceUid, frame: input.frame },
          transaction,
          raw: true,
        }))
      );
    };
    try {
      return await this.sequelize.transaction(async (transaction) => {
        const subject = await studySubject(this.models, studyId, transaction);
        const earlier = await existing(transaction);
        if (earlier) return { keyImage: (await this.present([earlier], transaction))[0]!, created: false, subject };
        await findImage(this.models, studyId, input, transaction);
        const row = await this.models.KeyImage.create(
          {
            id: input.id,
            studyRef: studyId,
            seriesInstanceUid: input.seriesInstanceUid,
            sopInstanceUid: input.sopInstanceUid,
            frame: input.frame,
            note: (input.note ?? '').trim(),
            flaggedById: author.userId,
          },
          { transaction },
        );
        await audit(transaction, subject);
        return { keyImage: (await this.present([row.get()], transaction))[0]!, created: true, subject };
      });
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
      const earlier = await existing();
      if (!earlier) throw error;
      return { keyImage: (await this.present([earlier]))[0]!, created: false, subject: await studySubject(this.models, studyId) };
    }
  }

  /** Unflags it; unflagging one that is gone already is done (a replayed delete). */
  async unflag(studyId: string, id: string, audit: AuditWrite): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      const subject = await studySubject(this.models, studyId, transaction);
      const row = await this.models.KeyImage.findByPk(id, { transaction, raw: true });
      if (row && row.studyRef !== studyId) throw notFound('key image not found');
      if (!row) return;
      await this.models.KeyImage.destroy({ where: { id }, transaction });
      await audit(transaction, subject);
    });
  }

  private async present(rows: KeyImageAttributes[], transaction?: Transaction): Promise<KeyImage[]> {
    if (rows.length === 0) return [];
    const users = await this.models.User.findAll({
      where: { id: { [Op.in]: [...new Set(rows.map((r) => r.flaggedById))] } },
      attributes: ['id', 'name'],
      transaction,
      raw: true,
    });
    const names = new Map(users.map((u) => [u.id, u.name]));
    const place = await placesOf(this.models, rows[0]!.studyRef, rows, transaction);
    return rows.map((row) => ({
      id: row.id,
      studyId: row.studyRef,
      seriesInstanceUid: row.seriesInstanceUid,
      sopInstanceUid: row.sopInstanceUid,
      frame: row.frame,
      note: row.note,
      ...place(row),
      flaggedById: row.flaggedById,
      flaggedByName: names.get(row.flaggedById) ?? '',
      createdAt: new Date(row.createdAt).toISOString(),
    }));
  }
}
