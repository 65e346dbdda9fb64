/**
 * Study metadata (WADO-RS `/studies/{uid}/metadata`), kept in memory gzip-compressed. Orthanc 1.10's
 * DICOMweb plugin reads every instance file from disk to answer it (~250 ms for a 300-image CT on our
 * benchmark box, most of the viewer's time to first image); the answer only changes when the study
 * does. An entry is served while Orthanc still reports the study stable with the same LastUpdate,
 * series and instance count (two database-only REST calls), and is filled ahead of time when a study
 * is ingested.
 *
 * Orthanc writes absolute BulkDataURIs from the Forwarded header: every entry is written for the
 * configured public origin (PACS_PUBLIC_URL), so warming at ingest needs no browser to have asked.
 * Least recently used entries go first when the byte budget is exceeded.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import { type OrthancClient, OrthancNotFound } from '../ingest/orthanc-client';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

export interface CachedMetadata {
  contentType: string;
  gzipped: Buffer;
  /** Length of the uncompressed JSON. */
  length: number;
  etag: string;
}

interface Entry extends CachedMetadata {
  version: string;
}

/** What Orthanc says about a study right now, or null when it is not there or still receiving. */
type StudyVersion = string | null;

export interface BaseUrl {
  host: string;
  proto: string;
}

export class StudyMetadataCache {
  private readonly entries = new Map<string, Entry>();
  private readonly filling = new Map<string, Promise<Entry | null>>();
  private usedBytes = 0;
  private warming: Promise<void> = Promise.resolve();
  private warmQueue = 0;

  constructor(
    private readonly orthanc: OrthancClient,
    private readonly maxBytes: number,
    private readonly log: FastifyBaseLogger,
    /** The origin BulkDataURIs are written for. */
    private readonly base: BaseUrl,
  ) {}

  get bytes(): number {
    return this.usedBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached answer for a study, filling it from Orthanc if needed; null when the study cannot be
   * cached now (unknown to Orthanc, not stable yet, or Orthanc answered something other than 200):
   * the caller then proxies as usual.
   */
  async get(studyUid: string, orthancStudyId: string): Promise<CachedMetadata | null> {
    if (this.maxBytes <= 0) return null;
    const version = await this.version(orthancStudyId);
    const key = studyUid;
    if (!version) {
      this.drop(key);
      return null;
    }
    const entry = this.entries.get(key);
    if (entry?.version === version) {
      // Most recently used last (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry;
    }
    return this.fill(key, studyUid, version);
  }

  /** Whether a study's metadata is held (whatever its version). */
  holds(studyUid: string): boolean {
    return this.entries.has(studyUid);
  }

  /** Fills the entry for a newly ingested or changed study in the background, one study at a time. */
  warm(studyUid: string, orthancStudyId: string): void {
    if (this.maxBytes <= 0 || this.warmQueue >= 100) return;
    this.warmQueue += 1;
    this.warming = this.warming
      .then(() => this.get(studyUid, orthancStudyId))
      .then(
        () => undefined,
        (error: Error) => this.log.warn({ err: { name: error.name, message: error.message } }, 'study metadata warm-up failed'),
      )
      .finally(() => {
        this.warmQueue -= 1;
      });
  }

  /** Resolves when every queued warm-up has run (tests). */
  settled(): Promise<void> {
    return this.warming;
  }

  /** The uncompressed JSON of an entry, for a client that does not accept gzip. */
  static async body(entry: CachedMetadata): Promise<Buffer> {
    return gunzip(entry.gzipped);
  }

  private async version(orthancStudyId: string): Promise<StudyVersion> {
    try {
      const [study, statistics] = await Promise.all([
        this.orthanc.study(orthancStudyId) as Promise<unknown> as Promise<{ IsStable?: unknown; LastUpdate?: unknown; Series?: unknown }>,
        this.orthanc.studyStatistics(orthancStudyId),
      ]);
      if (study.IsStable !== true || typeof study.LastUpdate !== 'string' || !Array.isArray(study.Series)) return null;
      const instances = Number(statistics.CountInstances);
      if (!Number.isInteger(instances)) return null;
      // A new instance changes LastUpdate (and stability); a deleted one changes neither, only the count.
      return `${study.LastUpdate}|${[...study.Series].sort().join(',')}|${instances}`;
    } catch (error) {
      if (error instanceof OrthancNotFound) return null;
      throw error;
    }
  }

  private fill(key: string, studyUid: string, version: string): Promise<Entry | null> {
    const running = this.filling.get(key);
    if (running) return running;
    const run = (async (): Promise<Entry | null> => {
      const upstream = await this.orthanc.fetch(
        `/dicom-web/studies/${studyUid}/metadata`,
        {
          headers: {
            accept: 'application/dicom+json',
            'accept-encoding': 'identity',
            forwarded: `host=${this.base.host};proto=${this.base.proto}`,
          },
        },
        60_000,
      );
      if (upstream.status !== 200) {
        await upstream.body?.cancel();
        return null;
      }
      const raw = Buffer.from(await upstream.arrayBuffer());
      // A study that changed while it was read is cached under the old version and refetched next time.
      const entry: Entry = {
        version,
        contentType: upstream.headers.get('content-type') ?? 'application/dicom+json',
        gzipped: await gzip(raw, { level: 6 }),
        length: raw.length,
        // Weak: the same JSON goes out gzip-encoded or not (RFC 9110 §8.8.3).
        etag: `W/"md-${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"`,
      };
      this.store(key, entry);
      return entry;
    })().finally(() => this.filling.delete(key));
    this.filling.set(key, run);
    return run;
  }

  private store(key: string, entry: Entry): void {
    this.drop(key);
    if (entry.gzipped.length > this.maxBytes) return;
    this.entries.set(key, entry);
    this.usedBytes += entry.gzipped.length;
    for (const [oldest, old] of this.entries) {
      if (this.usedBytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.usedBytes -= old.gzipped.length;
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.usedBytes -= entry.gzipped.length;
  }
}
