/**
 * Sign-ins in flight: what the callback must check (state, nonce, PKCE verifier) and where the
 * user was going. Bound to the browser that started it by a random value in an httpOnly cookie
 * (stored only as a hash), and used once: a second callback with the same cookie (a replay, a
 * double click) finds it spent. Kept in the database so any API instance can finish the flow.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { Op } from 'sequelize';
import type { Models } from '../../db/models';
import type { SsoSignInAttributes } from '../../db/sso-models';

/** Long enough to type a password and a second factor at the provider. */
export const SIGN_IN_TTL_MS = 10 * 60_000;

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

const hasControlCharacter = (value: string) => [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** A path on this origin only: no scheme, no `//host`, no backslash tricks, no control characters. */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 500) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || hasControlCharacter(value)) return '/';
  return value;
}

export type SpentSignIn = Pick<SsoSignInAttributes, 'state' | 'nonce' | 'codeVerifier' | 'returnTo'>;

export class SignIns {
  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  async start(returnTo: string): Promise<{ binding: string; checks: SpentSignIn }> {
    const binding = randomBytes(32).toString('base64url');
    const checks = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo: safeReturnPath(returnTo),
    };
    // Abandoned sign-ins do not pile up: each start clears those long expired.
    await this.models.SsoSignIn.destroy({ where: { expiresAt: { [Op.lt]: new Date(this.now() - SIGN_IN_TTL_MS) } } });
    await this.models.SsoSignIn.create({ bindingHash: hash(binding), ...checks, expiresAt: new Date(this.now() + SIGN_IN_TTL_MS) });
    return { binding, checks };
  }

  /** Spends the sign-in of this browser: 'expired' if there is none still open, 'spent' if it was used. */
  async spend(binding: string | undefined): Promise<SpentSignIn | 'expired' | 'spent'> {
    if (!binding || binding.length > 100) return 'expired';
    const bindingHash = hash(binding);
    const now = new Date(this.now());
    const [claimed] = await this.models.SsoSignIn.update(
      { usedAt: now },
      { where: { bindingHash, usedAt: null, expiresAt: { [Op.gt]: now } } },
    );
    const row = await this.models.SsoSignIn.findByPk(bindingHash, { raw: true });
    if (claimed === 1 && row) return row;
    return row?.usedAt ? 'spent' : 'expired';
  }
}
