/**
 * A minimal structured logger: one JSON object per line on stdout (LOG-1). Callers pass metadata
 * only (document names, user ids, sizes, error messages): never document content or tokens.
 */
import type { LogLevel } from './config';

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  fatal(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}

export function createLogger(level: LogLevel, sink: LogSink = (line) => process.stdout.write(`${line}\n`), base: LogFields = {}): Logger {
  const threshold = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level: lvl, service: 'pacs-sync', ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = k === 'err' ? errorFields(v) : v;
    record.msg = msg;
    sink(JSON.stringify(record));
  };
  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    fatal: (m, f) => emit('fatal', m, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}
