/**
 * A page of the audit trail, answered as JSON text.
 *
 * Statements are written by hand rather than through the model: the ORM's query building (option
 * cloning, where-tree walking) cost more than the reads themselves, and on SQLite every model query
 * first asks for the table's columns (`PRAGMA table_info`, for type parsing a raw read does not
 * use), which only a backtick-quoted table name triggers. Filter values are escaped by the dialect's
 * own escaping (`sequelize.escape`), so dates compare in the stored format on each database.
 *
 * Audit rows never change once written, so each row is turned into its JSON once and kept. A page
 * reads the ids of its rows (index only), then whole rows only for ids not kept yet: on SQLite a
 * full row costs the driver ten times an id to hand over, and the newest rows are on every default
 * page for as long as they are the newest, so under load a page fetches one or two rows.
 */
import { sqliteSelect } from '@pacs/server-kit/database';
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

/** The ids of a page, newest first: `limit + 1`, so the caller knows whether more follow. */
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
    return `SELECT TOP (${rows}) ${q('id')} FROM ${q('audit_logs')}${where} ORDER BY ${q('id')} DESC`;
  }
  return `SELECT ${q('id')} FROM ${q('audit_logs')}${where} ORDER BY ${q('id')} DESC LIMIT ${rows}`;
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
  /**
   * Rows being fetched, by id. Under load many pages are read at once and all see the same newest
   * rows appear; each fetches and presents them once, not once per page (without this, half the
   * read's CPU went to presenting the same rows again).
   */
  private readonly fetching = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly sequelize: Sequelize,
    /** Rows kept as JSON: enough for the pages admins are paging through. */
    private readonly maxRows = 20_000,
  ) {}

  /** The page as the JSON text of an `AuditPage`. */
  async page(query: AuditQuery, limit: number): Promise<string> {
    const idRows = await this.select<{ id: number | string }>(auditPageStatement(this.sequelize, query, limit));
    const ids = idRows.slice(0, limit).map((row) => String(row.id));
    const missing = ids.filter((id) => !this.json.has(id) && !this.fetching.has(id));
    if (missing.length > 0) this.fetch(missing);
    // Taken now, before any row is kept: keeping one cannot push out another of the same page.
    const items = ids.map((id) => this.json.get(id) ?? this.fetched(id));
    const nextCursor = idRows.length > limit ? JSON.stringify(encodeCursor([ids.at(-1)!])) : 'null';
    return `{"items":[${(await Promise.all(items)).join(',')}],"nextCursor":${nextCursor}}`;
  }

  /** Every statement of a page goes through here; on SQLite past Sequelize (see `sqliteSelect`). */
  protected select<T extends object>(sql: string): Promise<T[]> {
    if (this.sequelize.getDialect() === 'sqlite') return sqliteSelect<T>(this.sequelize, sql);
    return this.sequelize.query<T>(sql, { type: QueryTypes.SELECT, raw: true });
  }

  private async fetched(id: string): Promise<string> {
    const text = await this.fetching.get(id);
    if (text === undefined) throw new Error(`audit row ${id} vanished between two reads`);
    return text;
  }

  /** Whole rows by id in one statement, each presented once; the ids come from the database, digits only. */
  private fetch(ids: string[]): void {
    const list = ids.filter((id) => /^\d+$/.test(id)).join(', ');
    const texts = this.select<AuditLogAttributes>(`SELECT ${SELECT_LIST} FROM ${q('audit_logs')} WHERE ${q('id')} IN (${list})`)
      .then((rows) => new Map(rows.map((row) => [String(row.id), this.keep(row)])))
      .finally(() => {
        for (const id of ids) this.fetching.delete(id);
      });
    for (const id of ids)
      this.fetching.set(
        id,
        texts.then((byId) => byId.get(id)),
      );
  }

  /** The row's JSON, kept for the next pages: the oldest kept row makes room when full. */
  private keep(row: AuditLogAttributes): string {
    const text = JSON.stringify(presentAuditRow(row));
    if (this.json.size >= this.maxRows) this.json.delete(this.json.keys().next().value as string);
    this.json.set(String(row.id), text);
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
