/**
 * The report of one study: loads it (or offers to start it), keeps a copy of its metadata for
 * offline opening, shows the primary document, its addenda and the late-edits panel.
 */
import { can, isReportLocked, type Role, type SyncNotice } from '@pacs/shared';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { NetworkError } from '../api/client';
import { usePoll } from '../app/use-poll';
import { session } from '../auth/session';
import { CriticalPanel } from '../critical/CriticalPanel';
import { useOfflineRead } from '../device/use-offline-read';
import { useWorkspace } from '../device/workspace';
import { MacrosPanel } from '../macros/MacrosPanel';
import { usePersonalMacros } from '../macros/use-macros';
import { ReportMeasurements } from '../measurements/ReportMeasurements';
import { StudyIndication } from '../worklist/StudyIndication';
import { useStudyRow } from '../worklist/study-row';
import type { AwarenessUser } from './connection';
import { forDevice, holdReportOpen } from './downloads';
import { HistoryPanel } from './HistoryPanel';
import { LateEditsPanel } from './LateEditsPanel';
import { BUILT_IN_MACROS, type Macro } from './MacroPicker';
import { ReportDocument } from './ReportDocument';
import { createStudyReport, fetchStudyReport, fetchTemplate, type Report, type Template } from './report-api';
import { useOfflineStart } from './use-offline-start';
import './report.css';
import { colourFor } from './authorship/colours';

// Marks for the editor benchmark (bench/editor-bench.ts): where the time to an editable report goes.
performance.mark('pacs-report:chunk');

const TEMPLATE_CACHE = (id: string) => `pacs.template.${id}`;
const POLL_MS = 10_000;

function readCache<T>(key: string): T | null {
  try {
    return JSON.parse(localStorage.getItem(key) ?? 'null') as T | null;
  } catch {
    return null;
  }
}

/** The user's own macros first (their triggers win over the built-in ones), then the template's phrases. */
function macrosOf(template: Template | null, personal: readonly { trigger: string; label: string; text: string }[]): Macro[] {
  const fromTemplate: Macro[] = [];
  for (const section of template?.sections ?? []) {
    for (const phrase of section.picklist ?? []) fromTemplate.push({ label: phrase, text: phrase, section: section.title });
  }
  const own = personal.map((m) => ({ label: m.label, text: m.text, trigger: m.trigger }));
  return [...own, ...fromTemplate, ...BUILT_IN_MACROS];
}

export function ReportApp({ studyId }: { studyId: string }) {
  const { user, db } = useWorkspace();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const online = sessionState.mode === 'online';
  const [report, setReport] = useState<Report | null | undefined>(undefined);
  const [fromCache, setFromCache] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [template, setTemplate] = useState<Template | null>(null);
  const [lateEditsStored, setLateEditsStored] = useState(0);
  const study = useStudyRow(studyId);
  const announced: AwarenessUser = useMemo(() => ({ name: user.name, role: user.role, color: colourFor(user.id) }), [user]);
  const offlineStart = useOfflineStart(studyId, study, online, announced);
  const rowVersion = useRef<number | undefined>(undefined);
  rowVersion.current = study?.version;
  // Report downloads leave this study's copy alone while it is open here.
  useEffect(() => holdReportOpen(studyId), [studyId]);

  const adopt = useCallback(
    (next: Report | null) => {
      setReport(next);
      setFromCache(false);
      // "No report yet" is kept too: offline, the page then offers to start one.
      void db.sealed.reports.put({ studyId, report: next ? forDevice(next) : null, rowVersion: rowVersion.current }).catch(() => undefined);
    },
    [db, studyId],
  );

  // The device's copy shows at once (offline, or while the server answers); the server's replaces it.
  useEffect(() => {
    let current = true;
    void db.sealed.reports.get(studyId).then((cached) => {
      if (!current || !cached) return;
      setReport((shown) => {
        if (shown !== undefined) return shown;
        setFromCache(true);
        return cached.report as Report;
      });
    });
    return () => {
      current = false;
    };
  }, [db, studyId]);

  const reload = useCallback(async (): Promise<Report | null | undefined> => {
    try {
      // A report started on this device goes to the server first (or into the one started meanwhile).
      const adopted = await offlineStart.adopt();
      if (adopted) {
        adopt(adopted);
        setProblem(null);
      }
      if (adopted !== null) return adopted;
      const next = await fetchStudyReport(studyId);
      adopt(next);
      setProblem(null);
      return next;
    } catch (error) {
      if (!(error instanceof NetworkError)) setProblem((error as Error).message);
      return undefined;
    }
  }, [adopt, offlineStart.adopt, studyId]);

  usePoll(reload, POLL_MS, online);

  const templateId = report?.templateId ?? null;
  useEffect(() => {
    if (!templateId) return;
    const cached = readCache<Template>(TEMPLATE_CACHE(templateId));
    if (cached) setTemplate(cached);
    if (!online) return;
    void fetchTemplate(templateId)
      .then((t) => {
        if (!t) return;
        setTemplate(t);
        localStorage.setItem(TEMPLATE_CACHE(templateId), JSON.stringify(t));
      })
      .catch(() => undefined);
  }, [templateId, online]);

  const onNotice = useCallback(
    (notice: SyncNotice) => {
      if (notice.type === 'late-edit-stored') setLateEditsStored((n) => n + 1);
      if (notice.type !== 'locked') return void reload();
      // The lock comes first; the API stores the signature a moment later: poll briefly for it.
      void (async () => {
        for (let i = 0; i < 20; i++) {
          const next = await reload();
          if (next && isReportLocked(next.status)) return;
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
    },
    [reload],
  );
  const onReport = useCallback((next: Report | null) => (next ? adopt(next) : void reload()), [adopt, reload]);
  const personal = usePersonalMacros();
  const macros = useMemo(() => macrosOf(template, personal.macros), [template, personal.macros]);
  const role = user.role as Role;
  useOfflineRead(report ? { event: 'report-open', reportId: report.id, studyId } : null);

  if (!can(role, 'report:read')) {
    return <p role="alert">Reports are for attendings and residents.</p>;
  }
  if (report === undefined) {
    return <p aria-busy="true">{online ? 'Loading the report…' : 'This report is not on this device. Open it once while online.'}</p>;
  }
  if (report === null) {
    return (
      <div className="report-start">
        <p>No report has been started for this study.</p>
        {can(role, 'report:edit') && (
          <button
            type="button"
            className="primary"
            disabled={!online && !offlineStart.canStartOffline}
            onClick={() =>
              void (
                online
                  ? createStudyReport(studyId).then(adopt)
                  : offlineStart.start().then((started) => {
                      setReport(started);
                      setFromCache(true);
                    })
              ).catch((e: Error) => setProblem(e.message))
            }
          >
            Start report
          </button>
        )}
        {!online && !offlineStart.canStartOffline && can(role, 'report:edit') && (
          <p className="muted">Starting a report offline needs the report templates on this device: open a report once while online.</p>
        )}
        {problem && <p role="alert">{problem}</p>}
      </div>
    );
  }
  const final = isReportLocked(report.status);
  // Started on this device and not on the server yet: only the document, which the device holds.
  const local = offlineStart.pendingId === report.id;
  return (
    <div className="report-app" data-status={report.status}>
      <StudyIndication indication={study?.indication} />
      <p className="report-meta muted">
        Status: <strong data-testid="report-status-name">{report.status}</strong>
        {local ? ' · started on this device, not yet on the server' : fromCache && ' · from this device (offline copy)'}
        {report.preliminarySignature &&
          ` · preliminary by ${report.preliminarySignature.name} at ${new Date(report.preliminarySignature.signedAt).toLocaleString()}`}
      </p>
      {problem && (
        <p className="banner warn" role="alert">
          {problem}
        </p>
      )}
      {offlineStart.notice && (
        <p className="banner info" role="status" data-testid="offline-draft-merged">
          {offlineStart.notice}
        </p>
      )}
      <ReportDocument
        key={local ? `${report.id}:device` : report.id}
        report={report}
        userId={user.id}
        user={announced}
        online={online}
        macros={macros}
        onReport={onReport}
        onNotice={onNotice}
      />
      {!local && <ReportMeasurements studyId={studyId} report={report} />}
      {can(role, 'macro:own') && <MacrosPanel store={personal.store} macros={personal.macros} />}
      {!local && (
        <>
          <CriticalPanel reportId={report.id} role={role} online={online} />
          <HistoryPanel reportId={report.id} online={online} refresh={report.version} />
        </>
      )}
      {final && <LateEditsPanel report={report} role={role} online={online} trigger={lateEditsStored} onAddendum={() => void reload()} />}
      {report.addenda.map((addendum, i) => (
        <section key={addendum.id} className="report-addendum" aria-label={`Addendum ${i + 1}`}>
          <h2>
            Addendum {i + 1} <span className="muted">· {addendum.status}</span>
          </h2>
          <ReportDocument
            report={addendum}
            addendum
            userId={user.id}
            user={announced}
            online={online}
            macros={macros}
            onReport={() => void reload()}
          />
        </section>
      ))}
    </div>
  );
}
