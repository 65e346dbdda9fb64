/**
 * Patient data viewed while offline (the worklist, a study, a series, a report, a PDF) is audited
 * like an online read, late: each view becomes an entry on the device, sealed, numbered and
 * hash-chained (shared/src/offline-audit.ts), so a removed or altered entry shows. When the
 * connection returns, the entries go to the audit trail in order with their own times; the server
 * checks the chain and keeps them flagged as offline. Entries leave the device only once the
 * server has them. One tab at a time extends the chain (a Web Lock).
 */
import {
  type ChainHead,
  chainEntry,
  EMPTY_CHAIN,
  MAX_OFFLINE_ENTRIES_PER_UPLOAD,
  type OfflineReadFields,
  type OfflineReadsAnswer,
  type OfflineReadsUpload,
} from '@pacs/shared';
import { ApiError, type Client } from '../api/client';
import { getMeta, setMeta, type WorklistDb } from './db';
import { deviceIdentity } from './identity';

/** Where the device keeps the head of its record (number and hash of the last entry). */
export const OFFLINE_READS_HEAD = 'offlineReadsHead';

function withChainLock<T>(userId: string, run: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return run();
  return locks.request(`pacs-offline-reads-${userId}`, run) as Promise<T>;
}

/** Records one view made without a connection. */
export async function recordOfflineRead(
  db: WorklistDb,
  userId: string,
  fields: Omit<OfflineReadFields, 'at'>,
  now = new Date(),
): Promise<void> {
  await withChainLock(userId, async () => {
    const head = (await getMeta<ChainHead>(db, OFFLINE_READS_HEAD)) ?? EMPTY_CHAIN;
    const entry = await chainEntry(head, { ...fields, at: now.toISOString() });
    const sealed = await db.sealed.offlineReads.seal(entry);
    await db.transaction('rw', db.offlineReads, db.meta, async () => {
      await db.offlineReads.put(sealed);
      await setMeta(db, OFFLINE_READS_HEAD, { seq: entry.seq, hash: entry.hash } satisfies ChainHead);
    });
  });
}

export type UploadOutcome = { sent: number } | { refused: string };

/**
 * Sends what waits, oldest first, a batch at a time. A chain the server calls broken stays on the
 * device (an admin is alarmed and must acknowledge it); a batch the server had already (its answer
 * was lost) is dropped as delivered.
 */
export async function uploadOfflineReads(db: WorklistDb, userId: string, client: Pick<Client, 'request'>): Promise<UploadOutcome> {
  return withChainLock(userId, async () => {
    let sent = 0;
    for (;;) {
      const records = await db.offlineReads.orderBy('seq').limit(MAX_OFFLINE_ENTRIES_PER_UPLOAD).toArray();
      const entries = await db.sealed.offlineReads.openAll(records);
      if (entries.length === 0) return { sent };
      const body: OfflineReadsUpload = { deviceId: deviceIdentity().id, entries };
      let answer: OfflineReadsAnswer;
      try {
        answer = await client.request<OfflineReadsAnswer>('POST', '/api/audit/offline-reads', body);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'AUDIT_CHAIN_STALE') {
          // Everything here was accepted before (the answer was lost): delivered.
          await db.offlineReads.where('seq').belowOrEqual(entries.at(-1)!.seq).delete();
          continue;
        }
        if (error instanceof ApiError && error.status < 500) return { refused: `${error.message}${error.code ? ` (${error.code})` : ''}` };
        throw error;
      }
      await db.offlineReads.where('seq').belowOrEqual(answer.head.seq).delete();
      sent += answer.accepted;
    }
  });
}
