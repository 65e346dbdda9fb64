/**
 * A report a device started offline, adopted when it is back online. The device gave the report
 * its id and seeded the document from the template it chose; its updates (that seed and what was
 * typed) reach the sync-server once the report exists. So the document is seeded here only with
 * the device's own seed, and only when it holds exactly what the template gives: those Yjs items
 * are then the same on both sides (no second copy of the template) and count as the template's,
 * not the user's. Any other seed is not stored; the device's updates bring the whole text, as the
 * user's. The study already having another report is a conflict the device resolves by merging.
 */
import { reportDocumentName } from '@pacs/shared';
import { UniqueConstraintError } from 'sequelize';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import { badRequest, conflict, type HttpError } from '../http-errors';
import { sameContent, seedUpdate, unb64 } from './content';
import type { ReportStore } from './report-store';
import { requiredFieldsOfTemplate } from './required-fields';
import { type SyncClient, SyncServerError, syncFailure } from './sync-client';
import { sectionsForOfflineStart, withClinicalHistory } from './templates';

export interface OfflineStartInput {
  study: StudyAttributes;
  id: string;
  templateId: string | null;
  seed: string;
  authorId: string;
}

export interface OfflineStartDeps {
  store: ReportStore;
  sync: SyncClient;
  models: Parameters<typeof sectionsForOfflineStart>[0];
  /** The audit row of the creation, in its transaction. */
  audit: (transaction: Parameters<Parameters<ReportStore['transaction']>[0]>[0], details: Record<string, unknown>) => Promise<void>;
}

export type OfflineStartResult =
  | { outcome: 'created' | 'already-adopted'; report: ReportAttributes }
  | { outcome: 'refused'; error: HttpError };

const startedElsewhere = (existing: ReportAttributes) =>
  conflict('another report was started on this study meanwhile: merge the offline draft into it', 'REPORT_EXISTS', {
    reportId: existing.id,
  });
const idTaken = () => conflict('this report id belongs to another report', 'REPORT_ID_TAKEN');

/** What an adopt answers when the id or the study's slot is already taken (a replay, or someone else). */
async function taken(store: ReportStore, input: OfflineStartInput): Promise<OfflineStartResult | null> {
  const same = await store.findReport(input.id);
  if (same) {
    const row = same.get();
    if (row.studyRef !== input.study.id || row.parentReportId !== null) return { outcome: 'refused', error: idTaken() };
    return { outcome: 'already-adopted', report: row };
  }
  const existing = await store.primaryReportOf(input.study.id);
  return existing ? { outcome: 'refused', error: startedElsewhere(existing) } : null;
}

function decodeSeed(seed: string): Uint8Array {
  try {
    const bytes = unb64(seed);
    sameContent(bytes, bytes); // throws on what is not a Yjs update
    return bytes;
  } catch {
    throw badRequest('seed is not a Yjs update', 'VALIDATION_FAILED');
  }
}

export async function adoptOfflineStart(deps: OfflineStartDeps, input: OfflineStartInput): Promise<OfflineStartResult> {
  const { store, sync } = deps;
  const { study, id } = input;
  const before = await taken(store, input);
  if (before) return before;
  if (study.status === 'scheduled') throw conflict('the study is scheduled: its images have not arrived yet', 'NO_IMAGES_YET');
  const seed = decodeSeed(input.seed);
  const chosen = await sectionsForOfflineStart(deps.models, study, input.templateId);
  const sections = withClinicalHistory(chosen.sections, await store.clinicalHistoryOf(study));
  const seededAsTemplate = sameContent(seed, seedUpdate(sections));
  if (seededAsTemplate) {
    try {
      await sync.seed(reportDocumentName(id), input.seed);
    } catch (error) {
      // Seeded by an earlier try of this adopt whose row was not written: the seed is there.
      if (!(error instanceof SyncServerError && error.code === 'not-empty')) throw syncFailure(error);
    }
  }
  try {
    const report = await store.transaction(async (transaction) => {
      const row = await store.createPrimaryReport(
        {
          id,
          studyId: study.id,
          authorId: input.authorId,
          templateId: chosen.templateId,
          requiredFields: requiredFieldsOfTemplate(sections),
        },
        transaction,
      );
      await store.followStudy(await store.loadStudy(study.id, transaction), 'start-reading', transaction);
      await deps.audit(transaction, {
        templateId: chosen.templateId,
        startedOffline: true,
        seed: seededAsTemplate ? 'template' : 'device',
      });
      return row.get();
    });
    return { outcome: 'created', report };
  } catch (error) {
    // A concurrent adopt of the same report, or another report started at the same moment.
    if (!(error instanceof UniqueConstraintError)) throw error;
    const after = await taken(store, input);
    return after ?? { outcome: 'refused', error: idTaken() };
  }
}
