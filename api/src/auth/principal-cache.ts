/**
 * The user row behind each access token, read once and kept in memory until any change to that
 * user. Every write to `users` goes through the User model, whose hooks evict here (after the
 * transaction commits), so deactivation, a role change or a password change takes effect at
 * the very next request on this instance. Other instances hear of it through the cluster bus
 * (Redis, when configured); the short TTL bounds staleness when they cannot, and for changes made
 * directly in the database.
 */
import type { Transaction } from 'sequelize';
import type { Models, UserAttributes } from '../db/models';
import type { Principal } from '../fastify-types';

export type CachedUser = Pick<
  UserAttributes,
  | 'id'
  | 'email'
  | 'name'
  | 'role'
  | 'active'
  | 'providerId'
  | 'approvalPending'
  | 'passwordChangedAt'
  | 'modalities'
  | 'createdAt'
  | 'updatedAt'
>;

export const PRINCIPAL_TTL_MS = 2000;

/** Who a request acts as, from the user's row (the cached one, or one just read at sign-in). */
export function principalOf(user: Pick<UserAttributes, 'id' | 'role' | 'email' | 'name' | 'providerId'>): Principal {
  return { userId: user.id, role: user.role, email: user.email, name: user.name, providerId: user.providerId ?? '' };
}
const MAX_ENTRIES = 10_000;

export class PrincipalCache {
  private readonly entries = new Map<string, { user: CachedUser | null; at: number }>();
  private generation = 0;
  private readonly changeListeners = new Set<(userId: string | null) => void>();

  constructor(
    private readonly models: Models,
    private readonly ttlMs = PRINCIPAL_TTL_MS,
  ) {
    const evictAfterCommit = (id: string | null, options: { transaction?: Transaction | null }) => {
      const evict = () => (id ? this.evict(id) : this.clear());
      const announce = () => {
        for (const listener of this.changeListeners) listener(id);
      };
      evict();
      if (options.transaction)
        options.transaction.afterCommit(() => {
          evict();
          announce();
        });
      else announce();
    };
    models.User.addHook('afterSave', (user, options) => evictAfterCommit((user as unknown as CachedUser).id, options));
    models.User.addHook('afterDestroy', (user, options) => evictAfterCommit((user as unknown as CachedUser).id, options));
    models.User.addHook('afterBulkUpdate', (options) => evictAfterCommit(null, options as { transaction?: Transaction }));
    models.User.addHook('afterBulkDestroy', (options) => evictAfterCommit(null, options as { transaction?: Transaction }));
  }

  async get(id: string): Promise<CachedUser | null> {
    const cached = this.entries.get(id);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.user;
    const generation = this.generation;
    const user = await this.models.User.findByPk(id, {
      attributes: [
        'id',
        'email',
        'name',
        'role',
        'active',
        'providerId',
        'approvalPending',
        'passwordChangedAt',
        'modalities',
        'createdAt',
        'updatedAt',
      ],
      raw: true,
    });
    // A change that landed while we were reading wins: do not cache what may be stale.
    if (generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(id, { user, at: Date.now() });
    }
    return user;
  }

  /** Called after a change to a user (null: several users) is committed through this instance. */
  onCommittedChange(listener: (userId: string | null) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  evict(id: string): void {
    this.generation += 1;
    this.entries.delete(id);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
