/** The reporting routes of the API as the editor uses them. */
import type { Report, ReportAuthorship, ReportLateEdits, ReportOfflineStart, ReportSession, Template } from '@pacs/shared';
import { ApiError, api } from '../api/client';

export type { Report, ReportAuthorship, ReportSession, Template };
export type LateEdit = ReportLateEdits['lateEdits'][number];

/** The study's report, or null when none has been started yet; `deviceCopy`: downloaded to hold, not opened by the user. */
export async function fetchStudyReport(studyId: string, deviceCopy = false): Promise<Report | null> {
  try {
    const query = deviceCopy ? '?purpose=device-copy' : '';
    return await api.request<Report>('GET', `/api/studies/${encodeURIComponent(studyId)}/report${query}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'NO_REPORT_YET') return null;
    throw error;
  }
}

export const createStudyReport = (studyId: string) => api.request<Report>('POST', `/api/studies/${encodeURIComponent(studyId)}/report`, {});
export const fetchReport = (id: string) => api.request<Report>('GET', `/api/reports/${id}`);
export const openSession = (id: string) => api.request<ReportSession>('POST', `/api/reports/${id}/session`);
export const submitReport = (id: string, version: number) => api.request<Report>('POST', `/api/reports/${id}/submit`, { version });
export const returnReport = (id: string, comment: string, version: number) =>
  api.request<Report>('POST', `/api/reports/${id}/return`, { comment, version });
export const finalizeReport = (id: string, stateVector: string, snapshot: string) =>
  api.request<Report>('POST', `/api/reports/${id}/finalize`, { stateVector, snapshot });
export const createAddendum = (id: string, text?: string) =>
  api.request<Report>('POST', `/api/reports/${id}/addenda`, text ? { text } : {});
export const fetchLateEdits = async (id: string) => (await api.request<ReportLateEdits>('GET', `/api/reports/${id}/late-edits`)).lateEdits;
export const fetchPdf = (id: string) => api.blob(`/api/reports/${id}/pdf`);
export const fetchAuthorship = (id: string) => api.request<ReportAuthorship>('GET', `/api/reports/${id}/authorship`);

export async function fetchTemplate(templateId: string): Promise<Template | null> {
  const list = await api.request<{ items: Template[] }>('GET', '/api/templates?includeRetired=true');
  return list.items.find((t) => t.id === templateId) ?? null;
}

/** The active templates (kept on the device for starting reports offline). */
export const fetchTemplates = async () => (await api.request<{ items: Template[] }>('GET', '/api/templates')).items;

/** Asks the server to adopt a report this device started offline (409 REPORT_EXISTS: another was started meanwhile). */
export const adoptOfflineReport = (studyId: string, body: ReportOfflineStart) =>
  api.request<Report>('POST', `/api/studies/${encodeURIComponent(studyId)}/report/offline-start`, body);
