/**
 * Offline studies: a study's WADO-RS metadata and every frame, sealed under the device vault's key (device/vault/), in the user's
 * worklist database (tables offlineStudies / offlineFrames). Downloads are resumable (frames already
 * stored are skipped) and cancellable (AbortSignal; what was stored stays for a later resume).
 * Eviction removes the least recently opened studies beyond the budget. No Cornerstone here.
 *
 * What is stored is what the offline loader can decode (cornerstone.ts): a frame as stored, or, where the
 * archive cannot send that (Orthanc answers 5xx for big endian, deflated, HTJ2K), as Explicit VR Little
 * Endian or cut out of the whole instance (decoding/frames.ts, the online loader's fallbacks); and the
 * palette colour tables, which the metadata only links to as bulk data, are fetched into the stored
 * metadata (decoding/bulkdata.ts), since offline there is nobody to ask.
 */

import type * as dicomParser from 'dicom-parser';
import type { OfflineStudyRow, WorklistDb } from '../device/db';
import { openBytes, openJson, sealBytes, sealJson } from '../device/vault/sealed';
import { resolvePaletteData } from './decoding/bulkdata';
import { type FrameRoute, fetchDecodableFrame, type Getter, instanceKey, STORED_ACCEPT } from './decoding/frames';
import { type DicomJson, extractFrame, layoutStudy } from './dicom-json';

/** WADO-RS frame request: the original transfer syntax, whatever it is (the loader decodes it). */
export const FRAME_ACCEPT = STORED_ACCEPT;
/** A bulk data request (palette colour lookup tables). */
export const BULK_ACCEPT = 'multipart/related; type="application/octet-stream"';
export const METADATA_ACCEPT = 'application/dicom+json';

/** GET a same-origin path with the user's credentials (the app passes an authenticated fetch). */
export type PathFetcher = (path: string, init: { accept: string; signal?: AbortSignal }) => Promise<Response>;

export interface OfflineProgress {
  studyId: string;
  state: OfflineStudyRow['state'];
  doneFrames: number;
  totalFrames: number;
  bytes: number;
  error?: string;
}

export interface OfflineStudyContent<Extra = unknown> {
  instances: DicomJson[];
  /** Whatever the caller stored with the study (the worklist row). */
  extra: Extra;
}

export interface OfflineStudiesOptions {
  /** The data key (crypto.ts dataKey bound to the session). */
  key: () => Promise<CryptoKey>;
  budgetBytes: () => number;
  concurrency?: number;
  now?: () => number;
  /** Studies eviction must keep (e.g. an open report draft). */
  isProtected?: (studyId: string) => boolean | Promise<boolean>;
  /**
   * One frame's pixel data out of a parsed Part-10 instance (the DICOM image loader's getPixelData): the
   * last resort for a frame the archive can send neither as stored nor as Explicit VR Little Endian.
   */
  framePixels?: (dataSet: dicomParser.DataSet, frameIndex: number) => Uint8Array;
}

export class DownloadError extends Error {
  override name = 'DownloadError';
}

export class OfflineStudies {
  private readonly now: () => number;
  private readonly running = new Map<string, Promise<OfflineStudyRow>>();

  constructor(
    readonly db: WorklistDb,
    private readonly fetcher: PathFetcher,
    private readonly options: OfflineStudiesOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  list(): Promise<OfflineStudyRow[]> {
    return this.db.offlineStudies.orderBy('lastOpenedAt').reverse().toArray();
  }

  get(studyId: string): Promise<OfflineStudyRow | undefined> {
    return this.db.offlineStudies.get(studyId);
  }

  isDownloading(studyId: string): boolean {
    return this.running.has(studyId);
  }

  /**
   * Downloads (or resumes) a study. Resolves with the row: state 'complete', or 'paused' when the
   * signal aborted. A network or server failure leaves the study 'paused' with `error` and rejects.
   */
  download(
    study: { id: string; studyInstanceUid: string; label: string; extra?: unknown },
    { signal, onProgress }: { signal?: AbortSignal; onProgress?: (progress: OfflineProgress) => void } = {},
  ): Promise<OfflineStudyRow> {
    const existing = this.running.get(study.id);
    if (existing) return existing;
    const run = this.runDownload(study, signal, onProgress).finally(() => this.running.delete(study.id));
    this.running.set(study.id, run);
    return run;
  }

  private async runDownload(
    study: { id: string; studyInstanceUid: string; label: string; extra?: unknown },
    signal: AbortSignal | undefined,
    onProgress: ((progress: OfflineProgress) => void) | undefined,
  ): Promise<OfflineStudyRow> {
    const key = await this.options.key();
    const response = await this.fetcher(`/dicom-web/studies/${study.studyInstanceUid}/metadata`, { accept: METADATA_ACCEPT, signal });
    if (!response.ok) throw new DownloadError(`metadata: HTTP ${response.status}`);
    const instances = (await response.json()) as DicomJson[];
    const get: Getter = async (uri, accept) => {
      const answer = await this.fetcher(uri, { accept, signal });
      if (!answer.ok) throw Object.assign(new DownloadError(`HTTP ${answer.status}`), { status: answer.status });
      return { contentType: answer.headers.get('content-type') ?? '', body: new Uint8Array(await answer.arrayBuffer()) };
    };
    // Palette colour tables into the stored metadata (in place; the layout below shares the objects).
    for (const instance of instances)
      await resolvePaletteData(instance, async (uri) => {
        const { contentType, body } = await get(new URL(uri, 'http://archive.invalid').pathname, BULK_ACCEPT).catch((error: Error) => {
          throw new DownloadError(`palette lookup table: ${error.message}`);
        });
        return extractFrame(contentType, body).pixelData;
      });
    const layout = layoutStudy(instances);
    const frames = layout.series.flatMap((s) => s.frames.map((f) => f.path));
    const instanceOf = new Map(layout.series.flatMap((s) => s.frames.map((f) => [f.path, f.instance] as const)));
    /** Per instance, the way its first frame came (the others come the same way). */
    const routes = new Map<string, FrameRoute>();
    const meta = await sealJson(key, { instances, extra: study.extra ?? null }, `study:${study.id}`);

    const stored = new Set((await this.db.offlineFrames.where('studyId').equals(study.id).primaryKeys()) as string[]);
    let storedBytes = 0;
    await this.db.offlineFrames
      .where('studyId')
      .equals(study.id)
      .each((row) => {
        storedBytes += row.bytes;
      });
    const previous = await this.db.offlineStudies.get(study.id);
    const row: OfflineStudyRow = {
      id: study.id,
      studyInstanceUid: study.studyInstanceUid,
      label: study.label,
      state: 'downloading',
      totalFrames: frames.length,
      doneFrames: frames.filter((f) => stored.has(f)).length,
      bytes: storedBytes + meta.data.byteLength,
      createdAt: previous?.createdAt ?? this.now(),
      lastOpenedAt: previous?.lastOpenedAt ?? this.now(),
      iv: meta.iv,
      data: meta.data,
    };
    await this.db.offlineStudies.put(row);
    const report = () =>
      onProgress?.({
        studyId: row.id,
        state: row.state,
        doneFrames: row.doneFrames,
        totalFrames: row.totalFrames,
        bytes: row.bytes,
        error: row.error,
      });
    report();

    const queue = frames.filter((f) => !stored.has(f));
    let failure: unknown = null;
    const worker = async () => {
      for (;;) {
        if (signal?.aborted || failure) return;
        const path = queue.shift();
        if (!path) return;
        try {
          const { frame, route } = await fetchDecodableFrame(path, get, {
            instance: instanceOf.get(path),
            getPixelData: this.options.framePixels,
            route: routes.get(instanceKey(path)),
          }).catch((error: Error) => {
            throw error instanceof DownloadError ? new DownloadError(`frame: ${error.message}`) : error;
          });
          routes.set(instanceKey(path), route);
          const { pixelData, transferSyntax } = frame;
          const sealed = await sealBytes(key, pixelData, path);
          await this.db.transaction('rw', this.db.offlineFrames, this.db.offlineStudies, async () => {
            // Removed meanwhile (the user chose "remove"): stop writing.
            if (!(await this.db.offlineStudies.get(row.id))) throw new DownloadError('removed');
            await this.db.offlineFrames.put({
              key: path,
              studyId: row.id,
              transferSyntax,
              iv: sealed.iv,
              data: sealed.data,
              bytes: sealed.data.byteLength,
            });
            row.doneFrames += 1;
            row.bytes += sealed.data.byteLength;
            await this.db.offlineStudies.update(row.id, { doneFrames: row.doneFrames, bytes: row.bytes });
          });
          report();
        } catch (error) {
          if (!signal?.aborted) failure ??= error;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency ?? 4) }, worker));

    if (failure instanceof DownloadError && failure.message === 'removed') throw failure;
    if (failure || signal?.aborted) {
      row.state = 'paused';
      row.error = failure ? String((failure as Error).message ?? failure) : undefined;
      await this.db.offlineStudies.update(row.id, { state: row.state, error: row.error });
      report();
      if (failure) throw failure;
      return row;
    }
    row.state = 'complete';
    row.error = undefined;
    await this.db.offlineStudies.update(row.id, { state: 'complete', error: undefined });
    report();
    await this.evict(row.id);
    return row;
  }

  async remove(studyId: string): Promise<void> {
    await this.db.transaction('rw', this.db.offlineFrames, this.db.offlineStudies, async () => {
      await this.db.offlineFrames.where('studyId').equals(studyId).delete();
      await this.db.offlineStudies.delete(studyId);
    });
  }

  /** Decrypts a study's metadata and marks it opened (eviction order). */
  async open<Extra = unknown>(studyId: string): Promise<OfflineStudyContent<Extra> | null> {
    const row = await this.db.offlineStudies.get(studyId);
    if (!row) return null;
    const content = await openJson<OfflineStudyContent<Extra>>(await this.options.key(), row, `study:${studyId}`);
    await this.db.offlineStudies.update(studyId, { lastOpenedAt: this.now() });
    return content;
  }

  /** A frame's pixel data as WADO-RS delivered it (still in its transfer syntax), or null if not on the device. */
  async readFrame(path: string): Promise<{ pixelData: Uint8Array; transferSyntax: string } | null> {
    const row = await this.db.offlineFrames.get(path);
    if (!row) return null;
    return { pixelData: await openBytes(await this.options.key(), row, path), transferSyntax: row.transferSyntax };
  }

  async usedBytes(): Promise<number> {
    let total = 0;
    await this.db.offlineStudies.each((row) => {
      total += row.bytes;
    });
    return total;
  }

  /** Least recently opened first, until the total fits the budget. Returns the evicted study ids. */
  async evict(keep?: string): Promise<string[]> {
    const budget = this.options.budgetBytes();
    const rows = await this.db.offlineStudies.orderBy('lastOpenedAt').toArray();
    let total = rows.reduce((n, r) => n + r.bytes, 0);
    const evicted: string[] = [];
    for (const row of rows) {
      if (total <= budget) break;
      if (row.id === keep || this.running.has(row.id)) continue;
      if (await this.options.isProtected?.(row.id)) continue;
      await this.remove(row.id);
      total -= row.bytes;
      evicted.push(row.id);
    }
    return evicted;
  }
}
