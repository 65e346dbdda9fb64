/** Report rows → API shapes (the integrity verdict comes from signing.ts). */
import { type Addendum, isReportLocked, type Report, type ReportIntegrity, reportDocumentName, type TemplateSection } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import type { ReportAttributes, StudyAttributes, TemplateAttributes } from '../db/models';
import type { PMNode } from './content';
import { checkIntegrity } from './report-audit';
import type { ReportStore } from './report-store';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function storedContent(row: ReportAttributes): { doc: PMNode; sections: { key: string; title: string; text: string }[] } | null {
  if (!row.contentJson) return null;
  try {
    return JSON.parse(row.contentJson) as { doc: PMNode; sections: { key: string; title: string; text: string }[] };
  } catch {
    return null;
  }
}

export function presentAddendum(row: ReportAttributes, integrity: ReportIntegrity): Addendum {
  const content = storedContent(row);
  return {
    id: row.id,
    studyId: row.studyRef,
    parentReportId: row.parentReportId ?? null,
    status: row.status,
    document: reportDocumentName(row.id),
    templateId: row.templateId ?? null,
    authorId: row.authorId,
    version: row.version,
    locked: isReportLocked(row.status),
    preliminarySignature:
      row.preliminarySignerId && row.preliminarySignedAt
        ? { userId: row.preliminarySignerId, name: row.preliminarySignerName ?? '', signedAt: iso(row.preliminarySignedAt)! }
        : null,
    finalSignature:
      row.finalSignerId && row.finalSignedAt
        ? {
            userId: row.finalSignerId,
            name: row.finalSignerName ?? '',
            signedAt: iso(row.finalSignedAt)!,
            ...(row.finalAttestation ? { attestation: row.finalAttestation } : {}),
          }
        : null,
    returnComment: row.returnComment ?? null,
    content:
      content && row.contentHash
        ? { doc: content.doc, sections: content.sections, text: row.contentText ?? '', hash: row.contentHash }
        : null,
    integrity,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}

export function presentReport(row: ReportAttributes, integrity: ReportIntegrity, addenda: Addendum[]): Report {
  return { ...presentAddendum(row, integrity), addenda };
}

/** The report as the API shows it: integrity verified (alarm raised), with its addenda. */
export async function presentVerified(
  request: FastifyRequest,
  store: Pick<ReportStore, 'addendaOf'>,
  row: ReportAttributes,
  study: StudyAttributes,
): Promise<Report> {
  const integrity = await checkIntegrity(request, row, study);
  const addenda = row.parentReportId ? [] : await store.addendaOf(row.id);
  const presented = [];
  for (const a of addenda) presented.push(presentAddendum(a, await checkIntegrity(request, a, study)));
  return presentReport(row, integrity, presented);
}

export function presentTemplate(row: TemplateAttributes) {
  return {
    id: row.id,
    name: row.name,
    modalities: row.modalities.split(',').filter(Boolean),
    bodyPart: row.bodyPart,
    sections: JSON.parse(row.sections) as TemplateSection[],
    procedureCodes: (row.procedureCodes ?? '').split(',').filter(Boolean),
    builtIn: Boolean(row.builtIn ?? false),
    retired: (row.retiredAt ?? null) !== null,
    retiredAt: iso(row.retiredAt ?? null),
    version: row.version ?? 1,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}
