/**
 * The user row behind each access token, read once and kept in memory until any change to that
 * user. Every write to `users` goes through the User model, whose hooks evict here (after the
 * transaction commits), so deactivation, a role change or a password change takes effect at
 * the very next request on this instance. The short TTL bounds staleness for changes made by
 * another API instance or directly in the database.
 */
import type { Transaction } from 'sequelize';
import type { Models, UserAttributes } from '../db/models';

export type CachedUser = Pick<
  UserAttributes,
  'id' | 'email' | 'name' | 'role' | 'active' | 'passwordChangedAt' | 'createdAt' | 'updatedAt'
>;

const TTL_MS = 2000;
const MAX_ENTRIES = 10_000;

export class PrincipalCache {
  private readonly entries = new Map<string, { user: CachedUser | null; at: number }>();
  private generation = 0;

  constructor(private readonly models: Models) {
    const evictAfterCommit = (id: string | null, options: { transaction?: Transaction | null }) => {
      const evict = () => (id ? this.evict(id) : this.clear());
      evict();
      options.transaction?.afterCommit(evict);
    };
    models.User.addHook('afterSave', (user, options) => evictAfterCommit((user as unknown as CachedUser).id, options));
    models.User.addHook('afterDestroy', (user, options) => evictAfterCommit((user as unknown as CachedUser).id, options));
    models.User.addHook('afterBulkUpdate', (options) => evictAfterCommit(null, options as { transaction?: Transaction }));
    models.User.addHook('afterBulkDestroy', (options) => evictAfterCommit(null, options as { transaction?: Transaction }));
  }

  async get(id: string): Promise<CachedUser | null> {
    const cached = this.entries.get(id);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.user;
    const generation = this.generation;
    const user = await this.models.User.findByPk(id, {
      attributes: ['id', 'email', 'name', 'role', 'active', 'passwordChangedAt', 'createdAt', 'updatedAt'],
      raw: true,
    });
    // A change that landed while we were reading wins: do not cache what may be stale.
    if (generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(id, { user, at: Date.now() });
    }
    return user;
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
