/**
 * The worklist query: filters, a stable sort and keyset pagination with an opaque cursor, so a
 * deep page costs the same as the first. Each sort has an index (migration 0001).
 */
import { dateFilterToDicom, type WorklistQuery, type WorklistSort } from '@pacs/shared';
import { literal, Op, type Order, type Sequelize, type WhereOptions } from 'sequelize';
import type { StudyAttributes } from '../db/models';
import { badRequest } from '../http-errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { textSearchWhere } from './text-search';

type Where = WhereOptions<StudyAttributes>;
type SortKey = 'priorityRank' | 'receivedAt' | 'id';
interface SortSpec {
  keys: readonly { column: SortKey; direction: 'ASC' | 'DESC' }[];
}

const SORTS: Record<WorklistSort, SortSpec> = {
  priority: {
    keys: [
      { column: 'priorityRank', direction: 'ASC' },
      { column: 'receivedAt', direction: 'ASC' },
      { column: 'id', direction: 'ASC' },
    ],
  },
  received_desc: {
    keys: [
      { column: 'receivedAt', direction: 'DESC' },
      { column: 'id', direction: 'DESC' },
    ],
  },
  received_asc: {
    keys: [
      { column: 'receivedAt', direction: 'ASC' },
      { column: 'id', direction: 'ASC' },
    ],
  },
};

export function filterWhere(query: WorklistQuery, currentUserId: string, sequelize: Sequelize): Where[] {
  const where: Where[] = [];
  if (query.status?.length) where.push({ status: { [Op.in]: query.status } });
  if (query.priority?.length) where.push({ priority: { [Op.in]: query.priority } });
  if (query.modality?.length) {
    where.push({ [Op.or]: query.modality.map((m) => ({ modalities: { [Op.like]: `%|${m}|%` } })) });
  }
  if (query.assignee === 'me') where.push({ assigneeId: currentUserId });
  else if (query.assignee === 'unassigned') where.push({ assigneeId: null });
  else if (query.assignee) where.push({ assigneeId: query.assignee });
  if (query.dateFrom) {
    const from = dateFilterToDicom(query.dateFrom);
    if (!from) throw badRequest('dateFrom is not a valid date', 'BAD_DATE');
    where.push({ studyDate: { [Op.gte]: from } });
  }
  if (query.dateTo) {
    const to = dateFilterToDicom(query.dateTo);
    if (!to) throw badRequest('dateTo is not a valid date', 'BAD_DATE');
    where.push({ studyDate: { [Op.lte]: to } });
  }
  if (query.q) where.push(...textSearchWhere(query.q, sequelize));
  return where;
}

export function sortOf(query: WorklistQuery): SortSpec {
  return SORTS[query.sort ?? 'priority'];
}

export function orderOf(sort: SortSpec): Order {
  return sort.keys.map((k) => [k.column, k.direction]);
}

type CursorValues = (string | number)[];

export function cursorFor(sort: SortSpec, row: Pick<StudyAttributes, SortKey>): string {
  const values: CursorValues = sort.keys.map((k) => (k.column === 'receivedAt' ? new Date(row.receivedAt).toISOString() : row[k.column]));
  return encodeCursor(values);
}

/**
 * Rows strictly after the cursor in the sort order. SQLite and PostgreSQL compare row values,
 * `(a, b, c) > (x, y, z)`, which their planners turn into an index range: a deep page costs what
 * the first does. SQL Server has no row values; there the comparison is expanded.
 */
export function afterCursor(sort: SortSpec, cursor: string, sequelize: Sequelize): Where {
  const shape = sort.keys.map((k) => (k.column === 'priorityRank' ? 'number' : 'string')) as ('string' | 'number')[];
  const raw = decodeCursor(cursor, shape);
  const values = raw.map((value, i) => {
    const column = sort.keys[i]!.column;
    if (column === 'receivedAt') {
      const date = new Date(value as string);
      if (Number.isNaN(date.getTime())) throw badRequest('cursor is not valid', 'BAD_CURSOR');
      return date;
    }
    if (column === 'id' && !/^[0-9a-f-]{36}$/.test(value as string)) throw badRequest('cursor is not valid', 'BAD_CURSOR');
    return value;
  });
  const dialect = sequelize.getDialect();
  if (dialect === 'sqlite' || dialect === 'postgres') {
    const qi = sequelize.getQueryInterface();
    const columns = sort.keys.map((k) => qi.quoteIdentifier(k.column)).join(', ');
    const literals = values.map((v) => sequelize.escape(v as string | number | Date)).join(', ');
    const op = sort.keys[0]!.direction === 'ASC' ? '>' : '<';
    return literal(`(${columns}) ${op} (${literals})`) as unknown as Where;
  }
  const build = (i: number): Where => {
    const key = sort.keys[i]!;
    const beyond = { [key.column]: { [key.direction === 'ASC' ? Op.gt : Op.lt]: values[i] } } as Where;
    if (i === sort.keys.length - 1) return beyond;
    return { [Op.or]: [beyond, { [Op.and]: [{ [key.column]: values[i] } as Where, build(i + 1)] }] };
  };
  return build(0);
}
