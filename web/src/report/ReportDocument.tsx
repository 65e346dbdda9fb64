/**
 * One report document (the primary report or an addendum): its connection, sync status,
 * presence, the live editor or the signed content, and the workflow actions of the user's role.
 */
import { isReportLocked, type Role, type SyncNotice } from '@pacs/shared';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import * as Y from 'yjs';
import { ApiError, NetworkError } from '../api/client';
import { session } from '../auth/session';
import { useWorkspace } from '../device/workspace';
import { AuthoredText } from './authorship/AuthoredText';
import { AuthorLegend } from './authorship/AuthorLegend';
import { ColourByAuthorToggle, useColourByAuthor } from './authorship/ColourByAuthor';
import { useAuthorship, useClientAuthors } from './authorship/use-authorship';
import { type AwarenessUser, type ConnectionSnapshot, ReportConnection } from './connection';
import { focusField } from './fields/field-node';
import type { Macro } from './MacroPicker';
import { Presence } from './Presence';
import { ReportEditor, SignedContent } from './ReportEditor';
import { createAddendum, fetchPdf, finalizeReport, openSession, type Report, returnReport, submitReport } from './report-api';
import { StatusIndicator } from './StatusIndicator';
import { WorkflowButtons } from './WorkflowButtons';
import { changedSections, covers, fromBase64, type SectionChange, sectionTexts, toBase64 } from './yjs-util';

export type ReportLike = Omit<Report, 'addenda'> & { addenda?: Report['addenda'] };

export interface ReportDocumentProps {
  report: ReportLike;
  addendum?: boolean;
  userId: string;
  user: AwarenessUser;
  online: boolean;
  macros: readonly Macro[];
  onReport: (report: Report | null) => void;
  onNotice?: (notice: SyncNotice) => void;
}

/** Resolves when `test()` holds for the connection, or after `ms` (false). */
function until(connection: ReportConnection, test: () => boolean, ms: number): Promise<boolean> {
  if (test()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stop();
      resolve(test());
    }, ms);
    const check = () => {
      if (!test()) return;
      clearTimeout(timer);
      stop();
      resolve(true);
    };
    const stop = () => {
      unsubscribe();
      connection.doc.off('update', check);
    };
    const unsubscribe = connection.subscribe(check);
    connection.doc.on('update', check);
  });
}

function useConnectionValue<T extends string | number | boolean | null>(
  connection: ReportConnection,
  select: (s: ConnectionSnapshot) => T,
): T {
  return useSyncExternalStore(connection.subscribe, () => select(connection.get()));
}

function LiveStatus({ connection }: { connection: ReportConnection }) {
  const snap = useSyncExternalStore(connection.subscribe, connection.get);
  return (
    <StatusIndicator
      link={snap.link}
      pending={snap.pending}
      lastSavedAt={snap.lastSavedAt}
      lockedAt={snap.lockedAt}
      loaded={snap.loaded}
      onDevice={snap.onDevice}
      readOnlyReason={snap.readOnlyReason}
    />
  );
}

function LivePresence({ connection }: { connection: ReportConnection }) {
  const users = useSyncExternalStore(connection.subscribe, () => connection.get().presence);
  return <Presence users={users} />;
}

/** The fields a REQUIRED_FIELDS_EMPTY refusal names. */
function requiredFieldsOf(error: unknown): { id: string; label: string }[] {
  if (!(error instanceof ApiError) || error.code !== 'REQUIRED_FIELDS_EMPTY' || !Array.isArray(error.body.fields)) return [];
  return error.body.fields as { id: string; label: string }[];
}

function describe(error: unknown): string {
  if (error instanceof NetworkError) return 'No connection to the server. Try again when online.';
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong.';
}

export function ReportDocument({ report, addendum = false, userId, user, online, macros, onReport, onNotice }: ReportDocumentProps) {
  const [connection, setConnection] = useState<ReportConnection | null>(null);
  const { vault } = useWorkspace();
  const noticeRef = useRef(onNotice);
  noticeRef.current = onNotice;
  // The connection lives as long as the report id; user details do not change within a session.
  // biome-ignore lint/correctness/useExhaustiveDependencies: user is fixed for the signed-in session
  useEffect(() => {
    const created = new ReportConnection({
      reportId: report.id,
      userId,
      user,
      openSession,
      dataKey: vault.dataKey(),
      onNotice: (notice) => noticeRef.current?.(notice),
      // A deactivated user must be signed out, a changed role must get its new permissions.
      onAccessRevoked: () => void session.boot(),
    });
    setConnection(created);
    void created.start();
    return () => created.destroy();
  }, [report.id, userId]);
  if (!connection) return <p aria-busy="true">Opening the report…</p>;
  return (
    <ConnectedDocument
      connection={connection}
      report={report}
      addendum={addendum}
      userId={userId}
      user={user}
      online={online}
      macros={macros}
      onReport={onReport}
    />
  );
}

function ConnectedDocument({
  connection,
  report,
  addendum,
  userId,
  user,
  online,
  macros,
  onReport,
}: Omit<ReportDocumentProps, 'onNotice'> & { connection: ReportConnection; addendum: boolean }) {
  // Only what this component needs, as primitives: the status line changes with every keystroke
  // (pending 0 → 1 → 0) and must not re-render the editor around it.
  const loaded = useConnectionValue(connection, (s) => s.loaded);
  const mode = useConnectionValue(connection, (s) => s.mode);
  const lockedAt = useConnectionValue(connection, (s) => s.lockedAt);
  const problem = useConnectionValue(connection, (s) => s.problem);
  const offline = useConnectionValue(connection, (s) => s.link === 'offline');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [stale, setStale] = useState<SectionChange[] | null>(null);
  const role = user.role as Role;
  const locked = isReportLocked(report.status) || lockedAt !== null;
  const editable = !locked && loaded && mode === 'rw';
  const connected = online && !offline;
  const [byAuthor, setByAuthor] = useColourByAuthor(userId);
  const { authorship, failed: authorshipFailed, refetch: refetchAuthorship } = useAuthorship(report.id, byAuthor, report.status);
  const clientAuthors = useClientAuthors(authorship, { clientId: connection.doc.clientID, userId, name: user.name });

  // A new status may change the document mode (e.g. rw → ro after submitting): fetch a new token.
  const lastStatus = useRef(report.status);
  useEffect(() => {
    if (lastStatus.current === report.status) return;
    lastStatus.current = report.status;
    void connection.refreshSession();
  }, [connection, report.status]);

  const documentRef = useRef<HTMLDivElement>(null);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    try {
      await action();
    } catch (error) {
      setMessage(describe(error));
      // Signing refused for empty required fields: they are marked, the caret goes to the first.
      const first = requiredFieldsOf(error)[0];
      if (first && documentRef.current) {
        documentRef.current.dataset.fieldsRefused = 'true';
        focusField(documentRef.current, first.id);
      }
    } finally {
      setBusy(false);
    }
  };

  const sign = () =>
    run(async () => {
      setStale(null);
      // Sign what you saw: everything on this device must be on the server first.
      if (!(await until(connection, () => connection.settled, 5_000))) {
        setMessage('Your latest changes are not on the server yet. Wait until the status shows Live, then sign.');
        return;
      }
      const reviewed = sectionTexts(connection.doc);
      const stateVector = toBase64(Y.encodeStateVector(connection.doc));
      const snapshot = toBase64(Y.encodeSnapshot(Y.snapshot(connection.doc)));
      try {
        onReport(await finalizeReport(report.id, stateVector, snapshot));
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 409 || typeof error.body.stateVector !== 'string') throw error;
        // Someone typed meanwhile: wait for their edits to arrive, then show what changed.
        const serverSV = Y.decodeStateVector(fromBase64(error.body.stateVector));
        await until(connection, () => covers(Y.decodeStateVector(Y.encodeStateVector(connection.doc)), serverSV), 5_000);
        setStale(changedSections(reviewed, sectionTexts(connection.doc)));
      }
    });

  const downloadPdf = () =>
    run(async () => {
      const blob = await fetchPdf(report.id);
      const href = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = href;
      a.download = `report-${report.id}.pdf`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
    });

  const signed = locked && report.content ? report.content.doc : null;
  const label = addendum ? 'Addendum text' : 'Report text';
  return (
    <div className="report-document" data-report-id={report.id} data-status={report.status} ref={documentRef}>
      <div className="report-head">
        <LiveStatus connection={connection} />
        <LivePresence connection={connection} />
      </div>
      {report.finalSignature && (
        <p className="banner final-banner" role="status">
          Final — signed by {report.finalSignature.name} at {new Date(report.finalSignature.signedAt).toLocaleString()}
          {report.integrity.verified === true && report.integrity.signature && (
            <span className="signature-seal" title={`Ed25519 signature ${report.integrity.signature.value}`}>
              {' '}
              · sealed with key {report.integrity.signature.keyId.slice(0, 8)}
              {report.integrity.signature.key === 'retired' ? ' (retired key)' : ''}, verified
            </span>
          )}
        </p>
      )}
      {!report.finalSignature && lockedAt && (
        <p className="banner final-banner" role="status">
          Signed at {new Date(lockedAt).toLocaleString()} — the report is read-only.
        </p>
      )}
      {report.status === 'returned' && report.returnComment && (
        <p className="banner warn" role="status">
          Returned by the attending: {report.returnComment}
        </p>
      )}
      {report.integrity.verified === false && (
        <p className="banner danger" role="alert">
          The signed content does not match its signature. Do not rely on it; report this to an administrator.
        </p>
      )}
      {problem && (
        <p className="banner warn" role="status">
          {problem}
        </p>
      )}
      <div className="author-bar">
        <ColourByAuthorToggle on={byAuthor} onChange={setByAuthor} />
        {byAuthor && <AuthorLegend authorship={authorship} failed={authorshipFailed} />}
      </div>
      {signed ? (
        byAuthor && authorship ? (
          <AuthoredText authorship={authorship} label={label} />
        ) : (
          <SignedContent doc={signed} hookKey={`signed:${report.id}`} label={label} />
        )
      ) : (
        <ReportEditor
          connection={connection}
          user={user}
          editable={editable}
          macros={macros}
          hookKey={`live:${report.id}`}
          label={label}
          authors={byAuthor ? clientAuthors : null}
          onUnknownAuthor={refetchAuthorship}
        />
      )}
      {stale && (
        <section className="card stale-review" aria-labelledby={`stale-${report.id}`}>
          <h3 id={`stale-${report.id}`}>The report changed while you were reviewing it</h3>
          <p>Nothing was signed. Read the new text, then sign again.</p>
          {stale.length === 0 && <p className="muted">Formatting or deletions only.</p>}
          {stale.map((change) => (
            <div key={change.title} className="stale-change">
              <h4>{change.title || 'Untitled'}</h4>
              <p className="muted">Before: {change.before || '—'}</p>
              <p>Now: {change.after || '—'}</p>
            </div>
          ))}
          <div className="banner-actions">
            <button type="button" className="primary" disabled={busy} onClick={() => void sign()}>
              Sign this version
            </button>
            <button type="button" onClick={() => setStale(null)}>
              Keep reviewing
            </button>
          </div>
        </section>
      )}
      <WorkflowButtons
        userRole={role}
        status={report.status}
        addendum={addendum}
        online={connected || online}
        busy={busy}
        onSubmit={() => void run(async () => onReport(await submitReport(report.id, report.version)))}
        onFinalize={() => void sign()}
        onReturn={(comment) => void run(async () => onReport(await returnReport(report.id, comment, report.version)))}
        onAddendum={() =>
          void run(async () => {
            await createAddendum(report.id);
            onReport(null);
          })
        }
        onPdf={() => void downloadPdf()}
      />
      {message && (
        <p className="banner warn" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}
