/**
 * What the report PDF shows and when it can be reused: the report with its signatures, every
 * signed addendum, the signed content once final and the live document before (watermarked
 * PRELIMINARY), an integrity alarm when any signed hash does not match. pdf.ts and pdf-text.ts
 * draw it; this module decides its content and keeps the cache of final reports.
 */
import { isReportLocked, reportDocumentName } from '@pacs/shared';
import type { Config } from '../config';
import { criticalLines } from '../critical-results/communication-record';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import type { KeyImageSource } from '../measurements/pdf-key-images';
import { decodeModalities } from '../worklist/present';
import { contentFromUpdate, type PMNode, unb64 } from './content';
import { defaultFontDir, type PdfReportPart, type PdfSignature, renderReportPdf } from './pdf';
import { storedContent } from './present';
import type { ReportStore } from './report-store';
import { sealPdf } from './signature/pdf-seal';
import type { SigningKeyring } from './signature/signing-keys';
import { type SyncClient, syncFailure } from './sync-client';

/** The export's settings from the API configuration. */
export type PdfSettings = Pick<Config, 'institutionName' | 'institutionLogo' | 'pdfFontDir' | 'pdfFallbackFonts'>;

export interface ExportedPdf {
  pdf: Buffer;
  /** Some signed hash (report or addendum) does not match its content. */
  integrityAlarm: boolean;
  /** Signed addenda printed. */
  addenda: number;
}

/** The integrity verdict of a row; the caller raises (audits) the alarm on a mismatch. */
export type VerifyIntegrity = (row: ReportAttributes) => Promise<boolean | null>;

const CACHED_PDFS = 64;
const EMPTY_DOC: PMNode = { type: 'doc', content: [] };

function signaturesOf(r: ReportAttributes): PdfSignature[] {
  return [
    ...(r.preliminarySignerId && r.preliminarySignedAt
      ? [{ label: 'Preliminary report', name: r.preliminarySignerName ?? '', signedAt: new Date(r.preliminarySignedAt) }]
      : []),
    ...(r.finalSignerId && r.finalSignedAt
      ? [
          {
            label: 'Electronically signed',
            name: r.finalSignerName ?? '',
            signedAt: new Date(r.finalSignedAt),
            attestation: r.finalAttestation,
          },
        ]
      : []),
  ];
}

const installationSignatureOf = (r: ReportAttributes) =>
  r.signature && r.signatureKeyId ? { keyId: r.signatureKeyId, value: r.signature } : null;

export class PdfExport {
  private readonly cache = new Map<string, Buffer>();
  private readonly fontDir: string;

  constructor(
    private readonly settings: PdfSettings,
    private readonly store: Pick<ReportStore, 'addendaOf' | 'criticalResultsOf'>,
    private readonly sync: Pick<SyncClient, 'state'>,
    private readonly keyring: SigningKeyring,
    private readonly keyImages: KeyImageSource | null = null,
  ) {
    this.fontDir = settings.pdfFontDir ?? defaultFontDir();
  }

  /**
   * The PDF of a primary report (an addendum prints as part of its original). With `signedUpTo`,
   * the report as it stood then: only the addenda signed by that moment.
   */
  async export(report: ReportAttributes, study: StudyAttributes, verify: VerifyIntegrity, signedUpTo?: Date): Promise<ExportedPdf> {
    const final = isReportLocked(report.status);
    const verified = await verify(report);
    const doc = final ? (storedContent(report)?.doc ?? EMPTY_DOC) : await this.liveDocument(report.id);
    const signedAddenda = (await this.store.addendaOf(report.id)).filter(
      (a) => isReportLocked(a.status) && (!signedUpTo || (a.finalSignedAt !== null && new Date(a.finalSignedAt) <= signedUpTo)),
    );
    const addenda: PdfReportPart[] = [];
    let alarm = verified === false;
    for (const [i, a] of signedAddenda.entries()) {
      if ((await verify(a)) === false) alarm = true;
      addenda.push({
        title: `Addendum ${i + 1}`,
        doc: storedContent(a)?.doc ?? EMPTY_DOC,
        signatures: signaturesOf(a),
        hash: a.contentHash,
        installationSignature: installationSignatureOf(a),
      });
    }
    const critical = await this.store.criticalResultsOf([report.id, ...signedAddenda.map((a) => a.id)]);
    const keyImages = (await this.keyImages?.forStudy(study.id)) ?? [];
    // A final report's PDF depends only on immutable signed rows, the study row and the critical
    // results' record: cached by their versions (the hashes above are still verified on every export).
    const cacheKey = final
      ? [
          report.id,
          report.version,
          report.contentHash,
          study.version,
          new Date(study.updatedAt).getTime(),
          alarm,
          ...signedAddenda.map((a) => `${a.id}:${a.version}:${a.contentHash}`),
          ...critical.map((c) => `${c.id}:${c.status}:${new Date(c.updatedAt).getTime()}`),
          ...keyImages.map((k) => `${k.caption}:${k.note}:${k.image?.length ?? 0}`),
        ].join('|')
      : null;
    const cached = cacheKey ? this.cache.get(cacheKey) : undefined;
    const pdf =
      cached ??
      sealPdf(
        await renderReportPdf(
          {
            reportId: report.id,
            institutionName: this.settings.institutionName,
            logoPath: this.settings.institutionLogo,
            patient: { name: study.patientName, id: study.patientId, birthDate: study.patientBirthDate, sex: study.patientSex },
            study: {
              description: study.description,
              date: study.studyDate,
              accession: study.accessionNumber,
              modalities: decodeModalities(study.modalities),
              referringPhysician: study.referringPhysician,
              indication: study.indication,
            },
            status: report.status,
            preliminary: !final,
            integrityAlarm: alarm,
            report: {
              title: 'Report',
              doc,
              signatures: signaturesOf(report),
              hash: report.contentHash,
              installationSignature: installationSignatureOf(report),
            },
            addenda,
            criticalCommunication: criticalLines(critical),
            keyImages,
            generatedAt: new Date(),
          },
          this.fontDir,
          this.settings.pdfFallbackFonts,
        ),
        this.keyring,
      );
    if (cacheKey && !cached) {
      if (this.cache.size >= CACHED_PDFS) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(cacheKey, pdf);
    }
    return { pdf, integrityAlarm: alarm, addenda: addenda.length };
  }

  /** A report not yet final prints what its document holds now. */
  private async liveDocument(reportId: string): Promise<PMNode> {
    try {
      return contentFromUpdate(unb64((await this.sync.state(reportDocumentName(reportId))).update)).doc;
    } catch (error) {
      throw syncFailure(error);
    }
  }
}
