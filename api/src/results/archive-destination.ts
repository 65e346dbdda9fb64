/**
 * The DICOM archive as a destination of signed results: the signed report (or addendum) is rendered
 * as the PDF of the report as it stood at that signature, wrapped as an Encapsulated PDF in its
 * study (encapsulated-report.ts) and stored in Orthanc through its REST API. A report whose signed
 * hash no longer matches its content is never archived: the row dies with the reason.
 */
import { isReportLocked } from '@pacs/shared';
import type { Models, ReportAttributes } from '../db/models';
import type { OutboxAttributes } from '../db/order-models';
import type { OrthancClient } from '../ingest/orthanc-client';
import type { PdfExport } from '../reports/pdf-export';
import type { SigningKeyring } from '../reports/signature/signing-keys';
import { verifyIntegrity } from '../reports/signing';
import { ARCHIVE_DESTINATION, type Delivery, type Destination } from './destinations';
import { encapsulatedReport } from './encapsulated-report';

const permanent = (error: string): Delivery => ({ ok: false, ackCode: '', error, permanent: true });

export class ArchiveDestination implements Destination {
  readonly name = ARCHIVE_DESTINATION;

  constructor(
    private readonly models: Models,
    private readonly pdfExport: Pick<PdfExport, 'export'>,
    private readonly orthanc: Pick<OrthancClient, 'fetch'>,
    private readonly institutionName: string,
    private readonly keyring: SigningKeyring,
  ) {}

  async deliver(row: OutboxAttributes): Promise<Delivery> {
    const { Report, Study, Patient } = this.models;
    const signed = await Report.findByPk(row.reportId, { raw: true });
    if (!signed || !isReportLocked(signed.status) || !signed.finalSignedAt) return permanent('the signed report is gone');
    const primary = signed.parentReportId ? await Report.findByPk(signed.parentReportId, { raw: true }) : signed;
    if (!primary) return permanent('the report this addendum belongs to is gone');
    const study = await Study.findByPk(primary.studyRef, { raw: true, paranoid: false });
    if (!study) return permanent('the study is gone');
    const patient = await Patient.findByPk(study.patientRef, { raw: true, paranoid: false });
    let intact = true;
    const verify = async (r: ReportAttributes) => {
      const verdict = verifyIntegrity(r, this.keyring);
      if (verdict === false) intact = false;
      return verdict;
    };
    const signedAt = new Date(signed.finalSignedAt);
    const exported = await this.pdfExport.export(primary, study, verify, signedAt);
    if (!intact || exported.integrityAlarm) return permanent('integrity alarm: a signed hash does not match its content; not archived');
    const file = encapsulatedReport({
      study,
      issuerOfPatientId: patient?.issuerOfPatientId ?? '',
      signedRowId: signed.id,
      instanceNumber: 1 + exported.addenda,
      signedAt,
      signerName: signed.finalSignerName ?? '',
      institutionName: this.institutionName,
      title:
        exported.addenda > 0
          ? `Radiology report with ${exported.addenda} addend${exported.addenda === 1 ? 'um' : 'a'}`
          : 'Radiology report',
      pdf: exported.pdf,
    });
    const response = await this.orthanc.fetch('/instances', {
      method: 'POST',
      body: file,
      headers: { 'content-type': 'application/dicom', accept: 'application/json' },
    });
    const answer = (await response.json().catch(() => ({}))) as { Status?: unknown };
    if (response.ok && (answer.Status === 'Success' || answer.Status === 'AlreadyStored')) return { ok: true, ackCode: '' };
    // Orthanc refusing the file (4xx) will refuse it again; anything else is worth retrying.
    const error = `Orthanc answered ${response.status}${typeof answer.Status === 'string' ? ` ${answer.Status}` : ''}`;
    return { ok: false, ackCode: '', error, permanent: response.status >= 400 && response.status < 500 };
  }

  async close(): Promise<void> {}
}
