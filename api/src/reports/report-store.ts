/**
 * Where reports and their studies are read and written (the repository pattern): handlers and the
 * finalize saga ask the store, the store talks to the Sequelize models. The caller owns the
 * transaction; a read inside one locks the row (SELECT … FOR UPDATE where the dialect has it), so
 * a transition is decided on the very row it then writes.
 */
import { type StudyEvent, studyTransition } from '@pacs/shared';
import type { Sequelize, Transaction } from 'sequelize';
import { criticalResultsOf } from '../critical-results/communication-record';
import type { CriticalResultAttributes } from '../db/critical-models';
import type { Models, ReportAttributes, ReportRow, StudyAttributes, StudyRow } from '../db/models';
import { notFound } from '../http-errors';
import { studyChangeStamp } from '../worklist/change-feed';

/** A finalize's hold on a report: who claimed it and the version the claim wrote. */
export interface FinalizeClaim {
  readonly reportId: string;
  readonly userId: string;
  readonly version: number;
}

export function createReportStore({ models, sequelize }: { models: Models; sequelize: Sequelize }) {
  const lockedIn = (transaction?: Transaction) => (transaction ? { transaction, lock: transaction.LOCK.UPDATE } : {});
  /** null when there is no such report; in a transaction the row is locked. */
  const findReport = (id: string, transaction?: Transaction): Promise<ReportRow | null> =>
    models.Report.findByPk(id, lockedIn(transaction));
  /** null when there is no such study; in a transaction the row is locked. */
  const findStudy = (id: string, transaction?: Transaction): Promise<StudyRow | null> => models.Study.findByPk(id, lockedIn(transaction));

  return {
    transaction<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
      return sequelize.transaction(work);
    },

    findReport,
    findStudy,

    /** 404 when the report does not exist. */
    async loadReport(id: string, transaction?: Transaction): Promise<ReportRow> {
      const row = await findReport(id, transaction);
      if (!row) throw notFound('report not found');
      return row;
    },

    /** 404 when the study does not exist. */
    async loadStudy(id: string, transaction?: Transaction): Promise<StudyRow> {
      const row = await findStudy(id, transaction);
      if (!row) throw notFound('study not found');
      return row;
    },

    /** What the order says about why the study was done: its indication, then its clinical history. */
    async clinicalHistoryOf(study: Pick<StudyAttributes, 'orderRef' | 'indication'>): Promise<string> {
      const order = study.orderRef ? await models.Order.findByPk(study.orderRef, { raw: true }) : null;
      return [study.indication, order?.clinicalHistory ?? ''].filter((part) => part.trim() !== '').join('\n');
    },

    /** The study's primary report (addenda have their own slot), or null. */
    primaryReportOf(studyId: string): Promise<ReportAttributes | null> {
      return models.Report.findOne({ where: { primarySlot: studyId }, raw: true });
    },

    /** Oldest first: the order they are shown and numbered in. */
    addendaOf(reportId: string): Promise<ReportAttributes[]> {
      return models.Report.findAll({ where: { parentReportId: reportId }, order: [['createdAt', 'ASC']], raw: true });
    },

    /** The critical results raised on these reports (not withdrawn), oldest first: their communication record. */
    criticalResultsOf(reportIds: string[]): Promise<CriticalResultAttributes[]> {
      return criticalResultsOf(models, reportIds);
    },

    /**
     * A new draft as the study's primary report. Its slot is the study, so of two concurrent
     * creates one fails on the unique slot (UniqueConstraintError) and the study keeps one report.
     */
    createPrimaryReport(
      report: { id: string; studyId: string; authorId: string; templateId: string | null; requiredFields?: string | null },
      transaction: Transaction,
    ): Promise<ReportRow> {
      const { id, studyId, authorId, templateId, requiredFields = null } = report;
      return models.Report.create(
        { id, studyRef: studyId, primarySlot: studyId, status: 'draft', authorId, templateId, requiredFields },
        { transaction },
      );
    },

    /** A new draft addendum to `parent`, in a slot of its own. */
    createAddendum(
      addendum: { id: string; parent: Pick<ReportAttributes, 'id' | 'studyRef'>; authorId: string },
      transaction: Transaction,
    ): Promise<ReportRow> {
      const { id, parent, authorId } = addendum;
      return models.Report.create(
        { id, studyRef: parent.studyRef, parentReportId: parent.id, primarySlot: id, status: 'draft', authorId },
        { transaction },
      );
    },

    /**
     * Claims the report for one finalize: a single conditional UPDATE on (id, version, status). A
     * concurrent claim or transition bumps the version first, so exactly one claimant matches; the
     * others get null. In a managed transaction although it is one statement: on SQLite that puts
     * it in the process's write queue instead of into SQLite's sleeping busy handler.
     */
    async claimFinalize(row: Pick<ReportAttributes, 'id' | 'version' | 'status'>, userId: string): Promise<FinalizeClaim | null> {
      const claim = { reportId: row.id, userId, version: row.version + 1 };
      const [claimed] = await sequelize.transaction((transaction) =>
        models.Report.update(
          { finalizingBy: userId, finalizingAt: new Date(), version: claim.version },
          { where: { id: row.id, version: row.version, status: row.status }, transaction },
        ),
      );
      return claimed === 1 ? claim : null;
    },

    /** Gives a claim up; a claim taken over meanwhile (other user or version) is left alone. */
    async releaseClaim(claim: FinalizeClaim): Promise<void> {
      await models.Report.update(
        { finalizingBy: null, finalizingAt: null },
        { where: { id: claim.reportId, finalizingBy: claim.userId, version: claim.version } },
      );
    },

    /** The study follows its report: a system transition, version and change sequence bumped. */
    async followStudy(study: StudyRow, event: StudyEvent, transaction: Transaction): Promise<void> {
      const step = studyTransition(study.get('status'), event, 'system');
      if (!step.ok) return; // e.g. a technologist released it meanwhile; the report still moves
      await study.update({ status: step.to, ...(await studyChangeStamp(models, study.get(), transaction)) }, { transaction });
    },
  };
}

export type ReportStore = ReturnType<typeof createReportStore>;
