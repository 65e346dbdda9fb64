/**
 * A provider gone wrong (or a token lifted from another application): the ID token keeps a valid
 * signature by the provider's own key, only its claims change. A relying party that checks the
 * signature alone would accept it.
 */
import { createSign, type KeyObject } from 'node:crypto';

export function resignIdToken(idToken: string, key: KeyObject, kid: string, changes: Record<string, unknown>): string {
  const [, payload] = idToken.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')), ...changes };
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = createSign('RSA-SHA256').update(`${header}.${body}`).sign(key).toString('base64url');
  return `${header}.${body}.${signature}`;
}
