/** Worklist filters, search and sort, on the device's copy (same meaning as the API's query). */
import { foldForSearch, PRIORITY_RANK, type StudyPriority, type StudyStatus, type WorklistSort } from '@pacs/shared';
import type { WorklistStudy } from '../api/types';

export interface WorklistFilter {
  q: string;
  status: StudyStatus | '';
  priority: StudyPriority | '';
  modality: string;
  assignee: 'all' | 'me' | 'unassigned';
  dateFrom: string;
  dateTo: string;
  sort: WorklistSort;
}

export const DEFAULT_FILTER: WorklistFilter = {
  q: '',
  status: '',
  priority: '',
  modality: '',
  assignee: 'all',
  dateFrom: '',
  dateTo: '',
  sort: 'priority',
};

const searchText = new WeakMap<WorklistStudy, string>();
function textOf(row: WorklistStudy): string {
  let text = searchText.get(row);
  if (text === undefined) {
    text = foldForSearch([row.patientName, row.patientId, row.accessionNumber, row.description].join(' '));
    searchText.set(row, text);
  }
  return text;
}

const dicomDate = (iso: string) => iso.replaceAll('-', '');

export function applyFilter(rows: readonly WorklistStudy[], filter: WorklistFilter, meId: string): WorklistStudy[] {
  const words = filter.q
    .split(/\s+/)
    .map((w) => foldForSearch(w))
    .filter(Boolean);
  const from = filter.dateFrom ? dicomDate(filter.dateFrom) : null;
  const to = filter.dateTo ? dicomDate(filter.dateTo) : null;
  const out = rows.filter((row) => {
    if (filter.status && row.status !== filter.status) return false;
    if (filter.priority && row.priority !== filter.priority) return false;
    if (filter.modality && !row.modalities.includes(filter.modality)) return false;
    if (filter.assignee === 'me' && row.assignee?.id !== meId) return false;
    if (filter.assignee === 'unassigned' && row.assignee !== null) return false;
    if (from && (!row.studyDate || row.studyDate < from)) return false;
    if (to && (!row.studyDate || row.studyDate > to)) return false;
    if (words.length) {
      const text = textOf(row);
      for (const word of words) if (!text.includes(word)) return false;
    }
    return true;
  });
  return sortRows(out, filter.sort);
}

let lastFiltered: { rows: readonly WorklistStudy[]; key: string; result: WorklistStudy[] } | null = null;

/**
 * `applyFilter`, remembering the last answer across page visits: coming back to the worklist with
 * the same rows and filter (the usual route change) neither filters nor sorts 10,000 rows again.
 */
export function applyFilterOnce(rows: readonly WorklistStudy[], filter: WorklistFilter, meId: string): WorklistStudy[] {
  const key = `${meId}|${JSON.stringify(filter)}`;
  if (lastFiltered?.rows !== rows || lastFiltered.key !== key) lastFiltered = { rows, key, result: applyFilter(rows, filter, meId) };
  return lastFiltered.result;
}

const modalitiesByRows = new WeakMap<readonly WorklistStudy[], string[]>();
/** The modalities present in `rows`, sorted (remembered per rows array, like the filter). */
export function modalitiesOf(rows: readonly WorklistStudy[]): string[] {
  let found = modalitiesByRows.get(rows);
  if (!found) {
    const set = new Set<string>();
    for (const row of rows) for (const m of row.modalities) set.add(m);
    found = [...set].sort();
    modalitiesByRows.set(rows, found);
  }
  return found;
}

export function sortRows(rows: WorklistStudy[], sort: WorklistSort): WorklistStudy[] {
  const byReceived = (a: WorklistStudy, b: WorklistStudy) =>
    a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  if (sort === 'received_asc') return rows.sort(byReceived);
  if (sort === 'received_desc') return rows.sort((a, b) => byReceived(b, a));
  return rows.sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || byReceived(a, b));
}

/** The same filter as the API's worklist query (for searching the whole archive on the server). */
export function toServerQuery(filter: WorklistFilter, limit: number, cursor: string | null): URLSearchParams {
  const params = new URLSearchParams();
  const q = filter.q.trim();
  if (q) params.set('q', q.slice(0, SERVER_QUERY_MAX));
  if (filter.status) params.set('status', filter.status);
  if (filter.priority) params.set('priority', filter.priority);
  if (filter.modality) params.set('modality', filter.modality);
  if (filter.assignee !== 'all') params.set('assignee', filter.assignee);
  if (filter.dateFrom) params.set('dateFrom', filter.dateFrom);
  if (filter.dateTo) params.set('dateTo', filter.dateTo);
  params.set('sort', filter.sort);
  params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  return params;
}

/** The API's limit on the search text. */
export const SERVER_QUERY_MAX = 64;
