/**
 * Report downloads: while online, the device keeps the reports named by the download plan
 * (download-plan.ts) — the metadata and, for a report still being written, its document, copied
 * once through the sync-server as a quiet connection (nobody sees the device "in" the report) —
 * and deletes the copies of studies that left the device, unless they hold text the server has not
 * confirmed. Runs a few seconds after the worklist rows settle, one pass at a time.
 */
import { isReportLocked, type Report, type Role } from '@pacs/shared';
import * as Y from 'yjs';
import { NetworkError } from '../api/client';
import type { WorklistDb } from '../device/db';
import type { SyncEngine } from '../device/engine';
import type { DeviceVault } from '../device/vault/vault';
import type { WorklistView } from '../device/worklist-view';
import { DEVICE_COPY_META, ReportConnection, reportDbName } from './connection';
import { type DownloadRow, type HeldReportCopy, planReportDownloads } from './download-plan';
import { reportDownloadStatus } from './download-status';
import { dropDeviceCopy } from './offline-start';
import { fetchStudyReport, openSession } from './report-api';
import { SealedDocStore } from './sealed-doc-store';
import { fromBase64, itemsAhead } from './yjs-util';

const SETTLE_MS = 2_000;
/** A document that has not come over in this time is tried again at the next pass. */
const COPY_TIMEOUT_MS = 20_000;

/** What a report page has open: a pass never deletes the copy under an open editor. */
const openStudies = new Map<string, number>();
export function holdReportOpen(studyId: string): () => void {
  openStudies.set(studyId, (openStudies.get(studyId) ?? 0) + 1);
  return () => {
    const left = (openStudies.get(studyId) ?? 1) - 1;
    if (left > 0) openStudies.set(studyId, left);
    else openStudies.delete(studyId);
  };
}

/** The report as the device keeps it: a signed report with its signed text, an open one without (its text is in its own copy). */
export function forDevice(report: Report): Report {
  const strip = <T extends { status: Report['status']; content: unknown; returnComment: unknown }>(r: T): T =>
    isReportLocked(r.status) ? { ...r, returnComment: null } : { ...r, content: null, returnComment: null };
  return { ...strip(report), addenda: report.addenda.map(strip) };
}

/** Whether a report's device copy holds edits the server has not confirmed. */
async function unsentChanges(userId: string, reportId: string, dataKey: CryptoKey): Promise<boolean> {
  const doc = new Y.Doc();
  const store = new SealedDocStore(reportDbName(userId, reportId), doc, dataKey, reportId);
  try {
    await store.whenLoaded;
    const [sv, deletes] = await Promise.all([store.get(DEVICE_COPY_META.serverSV), store.get(DEVICE_COPY_META.deletes)]);
    if (typeof deletes === 'number' && deletes > 0) return true;
    const local = Y.decodeStateVector(Y.encodeStateVector(doc));
    if (typeof sv !== 'string') return local.size > 0;
    return itemsAhead(local, Y.decodeStateVector(fromBase64(sv))) > 0;
  } finally {
    store.destroy();
    doc.destroy();
  }
}

export interface ReportDownloadsOptions {
  db: WorklistDb;
  user: { id: string; name: string; role: Role };
  vault: DeviceVault;
  engine: SyncEngine;
  worklist: WorklistView;
  settleMs?: number;
}

export class ReportDownloads {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastRows: unknown = null;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly options: ReportDownloadsOptions) {}

  start(): void {
    const { worklist, engine } = this.options;
    let wasOnline = false;
    const check = () => {
      const online = engine.getStatus().online;
      const cameOnline = online && !wasOnline;
      wasOnline = online;
      const { rows, loaded } = worklist.get();
      if (!loaded || !online || (rows === this.lastRows && !cameOnline)) return;
      this.lastRows = rows;
      this.schedule();
    };
    this.unsubscribe.push(worklist.subscribe(check), engine.subscribe(check));
    void this.count();
    check();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const off of this.unsubscribe) off();
    reportDownloadStatus.reset();
  }

  /** A pass soon (also after the network comes back). */
  schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), this.options.settleMs ?? SETTLE_MS);
  }

  /** One pass now, or right after the one running; resolves when it is done. */
  async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.schedule();
      }
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const { worklist, engine } = this.options;
    if (!engine.getStatus().online) return;
    try {
      const rows = worklist.get().rows as unknown as DownloadRow[];
      const held = await this.heldCopies();
      const plan = planReportDownloads(rows, held);
      const versions = new Map(rows.map((row) => [row.id, row.version]));
      for (const studyId of plan.fetch) {
        if (this.stopped || !engine.getStatus().online) break;
        // An open report page keeps its own copy current.
        if (openStudies.has(studyId)) continue;
        try {
          await this.download(studyId, versions.get(studyId) ?? 0);
        } catch (error) {
          // Tried again at the next pass; without a network, not before.
          if (error instanceof NetworkError) break;
        }
      }
      for (const copy of plan.drop) {
        if (this.stopped || openStudies.has(copy.studyId)) continue;
        await this.release(copy).catch(() => undefined);
      }
    } catch {
      // The vault locked or the database closed (logout) mid-pass: the next pass starts over.
    } finally {
      await this.count().catch(() => undefined);
    }
  }

  private async heldCopies(): Promise<HeldReportCopy[]> {
    const all = await this.options.db.sealed.reports.toArray();
    return all.map((entry) => ({
      studyId: entry.studyId,
      reportId: (entry.report as Report | null)?.id ?? null,
      rowVersion: entry.rowVersion,
      pendingStart: entry.pendingStart !== undefined,
    }));
  }

  private async download(studyId: string, rowVersion: number): Promise<void> {
    const report = await fetchStudyReport(studyId, true);
    // The document first: the metadata says the copy is complete only once the text is there.
    if (report && !isReportLocked(report.status) && !(await this.copyDocument(report.id))) throw new Error('document not copied');
    const { db } = this.options;
    const current = await db.sealed.reports.get(studyId);
    if (current?.pendingStart) return; // started here meanwhile: that copy wins
    await db.sealed.reports.put({ studyId, report: report ? forDevice(report) : null, rowVersion });
  }

  private async copyDocument(reportId: string): Promise<boolean> {
    const { user, vault } = this.options;
    const connection = new ReportConnection({
      reportId,
      userId: user.id,
      user: { name: user.name, role: user.role, color: '#888' },
      openSession,
      dataKey: vault.dataKey(),
      quiet: true,
    });
    try {
      void connection.start();
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => finish(false), COPY_TIMEOUT_MS);
        const finish = (ok: boolean) => {
          clearTimeout(timer);
          off();
          resolve(ok);
        };
        const off = connection.subscribe(() => {
          if (connection.settled) finish(true);
        });
        if (connection.settled) finish(true);
      });
    } finally {
      await connection.close().catch(() => connection.destroy());
    }
  }

  private async release(copy: HeldReportCopy): Promise<void> {
    const { db, user, vault } = this.options;
    const entry = await db.sealed.reports.get(copy.studyId);
    const report = entry?.report as Report | null | undefined;
    const ids = report ? [report.id, ...report.addenda.map((a) => a.id)] : [];
    for (const id of ids) if (await unsentChanges(user.id, id, vault.dataKey())) return;
    for (const id of ids) await dropDeviceCopy(user.id, id);
    await db.reports.delete(copy.studyId);
  }

  private async count(): Promise<void> {
    const all = await this.options.db.sealed.reports.toArray();
    const reports = all.map((entry) => entry.report as Report | null).filter((r): r is Report => r !== null);
    reportDownloadStatus.set({ held: reports.length, signed: reports.filter((r) => isReportLocked(r.status)).length });
  }
}
