/**
 * Study metadata (WADO-RS `/studies/{uid}/metadata`), kept in memory gzip-compressed. Orthanc 1.10's
 * DICOMweb plugin reads every instance file from disk to answer it (~250 ms for a 300-image CT on our
 * benchmark box, most of the viewer's time to first image); the answer only changes when the study
 * does. An entry is served while Orthanc still reports the study stable with the same LastUpdate,
 * series and instance count (two database-only REST calls), and is filled ahead of time when a study
 * is ingested.
 *
 * Orthanc writes absolute BulkDataURIs from the Forwarded header, so entries are per base URL
 * (scheme + host). Warming needs the base browsers use: the proxy notes the configured public
 * origin (PACS_PUBLIC_URL) at start; the last one noted is also kept in the database (AppState).
 * Least recently used entries go first when the byte budget is exceeded.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyBaseLogger } from 'fastify';
import type { Models } from '../db/models';
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

/** Where the base URL browsers use is kept between restarts. */
export interface BaseUrlStore {
  load(): Promise<BaseUrl | null>;
  save(base: BaseUrl): Promise<void>;
}

const BASE_KEY = 'dicomweb.publicBase';
const HOST = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/** The base URL in the AppState table; a stored value that is not a plain host and http(s) is ignored. */
export function appStateBaseStore(models: Models): BaseUrlStore {
  return {
    async load() {
      const row = await models.AppState.findByPk(BASE_KEY, { raw: true });
      if (!row) return null;
      try {
        const value = JSON.parse(row.value) as Partial<BaseUrl>;
        if (typeof value.host === 'string' && HOST.test(value.host) && (value.proto === 'http' || value.proto === 'https'))
          return { host: value.host, proto: value.proto };
      } catch {
        // not JSON: treated as absent
      }
      return null;
    },
    async save(base) {
      await models.AppState.upsert({ key: BASE_KEY, value: JSON.stringify(base), updatedAt: new Date() });
    },
  };
}

export class StudyMetadataCache {
  private readonly entries = new Map<string, Entry>();
  private readonly filling = new Map<string, Promise<Entry | null>>();
  private usedBytes = 0;
  /** The last base URL a browser used: ingest-time warming writes BulkDataURIs for it. */
  private lastBase: { host: string; proto: string } | null = null;
  private warming: Promise<void> = Promise.resolve();
  private warmQueue = 0;
  private baseSavedAt = 0;

  constructor(
    private readonly orthanc: OrthancClient,
    private readonly maxBytes: number,
    private readonly log: FastifyBaseLogger,
    private readonly baseStore: BaseUrlStore | null = null,
  ) {}

  /** Takes up the base URL saved before a restart, unless a browser has said one since. */
  async restoreBase(): Promise<void> {
    const saved = await this.baseStore?.load();
    if (saved && !this.lastBase) this.lastBase = saved;
  }

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
  async get(studyUid: string, orthancStudyId: string, base: { host: string; proto: string }): Promise<CachedMetadata | null> {
    if (this.maxBytes <= 0) return null;
    this.noteBase(base);
    const version = await this.version(orthancStudyId);
    const key = `${base.proto}://${base.host}|${studyUid}`;
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
    return this.fill(key, studyUid, version, base);
  }

  /** Remembers the base URL browsers use (every proxied request says it). */
  noteBase(base: BaseUrl): void {
    if (this.lastBase?.host === base.host && this.lastBase.proto === base.proto) return;
    this.lastBase = { ...base };
    // Two host names in use would flip it on every request: written at most once a minute.
    if (!this.baseStore || Date.now() - this.baseSavedAt < 60_000) return;
    this.baseSavedAt = Date.now();
    this.baseStore
      .save(this.lastBase)
      .catch((error: Error) =>
        this.log.warn({ err: { name: error.name, message: error.message } }, 'could not save the DICOMweb base URL'),
      );
  }

  /** Whether a study's metadata for `base` is held (whatever its version). */
  holds(studyUid: string, base: { host: string; proto: string }): boolean {
    return this.entries.has(`${base.proto}://${base.host}|${studyUid}`);
  }

  /** Fills the entry for a newly ingested or changed study in the background, one study at a time. */
  warm(studyUid: string, orthancStudyId: string): void {
    const base = this.lastBase;
    if (this.maxBytes <= 0 || !base || this.warmQueue >= 100) return;
    this.warmQueue += 1;
    this.warming = this.warming
      .then(() => this.get(studyUid, orthancStudyId, base))
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

  private fill(key: string, studyUid: string, version: string, base: { host: string; proto: string }): Promise<Entry | null> {
    const running = this.filling.get(key);
    if (running) return running;
    const run = (async (): Promise<Entry | null> => {
      const upstream = await this.orthanc.fetch(
        `/dicom-web/studies/${studyUid}/metadata`,
        {
          headers: { accept: 'application/dicom+json', 'accept-encoding': 'identity', forwarded: `host=${base.host};proto=${base.proto}` },
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
