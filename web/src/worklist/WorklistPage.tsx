import {
  can,
  formatPersonName,
  STUDY_PRIORITIES,
  STUDY_STATUSES,
  type StudyPriority,
  type StudyStatus,
  type WorklistSort,
} from '@pacs/shared';
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from 'react';
import { useOfflineRead } from '../device/use-offline-read';
import { useWorklist, useWorkspace } from '../device/workspace';
import { BreakGlassDialog, RestrictionToggle } from './BreakGlassDialog';
import { applyFilter, DEFAULT_FILTER, type WorklistFilter } from './filter';
import { StudyDetailPanel } from './StudyDetail';
import { assignToMe, canAssignSelf, PRIORITY_LABEL, STATUS_LABEL } from './studyActions';
import { useScrollIntoView, useVirtualWindow } from './VirtualRows';

const ROW_HEIGHT = 48;
const FILTER_KEY = 'pacs.worklistFilter';
/** The search text may be a name or an MRN: it stays in this page's memory, never in the browser's storage. */
let searchInMemory = '';

function loadFilter(): WorklistFilter {
  try {
    const stored = JSON.parse(sessionStorage.getItem(FILTER_KEY) ?? '{}') as Partial<WorklistFilter>;
    return { ...DEFAULT_FILTER, ...stored, q: searchInMemory };
  } catch {
    return { ...DEFAULT_FILTER, q: searchInMemory };
  }
}

function storeFilter(filter: WorklistFilter): void {
  searchInMemory = filter.q;
  const { q: _inMemory, ...rest } = filter;
  sessionStorage.setItem(FILTER_KEY, JSON.stringify(rest));
}

export function formatStudyDate(value: string | null): string {
  if (value?.length !== 8) return '—';
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
}

export function WorklistPage() {
  const { user, engine, worklist } = useWorkspace();
  const { rows, loaded, pendingByStudy, highlighted } = useWorklist();
  const [filter, setFilter] = useState<WorklistFilter>(loadFilter);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [detailOpen, setDetailOpen] = useState(false);
  const [breakingGlass, setBreakingGlass] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);

  useEffect(() => storeFilter(filter), [filter]);
  useOfflineRead(loaded ? { event: 'worklist-open' } : null);
  const shown = useMemo(() => applyFilter(rows, filter, user.id), [rows, filter, user.id]);
  const modalities = useMemo(() => [...new Set(rows.flatMap((r) => r.modalities))].sort(), [rows]);
  const { first, last } = useVirtualWindow(scroller, shown.length, ROW_HEIGHT);
  const selectedIndex = selectedId ? shown.findIndex((r) => r.id === selectedId) : -1;
  useScrollIntoView(scroller, selectedIndex, ROW_HEIGHT);
  const selected = selectedIndex >= 0 ? shown[selectedIndex] : undefined;

  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.key === '/' && !(target && ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))) {
        event.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const update = (patch: Partial<WorklistFilter>) => setFilter((f) => ({ ...f, ...patch }));
  const moveSelection = (delta: number) => {
    if (shown.length === 0) return;
    const next = Math.min(shown.length - 1, Math.max(0, (selectedIndex < 0 ? -1 : selectedIndex) + delta));
    setSelectedId(shown[next]!.id);
    requestAnimationFrame(() => scroller.current?.querySelector<HTMLElement>(`[data-row-index="${next}"] .row-open`)?.focus());
  };
  const onTableKey = (event: KeyboardEvent<HTMLTableElement>) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === 'ArrowDown' || event.key === 'j') {
      event.preventDefault();
      moveSelection(1);
    } else if (event.key === 'ArrowUp' || event.key === 'k') {
      event.preventDefault();
      moveSelection(-1);
    } else if (event.key === 'a' && selected && canAssignSelf(user) && selected.assignee?.id !== user.id) {
      event.preventDefault();
      void assignToMe(engine, user, selected);
    }
  };

  return (
    <section className="page worklist-page" aria-labelledby="worklist-title">
      <div className="page-head">
        <h1 id="worklist-title">Worklist</h1>
        <output className="muted" data-testid="worklist-count" aria-live="polite">
          {loaded ? `${shown.length} of ${rows.length} studies` : 'Loading…'}
        </output>
      </div>
      <form className="filters" aria-label="Worklist filters" onSubmit={(e) => e.preventDefault()}>
        <label className="grow">
          Search
          <input
            ref={search}
            type="search"
            placeholder="Patient, ID, accession, description  (/)"
            value={filter.q}
            onChange={(e) => update({ q: e.target.value })}
            aria-keyshortcuts="/"
            data-testid="worklist-search"
          />
        </label>
        <label>
          Status
          <select value={filter.status} onChange={(e) => update({ status: e.target.value as StudyStatus | '' })}>
            <option value="">All</option>
            {STUDY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Priority
          <select value={filter.priority} onChange={(e) => update({ priority: e.target.value as StudyPriority | '' })}>
            <option value="">All</option>
            {STUDY_PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {PRIORITY_LABEL[p]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Modality
          <select value={filter.modality} onChange={(e) => update({ modality: e.target.value })}>
            <option value="">All</option>
            {modalities.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Assigned
          <select value={filter.assignee} onChange={(e) => update({ assignee: e.target.value as WorklistFilter['assignee'] })}>
            <option value="all">Anyone</option>
            <option value="me">Me</option>
            <option value="unassigned">Unassigned</option>
          </select>
        </label>
        <label>
          From
          <input type="date" value={filter.dateFrom} onChange={(e) => update({ dateFrom: e.target.value })} />
        </label>
        <label>
          To
          <input type="date" value={filter.dateTo} onChange={(e) => update({ dateTo: e.target.value })} />
        </label>
        <label>
          Sort
          <select value={filter.sort} onChange={(e) => update({ sort: e.target.value as WorklistSort })}>
            <option value="priority">Priority, oldest first</option>
            <option value="received_desc">Newest first</option>
            <option value="received_asc">Oldest first</option>
          </select>
        </label>
        <button type="button" onClick={() => setFilter(DEFAULT_FILTER)}>
          Clear
        </button>
      </form>

      <div className={`worklist-layout${detailOpen && selected ? ' with-detail' : ''}`}>
        <div className="wl-scroll" ref={scroller} data-testid="worklist-scroll">
          <table className="wl-table" aria-label="Studies" aria-rowcount={shown.length + 1} onKeyDown={onTableKey}>
            <thead>
              <tr>
                <th scope="col" className="col-prio">
                  Priority
                </th>
                <th scope="col" className="col-patient">
                  Patient
                </th>
                <th scope="col" className="col-study">
                  Study
                </th>
                <th scope="col" className="col-acc">
                  Accession
                </th>
                <th scope="col" className="col-date">
                  Date
                </th>
                <th scope="col" className="col-status">
                  Status
                </th>
                <th scope="col" className="col-assignee">
                  Assignee
                </th>
                <th scope="col" className="col-action">
                  Action
                </th>
              </tr>
            </thead>
            <tbody>
              {first > 0 && <Spacer height={first * ROW_HEIGHT} />}
              {shown.slice(first, last).map((row, offset) => {
                const index = first + offset;
                const pending = pendingByStudy.get(row.id);
                const pendingCount = pending?.filter((e) => e.state === 'pending' || e.state === 'sending').length ?? 0;
                const conflict = pending?.some((e) => e.state === 'conflict' || e.state === 'failed');
                const mine = row.assignee?.id === user.id;
                return (
                  <tr
                    key={row.id}
                    className={`wl-row${row.id === selectedId ? ' selected' : ''}${highlighted.has(row.id) ? ' highlight' : ''}`}
                    aria-rowindex={index + 2}
                    data-row-index={index}
                    data-testid="worklist-row"
                    data-study-id={row.id}
                    data-priority={row.priority}
                    style={{ height: ROW_HEIGHT }}
                  >
                    <td>
                      <span className={`badge prio-${row.priority}`}>{PRIORITY_LABEL[row.priority]}</span>
                    </td>
                    <td className="cell-patient">
                      {row.access === 'masked' ? (
                        <>
                          <span className="restricted-label" data-testid="restricted-label">
                            Restricted patient
                          </span>
                          {can(user.role, 'study:break-glass') && (
                            <button type="button" className="small-btn" onClick={() => setBreakingGlass(row.id)}>
                              Break the glass
                            </button>
                          )}
                        </>
                      ) : (
                        <>
                          <button
                            type="button"
                            className="row-open link"
                            onClick={() => {
                              setSelectedId(row.id);
                              setDetailOpen(true);
                              worklist.acknowledge(row.id);
                            }}
                          >
                            {formatPersonName(row.patientName)}
                          </button>
                          <span className="muted small">{row.patientId}</span>
                          {row.restricted && <span className="badge restricted-badge">restricted</span>}
                        </>
                      )}
                    </td>
                    <td>
                      {row.description || '—'} <span className="muted small">{row.modalities.join('/')}</span>
                      {row.indication && (
                        <span className="muted small indication" title={row.indication}>
                          {row.indication}
                        </span>
                      )}
                    </td>
                    <td className="col-acc">{row.accessionNumber}</td>
                    <td className="col-date">{formatStudyDate(row.studyDate)}</td>
                    <td>
                      <span className={`status st-${row.status}`}>{STATUS_LABEL[row.status]}</span>
                      {row.orderMatch === 'unmatched' && (
                        <span className="badge unmatched-badge" title="The images came without an order: to be reconciled">
                          no order
                        </span>
                      )}
                    </td>
                    <td className="col-assignee" data-testid="assignee">
                      {row.assignee ? (mine ? 'Me' : row.assignee.name) : '—'}
                    </td>
                    <td className="cell-action">
                      {pendingCount > 0 && (
                        <span className="badge pending-badge" data-testid="row-pending">
                          pending
                        </span>
                      )}
                      {conflict && <span className="badge conflict-badge">conflict</span>}
                      {!pendingCount && !conflict && canAssignSelf(user) && !mine && (
                        <button type="button" className="small-btn" onClick={() => void assignToMe(engine, user, row)}>
                          Assign to me
                        </button>
                      )}
                      {can(user.role, 'restriction:manage') && <RestrictionToggle study={row} />}
                    </td>
                  </tr>
                );
              })}
              {last < shown.length && <Spacer height={(shown.length - last) * ROW_HEIGHT} />}
            </tbody>
          </table>
          {loaded && shown.length === 0 && (
            <p className="empty">{rows.length === 0 ? 'No studies on this device yet.' : 'No study matches these filters.'}</p>
          )}
        </div>
        {detailOpen && selected && selected.access === 'open' && <StudyDetailPanel study={selected} onClose={() => setDetailOpen(false)} />}
        {breakingGlass && rows.some((r) => r.id === breakingGlass) && (
          <BreakGlassDialog
            study={rows.find((r) => r.id === breakingGlass)!}
            onClose={() => setBreakingGlass(null)}
            onOpened={() => {
              setSelectedId(breakingGlass);
              setDetailOpen(true);
              setBreakingGlass(null);
            }}
          />
        )}
      </div>
    </section>
  );
}

function Spacer({ height }: { height: number }) {
  return (
    <tr className="spacer">
      <td colSpan={8} style={{ height, padding: 0, border: 0 }} />
    </tr>
  );
}
