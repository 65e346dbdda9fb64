/**
 * The webhook is only a hint. The reconciler reads Orthanc's change feed from a cursor kept in
 * the database, at start-up and periodically, so studies that arrived while the API was down (or
 * whose webhook was lost) appear anyway, and studies deleted in Orthanc become tombstones.
 * The cursor only moves past changes that were applied.
 */
import type { IngestionStatus } from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import { Op } from 'sequelize';
import type { AuditRecorder } from '../audit/recorder';
import type { Models } from '../db/models';
import type { Ingestor } from './ingest';
import type { OrthancClient } from './orthanc-client';

const CURSOR_KEY = 'orthanc.changes.cursor';
const STATUS_KEY = 'orthanc.reconcile.status';
const PAGE = 500;
const SWEEP_EVERY_MS = 3600_000;

/** What the admin view shows of ingestion (the shared IngestionStatus schema). */
export type ReconcileStatus = IngestionStatus;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcileStatus> | null = null;
  private stopped = false;
  private lastSweepAt = 0;

  constructor(
    private readonly models: Models,
    private readonly orthanc: OrthancClient,
    private readonly ingestor: Ingestor,
    private readonly audit: AuditRecorder,
    private readonly log: FastifyBaseLogger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.runOnce()
        .catch(() => {})
        .finally(() => {
          if (!this.stopped && this.intervalMs > 0) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  /** One pass over the feed; concurrent callers share the pass in progress. */
  runOnce(): Promise<ReconcileStatus> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async status(): Promise<ReconcileStatus> {
    const row = await this.models.AppState.findByPk(STATUS_KEY, { raw: true });
    const cursor = await this.cursor();
    const saved = row ? (JSON.parse(row.value) as ReconcileStatus) : null;
    return { cursor, lastRunAt: null, lastSuccessAt: null, lastError: null, ingested: 0, deleted: 0, ...saved };
  }

  /**
   * Orthanc's change feed forgets a resource once it is deleted, so deletions missed while the API
   * was down are found by comparing the sets of study ids (at start-up, then hourly).
   */
  async sweepDeleted(): Promise<number> {
    const inOrthanc = new Set<string>();
    for (let since = 0; ; since += 5000) {
      const ids = await this.orthanc.studyIds(since, 5000);
      for (const id of ids) inOrthanc.add(id);
      if (ids.length < 5000) break;
    }
    const { Study } = this.models;
    if (inOrthanc.size === 0 && (await Study.count()) > 0) {
      // An empty archive next to a full worklist is more likely a misconfiguration than a purge.
      this.log.warn('Orthanc lists no studies while the worklist has some; deletion sweep skipped');
      return 0;
    }
    let deleted = 0;
    let after = '';
    for (;;) {
      const rows = await Study.findAll({
        where: { orthancId: { [Op.gt]: after } },
        attributes: ['orthancId'],
        order: [['orthancId', 'ASC']],
        limit: 1000,
        raw: true,
      });
      for (const row of rows) {
        if (row.orthancId && !inOrthanc.has(row.orthancId) && (await this.ingestor.markDeleted(row.orthancId, 'reconcile')) === 'deleted')
          deleted += 1;
      }
      if (rows.length < 1000) break;
      after = rows.at(-1)!.orthancId!;
    }
    return deleted;
  }

  private async cursor(): Promise<number> {
    const row = await this.models.AppState.findByPk(CURSOR_KEY, { raw: true });
    return row ? Number(row.value) : 0;
  }

  private async save(key: string, value: string): Promise<void> {
    await this.models.AppState.upsert({ key, value, updatedAt: new Date() });
  }

  private async pass(): Promise<ReconcileStatus> {
    const startedAt = new Date().toISOString();
    const previous = await this.status();
    let cursor = previous.cursor;
    let ingested = 0;
    let deleted = 0;
    let lastError: string | null = null;
    try {
      for (;;) {
        let page = await this.orthanc.changes(cursor, PAGE);
        if (page.Last < cursor) {
          // Orthanc counts its changes from where its index does: an index rebuilt or restored
          // from an older backup starts below the cursor, and waiting for it to catch up would
          // miss every study it receives meanwhile. Read its feed again from the start
          // (ingestion is idempotent).
          this.log.warn({ cursor, last: page.Last }, "Orthanc's change feed restarted below the cursor; reading it from the start");
          cursor = 0;
          page = await this.orthanc.changes(cursor, PAGE);
        }
        for (const change of page.Changes) {
          if (change.ResourceType === 'Study' && change.ChangeType === 'StableStudy') {
            const outcome = await this.ingestor.ingest(change.ID, 'reconcile');
            if (outcome === 'created' || outcome === 'updated') ingested += 1;
            if (outcome === 'deleted') deleted += 1;
          } else if (change.ResourceType === 'Study' && change.ChangeType === 'Deleted') {
            if ((await this.ingestor.markDeleted(change.ID, 'reconcile')) === 'deleted') deleted += 1;
          }
          cursor = change.Seq;
        }
        cursor = Math.max(cursor, page.Last);
        await this.save(CURSOR_KEY, String(cursor));
        if (page.Done || page.Changes.length === 0) break;
      }
      if (Date.now() - this.lastSweepAt > SWEEP_EVERY_MS) {
        deleted += await this.sweepDeleted();
        this.lastSweepAt = Date.now();
      }
    } catch (error) {
      lastError = (error as Error).message;
      this.log.warn({ err: error, cursor }, 'reconcile pass stopped; will retry');
    }
    const status: ReconcileStatus = {
      cursor,
      lastRunAt: startedAt,
      lastSuccessAt: lastError ? previous.lastSuccessAt : new Date().toISOString(),
      lastError,
      ingested,
      deleted,
    };
    await this.save(STATUS_KEY, JSON.stringify(status)).catch(() => {});
    if (ingested > 0 || deleted > 0 || lastError) {
      await this.audit
        .record({
          eventId: 'ApplicationActivity',
          action: 'E',
          outcome: lastError ? 8 : 0,
          objectType: 'Reconcile',
          details: { cursor, ingested, deleted, error: lastError },
        })
        .catch(() => {});
    }
    return status;
  }
}
