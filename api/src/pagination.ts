/** Opaque keyset cursors: base64url JSON the server alone reads. A bad cursor is a 400. */
import { badRequest } from './http-errors';

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, shape: readonly ('string' | 'number')[]): (string | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not valid', 'BAD_CURSOR');
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length || parsed.some((v, i) => typeof v !== shape[i])) {
    throw badRequest('cursor is not valid', 'BAD_CURSOR');
  }
  return parsed as (string | number)[];
}
