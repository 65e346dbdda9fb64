import { can, STUDY_PRIORITIES, STUDY_STATUSES, type StudyPriority, type StudyStatus, studyEventForTarget } from '@pacs/shared';
import type { User, WorklistStudy } from '../api/types';
import type { SyncEngine } from '../device/engine';

export const STATUS_LABEL: Record<StudyStatus, string> = {
  scheduled: 'Scheduled',
  unread: 'Unread',
  in_progress: 'In progress',
  preliminary: 'Preliminary',
  final: 'Final',
};
export const PRIORITY_LABEL: Record<StudyPriority, string> = { stat: 'STAT', urgent: 'Urgent', routine: 'Routine' };

export function canAssignSelf(user: User): boolean {
  return can(user.role, 'study:assign') && can(user.role, 'report:edit');
}

export function statusTargets(user: User, row: WorklistStudy): StudyStatus[] {
  if (!can(user.role, 'study:set-status')) return [];
  return STUDY_STATUSES.filter((to) => to !== row.status && studyEventForTarget(row.status, to, user.role).ok);
}

export function priorityTargets(user: User, row: WorklistStudy): StudyPriority[] {
  if (!can(user.role, 'study:prioritize')) return [];
  return STUDY_PRIORITIES.filter((p) => p !== row.priority);
}

export function assignToMe(engine: SyncEngine, user: User, row: WorklistStudy) {
  return engine.enqueue(row.id, { assigneeId: user.id }, `assign to me (${user.name})`);
}
/** Attendings and admins hand a study to someone (a resident to read it first); residents only take it themselves. */
export function canAssignOthers(user: User): boolean {
  return can(user.role, 'study:assign') && user.role !== 'resident';
}
export function assignTo(engine: SyncEngine, row: WorklistStudy, assignee: { id: string; name: string }) {
  return engine.enqueue(row.id, { assigneeId: assignee.id }, `assign to ${assignee.name}`);
}
export function unassign(engine: SyncEngine, row: WorklistStudy) {
  return engine.enqueue(row.id, { assigneeId: null }, 'unassign');
}
export function setPriority(engine: SyncEngine, row: WorklistStudy, priority: StudyPriority) {
  return engine.enqueue(row.id, { priority }, `set priority to ${PRIORITY_LABEL[priority]}`);
}
export function setStatus(engine: SyncEngine, row: WorklistStudy, status: StudyStatus) {
  return engine.enqueue(row.id, { status }, `set status to ${STATUS_LABEL[status]}`);
}
