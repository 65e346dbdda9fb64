/**
 * Signing is refused while a required fill-in field of the report is empty: at the resident's
 * submit (from the live document) and at finalize (from the locked state that would be signed).
 * Which fields are empty is the shared rule (`emptyRequiredFields`), so the editor marks the same ones;
 * a required field the report began with and the document no longer holds counts as empty.
 */

import type { TemplateSection } from '@pacs/shared';
import { isResidentsWork, reportDocumentName, reportTransition } from '@pacs/shared';
import { type EmptyField, emptyFieldsMessage, emptyRequiredFields, requiredTemplateFields } from '@pacs/shared/report-document';
import type { ReportAttributes } from '../db/models';
import type { Principal } from '../fastify-types';
import { conflict } from '../http-errors';
import { contentFromUpdate, type PMNode, unb64 } from './content';
import type { ReportStore } from './report-store';
import { type SyncClient, syncFailure } from './sync-client';

export interface RequiredFieldsRefusal {
  outcome: 'required-fields-empty';
  message: string;
  fields: EmptyField[];
}

/** What a new report remembers of its template's required fields (reports.requiredFields). */
export function requiredFieldsOfTemplate(sections: readonly TemplateSection[]): string | null {
  const fields = requiredTemplateFields(sections);
  return fields.length === 0 ? null : JSON.stringify(fields);
}

function rememberedFields(row: Pick<ReportAttributes, 'requiredFields'> | null): EmptyField[] {
  try {
    const parsed = JSON.parse(row?.requiredFields ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as EmptyField[]) : [];
  } catch {
    return [];
  }
}

/** The empty required fields of a report's document (ProseMirror JSON), or null when every one is filled. */
export function emptyFieldsOf(row: Pick<ReportAttributes, 'requiredFields'> | null, doc: PMNode): RequiredFieldsRefusal | null {
  const fields = emptyRequiredFields(doc, rememberedFields(row));
  return fields.length === 0 ? null : { outcome: 'required-fields-empty', message: emptyFieldsMessage(fields), fields };
}

/** For finalize: the refusal for the locked state of this report, or null. */
export async function requiredFieldsRefusal(
  store: Pick<ReportStore, 'findReport'>,
  reportId: string,
  doc: PMNode,
): Promise<RequiredFieldsRefusal | null> {
  return emptyFieldsOf((await store.findReport(reportId))?.get() ?? null, doc);
}

/**
 * Before a submit: 409 REQUIRED_FIELDS_EMPTY with the fields when the document has empty required
 * ones. Only when the submit would otherwise be allowed, so a refusal for other reasons (state,
 * role, not the user's report) stays the refusal the user sees, and never names the fields.
 */
export async function refuseSubmitWithEmptyFields(
  deps: { store: ReportStore; sync: Pick<SyncClient, 'state'> },
  reportId: string,
  principal: Pick<Principal, 'userId' | 'role'>,
): Promise<void> {
  const report = await deps.store.findReport(reportId);
  if (!report) return;
  const row = report.get();
  const study = await deps.store.findStudy(row.studyRef);
  if (!study || row.parentReportId || !reportTransition(row.status, 'submit', principal.role).ok) return;
  if (!isResidentsWork(principal.userId, { authorId: row.authorId, assigneeId: study.get('assigneeId') })) return;
  let update: string;
  try {
    update = (await deps.sync.state(reportDocumentName(reportId))).update;
  } catch (error) {
    throw syncFailure(error);
  }
  const refusal = emptyFieldsOf(row, contentFromUpdate(unb64(update)).doc);
  if (refusal) throw conflict(refusal.message, 'REQUIRED_FIELDS_EMPTY', { fields: refusal.fields });
}
