/** Comparing secrets a caller presents, in constant time. */
import { timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header is exactly `Bearer <expected>`, compared in constant time so
 * the answer's timing says nothing about how much of a guess was right. No expected token (the
 * feature is not configured) matches nothing.
 */
export function bearerMatches(header: string | undefined, expected: string | undefined): boolean {
  if (!expected || !header) return false;
  const given = Buffer.from(header);
  const want = Buffer.from(`Bearer ${expected}`);
  return given.length === want.length && timingSafeEqual(given, want);
}
