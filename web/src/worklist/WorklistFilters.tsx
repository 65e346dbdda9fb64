/** The worklist's filters, search and sort: the same for the device's rows and a search of the archive. */
import { STUDY_PRIORITIES, STUDY_STATUSES, type StudyPriority, type StudyStatus, type WorklistSort } from '@pacs/shared';
import { type RefObject, useEffect } from 'react';
import { DEFAULT_FILTER, type WorklistFilter } from './filter';
import { PRIORITY_LABEL, STATUS_LABEL } from './studyActions';

export function WorklistFilters({
  filter,
  onChange,
  modalities,
  searchLimit,
  search,
}: {
  filter: WorklistFilter;
  onChange: (next: WorklistFilter) => void;
  modalities: readonly string[];
  /** The server's search takes at most this many characters; null: no limit (the device's search). */
  searchLimit: number | null;
  search: RefObject<HTMLInputElement | null>;
}) {
  const update = (patch: Partial<WorklistFilter>) => onChange({ ...filter, ...patch });
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
  }, [search]);

  return (
    <form className="filters" aria-label="Worklist filters" onSubmit={(e) => e.preventDefault()}>
      <label className="grow">
        Search
        <input
          ref={search}
          type="search"
          placeholder="Patient, ID, accession, description  (/)"
          value={filter.q}
          maxLength={searchLimit ?? undefined}
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
      <button type="button" onClick={() => onChange(DEFAULT_FILTER)}>
        Clear
      </button>
    </form>
  );
}
