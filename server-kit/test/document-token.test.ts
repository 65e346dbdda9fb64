/**
 * The API signs document tokens and the sync-server verifies them with this one module (AUTH-2):
 * what one side writes, the other reads, and a change to either is caught here.
 */
import { DOCUMENT_TOKEN_AUDIENCE, DOCUMENT_TOKEN_ISSUER } from '@pacs/shared';
import { describe, expect, it } from 'vitest';
import { signDocumentToken, verifyDocumentToken } from '../src/document-token';
import { bearerMatches } from '../src/secrets';

const SECRET = 'a-document-token-secret-of-32-chars!';
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);
const CLAIMS = { sub: 'user-1', role: 'resident', name: 'Dr R', doc: 'report:0b6a1c52-5d1e-4f3a-9c2b-7f1e2d3c4b5a', mode: 'rw' } as const;

describe('document tokens (AUTH-2)', () => {
  it('verifies what it signs, with the audience, issuer and lifetime filled in', () => {
    const token = signDocumentToken(CLAIMS, SECRET, 300, NOW);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
    const iat = NOW / 1000;
    expect(verifyDocumentToken(token, SECRET, NOW)).toEqual({
      ok: true,
      claims: { ...CLAIMS, aud: DOCUMENT_TOKEN_AUDIENCE, iss: DOCUMENT_TOKEN_ISSUER, iat, exp: iat + 300 },
    });
  });

  it('refuses another key, a changed payload, an expired token and one living longer than the maximum', () => {
    const token = signDocumentToken(CLAIMS, SECRET, 300, NOW);
    expect(verifyDocumentToken(token, `${SECRET}x`, NOW)).toEqual({ ok: false, reason: 'signature' });
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...CLAIMS, role: 'attending' })).toString('base64url');
    expect(verifyDocumentToken(`${h}.${forged}.${s}`, SECRET, NOW)).toEqual({ ok: false, reason: 'signature' });
    expect(verifyDocumentToken(token, SECRET, NOW + 300_000)).toEqual({ ok: false, reason: 'expired' });
    const longLived = signDocumentToken(CLAIMS, SECRET, 3601, NOW);
    expect(verifyDocumentToken(longLived, SECRET, NOW)).toEqual({ ok: false, reason: 'claims' });
  });
});

describe('bearerMatches', () => {
  it('accepts exactly "Bearer <token>" and nothing when no token is configured', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    for (const header of ['Bearer s3cre', 'Bearer s3cret ', 'bearer s3cret', 's3cret', '', undefined]) {
      expect(bearerMatches(header, 's3cret'), String(header)).toBe(false);
    }
    expect(bearerMatches('Bearer ', '')).toBe(false);
    expect(bearerMatches('Bearer undefined', undefined)).toBe(false);
  });
});
