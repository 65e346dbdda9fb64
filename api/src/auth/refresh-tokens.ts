/**
 * Refresh tokens: 256 random bits, stored only as a SHA-256 hash, rotated on every use. Tokens of
 * one login form a family; presenting an already-rotated token means it leaked, so the whole
 * family is revoked (OAuth 2.0 Security BCP, refresh token rotation).
 *
 * Lost responses (reuse grace, like Auth0's reuse interval or Okta's grace period): a tablet on
 * flaky Wi-Fi may send a refresh, have it rotated, and never receive the new cookie; its retry
 * presents the rotated token again. If that happens within `graceSeconds` of the rotation and the
 * successor has never been used, the unused successor is revoked ('superseded') and a fresh one
 * of the same family is issued, so the family still has exactly one live token. Whoever later
 * presents a superseded token held a chain the other party replaced, so that revokes the family
 * as reuse: a thief replaying inside the window is caught at the victim's next refresh, exactly
 * as a thief using the current token is.
 *
 * The schema has no "replaced by" column, so a token's successors get ids derived from its own id
 * (`successorIds`): finding them is a primary-key lookup and needs no clock ordering across API
 * instances. Every state change is a conditional UPDATE (`usedAt: null`, `revokedAt: null`), so
 * of several simultaneous presentations exactly one chain survives on every dialect.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Op, type Transaction } from 'sequelize';
import type { Models, RefreshTokenAttributes, UserAttributes } from '../db/models';

export type RefreshFailure = 'unknown' | 'reused' | 'expired' | 'revoked' | 'inactive';

/** Why a replay counted as reuse, for the security alert. */
export type ReuseKind = 'grace-disabled' | 'outside-grace' | 'successor-used' | 'grace-exhausted' | 'superseded-token' | 'contended';

export class RefreshRejected extends Error {
  constructor(
    readonly reason: RefreshFailure,
    readonly userId: string | null,
    readonly reuse: ReuseKind | null = null,
    /** The session (refresh-token family) revoked because of a reuse. */
    readonly familyId: string | null = null,
  ) {
    super(`refresh token ${reason}`);
  }
}

export interface Rotation {
  user: UserAttributes;
  token: string;
  expiresAt: Date;
  familyId: string;
  /** The device the session signed in from, if it named one. */
  deviceId: string | null;
  /** Set when a rotated token was accepted again within the grace window (a lost response). */
  grace: { rotatedMsAgo: number } | null;
}

/** Revoked reason of a successor replaced through the grace path. */
export const SUPERSEDED = 'superseded';
/** Grace re-issues per rotated token: retries of a lost response, not an endless replay. */
export const MAX_GRACE_REISSUES = 5;
/** Rounds of re-reading after losing a conditional update to a simultaneous presentation. */
const MAX_ROUNDS = 4;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Ids of the tokens issued in exchange for token `id`: [0] by its rotation, [n] by its n-th grace
 * re-issue. Shaped as RFC 9562 version 8 UUIDs so every dialect's UUID column accepts them.
 */
export function successorIds(id: string): string[] {
  return Array.from({ length: MAX_GRACE_REISSUES + 1 }, (_, n) => {
    const h = createHash('sha256').update(`pacs-refresh-successor:${id}:${n}`).digest('hex');
    const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  });
}

type Row = RefreshTokenAttributes;

export class RefreshTokens {
  constructor(
    private readonly models: Models,
    private readonly ttlSeconds: number,
    /** Milliseconds since the epoch; injectable so tests can step over the grace window. */
    private readonly now: () => number = Date.now,
  ) {}

  async issue(userId: string, familyId: string = randomUUID(), transaction?: Transaction, id?: string, deviceId: string | null = null) {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.now() + this.ttlSeconds * 1000);
    await this.models.RefreshToken.create(
      { ...(id ? { id } : {}), userId, familyId, tokenHash: hashToken(token), expiresAt, deviceId },
      { transaction },
    );
    return { token, expiresAt, familyId };
  }

  /**
   * Consumes `token` and returns its successor, or throws RefreshRejected. A token rotated less
   * than `graceSeconds` ago whose successor is unused is accepted again (see the file comment).
   */
  async rotate(token: string, graceSeconds = 0): Promise<Rotation> {
    const tokenHash = hashToken(token);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const row = await this.models.RefreshToken.findOne({ where: { tokenHash }, raw: true });
      if (!row) throw new RefreshRejected('unknown', null);
      const { id, userId, familyId } = row;
      if (row.revokedAt) {
        if (row.revokedReason === SUPERSEDED) throw await this.reuseDetected(row, 'superseded-token');
        throw new RefreshRejected('revoked', userId);
      }
      if (row.usedAt) {
        const rotatedMsAgo = this.now() - new Date(row.usedAt).getTime();
        if (graceSeconds <= 0) throw await this.reuseDetected(row, 'grace-disabled');
        if (rotatedMsAgo >= graceSeconds * 1000) throw await this.reuseDetected(row, 'outside-grace');
        const reissued = await this.reissue(row);
        if (reissued === 'contended') continue;
        if (typeof reissued === 'string') throw await this.reuseDetected(row, reissued);
        return this.finish(row, reissued, { rotatedMsAgo });
      }
      if (new Date(row.expiresAt).getTime() <= this.now()) throw new RefreshRejected('expired', userId);

      // Claim and successor commit together: a presentation that loses the claim re-reads and
      // finds the successor already there, so it can take the grace path instead of failing.
      const next = await this.transaction(async (transaction) => {
        const [claimed] = await this.models.RefreshToken.update(
          { usedAt: new Date(this.now()) },
          { where: { id, usedAt: null, revokedAt: null }, transaction },
        );
        if (claimed !== 1) return null;
        return this.issue(userId, familyId, transaction, successorIds(id)[0], row.deviceId);
      });
      if (next) return this.finish(row, next, null);
    }
    // Still losing races after several rounds: not a flaky network but a flood of replays.
    const row = await this.models.RefreshToken.findOne({ where: { tokenHash }, raw: true });
    if (!row) throw new RefreshRejected('unknown', null);
    throw await this.reuseDetected(row, 'contended');
  }

  /**
   * Replaces the unused successor of the rotated token `row` with a fresh token. 'successor-used'
   * (the chain went on) and 'grace-exhausted' are reuse; 'contended': another presentation changed
   * the successors meanwhile, look again.
   */
  private async reissue(row: Row) {
    const ids = successorIds(row.id);
    const successors = await this.models.RefreshToken.findAll({ where: { id: ids, familyId: row.familyId }, raw: true });
    if (successors.some((s) => s.usedAt)) return 'successor-used' as const;
    const live = successors.find((s) => !s.revokedAt);
    // None live: the family was revoked meanwhile (the next round reads that) or a race is in flight.
    if (!live) return 'contended' as const;
    const n = ids.indexOf(live.id);
    if (n + 1 >= ids.length) return 'grace-exhausted' as const;
    const next = await this.transaction(async (transaction) => {
      const [revoked] = await this.models.RefreshToken.update(
        { revokedAt: new Date(this.now()), revokedReason: SUPERSEDED },
        { where: { id: live.id, usedAt: null, revokedAt: null }, transaction },
      );
      if (revoked !== 1) return null;
      return this.issue(row.userId, row.familyId, transaction, ids[n + 1], row.deviceId);
    });
    return next ?? ('contended' as const);
  }

  private async finish(row: Row, next: { token: string; expiresAt: Date }, grace: Rotation['grace']): Promise<Rotation> {
    const user = await this.models.User.findByPk(row.userId, { raw: true });
    if (!user?.active) {
      await this.revokeFamily(row.familyId, 'user-inactive');
      throw new RefreshRejected('inactive', row.userId);
    }
    return { user, token: next.token, expiresAt: next.expiresAt, familyId: row.familyId, deviceId: row.deviceId, grace };
  }

  private async reuseDetected(row: Row, kind: ReuseKind): Promise<RefreshRejected> {
    await this.revokeFamily(row.familyId, 'reuse-detected');
    return new RefreshRejected('reused', row.userId, kind, row.familyId);
  }

  private transaction<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    return this.models.RefreshToken.sequelize!.transaction(work);
  }

  async familyOf(token: string): Promise<{ familyId: string; userId: string; deviceId: string | null } | null> {
    const row = await this.models.RefreshToken.findOne({ where: { tokenHash: hashToken(token) }, raw: true });
    return row ? { familyId: row.familyId, userId: row.userId, deviceId: row.deviceId } : null;
  }

  /** Who a session (family) belongs to and the device it signed in from; null for an unknown id. */
  async session(familyId: string): Promise<{ userId: string; deviceId: string | null } | null> {
    const row = await this.models.RefreshToken.findOne({ attributes: ['userId', 'deviceId'], where: { familyId }, raw: true });
    return row ? { userId: row.userId, deviceId: row.deviceId } : null;
  }

  async revokeFamily(familyId: string, reason: string, transaction?: Transaction): Promise<void> {
    await this.models.RefreshToken.update(
      { revokedAt: new Date(), revokedReason: reason },
      { where: { familyId, revokedAt: null }, transaction },
    );
  }

  async revokeAllForUser(userId: string, reason: string, transaction?: Transaction): Promise<void> {
    await this.models.RefreshToken.update(
      { revokedAt: new Date(), revokedReason: reason },
      { where: { userId, revokedAt: null }, transaction },
    );
  }

  /** Housekeeping: drop tokens that expired more than a day ago. */
  async purgeExpired(): Promise<number> {
    return this.models.RefreshToken.destroy({ where: { expiresAt: { [Op.lt]: new Date(Date.now() - 86_400_000) } } });
  }
}
