import type { WorklistStudy } from '@pacs/shared';
import { Op } from 'sequelize';
import type { Models, StudyAttributes } from '../db/models';
import type { AccessDecision } from '../restricted-access/policy';

/** Modalities are stored as "|CT|MR|" so one can be matched exactly with LIKE '%|CT|%'. */
export function encodeModalities(modalities: Iterable<string>): string {
  const unique = [...new Set([...modalities].map((m) => m.trim().toUpperCase()).filter(Boolean))].sort();
  return unique.length > 0 ? `|${unique.join('|')}|` : '';
}

export function decodeModalities(stored: string): string[] {
  return stored.split('|').filter(Boolean);
}

type AssigneeNames = Map<string, string>;

export async function assigneeNames(models: Models, rows: Pick<StudyAttributes, 'assigneeId'>[]): Promise<AssigneeNames> {
  const ids = [...new Set(rows.map((r) => r.assigneeId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const users = await models.User.findAll({ where: { id: { [Op.in]: ids } }, attributes: ['id', 'name'], raw: true });
  return new Map(users.map((u) => [u.id, u.name]));
}

/** Unrestricted: what a study is shown as when no decision was asked for (never for a restricted row). */
const UNRESTRICTED: AccessDecision = { restricted: false, access: 'open', windowId: null, until: null };

/**
 * A worklist row as this user may see it. A restricted row without access (`decision.access` is
 * 'masked') keeps what the department works with (accession, procedure, status) and loses what
 * names the patient: name, id, birth date, sex, and the indication (free text about them).
 */
export function presentStudy(row: StudyAttributes, names: AssigneeNames, decision: AccessDecision = UNRESTRICTED): WorklistStudy {
  const study = presentOpen(row, names, decision);
  return decision.access === 'masked' ? maskStudy(study) : study;
}

export function maskStudy(study: WorklistStudy): WorklistStudy {
  return {
    ...study,
    patientName: '',
    patientId: '',
    patientBirthDate: null,
    patientSex: null,
    indication: '',
    access: 'masked',
    emergencyAccessUntil: null,
  };
}

function presentOpen(row: StudyAttributes, names: AssigneeNames, decision: AccessDecision): WorklistStudy {
  return {
    id: row.id,
    studyInstanceUid: row.studyInstanceUid,
    patientName: row.patientName,
    patientId: row.patientId,
    patientBirthDate: row.patientBirthDate ?? null,
    patientSex: row.patientSex ?? null,
    accessionNumber: row.accessionNumber,
    studyDate: row.studyDate ?? null,
    studyTime: row.studyTime ?? null,
    description: row.description,
    modalities: decodeModalities(row.modalities),
    bodyPart: row.bodyPart,
    referringPhysician: row.referringPhysician,
    indication: row.indication ?? '',
    orderMatch: row.orderMatch ?? '',
    numberOfSeries: row.numberOfSeries,
    numberOfInstances: row.numberOfInstances,
    status: row.status,
    priority: row.priority,
    assignee: row.assigneeId ? { id: row.assigneeId, name: names.get(row.assigneeId) ?? '' } : null,
    updatedAfterArrival: Boolean(row.updatedAfterArrival),
    receivedAt: new Date(row.receivedAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    version: row.version,
    restricted: decision.restricted,
    access: decision.access,
    emergencyAccessUntil: decision.until ? decision.until.toISOString() : null,
  };
}
