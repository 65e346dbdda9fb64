import type { ScopeReason, StudyStatus } from '@pacs/shared';
import { describe, expect, it } from 'vitest';
import { type DownloadRow, type HeldReportCopy, planReportDownloads, reportWanted } from './download-plan';

const row = (id: string, scope: ScopeReason[], status: StudyStatus = 'unread', version = 1): DownloadRow => ({
  id,
  scope,
  status,
  version,
});
const copy = (studyId: string, rowVersion?: number, pendingStart = false): HeldReportCopy => ({
  studyId,
  reportId: `r-${studyId}`,
  rowVersion,
  pendingStart,
});

describe('report downloads: what a device fetches and lets go', () => {
  it('wants the reports of assigned studies in any status, and of priors only once signed', () => {
    expect(reportWanted(row('a', ['assigned'], 'unread'))).toBe('assigned');
    expect(reportWanted(row('a', ['assigned', 'prior'], 'preliminary'))).toBe('assigned');
    expect(reportWanted(row('p', ['prior'], 'final'))).toBe('prior');
    expect(reportWanted(row('p', ['prior'], 'preliminary'))).toBeNull();
    // A window arrival or a followed study is held for its row; its report is read online or when opened.
    expect(reportWanted(row('w', ['window'], 'final'))).toBeNull();
    expect(reportWanted(row('f', ['followed', 'recent'], 'final'))).toBeNull();
    expect(reportWanted({ id: 'old', status: 'final', version: 1 })).toBeNull();
  });

  it('fetches what is missing or taken at another row version, assigned studies first', () => {
    const rows = [row('p1', ['prior'], 'final', 3), row('a1', ['assigned'], 'in_progress', 2), row('a2', ['assigned'], 'unread', 5)];
    const plan = planReportDownloads(rows, [copy('a2', 5), copy('p1', 2)]);
    expect(plan.fetch).toEqual(['a1', 'p1']);
    expect(plan.drop).toEqual([]);
  });

  it('fetches again a copy kept before downloads existed (no row version)', () => {
    expect(planReportDownloads([row('a1', ['assigned'])], [copy('a1')]).fetch).toEqual(['a1']);
  });

  it('never fetches over a report started on this device and not adopted yet', () => {
    expect(planReportDownloads([row('a1', ['assigned'], 'unread', 9)], [copy('a1', undefined, true)]).fetch).toEqual([]);
  });

  it('drops the copies of studies that left the device, except one started here and not adopted', () => {
    const plan = planReportDownloads([row('a1', ['assigned'])], [copy('a1', 1), copy('gone', 1), copy('mine', undefined, true)]);
    expect(plan.drop.map((c) => c.studyId)).toEqual(['gone']);
  });

  it('keeps the copy of a study still held for another reason (opened, followed)', () => {
    const plan = planReportDownloads([row('f1', ['recent'], 'final')], [copy('f1', 1)]);
    expect(plan).toEqual({ fetch: [], drop: [] });
  });
});
