/**
 * Edits that reached the server after the report was signed (LOCK-5), in readable form, with
 * "Create addendum from these edits" for attendings. Nothing typed disappears unannounced.
 */
import { can, type Role } from '@pacs/shared';
import { useEffect, useState } from 'react';
import { addendumText, describeLateEdits, loadServerCopy, type ReadableLateEdit } from './late-edits';
import { createAddendum, fetchLateEdits, openSession, type Report } from './report-api';

const POLL_MS = 5_000;
const DONE_KEY = (reportId: string) => `pacs.report.lateEditsAddended.${reportId}`;

export function LateEditsPanel({
  report,
  role,
  online,
  trigger,
  onAddendum,
}: {
  report: Report;
  role: Role;
  online: boolean;
  trigger: number;
  onAddendum: () => void;
}) {
  const [edits, setEdits] = useState<ReadableLateEdit[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string[]>(() => JSON.parse(localStorage.getItem(DONE_KEY(report.id)) ?? '[]') as string[]);
  const [busy, setBusy] = useState(false);

  // `trigger` (a late-edit-stored notice) reloads at once.
  // biome-ignore lint/correctness/useExhaustiveDependencies: trigger is a reload signal, not read
  useEffect(() => {
    if (!online) return;
    let cancelled = false;
    let seen = -1;
    const load = async () => {
      try {
        const raw = await fetchLateEdits(report.id);
        if (cancelled || raw.length === seen) return;
        seen = raw.length;
        if (raw.length === 0) return setEdits([]);
        const signed = await loadServerCopy(report.id, await openSession(report.id));
        if (!cancelled) setEdits(describeLateEdits(signed, raw));
        signed.destroy();
        setProblem(null);
      } catch (error) {
        if (!cancelled) setProblem(`Late edits could not be loaded: ${(error as Error).message}`);
      }
    };
    void load();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [report.id, online, trigger]);

  if (edits.length === 0 && !problem) return null;
  const signedAt = report.finalSignature ? new Date(report.finalSignature.signedAt).toLocaleString() : 'signing';
  const open = edits.filter((e) => !done.includes(e.id));
  const create = async () => {
    setBusy(true);
    try {
      await createAddendum(report.id, addendumText(open));
      const next = [...done, ...open.map((e) => e.id)];
      localStorage.setItem(DONE_KEY(report.id), JSON.stringify(next));
      setDone(next);
      onAddendum();
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card late-edits" aria-labelledby="late-edits-title" data-testid="late-edits">
      <h2 id="late-edits-title">Edits not applied</h2>
      <p>These edits were not applied because the report was signed at {signedAt}.</p>
      {problem && <p role="alert">{problem}</p>}
      <ul>
        {edits.map((edit) => (
          <li key={edit.id} className={done.includes(edit.id) ? 'muted' : undefined}>
            <strong>{edit.userName}</strong> <span className="muted">at {new Date(edit.receivedAt).toLocaleString()}</span>
            {edit.changes.length === 0 && <span className="muted"> · formatting only</span>}
            {edit.changes.map((change) => (
              <div key={change.title} className="late-edit-change">
                <em>{change.title || 'Untitled'}</em>:{' '}
                {change.added.length > 0 ? (
                  change.added.map((line) => <ins key={line}>{line} </ins>)
                ) : (
                  <span>{change.after || '(removed)'}</span>
                )}
              </div>
            ))}
          </li>
        ))}
      </ul>
      {can(role, 'report:addendum') && open.length > 0 && (
        <button type="button" className="primary" disabled={busy || !online} onClick={() => void create()}>
          Create addendum from these edits
        </button>
      )}
      {open.length === 0 && edits.length > 0 && <p className="muted">An addendum was created from these edits.</p>}
    </section>
  );
}
