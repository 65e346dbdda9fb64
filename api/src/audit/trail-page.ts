/**
 * One page of the audit trail in one statement, answered as JSON text.
 *
 * A page is read with a hand-written SELECT rather than through the model: the ORM's query building
 * (option cloning, where-tree walking) cost more than the read itself, and on SQLite every model
 * query first asks for the table's columns (`PRAGMA table_info`, for type parsing a raw read does not
 * use), which only a backtick-quoted table name triggers. Filter values are escaped by the dialect's
 * own escaping (`sequelize.escape`), so dates compare in the stored format on each database.
 *
 * Audit rows never change once written, so each row is turned into its JSON once and kept; a page is
 * those texts joined. The newest rows are on every default page for as long as they are the newest,
 * so under load nearly every row of a page is served from here.
 */
import type { AuditEntry, AuditQuery } from '@pacs/shared';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { AuditLogAttributes } from '../db/models';
import { badRequest } from '../http-errors';
import { decodeCursor, encodeCursor } from '../pagination';

/** Equality filters, each served by an index that ends in `id` (migrations 0001 and 0020). */
const EQUALITY_FILTERS = ['userId', 'patientId', 'studyUid', 'eventId', 'action', 'outcome', 'objectType'] as const;

const COLUMNS = [
  'id',
  'eventId',
  'action',
  'outcome',
  'eventDateTime',
  'userId',
  'userRole',
  'networkAddress',
  'objectType',
  'objectId',
  'patientId',
  'studyUid',
  'requestId',
  'details',
] as const;

// Double quotes name a column on all three databases (SQL Server with QUOTED_IDENTIFIER, tedious's default).
const q = (name: string) => `"${name}"`;
const SELECT_LIST = COLUMNS.map(q).join(', ');

/** The page's statement: newest first, `limit + 1` rows so the caller knows whether more follow. */
export function auditPageStatement(sequelize: Sequelize, query: AuditQuery, limit: number): string {
  const conditions: string[] = [];
  if (query.from) conditions.push(`${q('eventDateTime')} >= ${sequelize.escape(new Date(query.from))}`);
  if (query.to) conditions.push(`${q('eventDateTime')} < ${sequelize.escape(new Date(query.to))}`);
  for (const key of EQUALITY_FILTERS) {
    const value = query[key];
    if (value !== undefined) conditions.push(`${q(key)} = ${sequelize.escape(value)}`);
  }
  if (query.cursor) conditions.push(`${q('id')} < ${cursorId(query.cursor)}`);
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const rows = limit + 1;
  if (sequelize.getDialect() === 'mssql') {
    return `SELECT TOP (${rows}) ${SELECT_LIST} FROM ${q('audit_logs')}${where} ORDER BY ${q('id')} DESC`;
  }
  return `SELECT ${SELECT_LIST} FROM ${q('audit_logs')}${where} ORDER BY ${q('id')} DESC LIMIT ${rows}`;
}

/** The id a cursor continues below: digits only, so it goes into the statement as a number. */
function cursorId(cursor: string): string {
  const [before] = decodeCursor(cursor, ['string']);
  const id = String(before);
  if (!/^\d{1,18}$/.test(id)) throw badRequest('cursor is not valid', 'BAD_CURSOR');
  return id;
}

export class AuditTrailPages {
  private readonly json = new Map<string, string>();

  constructor(
    private readonly sequelize: Sequelize,
    /** Rows kept as JSON: enough for the pages admins are paging through. */
    private readonly maxRows = 20_000,
  ) {}

  /** The page as the JSON text of an `AuditPage`. */
  async page(query: AuditQuery, limit: number): Promise<string> {
    const rows = await this.sequelize.query<AuditLogAttributes>(auditPageStatement(this.sequelize, query, limit), {
      type: QueryTypes.SELECT,
      raw: true,
    });
    const items: string[] = [];
    for (const row of rows.slice(0, limit)) items.push(this.rowJson(row));
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    const nextCursor = last ? JSON.stringify(encodeCursor([String(last.id)])) : 'null';
    return `{"items":[${items.join(',')}],"nextCursor":${nextCursor}}`;
  }

  private rowJson(row: AuditLogAttributes): string {
    const id = String(row.id);
    let text = this.json.get(id);
    if (text === undefined) {
      text = JSON.stringify(presentAuditRow(row));
      // Insertion order is age: the oldest entry goes first.
      if (this.json.size >= this.maxRows) this.json.delete(this.json.keys().next().value as string);
      this.json.set(id, text);
    }
    return text;
  }
}

/** A row as the API shows it (`AuditEntry`), with the keys in the schema's order. */
export function presentAuditRow(row: AuditLogAttributes): AuditEntry {
  let details: Record<string, unknown> | null = null;
  if (row.details) {
    try {
      const parsed: unknown = JSON.parse(row.details);
      details =
        parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : { unparsable: row.details };
    } catch {
      details = { unparsable: row.details };
    }
  }
  return {
    id: String(row.id),
    eventId: row.eventId,
    action: row.action,
    outcome: Number(row.outcome) as AuditEntry['outcome'],
    eventDateTime: new Date(row.eventDateTime).toISOString(),
    userId: row.userId,
    userRole: row.userRole,
    networkAddress: row.networkAddress,
    objectType: row.objectType,
    objectId: row.objectId,
    patientId: row.patientId,
    studyUid: row.studyUid,
    requestId: row.requestId,
    details,
  };
}
