/**
 * The Patient and General Study modules of a document this system makes for a study (a signed
 * report, a measurement report, a key image selection): exactly the study's, so the archive files the
 * document with its images.
 */
import type { StudyAttributes } from '../db/models';

export type DocumentStudyFields = Pick<
  StudyAttributes,
  | 'patientName'
  | 'patientId'
  | 'patientBirthDate'
  | 'patientSex'
  | 'studyInstanceUid'
  | 'studyDate'
  | 'studyTime'
  | 'accessionNumber'
  | 'referringPhysician'
  | 'description'
>;

export function patientAndStudyModules(study: DocumentStudyFields, issuerOfPatientId = '') {
  return {
    PatientName: study.patientName,
    PatientID: study.patientId,
    IssuerOfPatientID: issuerOfPatientId || undefined,
    PatientBirthDate: study.patientBirthDate ?? '',
    PatientSex: study.patientSex ?? '',
    StudyInstanceUID: study.studyInstanceUid,
    StudyDate: study.studyDate ?? '',
    StudyTime: study.studyTime ?? '',
    AccessionNumber: study.accessionNumber,
    ReferringPhysicianName: study.referringPhysician,
    StudyID: '',
    StudyDescription: study.description || undefined,
  };
}
