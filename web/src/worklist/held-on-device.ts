/**
 * What the device holds beyond the feed's own changes: following a study keeps it on the user's
 * devices; a study opened from a search of the whole archive joins this device at once as
 * "opened recently" (the server records the opening; the feed would only bring it at the next
 * snapshot, since an opening changes no study). Both answer the row as the device should hold it.
 */
import { DEVICE_SCOPES, type Role, type ScopeReason } from '@pacs/shared';
import { api } from '../api/client';
import type { DeviceStudy, StudyTombstone } from '../api/types';
import type { SyncEngine } from '../device/engine';

export async function setFollowed(engine: SyncEngine, studyId: string, follow: boolean): Promise<void> {
  const answer = await api.request<DeviceStudy | StudyTombstone>(follow ? 'PUT' : 'DELETE', `/api/studies/${studyId}/follow`);
  await engine.store(answer);
}

/** After the user opened a study that is not on the device: stores it if it is now in their scope. */
export async function holdOpened(engine: SyncEngine, studyId: string): Promise<void> {
  const answer = await api.request<DeviceStudy | StudyTombstone>('GET', `/api/studies/${studyId}/device-row`);
  if (!('deleted' in answer)) await engine.store(answer);
}

export const REASON_LABEL: Record<ScopeReason, string> = {
  assigned: 'assigned to you',
  followed: 'followed',
  recent: 'opened recently',
  window: 'new arrival',
  prior: 'prior',
};

/** One sentence saying what this user's devices hold, from the role's scope (the server applies the same). */
export function describeDeviceScope(role: Role): string {
  const scope = DEVICE_SCOPES[role];
  const parts: string[] = [];
  if (scope.assigned.length) parts.push('studies assigned to you');
  if (scope.followed) parts.push('studies you follow');
  if (scope.recentDays) parts.push(`studies you opened in the last ${scope.recentDays} days`);
  if (scope.window) {
    const statuses = scope.window.statuses.map((s) => s.replace('_', ' ')).join(' or ');
    parts.push(`${statuses} arrivals of the last ${scope.window.hours} hours in your modalities`);
  }
  if (parts.length === 0) return 'This device holds no studies for your role.';
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `This device holds ${list}${scope.priorsPerStudy ? `, with up to ${scope.priorsPerStudy} priors of each` : ''}.`;
}

/** The reports kept with the rows (report/downloads.ts), in one sentence. */
export function reportsOnDevice(status: { held: number; signed: number }): string {
  const open = status.held - status.signed;
  const parts = [
    open > 0 ? `${open} report${open === 1 ? '' : 's'} in progress` : null,
    status.signed > 0 ? `${status.signed} signed report${status.signed === 1 ? '' : 's'}` : null,
  ].filter(Boolean);
  return `Reports on this device: ${parts.join(' and ')}.`;
}
