/**
 * Who hears of a critical result at each level, and how: the ordering physician's referrer accounts
 * (level 0), the attending (level 1), the department list (level 2). In the app (the recipient's
 * list shows it), by e-mail through the outbox, and each attempt, or the absence of anyone to
 * tell, as a line of the communication record. Runs inside the caller's transaction, so a flag or an
 * escalation and its notifications commit together.
 *
 * E-mail is not a secure channel: it names no patient and carries no finding, only the category,
 * the accession, the deadline and a link that asks the reader to sign in.
 */
import { CRITICAL_CATEGORY_LABELS, type CriticalEscalationLevel, type CriticalEventChannel, type CriticalEventKind } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { AuditRecorder } from '../audit/recorder';
import type { CriticalResultAttributes } from '../db/critical-models';
import type { Models, StudyAttributes } from '../db/models';
import type { ResultOutbox } from '../results/result-outbox';
import { patientKeyOf } from '../results/result-outbox';

export interface NotifierSettings {
  escalationEmails: string[];
  /** The origin browsers use, for the link in e-mails. */
  publicOrigin: string;
}

type Study = Pick<StudyAttributes, 'accessionNumber' | 'patientId' | 'studyInstanceUid' | 'description'>;

export class CriticalNotifier {
  constructor(
    private readonly models: Models,
    private readonly outbox: ResultOutbox,
    private readonly audit: AuditRecorder,
    private readonly settings: NotifierSettings,
  ) {}

  /** Tell everyone at `level`; resolves with how many were told (0: an `unreachable` line was written). */
  async notify(result: CriticalResultAttributes, study: Study, level: CriticalEscalationLevel, transaction: Transaction): Promise<number> {
    const kind: CriticalEventKind = level === 0 ? 'notified' : 'escalated';
    const people = await this.peopleAt(result, level, transaction);
    const emails = level === 2 ? this.settings.escalationEmails : [];
    let told = 0;
    for (const person of people) {
      await this.event(result, { kind, channel: 'in-app', level, target: person.name }, transaction);
      told += 1;
      if (await this.mail(result, study, level, person.email, transaction)) {
        await this.event(result, { kind, channel: 'email', level, target: person.email }, transaction);
      }
    }
    for (const address of emails) {
      if (await this.mail(result, study, level, address, transaction)) {
        await this.event(result, { kind, channel: 'email', level, target: address }, transaction);
        told += 1;
      }
    }
    if (told === 0) {
      await this.event(
        result,
        { kind: 'unreachable', channel: '', level, target: '', detail: this.nobodyReason(result, level) },
        transaction,
      );
    }
    await this.audit.record(
      {
        eventId: 'PatientRecord',
        action: 'U',
        outcome: told === 0 ? 4 : 0,
        objectType: 'CriticalResult',
        objectId: result.id,
        patientId: study.patientId,
        studyUid: study.studyInstanceUid,
        details: { event: level === 0 ? 'critical-notified' : 'critical-escalated', level, recipients: told },
      },
      transaction,
    );
    return told;
  }

  /** The accounts told at a level: active, and (for referrers) linked to the order's physician. */
  private async peopleAt(result: CriticalResultAttributes, level: CriticalEscalationLevel, transaction: Transaction) {
    const attributes = ['id', 'name', 'email'] as const;
    if (level === 0) {
      if (result.recipientProviderId === '') return [];
      return this.models.User.findAll({
        where: { role: 'referrer', active: true, providerId: result.recipientProviderId },
        attributes: [...attributes],
        transaction,
        raw: true,
      });
    }
    if (level === 1) {
      const report = await this.models.Report.findByPk(result.reportId, { attributes: ['finalSignerId'], transaction, raw: true });
      const id = result.attendingId ?? report?.finalSignerId ?? null;
      if (!id) return [];
      return this.models.User.findAll({
        where: { id, role: 'attending', active: true },
        attributes: [...attributes],
        transaction,
        raw: true,
      });
    }
    return [];
  }

  private nobodyReason(result: CriticalResultAttributes, level: CriticalEscalationLevel): string {
    if (level === 0) {
      return result.recipientProviderId === ''
        ? 'the order names no ordering physician id: call them'
        : 'no active referrer account is linked to the ordering physician: call them';
    }
    if (level === 1) return 'no attending is assigned to the study or signed the report';
    return this.outbox.mailEnabled ? 'no department list is configured' : 'no department list can be mailed (no SMTP server)';
  }

  private async mail(
    result: CriticalResultAttributes,
    study: Study,
    level: CriticalEscalationLevel,
    to: string,
    transaction: Transaction,
  ): Promise<boolean> {
    if (!to) return false;
    const link = `${this.settings.publicOrigin}/critical/${result.id}`;
    const due = new Date(result.dueAt).toISOString().replace('T', ' ').slice(0, 16);
    const who = level === 0 ? 'for your patient' : level === 1 ? 'escalated to you as the attending' : 'escalated to the department';
    return this.outbox.enqueueMail(
      {
        to,
        subject: `Critical result (${result.category.toUpperCase()}) ${who}: acknowledge by ${due} UTC`,
        text: [
          `A radiologist has flagged a critical result ${who}.`,
          '',
          `Category: ${CRITICAL_CATEGORY_LABELS[result.category]}`,
          `Accession: ${study.accessionNumber || '(none)'}`,
          `Acknowledge by: ${due} UTC`,
          '',
          `Sign in to read the finding and acknowledge it: ${link}`,
          '',
          'This message carries no patient details by design.',
        ].join('\n'),
      },
      { reportId: result.reportId, patientKey: patientKeyOf('', study.patientId) },
      transaction,
    );
  }

  async event(
    result: Pick<CriticalResultAttributes, 'id'>,
    line: {
      kind: CriticalEventKind;
      channel: CriticalEventChannel;
      level: CriticalEscalationLevel;
      target: string;
      detail?: string;
      actorId?: string;
      actorName?: string;
    },
    transaction: Transaction,
  ): Promise<void> {
    await this.models.CriticalEvent.create(
      {
        criticalResultId: result.id,
        at: new Date(),
        kind: line.kind,
        channel: line.channel,
        level: line.level,
        target: line.target.slice(0, 254),
        actorId: line.actorId ?? null,
        actorName: (line.actorName ?? '').slice(0, 200),
        detail: (line.detail ?? '').slice(0, 400),
      },
      { transaction },
    );
  }
}
