/**
 * Patient rows and the copies of a patient's demographics every worklist row keeps (the worklist
 * filters and sorts on one table). A change to a patient is written to each of their studies with
 * a change stamp, so devices holding those rows receive it through the delta feed.
 */
import { foldForSearch } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { Models, PatientRow, StudyRow } from '../db/models';
import { studyChangeStamp } from '../worklist/change-feed';
import type { PatientDemographics, PatientIdentity } from './patient-identity';

/** The words the worklist's search matches for a study. */
export function studySearchText(study: { patientName: string; patientId: string; accessionNumber: string; description: string }): string {
  return foldForSearch([study.patientName, study.patientId, study.accessionNumber, study.description].join(' ')).slice(0, 1024);
}

/** The row of this identity, one merged away (deleted) included; null when there is none. */
export async function findPatient(models: Models, identity: PatientIdentity, transaction: Transaction): Promise<PatientRow | null> {
  return models.Patient.findOne({
    where: { patientId: identity.patientId, issuerOfPatientId: identity.issuerOfPatientId },
    paranoid: false,
    transaction,
  });
}

/** A patient the hospital still uses: there is a row, and it was not merged away. */
export function isLivePatient(row: PatientRow | null): row is PatientRow {
  return row !== null && row.get('deletedAt') === null;
}

/**
 * The patient's row id: created, restored or brought up to date with `values`. `found` is what a
 * caller already read with findPatient (null: nothing), so the hot path does not read it twice.
 */
export async function upsertPatient(
  models: Models,
  values: PatientDemographics,
  transaction: Transaction,
  found?: PatientRow | null,
): Promise<string> {
  const existing = found === undefined ? await findPatient(models, values, transaction) : found;
  if (!existing) return (await models.Patient.create(values, { transaction })).get('id');
  if (existing.get('deletedAt')) await existing.restore({ transaction });
  await existing.update({ name: values.name, birthDate: values.birthDate, sex: values.sex }, { transaction });
  return existing.get('id');
}

/** Writes the patient's demographics to every study of theirs that differs; returns how many changed. */
export async function copyDemographicsToStudies(
  models: Models,
  patientRef: string,
  values: PatientDemographics,
  transaction: Transaction,
): Promise<StudyRow[]> {
  const studies = await models.Study.findAll({ where: { patientRef }, transaction });
  const changed: StudyRow[] = [];
  for (const study of studies) {
    const next = {
      patientName: values.name,
      patientId: values.patientId,
      patientBirthDate: values.birthDate,
      patientSex: values.sex,
    };
    const current = study.get();
    if (
      current.patientName === next.patientName &&
      current.patientId === next.patientId &&
      current.patientBirthDate === next.patientBirthDate &&
      current.patientSex === next.patientSex
    ) {
      continue;
    }
    await study.update(
      {
        ...next,
        searchText: studySearchText({ ...current, ...next }),
        ...(await studyChangeStamp(models, current, transaction)),
      },
      { transaction },
    );
    changed.push(study);
  }
  return changed;
}

/**
 * Merges the record `prior` into `surviving` (ADT^A40): the prior record's studies and orders move
 * to the surviving patient, take its demographics, and the prior record is retired.
 */
export async function mergePatients(
  models: Models,
  priorRef: string,
  survivingRef: string,
  surviving: PatientDemographics,
  transaction: Transaction,
): Promise<{ studies: number; orders: number }> {
  const moved = await models.Study.findAll({ where: { patientRef: priorRef }, transaction });
  for (const study of moved) await study.update({ patientRef: survivingRef }, { transaction });
  const [orders] = await models.Order.update({ patientRef: survivingRef }, { where: { patientRef: priorRef }, transaction });
  await models.Patient.destroy({ where: { id: priorRef }, transaction });
  await copyDemographicsToStudies(models, survivingRef, surviving, transaction);
  return { studies: moved.length, orders };
}
