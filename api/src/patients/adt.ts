/**
 * Patient administration messages: A04/A28 register, A08/A31 update (the hospital's demographics
 * replace ours, on the patient and on every worklist row of theirs) and A40 merge (the record in
 * MRG-1 is folded into the one in PID).
 */
import type { Hl7Message } from '@medplum/core';
import type { Transaction } from 'sequelize';
import type { Models } from '../db/models';
import { demographicsFromPid, identityFrom } from './patient-identity';
import { copyDemographicsToStudies, findPatient, isLivePatient, mergePatients, upsertPatient } from './patient-store';

export type AdtResult =
  | { readonly ok: true; readonly patientId: string; readonly details: Record<string, unknown> }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string; readonly patientId?: string };

/** ADT^A04, A08, A28, A31: the patient as PID gives them, created when new. */
export async function applyPatientUpdate(models: Models, message: Hl7Message, transaction: Transaction): Promise<AdtResult> {
  const patient = demographicsFromPid(message.getSegment('PID'));
  if (!patient) return { ok: false, errorCode: '101', reason: 'PID-3 (patient identifier) is missing' };
  const found = await findPatient(models, patient, transaction);
  const patientRef = await upsertPatient(models, patient, transaction, found);
  const studies = await copyDemographicsToStudies(models, patientRef, patient, transaction);
  return { ok: true, patientId: patient.patientId, details: { created: !isLivePatient(found), studiesUpdated: studies.length } };
}

/** ADT^A40: MRG-1's record merged into PID-3's. */
export async function applyPatientMerge(models: Models, message: Hl7Message, transaction: Transaction): Promise<AdtResult> {
  const surviving = demographicsFromPid(message.getSegment('PID'));
  if (!surviving) return { ok: false, errorCode: '101', reason: 'PID-3 (patient identifier) is missing' };
  const priorIdentity = identityFrom(message.getSegment('MRG'), 1);
  if (!priorIdentity)
    return { ok: false, errorCode: '101', reason: 'MRG-1 (prior patient identifier) is missing', patientId: surviving.patientId };
  if (priorIdentity.patientId === surviving.patientId && priorIdentity.issuerOfPatientId === surviving.issuerOfPatientId) {
    return { ok: false, errorCode: '205', reason: 'MRG-1 names the surviving patient itself', patientId: surviving.patientId };
  }
  const prior = await findPatient(models, priorIdentity, transaction);
  if (!isLivePatient(prior)) {
    return {
      ok: false,
      errorCode: '204',
      reason: `prior patient '${priorIdentity.patientId}' is not known here`,
      patientId: surviving.patientId,
    };
  }
  const survivingRef = await upsertPatient(models, surviving, transaction);
  const moved = await mergePatients(models, prior.get('id'), survivingRef, surviving, transaction);
  return { ok: true, patientId: surviving.patientId, details: { mergedPatientId: priorIdentity.patientId, ...moved } };
}
