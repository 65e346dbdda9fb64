/**
 * The device feed: what a user's devices hold of the worklist (device-scope.ts), kept current.
 *
 * A new device (cursor 0) gets a snapshot of its scope as of sequence S, in pages keyed on study id
 * (`s:S:user:lastId`), then continues with the changes after S. Rows changed meanwhile come again
 * then (upserts are idempotent). A later change is sent as the row when it is in the user's scope
 * now, with the priors it brings, and as a tombstone when it is not (the device drops it if held).
 */
import type { DeviceStudy, StudyTombstone } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import { Op } from 'sequelize';
import type { Models, StudyAttributes } from '../db/models';
import { badRequest, conflict } from '../http-errors';
import { type AccessPolicy, noteWindow } from '../restricted-access/policy';
import { type DeviceScopeMap, DeviceScopeReader, inChunks, priorsByAnchor, type ScopeEntry, type ScopeUser } from './device-scope';
import { assigneeNames, presentStudy } from './present';

/** `start`: a new device (cursor 0); `snapshot`: inside a snapshot taken at `seq`; `delta`: the changes after `seq`. */
export type FeedCursor = { kind: 'start'; seq: 0 } | { kind: 'delta'; seq: number } | { kind: 'snapshot'; seq: number; afterId: string };

/** A cursor this server handed out to this user, or 400 saying what is wrong with it. */
export function parseFeedCursor(raw: string, userId: string): FeedCursor {
  const snapshot = /^s:(\d{1,19}):([0-9a-f-]{36}):([0-9a-f-]{36})$/.exec(raw);
  const digits = snapshot ? snapshot[1]! : raw;
  if (!/^\d{1,19}$/.test(digits)) throw badRequest('the cursor is not one this server hands out', 'BAD_CURSOR');
  const seq = Number(digits);
  if (!Number.isSafeInteger(seq)) throw badRequest('the cursor is out of range', 'BAD_CURSOR');
  if (!snapshot) return seq === 0 ? { kind: 'start', seq: 0 } : { kind: 'delta', seq };
  if (snapshot[2] !== userId) throw badRequest("the snapshot cursor is another user's", 'BAD_CURSOR');
  return { kind: 'snapshot', seq, afterId: snapshot[3]! };
}

export const feedReset = (epoch: string, message: string) => conflict(message, 'FEED_RESET', { epoch });

export interface FeedPage {
  changes: (DeviceStudy | StudyTombstone)[];
  cursor: string;
  hasMore: boolean;
}

/**
 * Snapshots in progress: the scope as read at the first page, so later pages continue the same
 * list. Bounded and short-lived; a miss reads the scope again, which is as correct (anything that
 * entered it since S comes with the changes after S).
 */
class SnapshotScopes {
  private readonly entries = new Map<string, { at: number; scope: DeviceScopeMap; ids: string[] }>();
  async get(key: string, fresh: boolean, read: () => Promise<DeviceScopeMap>) {
    const hit = fresh ? undefined : this.entries.get(key);
    if (hit && Date.now() - hit.at < 120_000) return hit;
    const scope = await read();
    const entry = { at: Date.now(), scope, ids: [...scope.keys()].sort() };
    if (this.entries.size >= 200) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
    return entry;
  }
}

export class DeviceFeed {
  private readonly reader: DeviceScopeReader;
  private readonly snapshots = new SnapshotScopes();

  constructor(
    private readonly models: Models,
    private readonly policy: AccessPolicy,
  ) {
    this.reader = new DeviceScopeReader(models, policy);
  }

  scopeOf(user: ScopeUser, now?: number): Promise<DeviceScopeMap> {
    return this.reader.scopeOf(user, now);
  }

  /** Rows as this user may see them, each with why it is on the device; the windows that opened any go on the audit row. */
  async present(request: FastifyRequest, rows: StudyAttributes[], scope: DeviceScopeMap): Promise<Map<string, DeviceStudy>> {
    const names = await assigneeNames(this.models, rows);
    const decisions = await this.policy.decide(request.principal!.userId, rows);
    const out = new Map<string, DeviceStudy>();
    for (const row of rows) {
      const decision = decisions.get(row.id)!;
      if (decision.access === 'open') noteWindow(request, decision.windowId);
      out.set(row.id, { ...presentStudy(row, names, decision), ...scopeFields(scope.get(row.id)!) });
    }
    return out;
  }

  private rowsById(ids: readonly string[]): Promise<StudyAttributes[]> {
    return inChunks(ids, (chunk) => this.models.Study.findAll({ where: { id: { [Op.in]: chunk } }, raw: true }));
  }

  async snapshotPage(
    request: FastifyRequest,
    user: ScopeUser,
    seq: number,
    afterId: string | null,
    limit: number,
    stored: number,
  ): Promise<FeedPage> {
    // The first page reads the scope afresh (a follow or an opening does not move the sequence).
    const { scope, ids } = await this.snapshots.get(`${user.id}:${seq}`, afterId === null, () => this.scopeOf(user));
    const start = afterId === null ? 0 : firstAfter(ids, afterId);
    const pageIds = ids.slice(start, start + limit);
    // A study deleted since the scope was read is left out: the changes after S carry its tombstone.
    const rows = (await this.rowsById(pageIds)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const shown = await this.present(request, rows, scope);
    const more = start + limit < ids.length;
    return {
      changes: rows.map((row) => shown.get(row.id)!),
      cursor: more ? `s:${seq}:${user.id}:${pageIds.at(-1)}` : String(seq),
      hasMore: more || stored > seq,
    };
  }

  async deltaPage(request: FastifyRequest, user: ScopeUser, after: number, limit: number): Promise<FeedPage> {
    const rows = await this.models.Study.findAll({
      where: { changeSeq: { [Op.gt]: after } },
      order: [['changeSeq', 'ASC']],
      limit: limit + 1,
      paranoid: false,
      raw: true,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const cursor = last ? String(last.changeSeq) : String(after);
    if (page.length === 0) return { changes: [], cursor, hasMore: false };
    const scope = await this.scopeOf(user);
    const held = page.filter((row) => !row.deletedAt && scope.has(row.id));
    const inPage = new Set(page.map((row) => row.id));
    const priors = priorsByAnchor(scope);
    const broughtIds = [...new Set(held.flatMap((row) => priors.get(row.id) ?? []))].filter((id) => !inPage.has(id));
    const brought = await this.rowsById(broughtIds);
    const shown = await this.present(request, [...held, ...brought], scope);
    const changes: (DeviceStudy | StudyTombstone)[] = page.map((row) => shown.get(row.id) ?? { id: row.id, deleted: true as const });
    for (const row of brought) changes.push(shown.get(row.id)!);
    return { changes, cursor, hasMore: rows.length > limit };
  }

  /** One study as the user's devices should hold it now: the row, or a tombstone when it is not theirs to hold. */
  async one(request: FastifyRequest, user: ScopeUser, study: StudyAttributes): Promise<DeviceStudy | StudyTombstone> {
    const scope = await this.scopeOf(user);
    if (!scope.has(study.id)) return { id: study.id, deleted: true };
    return (await this.present(request, [study], scope)).get(study.id)!;
  }
}

function scopeFields(entry: ScopeEntry): Pick<DeviceStudy, 'scope' | 'priorOf' | 'openedAt'> {
  return { scope: entry.reasons, priorOf: entry.priorOf, openedAt: entry.openedAt ? entry.openedAt.toISOString() : null };
}

/** Index of the first id greater than `afterId` in sorted `ids`. */
function firstAfter(ids: readonly string[], afterId: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! <= afterId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
