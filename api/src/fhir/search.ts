/**
 * FHIR search parameters, read strictly: each resource type accepts the parameters listed for it
 * and nothing else (an unknown parameter, a repeated one where only one makes sense, or a value of
 * the wrong shape is a 400 OperationOutcome, never silently ignored: a client that thinks it
 * filtered must not receive everything). Untrusted input: every value comes from the query string.
 */
import { badRequest } from '../http-errors';

export type RawQuery = Record<string, string | string[] | undefined>;

export type DatePrefix = 'eq' | 'ge' | 'gt' | 'le' | 'lt';
export interface DateBound {
  prefix: DatePrefix;
  /** The first instant of the day or time given. */
  start: Date;
  /** The first instant after it. */
  end: Date;
}

export interface SearchParams {
  id?: string;
  patient?: string;
  identifier?: { system?: string; value: string };
  status?: string[];
  name?: string;
  birthdate?: string;
  dates: DateBound[];
  count: number;
  cursor?: string;
}

export const SEARCHABLE = {
  Patient: ['_id', 'identifier', 'name', 'birthdate'],
  ServiceRequest: ['_id', 'patient', 'subject', 'status', 'identifier'],
  ImagingStudy: ['_id', 'patient', 'subject', 'status', 'identifier'],
  DiagnosticReport: ['_id', 'patient', 'subject', 'status', 'identifier', 'date'],
} as const;
export type SearchableType = keyof typeof SEARCHABLE;

const ALWAYS = ['_count', '_cursor', '_format'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_COUNT = 200;

function one(query: RawQuery, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw badRequest(`search parameter '${name}' may be given once`, 'VALIDATION_FAILED');
  if (value.length > 256) throw badRequest(`search parameter '${name}' is too long`, 'VALIDATION_FAILED');
  return value;
}

function reference(value: string, name: string): string {
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  if (!UUID.test(id)) throw badRequest(`'${name}' must be Patient/<id> or <id>`, 'VALIDATION_FAILED');
  return id.toLowerCase();
}

function dateBound(raw: string): DateBound {
  const m = /^(eq|ge|gt|le|lt)?(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2}))?$/.exec(raw);
  if (!m) throw badRequest(`date '${raw.slice(0, 40)}' is not [eq|ge|gt|le|lt]YYYY-MM-DD[Thh:mm[:ss]zone]`, 'VALIDATION_FAILED');
  const [, prefix = 'eq', y, mo, d, h, mi, s, zone] = m;
  const start = new Date(h ? `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${zone === 'Z' ? 'Z' : zone}` : `${y}-${mo}-${d}T00:00:00Z`);
  if (Number.isNaN(start.getTime())) throw badRequest(`date '${raw.slice(0, 40)}' is not a date`, 'VALIDATION_FAILED');
  const end = new Date(start.getTime() + (h ? (s ? 1000 : 60_000) : 86_400_000));
  return { prefix: prefix as DatePrefix, start, end };
}

export function readSearch(type: SearchableType, query: RawQuery): SearchParams {
  const allowed = new Set<string>([...SEARCHABLE[type], ...ALWAYS]);
  for (const name of Object.keys(query)) {
    if (!allowed.has(name)) {
      throw badRequest(
        `unknown search parameter '${name.slice(0, 40)}' for ${type} (supported: ${SEARCHABLE[type].join(', ')}, _count)`,
        'VALIDATION_FAILED',
      );
    }
  }
  const format = one(query, '_format');
  if (format !== undefined && !['json', 'application/json', 'application/fhir+json'].includes(format)) {
    throw badRequest('only JSON is served (_format=json)', 'VALIDATION_FAILED');
  }
  const countText = one(query, '_count');
  const count = countText === undefined ? 50 : Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw badRequest(`_count must be 1 to ${MAX_COUNT}`, 'VALIDATION_FAILED');
  const params: SearchParams = { count, dates: [] };
  const id = one(query, '_id');
  if (id !== undefined) {
    if (!UUID.test(id)) throw badRequest('_id is not an id of this server', 'VALIDATION_FAILED');
    params.id = id.toLowerCase();
  }
  const patient = one(query, 'patient');
  const subject = one(query, 'subject');
  if (patient !== undefined && subject !== undefined) throw badRequest("give 'patient' or 'subject', not both", 'VALIDATION_FAILED');
  if (patient !== undefined || subject !== undefined) params.patient = reference((patient ?? subject)!, patient ? 'patient' : 'subject');
  const identifier = one(query, 'identifier');
  if (identifier !== undefined) {
    const bar = identifier.indexOf('|');
    const value = bar === -1 ? identifier : identifier.slice(bar + 1);
    if (value === '') throw badRequest('identifier needs a value', 'VALIDATION_FAILED');
    params.identifier = bar === -1 ? { value } : { system: identifier.slice(0, bar), value };
  }
  const status = one(query, 'status');
  if (status !== undefined)
    params.status = status
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const name = one(query, 'name');
  if (name !== undefined) params.name = name;
  const birthdate = one(query, 'birthdate');
  if (birthdate !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birthdate)) throw badRequest('birthdate must be YYYY-MM-DD', 'VALIDATION_FAILED');
    params.birthdate = birthdate.replace(/-/g, '');
  }
  const dates = query.date;
  for (const raw of dates === undefined ? [] : Array.isArray(dates) ? dates : [dates]) params.dates.push(dateBound(raw));
  if (params.dates.length > 2) throw badRequest('date may be given at most twice (a range)', 'VALIDATION_FAILED');
  const cursor = one(query, '_cursor');
  if (cursor !== undefined) {
    if (!UUID.test(cursor)) throw badRequest('_cursor is not one this server handed out', 'BAD_CURSOR');
    params.cursor = cursor.toLowerCase();
  }
  return params;
}
