/**
 * Document tokens for the sync-server (sync-server/SPEC.md AUTH-2, shared DocumentTokenClaims):
 * compact JWS, header exactly {"alg":"HS256","typ":"JWT"}, HMAC-SHA256 with
 * PACS_DOCUMENT_TOKEN_SECRET, aud pacs-sync, iss pacs-api, lifetime ≤ 3600 s.
 */
import { createHmac } from 'node:crypto';
import {
  DOCUMENT_TOKEN_AUDIENCE,
  DOCUMENT_TOKEN_ISSUER,
  DOCUMENT_TOKEN_MAX_TTL_SECONDS,
  type DocumentMode,
  type DocumentTokenClaims,
  type Role,
} from '@pacs/shared';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function signDocumentToken(
  subject: { userId: string; role: Role; name: string },
  doc: string,
  mode: DocumentMode,
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
): { token: string; expiresAt: Date } {
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.min(ttlSeconds, DOCUMENT_TOKEN_MAX_TTL_SECONDS);
  const claims: DocumentTokenClaims = {
    sub: subject.userId,
    role: subject.role,
    name: subject.name.slice(0, 200),
    doc,
    mode,
    aud: DOCUMENT_TOKEN_AUDIENCE,
    iss: DOCUMENT_TOKEN_ISSUER,
    iat,
    exp,
  };
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = createHmac('sha256', secret).update(input).digest('base64url');
  return { token: `${input}.${signature}`, expiresAt: new Date(exp * 1000) };
}
