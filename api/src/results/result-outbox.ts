/**
 * Results out: when a report is signed (final, or an addendum), one ORU per configured destination,
 * and one row for the DICOM archive's copy, are written to the outbox inside the signing
 * transaction, so a result is sent if and only if the signature committed. The dispatcher
 * (result-dispatcher.ts) delivers them.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'sequelize';
import { criticalLines, criticalResultsOf } from '../critical-results/communication-record';
import type { Models, ReportAttributes, StudyAttributes } from '../db/models';
import { codedConceptsOf } from '../reports/coded-content';
import { ARCHIVE_DESTINATION, ARCHIVE_MESSAGE_TYPE, type ResultDestination } from './destinations';
import { reportInstanceUid } from './encapsulated-report';
import { MAIL_DESTINATION, MAIL_MESSAGE_TYPE, type OutgoingMail } from './mail-destination';
import { buildOru, type ResultStatus } from './oru-message';

export interface ResultSettings {
  destinations: ResultDestination[];
  /** Store the signed report in the DICOM archive too. */
  archive: boolean;
  /** Send the resident's preliminary report too (OBR-25 P). */
  preliminary: boolean;
  /** An SMTP server is configured: notifications go out as e-mail. */
  mail: boolean;
  sender: { application: string; facility: string };
}

/**
 * The outbox's per-patient ordering key: the issuer of the patient id, then the id. A '|' in the
 * issuer is replaced, so the id is always what follows the first '|'.
 */
export function patientKeyOf(issuer: string, patientId: string): string {
  return `${issuer.replaceAll('|', '/')}|${patientId}`.slice(0, 140);
}

/** The patient id an ordering key was made from. */
export function patientIdOfKey(key: string): string {
  return key.slice(key.indexOf('|') + 1);
}

export interface SignedReport {
  report: ReportAttributes;
  study: StudyAttributes;
  /** For an addendum: the report it adds to. */
  original?: ReportAttributes;
}

function resultText({ report, original }: SignedReport): string {
  const own = report.contentText ?? '';
  if (!original) return own;
  const signed = report.finalSignedAt ? new Date(report.finalSignedAt).toISOString() : '';
  return `${original.contentText ?? ''}\n\nADDENDUM signed by ${report.finalSignerName ?? ''} ${signed}\n${own}`;
}

/** Who signed a final report or addendum, when, and the text that goes out. */
function signedResult(signed: SignedReport) {
  const { report } = signed;
  return {
    signer: { id: report.finalSignerId ?? '', name: report.finalSignerName ?? '' },
    signedAt: new Date(report.finalSignedAt ?? Date.now()),
    text: resultText(signed),
  };
}

export class ResultOutbox {
  /** Called after a commit that wrote rows, so the dispatcher sends them without waiting for its timer. */
  onEnqueued: () => void = () => {};

  constructor(
    private readonly models: Models,
    private readonly settings: ResultSettings,
  ) {}

  get enabled(): boolean {
    return this.settings.destinations.length > 0 || this.settings.archive;
  }

  /** Anything to deliver at all (results or mail): whether the dispatcher runs. */
  get delivering(): boolean {
    return this.enabled || this.settings.mail;
  }

  get mailEnabled(): boolean {
    return this.settings.mail;
  }

  /** The names of the HL7 destinations (what a communication record says an ORU went to). */
  get hl7Destinations(): string[] {
    return this.settings.destinations.map((destination) => destination.name);
  }

  /** One e-mail, delivered by the dispatcher after the transaction commits. False when no SMTP server is configured. */
  async enqueueMail(mail: OutgoingMail, about: { reportId: string; patientKey: string }, transaction: Transaction): Promise<boolean> {
    if (!this.settings.mail) return false;
    await this.models.Outbox.create(
      {
        destination: MAIL_DESTINATION,
        patientKey: about.patientKey,
        reportId: about.reportId,
        controlId: `M${randomUUID().replace(/-/g, '').slice(0, 19)}`,
        messageType: MAIL_MESSAGE_TYPE,
        text: JSON.stringify(mail),
        status: 'pending',
        nextAttemptAt: new Date(),
      },
      { transaction },
    );
    transaction.afterCommit(() => this.onEnqueued());
    return true;
  }

  /**
   * A signed report flagged critical after its signature: sent again as corrected (C) with the
   * abnormal flag, to the HL7 destinations (the archive keeps the signed copy).
   */
  async enqueueCriticalUpdate(signed: SignedReport, transaction: Transaction): Promise<number> {
    if (this.settings.destinations.length === 0) return 0;
    return this.write(signed, { ...signedResult(signed), status: 'C', archive: false }, transaction);
  }

  /** The final report (F) or an addendum (C, the whole report with it), to every destination and the archive. */
  async enqueue(signed: SignedReport, transaction: Transaction): Promise<number> {
    if (!this.enabled) return 0;
    return this.write(
      signed,
      { ...signedResult(signed), status: signed.original ? 'C' : 'F', archive: this.settings.archive },
      transaction,
    );
  }

  /**
   * A resident's preliminary report (P) as submitted, when the setting asks for it: to the HL7
   * destinations only (the archive keeps signed reports). The final report follows as F.
   */
  async enqueuePreliminary(report: ReportAttributes, study: StudyAttributes, text: string, transaction: Transaction): Promise<number> {
    if (!this.settings.preliminary || this.settings.destinations.length === 0) return 0;
    return this.write(
      { report, study },
      {
        status: 'P',
        signer: { id: report.preliminarySignerId ?? '', name: report.preliminarySignerName ?? '' },
        signedAt: new Date(report.preliminarySignedAt ?? Date.now()),
        text,
        archive: false,
      },
      transaction,
    );
  }

  private async write(
    signed: SignedReport,
    /** `archive`: the archive's copy too (signed reports only). */
    result: { status: ResultStatus; signer: { id: string; name: string }; signedAt: Date; text: string; archive: boolean },
    transaction: Transaction,
  ): Promise<number> {
    const { status, signer, signedAt } = result;
    const { report, study } = signed;
    const reportIds = [report.id, ...(signed.original ? [signed.original.id] : [])];
    const critical = await criticalResultsOf(this.models, reportIds, transaction);
    const patient = await this.models.Patient.findByPk(study.patientRef, { transaction, paranoid: false, raw: true });
    const order = study.orderRef ? await this.models.Order.findByPk(study.orderRef, { transaction, raw: true }) : null;
    const now = new Date();
    for (const destination of this.settings.destinations) {
      const controlId = `R${randomUUID().replace(/-/g, '').slice(0, 19)}`;
      const message = buildOru({
        controlId,
        sender: this.settings.sender,
        destination: destination.name,
        patient: {
          id: study.patientId,
          issuer: patient?.issuerOfPatientId ?? '',
          name: study.patientName,
          birthDate: study.patientBirthDate,
          sex: study.patientSex,
        },
        order: order
          ? {
              placerNamespace: order.placerNamespace,
              placerOrderNumber: order.placerOrderNumber,
              fillerOrderNumber: order.fillerOrderNumber,
            }
          : null,
        study: {
          accessionNumber: study.accessionNumber,
          studyInstanceUid: study.studyInstanceUid,
          procedureCode: order?.procedureCode ?? '',
          procedureText: order?.procedureText || study.description,
          studyDate: study.studyDate,
          studyTime: study.studyTime,
        },
        status,
        signer,
        signedAt,
        text: result.text,
        critical: criticalLines(critical),
        coded: codedConceptsOf(signed.original, report)
          .filter((concept) => concept.value !== null)
          .map((concept) => ({ ...concept.code, observation: concept.value! })),
      });
      await this.models.Outbox.create(
        {
          destination: destination.name,
          patientKey: patientKeyOf(patient?.issuerOfPatientId ?? '', study.patientId),
          reportId: report.id,
          controlId,
          messageType: 'ORU^R01',
          text: message.toString(),
          status: 'pending',
          nextAttemptAt: now,
        },
        { transaction },
      );
    }
    const archived = result.archive;
    if (archived) {
      await this.models.Outbox.create(
        {
          destination: ARCHIVE_DESTINATION,
          patientKey: patientKeyOf(patient?.issuerOfPatientId ?? '', study.patientId),
          reportId: report.id,
          // The SOP Instance UID the archive will hold: what an admin finds it by.
          controlId: reportInstanceUid(report.id),
          messageType: ARCHIVE_MESSAGE_TYPE,
          text: '',
          status: 'pending',
          nextAttemptAt: now,
        },
        { transaction },
      );
    }
    transaction.afterCommit(() => this.onEnqueued());
    return this.settings.destinations.length + (archived ? 1 : 0);
  }
}
