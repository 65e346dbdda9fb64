/**
 * Refresh tokens: 256 random bits, stored only as a SHA-256 hash, rotated on every use. Tokens of
 * one login form a family; presenting an already-rotated token means it leaked, so the whole
 * family is revoked (OAuth 2.0 Security BCP, refresh token rotation).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Op, type Transaction } from 'sequelize';
import type { Models, UserAttributes } from '../db/models';

export type RefreshFailure = 'unknown' | 'reused' | 'expired' | 'revoked' | 'inactive';

export class RefreshRejected extends Error {
  constructor(
    readonly reason: RefreshFailure,
    readonly userId: string | null,
  ) {
    super(`refresh token ${reason}`);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class RefreshTokens {
  constructor(
    private readonly models: Models,
    private readonly ttlSeconds: number,
  ) {}

  async issue(userId: string, familyId: string = randomUUID(), transaction?: Transaction) {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.ttlSeconds * 1000);
    await this.models.RefreshToken.create({ userId, familyId, tokenHash: hashToken(token), expiresAt }, { transaction });
    return { token, expiresAt, familyId };
  }

  /** Consumes `token` and returns its successor, or throws RefreshRejected. */
  async rotate(token: string): Promise<{ user: UserAttributes; token: string; expiresAt: Date; familyId: string }> {
    const row = await this.models.RefreshToken.findOne({ where: { tokenHash: hashToken(token) } });
    if (!row) throw new RefreshRejected('unknown', null);
    const { id, userId, familyId } = row.get();
    if (row.get('revokedAt')) throw new RefreshRejected('revoked', userId);
    if (row.get('usedAt')) {
      await this.revokeFamily(familyId, 'reuse-detected');
      throw new RefreshRejected('reused', userId);
    }
    if (row.get('expiresAt').getTime() <= Date.now()) throw new RefreshRejected('expired', userId);

    // The conditional update makes rotation single-use even when two requests race.
    const [claimed] = await this.models.RefreshToken.update({ usedAt: new Date() }, { where: { id, usedAt: null, revokedAt: null } });
    if (claimed !== 1) {
      await this.revokeFamily(familyId, 'reuse-detected');
      throw new RefreshRejected('reused', userId);
    }
    const user = await this.models.User.findByPk(userId, { raw: true });
    if (!user?.active) {
      await this.revokeFamily(familyId, 'user-inactive');
      throw new RefreshRejected('inactive', userId);
    }
    const next = await this.issue(userId, familyId);
    return { user, token: next.token, expiresAt: next.expiresAt, familyId };
  }

  async familyOf(token: string): Promise<{ familyId: string; userId: string } | null> {
    const row = await this.models.RefreshToken.findOne({ where: { tokenHash: hashToken(token) }, raw: true });
    return row ? { familyId: row.familyId, userId: row.userId } : null;
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
