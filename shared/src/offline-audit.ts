/**
 * The device's record of patient data viewed offline: one entry per view, numbered 1, 2, 3… per
 * device and user and hash-chained (each entry's hash covers the previous entry's hash), so an
 * entry removed, changed, reordered or inserted after the fact breaks the chain the server checks
 * on upload. Pure functions over WebCrypto, the same in the browser and in Node.
 */

export const OFFLINE_READ_EVENTS = ['worklist-open', 'study-open', 'series-view', 'report-open', 'report-pdf'] as const;
export type OfflineReadEvent = (typeof OFFLINE_READ_EVENTS)[number];

/** `prevHash` of the first entry of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** At most this many entries per upload. */
export const MAX_OFFLINE_ENTRIES_PER_UPLOAD = 1000;

/** What the device records about one view; `seq`, `prevHash` and `hash` are the chain's. */
export interface OfflineReadFields {
  at: string;
  event: OfflineReadEvent;
  studyId?: string;
  reportId?: string;
  seriesInstanceUid?: string;
}

export interface OfflineReadEntry extends OfflineReadFields {
  seq: number;
  prevHash: string;
  hash: string;
}

/** Where a chain stands: its last entry's number and hash (0 and GENESIS_HASH before the first). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

export type ChainProblemKind = 'gap' | 'prev-hash' | 'hash';

export interface ChainProblem {
  /** Position in the entries given. */
  index: number;
  seq: number;
  kind: ChainProblemKind;
  message: string;
}

/** The ids each event must name: without them the view cannot be tied to a patient. */
const REQUIRED: Readonly<Record<OfflineReadEvent, readonly ('studyId' | 'reportId' | 'seriesInstanceUid')[]>> = {
  'worklist-open': [],
  'study-open': ['studyId'],
  'series-view': ['studyId', 'seriesInstanceUid'],
  'report-open': ['reportId'],
  'report-pdf': ['reportId'],
};

/** The first id the entry's event needs and lacks, or null. */
export function missingSubjectOf(fields: OfflineReadFields): string | null {
  return REQUIRED[fields.event].find((key) => fields[key] === undefined) ?? null;
}

/**
 * The bytes an entry's hash is taken over: JSON of every field except `hash`, keys in sorted
 * order, absent optional fields left out (never `null`), so the device and the server agree.
 */
export function canonicalEntry(entry: Omit<OfflineReadEntry, 'hash'>): string {
  const fields: Record<string, string | number> = {
    at: entry.at,
    event: entry.event,
    prevHash: entry.prevHash,
    seq: entry.seq,
  };
  if (entry.reportId !== undefined) fields.reportId = entry.reportId;
  if (entry.seriesInstanceUid !== undefined) fields.seriesInstanceUid = entry.seriesInstanceUid;
  if (entry.studyId !== undefined) fields.studyId = entry.studyId;
  const sorted = Object.keys(fields).sort();
  return JSON.stringify(Object.fromEntries(sorted.map((key) => [key, fields[key]])));
}

interface WebCrypto {
  subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> };
}
interface Utf8Encoder {
  encode(text: string): Uint8Array;
}
// The shared package compiles without DOM or Node types; both runtimes have these globals.
const runtime = globalThis as unknown as { crypto: WebCrypto; TextEncoder: new () => Utf8Encoder };

async function sha256Hex(text: string): Promise<string> {
  const digest = await runtime.crypto.subtle.digest('SHA-256', new runtime.TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 (hex) of the entry's canonical form. */
export function hashOfEntry(entry: Omit<OfflineReadEntry, 'hash'>): Promise<string> {
  return sha256Hex(canonicalEntry(entry));
}

/** The entry that follows `prev` (null: the first of a chain). */
export async function chainEntry(prev: ChainHead | OfflineReadEntry | null, fields: OfflineReadFields): Promise<OfflineReadEntry> {
  const head = prev ?? EMPTY_CHAIN;
  const unhashed = { ...pickFields(fields), seq: head.seq + 1, prevHash: head.hash };
  return { ...unhashed, hash: await hashOfEntry(unhashed) };
}

function pickFields(fields: OfflineReadFields): OfflineReadFields {
  const picked: OfflineReadFields = { at: fields.at, event: fields.event };
  if (fields.studyId !== undefined) picked.studyId = fields.studyId;
  if (fields.reportId !== undefined) picked.reportId = fields.reportId;
  if (fields.seriesInstanceUid !== undefined) picked.seriesInstanceUid = fields.seriesInstanceUid;
  return picked;
}

/**
 * Checks that `entries` continue `head` one by one: each number one more than the last, each
 * `prevHash` the previous hash, each hash its entry's. Answers the first problem, or null.
 */
export async function verifyChain(head: ChainHead, entries: readonly OfflineReadEntry[]): Promise<ChainProblem | null> {
  let last = head;
  for (const [index, entry] of entries.entries()) {
    if (entry.seq !== last.seq + 1) {
      return { index, seq: entry.seq, kind: 'gap', message: `entry ${entry.seq} follows ${last.seq}; expected ${last.seq + 1}` };
    }
    if (entry.prevHash !== last.hash) {
      return { index, seq: entry.seq, kind: 'prev-hash', message: `entry ${entry.seq} does not name the hash of entry ${last.seq}` };
    }
    const { hash, ...unhashed } = entry;
    if ((await hashOfEntry(unhashed)) !== hash) {
      return { index, seq: entry.seq, kind: 'hash', message: `entry ${entry.seq} does not match its hash` };
    }
    last = { seq: entry.seq, hash };
  }
  return null;
}
