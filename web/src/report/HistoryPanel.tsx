/**
 * A report's history: the versions kept at each submit, return and final signature, and what
 * changed between two of them, word by word per section (insertions and deletions marked), or the
 * two texts side by side. By default the resident's first preliminary against the latest version:
 * what the attending changed, for the resident to learn from and for QA. Online only.
 */
import { useEffect, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { ReportChanges, ReportVersionList, ReportVersionView } from '../api/types';

const EVENT_NAMES = { submit: 'submitted', return: 'returned', finalize: 'signed' } as const;

type Mode = 'changes' | 'side-by-side';

export function HistoryPanel({ reportId, online, refresh }: { reportId: string; online: boolean; refresh: unknown }) {
  const [open, setOpen] = useState(false);
  const [list, setList] = useState<ReportVersionList | null>(null);
  const [range, setRange] = useState<{ from: number; to: number } | null>(null);
  const [mode, setMode] = useState<Mode>('changes');
  const [changes, setChanges] = useState<ReportChanges | null>(null);
  const [sides, setSides] = useState<[ReportVersionView, ReportVersionView] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  // The list, whenever the panel opens or the report moved on (a new version may exist).
  useEffect(() => {
    if (!open || !online || refresh === undefined) return;
    let live = true;
    api
      .request<ReportVersionList>('GET', `/api/reports/${reportId}/versions`)
      .then((loaded) => {
        if (!live) return;
        setList(loaded);
        const first = loaded.versions.find((v) => v.event === 'submit') ?? loaded.versions[0];
        const last = loaded.versions.at(-1);
        setRange(first && last ? { from: first.sequence, to: last.sequence } : null);
      })
      .catch((e: unknown) => live && setProblem(errorText(e, 'The history')));
    return () => {
      live = false;
    };
  }, [open, online, reportId, refresh]);

  useEffect(() => {
    if (!range || !online) return;
    let live = true;
    const load =
      mode === 'changes'
        ? api
            .request<ReportChanges>('GET', `/api/reports/${reportId}/changes?from=${range.from}&to=${range.to}`)
            .then((c) => live && setChanges(c))
        : Promise.all(
            [range.from, range.to].map((n) => api.request<ReportVersionView>('GET', `/api/reports/${reportId}/versions/${n}`)),
          ).then(([a, b]) => live && setSides([a!, b!]));
    load.then(() => live && setProblem(null)).catch((e: unknown) => live && setProblem(errorText(e, 'The history')));
    return () => {
      live = false;
    };
  }, [range, mode, online, reportId]);

  const versions = list?.versions ?? [];
  const label = (n: number) => {
    const v = versions.find((x) => x.sequence === n);
    return v ? `${n} · ${EVENT_NAMES[v.event]} by ${v.userName}, ${new Date(v.createdAt).toLocaleString()}` : String(n);
  };
  const picker = (which: 'from' | 'to') => (
    <label>
      {which === 'from' ? 'From' : 'To'}
      <select
        value={range?.[which] ?? ''}
        onChange={(e) => range && setRange({ ...range, [which]: Number(e.target.value) })}
        aria-label={which === 'from' ? 'Earlier version' : 'Later version'}
      >
        {versions.map((v) => (
          <option key={v.sequence} value={v.sequence}>
            {label(v.sequence)}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <section className="report-history card" aria-labelledby={`history-${reportId}`}>
      <h2 id={`history-${reportId}`}>
        <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
          History{list ? ` (${versions.length})` : ''}
        </button>
      </h2>
      {open && !online && <p className="muted">The history is read online.</p>}
      {open && online && list && versions.length === 0 && (
        <p className="muted">No versions yet: one is kept at each submit, return and signature.</p>
      )}
      {open && problem && (
        <p className="banner warn" role="alert">
          {problem}
        </p>
      )}
      {open && versions.length > 0 && range && (
        <>
          <ol className="history-versions">
            {versions.map((v) => (
              <li key={v.sequence} data-event={v.event}>
                {label(v.sequence)} <span className="muted">· {v.words} words</span>
              </li>
            ))}
          </ol>
          <div className="history-controls">
            {picker('from')}
            {picker('to')}
            <fieldset className="history-mode">
              <legend className="sr-only">Show</legend>
              {(['changes', 'side-by-side'] as const).map((m) => (
                <label key={m}>
                  <input type="radio" name={`history-mode-${reportId}`} checked={mode === m} onChange={() => setMode(m)} />
                  {m === 'changes' ? 'Changes' : 'Side by side'}
                </label>
              ))}
            </fieldset>
          </div>
          {mode === 'changes' && changes && <ChangesView changes={changes} />}
          {mode === 'side-by-side' && sides && <SideBySide sides={sides} />}
        </>
      )}
    </section>
  );
}

function ChangesView({ changes }: { changes: ReportChanges }) {
  return (
    <div className="history-changes" data-testid="history-changes">
      <p className="muted">
        {changes.inserted} words inserted, {changes.deleted} deleted
        {changes.wordsBefore > 0
          ? ` (${Math.round((100 * (changes.inserted + changes.deleted)) / changes.wordsBefore)} % of ${changes.wordsBefore})`
          : ''}
      </p>
      {changes.sections.map((s) => (
        <section key={s.key} data-section={s.key}>
          <h3>
            {s.title}{' '}
            {s.inserted + s.deleted > 0 ? (
              <span className="muted">
                +{s.inserted} −{s.deleted}
              </span>
            ) : (
              <span className="muted">unchanged</span>
            )}
          </h3>
          <p className="history-text">
            {s.parts.map((p, i) =>
              p.kind === 'inserted' ? (
                // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional and never reordered
                <ins key={i}>{p.text}</ins>
              ) : p.kind === 'deleted' ? (
                // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional and never reordered
                <del key={i}>{p.text}</del>
              ) : (
                // biome-ignore lint/suspicious/noArrayIndexKey: parts are positional and never reordered
                <span key={i}>{p.text}</span>
              ),
            )}
          </p>
        </section>
      ))}
    </div>
  );
}

function SideBySide({ sides }: { sides: [ReportVersionView, ReportVersionView] }) {
  const [a, b] = sides;
  const keys = [...new Set([...b.content.sections.map((s) => s.key), ...a.content.sections.map((s) => s.key)])];
  const text = (v: ReportVersionView, key: string) => v.content.sections.find((s) => s.key === key)?.text ?? '';
  return (
    <div className="history-sides" data-testid="history-sides">
      {keys.map((key) => (
        <section key={key} className="history-side-row">
          <h3>{b.content.sections.find((s) => s.key === key)?.title ?? a.content.sections.find((s) => s.key === key)?.title ?? key}</h3>
          <p className="history-text">{text(a, key)}</p>
          <p className="history-text">{text(b, key)}</p>
        </section>
      ))}
    </div>
  );
}
