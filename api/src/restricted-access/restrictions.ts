/**
 * Setting and lifting restrictions. A study's own restriction comes from an admin, its order or its
 * DICOM confidentiality tags; a patient's only from an admin. An admin lifts a restriction that the
 * hospital's systems set (order, DICOM) only by saying so (`liftExternal`), and every change is
 * audited. Each change moves the affected rows through the change feed, so devices get them masked.
 */
import type { RestrictionSource, RestrictionState } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { Models, StudyRow } from '../db/models';
import { conflict, notFound } from '../http-errors';
import { nextChangeSeq } from '../worklist/change-feed';
import { resendPatientRows } from './windows';

const EXTERNAL: readonly (RestrictionSource | null)[] = ['order', 'dicom'];

/** What ingestion and the order intake call: restrict the study (never lifts; an admin does that). */
export async function restrictStudyFrom(
  models: Models,
  study: StudyRow,
  source: Exclude<RestrictionSource, 'admin'>,
  transaction: Transaction,
): Promise<boolean> {
  if (study.get('restricted')) return false;
  await study.update({ restricted: true, restrictionSource: source, changeSeq: await nextChangeSeq(models, transaction) }, { transaction });
  return true;
}

export function createRestrictions(models: Models) {
  const sequelize = models.Study.sequelize!;
  return {
    async setStudy(request: FastifyRequest, studyId: string, restricted: boolean, liftExternal: boolean): Promise<RestrictionState> {
      return sequelize.transaction(async (transaction) => {
        const study = await models.Study.findByPk(studyId, { transaction, lock: transaction.LOCK.UPDATE });
        if (!study) throw notFound('study not found');
        const before = { restricted: Boolean(study.get('restricted')), source: study.get('restrictionSource') };
        request.auditSubject = { objectType: 'Study', objectId: studyId, studyUid: study.get('studyInstanceUid') };
        if (before.restricted === restricted) return before;
        if (!restricted && EXTERNAL.includes(before.source) && !liftExternal) {
          throw conflict(`the restriction came from the ${before.source}: lift it with liftExternal: true`, 'CONFIRM_LIFT');
        }
        const after = { restricted, source: restricted ? ('admin' as const) : null };
        await study.update(
          { restricted, restrictionSource: after.source, changeSeq: await nextChangeSeq(models, transaction) },
          { transaction },
        );
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'StudyRestriction',
          objectId: studyId,
          patientId: study.get('patientId') || undefined,
          studyUid: study.get('studyInstanceUid'),
          details: { event: restricted ? 'restricted' : 'restriction-lifted', from: before, to: after },
        });
        return after;
      });
    },

    async setPatient(request: FastifyRequest, patientRef: string, restricted: boolean): Promise<RestrictionState> {
      return sequelize.transaction(async (transaction) => {
        const patient = await models.Patient.findByPk(patientRef, { transaction, raw: true });
        if (!patient) throw notFound('patient not found');
        request.auditSubject = { objectType: 'Patient', objectId: patientRef };
        const existing = await models.RestrictedPatient.findByPk(patientRef, { transaction });
        if (Boolean(existing) === restricted) return { restricted, source: existing ? existing.get('source') : null };
        if (restricted) {
          await models.RestrictedPatient.create(
            { patientRef, source: 'admin', restrictedBy: request.principal!.userId, createdAt: new Date() },
            { transaction },
          );
        } else {
          await existing!.destroy({ transaction });
        }
        await resendPatientRows(models, patientRef, transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'PatientRestriction',
          objectId: patientRef,
          patientId: patient.patientId,
          details: { event: restricted ? 'restricted' : 'restriction-lifted' },
        });
        return { restricted, source: restricted ? 'admin' : null };
      });
    },
  };
}
