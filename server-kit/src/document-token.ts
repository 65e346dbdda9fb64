/**
 * Document tokens (sync-server/SPEC.md AUTH-2): the API signs them, the sync-server verifies them,
 * both with this module, so the format cannot drift between the two. Compact JWS, HS256 only,
 * node:crypto; the alg is checked against the header before any signature work, so `none` and
 * RS/HS confusion are impossible by construction. No database call: the token alone authorises.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  DOCUMENT_MODES,
  DOCUMENT_TOKEN_AUDIENCE,
  DOCUMENT_TOKEN_ISSUER,
  DOCUMENT_TOKEN_MAX_TTL_SECONDS,
  type DocumentMode,
  type DocumentTokenClaims,
  isRole,
} from '@pacs/shared';

/** Tolerated clock difference between the API and the sync-server. */
export const CLOCK_SKEW_SECONDS = 30;
const MAX_TOKEN_LENGTH = 4096;
const B64URL = /^[A-Za-z0-9_-]+$/;
const HEADER = { alg: 'HS256', typ: 'JWT' } as const;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function hmac(secret: string, input: string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

export type TokenInput = Omit<DocumentTokenClaims, 'aud' | 'iss' | 'iat' | 'exp'> & Partial<Pick<DocumentTokenClaims, 'iat' | 'exp'>>;

/**
 * Signs a document token: header `{"alg":"HS256","typ":"JWT"}`, claims per DocumentTokenClaims in
 * a fixed order. `ttlSeconds` applies when `exp` is not given; nothing is clamped here (tests sign
 * tokens the verifier must refuse), the API clamps what it issues.
 */
export function signDocumentToken(claims: TokenInput, secret: string, ttlSeconds = 300, now = Date.now()): string {
  const iat = claims.iat ?? Math.floor(now / 1000);
  const payload: DocumentTokenClaims = {
    sub: claims.sub,
    role: claims.role,
    name: claims.name,
    doc: claims.doc,
    mode: claims.mode,
    aud: DOCUMENT_TOKEN_AUDIENCE,
    iss: DOCUMENT_TOKEN_ISSUER,
    iat,
    exp: claims.exp ?? iat + ttlSeconds,
  };
  const input = `${b64url(JSON.stringify(HEADER))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${hmac(secret, input).toString('base64url')}`;
}

export type TokenFailure =
  | 'missing'
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'claims'
  | 'audience'
  | 'issuer'
  | 'expired'
  | 'not-yet-valid';
export type TokenResult = { ok: true; claims: DocumentTokenClaims } | { ok: false; reason: TokenFailure };

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Verifies signature, algorithm, audience, issuer, lifetime and claim shapes (AUTH-1..AUTH-4). */
export function verifyDocumentToken(token: string | null | undefined, secret: string, now = Date.now()): TokenResult {
  if (!token) return { ok: false, reason: 'missing' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h);
  if (!isObject(header)) return { ok: false, reason: 'malformed' };
  if (header.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT') || 'crit' in header) {
    return { ok: false, reason: 'algorithm' };
  }
  const expected = hmac(secret, `${h}.${p}`);
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
  const c = parseJson(p);
  if (!isObject(c)) return { ok: false, reason: 'malformed' };
  if (
    typeof c.sub !== 'string' ||
    c.sub.length === 0 ||
    c.sub.length > 64 ||
    !isRole(c.role) ||
    typeof c.name !== 'string' ||
    c.name.length > 200 ||
    typeof c.doc !== 'string' ||
    c.doc.length > 200 ||
    !(DOCUMENT_MODES as readonly unknown[]).includes(c.mode) ||
    !isInt(c.iat) ||
    !isInt(c.exp)
  ) {
    return { ok: false, reason: 'claims' };
  }
  if (c.aud !== DOCUMENT_TOKEN_AUDIENCE) return { ok: false, reason: 'audience' };
  if (c.iss !== DOCUMENT_TOKEN_ISSUER) return { ok: false, reason: 'issuer' };
  const nowSeconds = Math.floor(now / 1000);
  if (c.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  if (c.iat > nowSeconds + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'not-yet-valid' };
  if (c.exp - c.iat > DOCUMENT_TOKEN_MAX_TTL_SECONDS) return { ok: false, reason: 'claims' };
  return {
    ok: true,
    claims: {
      sub: c.sub,
      role: c.role,
      name: c.name,
      doc: c.doc,
      mode: c.mode as DocumentMode,
      aud: c.aud,
      iss: c.iss,
      iat: c.iat,
      exp: c.exp,
    },
  };
}
