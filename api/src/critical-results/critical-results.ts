/**
 * The critical-results loop over the database: raise a flag (its clock starts now, at the
 * server), acknowledge or withdraw it, list them with their clocks, and escalate the overdue ones.
 * Every change is one transaction with its communication record, its notifications and its audit
 * row. Escalation is claimed with a conditional update on the level, so API instances sharing the
 * database never escalate one result twice.
 */
import { randomUUID } from 'node:crypto';
import {
  type CriticalAckRequest,
  type CriticalCategory,
  type CriticalEscalationLevel,
  type CriticalFlagRequest,
  type CriticalResult,
  type CriticalStatus,
  formatPersonName,
  nextEscalationAt,
  type Role,
} from '@pacs/shared';
import { Op, type Sequelize, type Transaction } from 'sequelize';
import type { CriticalResultAttributes } from '../db/critical-models';
import type { Models, ReportAttributes, StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, notFound } from '../http-errors';
import type { ResultOutbox } from '../results/result-outbox';
import { presentCriticalResult } from './communication-record';
import type { CriticalNotifier } from './notifier';

export interface Actor {
  userId: string;
  role: Role;
  name: string;
  /** A referrer's provider id ('' for others): which results are theirs. */
  providerId: string;
}

export interface CriticalResultsOptions {
  limitsMs: Record<CriticalCategory, number>;
}

const STUDY_COLUMNS = [
  'id',
  'accessionNumber',
  'patientName',
  'patientId',
  'description',
  'studyInstanceUid',
  'patientRef',
  'assigneeId',
  'orderRef',
] as const;
type StudyColumns = Pick<StudyAttributes, (typeof STUDY_COLUMNS)[number]>;

/** What a flag's transaction learnt, for the request's audit subject. */
export interface Flagged {
  result: CriticalResult;
  created: boolean;
  patientId: string;
  studyUid: string;
}

export class CriticalResults {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
    private readonly notifier: CriticalNotifier,
    private readonly outbox: ResultOutbox,
    private readonly options: CriticalResultsOptions,
  ) {}

  async flag(
    reportId: string,
    request: CriticalFlagRequest,
    actor: Actor,
    audit: (t: Transaction, subject: { id: string; patientId: string; studyUid: string }) => Promise<void>,
  ): Promise<Flagged> {
    return this.sequelize.transaction(async (transaction) => {
      const report = await this.models.Report.findByPk(reportId, { transaction, raw: true });
      if (!report) throw notFound('report not found');
      const study = await this.study(report.studyRef, transaction);
      if (request.clientId) {
        const earlier = await this.models.CriticalResult.findOne({ where: { clientId: request.clientId }, transaction, raw: true });
        if (earlier && earlier.reportId !== reportId)
          throw conflict('this clientId names a critical result on another report', 'CRITICAL_ID_REUSED');
        if (earlier)
          return {
            result: await this.present(earlier, study, transaction),
            created: false,
            patientId: study.patientId,
            studyUid: study.studyInstanceUid,
          };
      }
      const order = study.orderRef ? await this.models.Order.findByPk(study.orderRef, { transaction, raw: true }) : null;
      const now = new Date();
      const limit = this.options.limitsMs[request.category];
      const id = randomUUID();
      const row = await this.models.CriticalResult.create(
        {
          id,
          clientId: request.clientId ?? id,
          reportId,
          studyRef: study.id,
          patientRef: study.patientRef,
          category: request.category,
          message: request.message.trim(),
          status: 'open',
          flaggedById: actor.userId,
          flaggedByName: actor.name,
          attendingId: await this.attendingFor(actor, study, transaction),
          raisedAt: request.raisedAt ? new Date(request.raisedAt) : null,
          flaggedAt: now,
          dueAt: new Date(now.getTime() + limit),
          level: 0,
          nextEscalationAt: nextEscalationAt(now, limit, 0),
          recipientProviderId: order?.orderingPhysicianId ?? '',
          recipientName: formatPersonName(order?.orderingPhysician || order?.referringPhysician || ''),
        },
        { transaction },
      );
      const result = row.get();
      await this.notifier.event(
        result,
        { kind: 'flagged', channel: 'in-app', level: 0, target: '', actorId: actor.userId, actorName: actor.name },
        transaction,
      );
      await audit(transaction, { id, patientId: study.patientId, studyUid: study.studyInstanceUid });
      await this.notifier.notify(result, study, 0, transaction);
      if (report.status === 'final') await this.resendSigned(result, report, study, transaction);
      return {
        result: await this.present(result, study, transaction),
        created: true,
        patientId: study.patientId,
        studyUid: study.studyInstanceUid,
      };
    });
  }

  /** A report signed before its flag: the hospital's copy is sent again with the abnormal flag. */
  private async resendSigned(
    result: CriticalResultAttributes,
    report: ReportAttributes,
    study: StudyColumns,
    transaction: Transaction,
  ): Promise<void> {
    const full = await this.models.Study.findByPk(study.id, { transaction, raw: true });
    if (!full) return;
    const sent = await this.outbox.enqueueCriticalUpdate({ report, study: full }, transaction);
    if (sent > 0) {
      for (const destination of this.outbox.hl7Destinations) {
        await this.notifier.event(
          result,
          { kind: 'notified', channel: 'hl7', level: 0, target: destination, detail: 'corrected result with the abnormal flag' },
          transaction,
        );
      }
    }
  }

  async acknowledge(
    id: string,
    request: CriticalAckRequest,
    actor: Actor,
    audit: (t: Transaction, subject: { patientId: string; studyUid: string }) => Promise<void>,
  ): Promise<CriticalResult> {
    const referrer = actor.role === 'referrer';
    if (referrer && request.channel !== 'in-app') throw badRequest('a referrer acknowledges in the app', 'ACK_NEEDS_RECEIVER');
    if (!referrer) {
      if (request.channel === 'in-app' || !request.receivedBy?.trim()) {
        throw badRequest('name who received the result, and how (phone, in person, secure message)', 'ACK_NEEDS_RECEIVER');
      }
      if (request.channel === 'phone' && request.readBack !== true)
        throw badRequest('a result given by phone must be read back', 'ACK_NEEDS_RECEIVER');
    }
    return this.sequelize.transaction(async (transaction) => {
      const result = await this.visible(id, actor, transaction);
      const now = new Date();
      const [changed] = await this.models.CriticalResult.update(
        {
          status: 'acknowledged',
          acknowledgedById: actor.userId,
          acknowledgedByName: actor.name,
          acknowledgedAt: now,
          ackChannel: request.channel,
          receivedBy: referrer ? actor.name : request.receivedBy!.trim(),
          readBack: request.readBack ?? null,
          closeNote: request.note?.trim() ?? '',
          nextEscalationAt: null,
        },
        { where: { id, status: 'open' }, transaction },
      );
      if (changed !== 1) throw conflict(`this critical result is already ${result.status}`, 'CRITICAL_CLOSED');
      const study = await this.study(result.studyRef, transaction);
      await this.notifier.event(
        result,
        {
          kind: 'acknowledged',
          channel: request.channel,
          level: result.level,
          target: referrer ? actor.name : request.receivedBy!.trim(),
          actorId: actor.userId,
          actorName: actor.name,
          detail: [request.readBack ? 'read back' : '', request.note?.trim() ?? ''].filter(Boolean).join('; '),
        },
        transaction,
      );
      await audit(transaction, { patientId: study.patientId, studyUid: study.studyInstanceUid });
      const after = await this.models.CriticalResult.findByPk(id, { transaction, raw: true });
      return this.present(after!, study, transaction);
    });
  }

  async withdraw(
    id: string,
    reason: string,
    actor: Actor,
    audit: (t: Transaction, subject: { patientId: string; studyUid: string }) => Promise<void>,
  ): Promise<CriticalResult> {
    return this.sequelize.transaction(async (transaction) => {
      const result = await this.visible(id, actor, transaction);
      if (actor.role !== 'attending' && result.flaggedById !== actor.userId) {
        throw forbidden('only the radiologist who raised it, or an attending, may withdraw a critical result', 'PERMISSION_DENIED');
      }
      const [changed] = await this.models.CriticalResult.update(
        { status: 'withdrawn', closeNote: reason.trim(), nextEscalationAt: null },
        { where: { id, status: 'open' }, transaction },
      );
      if (changed !== 1) throw conflict(`this critical result is already ${result.status}`, 'CRITICAL_CLOSED');
      const study = await this.study(result.studyRef, transaction);
      await this.notifier.event(
        result,
        {
          kind: 'withdrawn',
          channel: '',
          level: result.level,
          target: '',
          actorId: actor.userId,
          actorName: actor.name,
          detail: reason.trim(),
        },
        transaction,
      );
      await audit(transaction, { patientId: study.patientId, studyUid: study.studyInstanceUid });
      const after = await this.models.CriticalResult.findByPk(id, { transaction, raw: true });
      return this.present(after!, study, transaction);
    });
  }

  async get(id: string, actor: Actor): Promise<{ result: CriticalResult; studyUid: string }> {
    const row = await this.visible(id, actor);
    const study = await this.study(row.studyRef);
    return { result: await this.present(row, study), studyUid: study.studyInstanceUid };
  }

  /** Open ones by due time (the most urgent first); closed ones newest first. A referrer sees their own orders'. */
  async list(actor: Actor, query: { status?: CriticalStatus; reportId?: string; limit?: number }): Promise<CriticalResult[]> {
    const where: Record<string, unknown> = {};
    if (query.status) where.status = query.status;
    if (query.reportId) where.reportId = query.reportId;
    if (actor.role === 'referrer') {
      // An account linked to no physician is told of nothing.
      if (actor.providerId === '') return [];
      where.recipientProviderId = actor.providerId;
    }
    const rows = await this.models.CriticalResult.findAll({
      where,
      order: query.status === 'open' ? [['dueAt', 'ASC']] : [['flaggedAt', 'DESC']],
      limit: query.limit ?? 50,
      raw: true,
    });
    if (rows.length === 0) return [];
    const studies = await this.models.Study.findAll({
      where: { id: { [Op.in]: [...new Set(rows.map((row) => row.studyRef))] } },
      attributes: [...STUDY_COLUMNS],
      raw: true,
    });
    const events = await this.models.CriticalEvent.findAll({
      where: { criticalResultId: { [Op.in]: rows.map((row) => row.id) } },
      order: [['id', 'ASC']],
      raw: true,
    });
    const studyById = new Map(studies.map((study) => [study.id, study]));
    return rows.map((row) =>
      presentCriticalResult(
        row,
        studyById.get(row.studyRef) ?? null,
        events.filter((event) => event.criticalResultId === row.id),
      ),
    );
  }

  /** One pass: every open result whose next escalation is due moves one level up. Resolves with how many moved. */
  async escalateDue(now = new Date()): Promise<number> {
    const due = await this.models.CriticalResult.findAll({
      where: { status: 'open', nextEscalationAt: { [Op.lte]: now } },
      order: [['nextEscalationAt', 'ASC']],
      limit: 100,
      raw: true,
    });
    let moved = 0;
    for (const result of due) {
      const level = Math.min(2, result.level + 1) as CriticalEscalationLevel;
      const escalated = await this.sequelize.transaction(async (transaction) => {
        const [claimed] = await this.models.CriticalResult.update(
          { level, nextEscalationAt: nextEscalationAt(new Date(result.flaggedAt), this.options.limitsMs[result.category], level) },
          { where: { id: result.id, status: 'open', level: result.level }, transaction },
        );
        if (claimed !== 1) return false;
        const study = await this.study(result.studyRef, transaction);
        await this.notifier.notify({ ...result, level }, study, level, transaction);
        return true;
      });
      if (escalated) moved += 1;
    }
    return moved;
  }

  /** A result the actor may see: any for radiologists and admins; a referrer's only when it is for their orders. */
  private async visible(id: string, actor: Actor, transaction?: Transaction): Promise<CriticalResultAttributes> {
    const row = await this.models.CriticalResult.findByPk(id, { transaction, raw: true });
    if (!row) throw notFound('critical result not found');
    if (actor.role === 'referrer') {
      if (actor.providerId === '' || row.recipientProviderId !== actor.providerId)
        throw forbidden('this critical result is not for your orders', 'NOT_RECIPIENT');
    }
    return row;
  }

  /** The attending escalation goes to: the flagging attending, or the study's assigned attending. */
  private async attendingFor(actor: Actor, study: StudyColumns, transaction: Transaction): Promise<string | null> {
    if (actor.role === 'attending') return actor.userId;
    if (!study.assigneeId) return null;
    const assignee = await this.models.User.findByPk(study.assigneeId, { attributes: ['id', 'role'], transaction, raw: true });
    return assignee?.role === 'attending' ? assignee.id : null;
  }

  private async study(id: string, transaction?: Transaction): Promise<StudyColumns> {
    const study = await this.models.Study.findByPk(id, { attributes: [...STUDY_COLUMNS], transaction, raw: true, paranoid: false });
    if (!study) throw notFound('study not found');
    return study;
  }

  private async present(row: CriticalResultAttributes, study: StudyColumns, transaction?: Transaction): Promise<CriticalResult> {
    const events = await this.models.CriticalEvent.findAll({
      where: { criticalResultId: row.id },
      order: [['id', 'ASC']],
      transaction,
      raw: true,
    });
    return presentCriticalResult(row, study, events);
  }
}
