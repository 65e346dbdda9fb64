/**
 * "Opened recently" for the device scope: a read of a study's details or of its report records
 * when this user opened it, at most once per user and study every few minutes (a viewer re-reading the details
 * does not write each time, on any API instance). The row keeps the latest opening.
 */
import { Op, UniqueConstraintError } from 'sequelize';
import type { Models } from '../db/models';

const REWRITE_AFTER_MS = 5 * 60_000;
const REMEMBERED = 10_000;

export class RecentOpens {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  async record(userId: string, studyRef: string): Promise<void> {
    const key = `${userId}:${studyRef}`;
    const now = this.now();
    const last = this.written.get(key);
    if (last !== undefined && now - last < REWRITE_AFTER_MS) return;
    const openedAt = new Date(now);
    const stale = { [Op.lt]: new Date(now - REWRITE_AFTER_MS) };
    const [updated] = await this.models.StudyOpen.update({ openedAt }, { where: { userId, studyRef, openedAt: stale } });
    if (updated === 0 && !(await this.models.StudyOpen.findOne({ where: { userId, studyRef }, attributes: ['id'], raw: true }))) {
      try {
        await this.models.StudyOpen.create({ userId, studyRef, openedAt });
      } catch (error) {
        // Another instance recorded the same opening first.
        if (!(error instanceof UniqueConstraintError)) throw error;
      }
    }
    this.written.delete(key);
    this.written.set(key, now);
    if (this.written.size > REMEMBERED) this.written.delete(this.written.keys().next().value as string);
  }
}

const instances = new WeakMap<Models, RecentOpens>();
/** One per database, shared by the routes that record openings (so the rewrite throttle is one). */
export function recentOpensOf(models: Models): RecentOpens {
  let opens = instances.get(models);
  if (!opens) {
    opens = new RecentOpens(models);
    instances.set(models, opens);
  }
  return opens;
}
