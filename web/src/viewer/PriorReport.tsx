/**
 * The report of the prior being compared, beside its images: its signed text and addenda, or why
 * there is none to show. Read online (and audited) by roles that read reports; nothing for others.
 * Offline, the signed report the device downloaded with the prior (report/downloads.ts), recorded
 * as an offline read.
 */

import type { Report } from '@pacs/shared';
import { can } from '@pacs/shared';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { ApiError, api } from '../api/client';
import { session } from '../auth/session';
import { useOfflineRead } from '../device/use-offline-read';
import { useWorkspace } from '../device/workspace';

type Shown = { kind: 'report'; report: Report } | { kind: 'none'; why: string };

export function PriorReport({ studyId, online }: { studyId: string; online: boolean }) {
  const role = useSyncExternalStore(session.subscribe, session.get, session.get).user?.role;
  const readable = role !== undefined && can(role, 'report:read');
  const [shown, setShown] = useState<Shown | null>(null);
  const { db } = useWorkspace();

  useEffect(() => {
    if (!readable || online) return;
    let live = true;
    setShown(null);
    void db.sealed.reports
      .get(studyId)
      .then((cached) => {
        if (!live) return;
        const report = cached?.report as Report | null | undefined;
        if (report) setShown({ kind: 'report', report });
        else setShown({ kind: 'none', why: cached ? 'No report was written for this study.' : 'Not on this device: read online.' });
      })
      .catch(() => live && setShown({ kind: 'none', why: 'Not on this device: read online.' }));
    return () => {
      live = false;
    };
  }, [studyId, readable, online, db]);
  useOfflineRead(!online && shown?.kind === 'report' ? { event: 'report-open', reportId: shown.report.id, studyId } : null);

  useEffect(() => {
    if (!readable || !online) return;
    let live = true;
    setShown(null);
    api
      .request<Report>('GET', `/api/studies/${encodeURIComponent(studyId)}/report`)
      .then((report) => live && setShown({ kind: 'report', report }))
      .catch((e: unknown) => {
        if (!live) return;
        const why =
          e instanceof ApiError && e.code === 'NO_REPORT_YET' ? 'No report was written for this study.' : 'The report could not be read.';
        setShown({ kind: 'none', why });
      });
    return () => {
      live = false;
    };
  }, [studyId, readable, online]);

  if (!readable) return null;
  return (
    <section className="prior-report" aria-label="Report of the prior" data-testid="prior-report">
      <h2 className="viewer-side-title">Report of the prior</h2>
      {shown === null && <p aria-busy="true">Loading…</p>}
      {shown?.kind === 'none' && <p className="muted">{shown.why}</p>}
      {shown?.kind === 'report' &&
        (shown.report.content ? (
          <>
            <p className="muted">
              {shown.report.finalSignature
                ? `Signed by ${shown.report.finalSignature.name}, ${new Date(shown.report.finalSignature.signedAt).toLocaleDateString()}`
                : shown.report.status}
              {shown.report.integrity.verified === false && ' — does not match its signature'}
            </p>
            <p className="prior-report-text">{shown.report.content.text}</p>
            {shown.report.addenda.map((a, i) => (
              <p key={a.id} className="prior-report-text">
                <strong>Addendum {i + 1}:</strong> {a.content?.text ?? ''}
              </p>
            ))}
          </>
        ) : (
          <p className="muted">Not signed yet ({shown.report.status}).</p>
        ))}
    </section>
  );
}
