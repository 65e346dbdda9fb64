/**
 * The worklist's rows, windowed (only the rows in view are in the DOM), with the keyboard moves
 * of the page. The same table shows the device's rows and the results of a search of the whole
 * archive; `held` marks, in the latter, which results this device also holds.
 */
import { can, formatPersonName } from '@pacs/shared';
import { type KeyboardEvent, type RefObject, useRef } from 'react';
import type { User, WorklistStudy } from '../api/types';
import type { OutboxEntry } from '../device/db';
import type { SyncEngine } from '../device/engine';
import { RestrictionToggle } from './BreakGlassDialog';
import { assignToMe, canAssignSelf, PRIORITY_LABEL, STATUS_LABEL } from './studyActions';
import { useScrollIntoView, useVirtualWindow } from './VirtualRows';

const ROW_HEIGHT = 48;

export function formatStudyDate(value: string | null): string {
  if (value?.length !== 8) return '—';
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
}

export interface WorklistTableProps {
  rows: readonly WorklistStudy[];
  user: User;
  engine: SyncEngine;
  selectedId: string | null;
  onSelect: (id: string) => void;
  onOpen: (row: WorklistStudy) => void;
  onBreakGlass: (row: WorklistStudy) => void;
  pendingByStudy: ReadonlyMap<string, OutboxEntry[]>;
  highlighted: ReadonlySet<string>;
  /** Set when the rows are search results from the server: which of them this device holds. */
  held?: { has(id: string): boolean };
  /** A change made from a row outside the outbox (a restriction): the server's results are stale. */
  onRowChanged?: () => void;
  scroller?: RefObject<HTMLDivElement | null>;
  children?: React.ReactNode;
}

export function WorklistTable(props: WorklistTableProps) {
  const { rows, user, engine, selectedId, onSelect, pendingByStudy, highlighted, held } = props;
  const ownScroller = useRef<HTMLDivElement>(null);
  const scroller = props.scroller ?? ownScroller;
  const { first, last } = useVirtualWindow(scroller, rows.length, ROW_HEIGHT);
  const selectedIndex = selectedId ? rows.findIndex((r) => r.id === selectedId) : -1;
  useScrollIntoView(scroller, selectedIndex, ROW_HEIGHT);
  const selected = selectedIndex >= 0 ? rows[selectedIndex] : undefined;

  const moveSelection = (delta: number) => {
    if (rows.length === 0) return;
    const next = Math.min(rows.length - 1, Math.max(0, (selectedIndex < 0 ? -1 : selectedIndex) + delta));
    onSelect(rows[next]!.id);
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
    <div className="wl-scroll" ref={scroller} data-testid="worklist-scroll">
      <table className="wl-table" aria-label="Studies" aria-rowcount={rows.length + 1} onKeyDown={onTableKey}>
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
          {rows.slice(first, last).map((row, offset) => renderRow(row, first + offset, held?.has(row.id)))}
          {last < rows.length && <Spacer height={(rows.length - last) * ROW_HEIGHT} />}
        </tbody>
      </table>
      {props.children}
    </div>
  );

  function renderRow(row: WorklistStudy, index: number, held: boolean | undefined) {
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
                <button type="button" className="small-btn" onClick={() => props.onBreakGlass(row)}>
                  Break the glass
                </button>
              )}
            </>
          ) : (
            <>
              <button type="button" className="row-open link" onClick={() => props.onOpen(row)}>
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
          {held && (
            <span className="badge held-badge" data-testid="held-on-device" title="This device holds this study (offline too)">
              on device
            </span>
          )}
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
          {can(user.role, 'restriction:manage') && <RestrictionToggle study={row} onChanged={props.onRowChanged} />}
        </td>
      </tr>
    );
  }
}

function Spacer({ height }: { height: number }) {
  return (
    <tr className="spacer">
      <td colSpan={8} style={{ height, padding: 0, border: 0 }} />
    </tr>
  );
}
