/**
 * The device's record of offline reads (fake-indexeddb): entries are chained and sealed, go to the
 * server in order and leave the device only once it has them; a chain the server refuses stays; a
 * batch it had already (a lost answer) is dropped. The server here checks the chain with the same
 * shared function the API uses.
 */
import { type ChainHead, EMPTY_CHAIN, type OfflineReadEntry, type OfflineReadsUpload, verifyChain } from '@pacs/shared';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { testDataKey } from '../test/data-key';
import { openWorklistDb, type WorklistDb } from './db';
import { recordOfflineRead, uploadOfflineReads } from './offline-reads';

const USER = '55555555-5555-4555-8555-555555555555';
const STUDY = '66666666-6666-4666-8666-666666666666';
let db: WorklistDb;
let head: ChainHead;
let received: OfflineReadEntry[];
let refuse: 'broken' | null;

const server = {
  async request<T>(_method: string, _path: string, body?: unknown): Promise<T> {
    const { entries } = body as OfflineReadsUpload;
    if (refuse === 'broken')
      throw new ApiError(409, { statusCode: 409, error: 'Conflict', message: 'chain broken', code: 'AUDIT_CHAIN_BROKEN' });
    if (entries.at(-1)!.seq <= head.seq) {
      throw new ApiError(409, { statusCode: 409, error: 'Conflict', message: 'stale', code: 'AUDIT_CHAIN_STALE' });
    }
    const fresh = entries.filter((e) => e.seq > head.seq);
    const problem = await verifyChain(head, fresh);
    if (problem) throw new ApiError(409, { statusCode: 409, error: 'Conflict', message: problem.message, code: 'AUDIT_CHAIN_BROKEN' });
    received.push(...fresh);
    head = { seq: fresh.at(-1)!.seq, hash: fresh.at(-1)!.hash };
    return { accepted: fresh.length, replayed: entries.length - fresh.length, head } as T;
  },
};

beforeEach(() => {
  db = openWorklistDb(`reads-${crypto.randomUUID()}`, testDataKey);
  head = EMPTY_CHAIN;
  received = [];
  refuse = null;
});

describe('offline reads on the device', () => {
  it('chains and seals each view, uploads them in order and then forgets them', async () => {
    await recordOfflineRead(db, USER, { event: 'worklist-open' });
    await recordOfflineRead(db, USER, { event: 'study-open', studyId: STUDY });
    await recordOfflineRead(db, USER, { event: 'series-view', studyId: STUDY, seriesInstanceUid: '1.2.3' });
    const raw = await db.offlineReads.toArray();
    expect(raw.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(JSON.stringify(raw.map(({ iv, data, ...plain }) => plain))).not.toContain(STUDY);
    expect(await uploadOfflineReads(db, USER, server)).toEqual({ sent: 3 });
    expect(received.map((e) => [e.seq, e.event])).toEqual([
      [1, 'worklist-open'],
      [2, 'study-open'],
      [3, 'series-view'],
    ]);
    expect(received[1]!.prevHash).toBe(received[0]!.hash);
    expect(await db.offlineReads.count()).toBe(0);
    // The chain goes on from where it was.
    await recordOfflineRead(db, USER, { event: 'report-open', reportId: STUDY });
    expect(await uploadOfflineReads(db, USER, server)).toEqual({ sent: 1 });
    expect(received.at(-1)).toMatchObject({ seq: 4, prevHash: received[2]!.hash });
  });

  it('keeps the entries when the server calls the chain broken, and sends them once it accepts', async () => {
    await recordOfflineRead(db, USER, { event: 'worklist-open' });
    refuse = 'broken';
    expect(await uploadOfflineReads(db, USER, server)).toEqual({ refused: 'chain broken (AUDIT_CHAIN_BROKEN)' });
    expect(await db.offlineReads.count()).toBe(1);
    refuse = null;
    expect(await uploadOfflineReads(db, USER, server)).toEqual({ sent: 1 });
  });

  it('drops a batch the server already has (its answer was lost)', async () => {
    await recordOfflineRead(db, USER, { event: 'worklist-open' });
    await recordOfflineRead(db, USER, { event: 'worklist-open' });
    const entries = await db.sealed.offlineReads.toArray();
    head = { seq: entries[1]!.seq, hash: entries[1]!.hash };
    expect(await uploadOfflineReads(db, USER, server)).toEqual({ sent: 0 });
    expect(await db.offlineReads.count()).toBe(0);
  });

  it('a removed entry shows: the server refuses the chain and nothing is forgotten', async () => {
    for (let i = 0; i < 3; i++) await recordOfflineRead(db, USER, { event: 'worklist-open' });
    await db.offlineReads.delete(2);
    expect(await uploadOfflineReads(db, USER, server)).toMatchObject({ refused: expect.stringContaining('AUDIT_CHAIN_BROKEN') });
    expect(await db.offlineReads.count()).toBe(2);
    expect(received).toEqual([]);
  });
});
