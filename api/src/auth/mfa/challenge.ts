/**
 * The step between a correct password and a session when a second factor is due: a short-lived
 * token naming the user, the password it was earned with, and whether they must enrol first. HMAC
 * under its own key (derived from the access-token secret, with another purpose), so it can never
 * pass for an access token, nor an access token for it.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const CHALLENGE_TTL_MS = 5 * 60_000;

export interface Challenge {
  userId: string;
  /** passwordChangedAt (ms) when it was issued: a password change since voids it. */
  passwordAt: number;
  expiresAt: number;
}

export class ChallengeSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'pacs', 'mfa-challenge', 32));
  }

  sign(userId: string, passwordChangedAt: Date, now = Date.now()): string {
    const payload = Buffer.from(JSON.stringify({ u: userId, p: passwordChangedAt.getTime(), e: now + CHALLENGE_TTL_MS })).toString(
      'base64url',
    );
    return `${payload}.${this.mac(payload)}`;
  }

  /** Null when forged, altered or expired. */
  verify(token: string, now = Date.now()): Challenge | null {
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined) return null;
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { u?: unknown; p?: unknown; e?: unknown };
      if (typeof claims.u !== 'string' || typeof claims.p !== 'number' || typeof claims.e !== 'number' || claims.e < now) return null;
      return { userId: claims.u, passwordAt: claims.p, expiresAt: claims.e };
    } catch {
      return null;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
