/**
 * Sessions ended before their access tokens expire (logout, a leaked refresh token): the access
 * token carries its session id (`sid`, the refresh-token family), and a revoked id is refused on
 * every request until the last token it could have signed has expired. Kept in memory; loaded
 * from the database at start (a restart forgets nothing) and shared between instances through
 * Redis by the cluster bus.
 */
import { Op } from 'sequelize';
import type { Models } from '../db/models';

/** A session ended from the list of sessions (by its user or an admin). */
export const SESSION_REVOKED = 'session-revoked';
/** A session of a device that was revoked (which must then wipe itself). */
export const DEVICE_REVOKED = 'device-revoked';

/** Revoked refresh-token families whose access tokens must die with them. */
export const SESSION_ENDING_REASONS = ['logout', 'reuse-detected', 'sso-ended', SESSION_REVOKED, DEVICE_REVOKED];
/** Clock differences between instances: keep a revocation this much past the token's expiry. */
const SKEW_MS = 30_000;
const MAX_ENTRIES = 200_000;

export class SessionRevocations {
  /** Session id → when the last access token of that session expires (ms since the epoch). */
  private readonly until = new Map<string, number>();
  private readonly listeners = new Set<(sessionId: string, untilMs: number) => void>();

  constructor(
    private readonly accessTokenTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  isRevoked(sessionId: string): boolean {
    const until = this.until.get(sessionId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(sessionId);
    return false;
  }

  /** Ends a session here and tells the listeners (the cluster bus) so other instances do too. */
  revoke(sessionId: string, revokedAt = this.now()): void {
    const untilMs = revokedAt + this.accessTokenTtlMs + SKEW_MS;
    this.remember(sessionId, untilMs);
    for (const listener of this.listeners) listener(sessionId, untilMs);
  }

  /** A revocation learnt from elsewhere (another instance, the database): not announced again. */
  remember(sessionId: string, untilMs: number): void {
    if (untilMs <= this.now()) return;
    if (this.until.size >= MAX_ENTRIES) this.prune();
    this.until.set(sessionId, Math.max(untilMs, this.until.get(sessionId) ?? 0));
  }

  onRevoke(listener: (sessionId: string, untilMs: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sessions ended within one access-token lifetime, from the refresh-token table. */
  async loadFrom(models: Models): Promise<number> {
    const since = new Date(this.now() - this.accessTokenTtlMs - SKEW_MS);
    const rows = await models.RefreshToken.findAll({
      attributes: ['familyId', 'revokedAt'],
      where: { revokedReason: SESSION_ENDING_REASONS, revokedAt: { [Op.gte]: since } },
      raw: true,
    });
    for (const row of rows) this.remember(row.familyId, new Date(row.revokedAt!).getTime() + this.accessTokenTtlMs + SKEW_MS);
    return rows.length;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id);
    // Only signed-in users add entries (one per logout); still full, drop those closest to expiry.
    if (this.until.size >= MAX_ENTRIES) {
      const sorted = [...this.until].sort((x, y) => x[1] - y[1]);
      for (const [id] of sorted.slice(0, MAX_ENTRIES / 10)) this.until.delete(id);
    }
  }
}
