import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError } from '../api/client';
import type { DeviceStudy, WorklistStudy } from '../api/types';
import { openWorklistDb, overlay, type WorklistDb } from '../device/db';
import { SyncEngine, satisfies } from '../device/engine';
import { testDataKey } from './data-key';
import { FakeServer, makeStudy } from './fake-server';

const ME = { id: '11111111-1111-4111-8111-111111111111', name: 'Dr Me' };
const OTHER = '22222222-2222-4222-8222-222222222222';

let db: WorklistDb;
let server: FakeServer;
let engine: SyncEngine;
let keys = 0;

beforeEach(async () => {
  keys = 0;
  db = openWorklistDb(`test-${crypto.randomUUID()}`, testDataKey);
  await db.open();
  server = new FakeServer();
  server.users.set(ME.id, ME.name);
  server.users.set(OTHER, 'Dr Other');
  engine = new SyncEngine(db, ME, { request: server.request }, { pollMs: 0, pageSize: 2, newKey: () => `key-${++keys}` });
});
afterEach(async () => {
  engine.stop();
  db.close();
  await Dexie.delete(db.name);
});

describe('Dexie layer and delta feed', () => {
  it('pulls every page of the feed, applies tombstones and keeps the cursor', async () => {
    const rows = [makeStudy(), makeStudy(), makeStudy(), makeStudy(), makeStudy()];
    for (const r of rows) server.put(r);
    await engine.pull();
    expect(await db.studies.count()).toBe(5);
    const cursor = (await db.meta.get('cursor'))?.value;
    expect(cursor).toBe('5');

    server.remove(rows[1]!.id);
    server.edit(rows[2]!.id, { priority: 'urgent' });
    const applied = await engine.pull();
    expect(applied).toBe(2);
    expect(await db.sealed.studies.get(rows[1]!.id)).toBeNull();
    expect((await db.sealed.studies.get(rows[2]!.id))?.priority).toBe('urgent');
    expect(await db.studies.count()).toBe(4);
  });

  it("drops a study's cached details and offline images when its row comes back masked (emergency access ended)", async () => {
    const row = server.put(
      makeStudy({ restricted: true, access: 'open', emergencyAccessUntil: new Date(Date.now() + 60_000).toISOString() }),
    );
    const kept = server.put(makeStudy());
    await engine.pull();
    for (const id of [row.id, kept.id]) {
      await db.sealed.details.put({ id, study: { ...(await db.sealed.studies.get(id))! }, series: [], cachedAt: new Date().toISOString() });
      await db.offlineStudies.put({
        id,
        studyInstanceUid: `1.2.3.${id}`,
        label: 'CT',
        state: 'complete',
        totalFrames: 1,
        doneFrames: 1,
        bytes: 4,
        createdAt: 0,
        lastOpenedAt: 0,
        iv: new Uint8Array(12),
        data: new ArrayBuffer(4),
      });
      await db.offlineFrames.put({
        key: `/dicom-web/${id}/frames/1`,
        studyId: id,
        transferSyntax: '',
        iv: new Uint8Array(12),
        data: new ArrayBuffer(4),
        bytes: 4,
      });
    }
    server.edit(row.id, { access: 'masked', patientName: '', patientId: '', emergencyAccessUntil: null });
    await engine.pull();
    expect(await db.sealed.studies.get(row.id)).toMatchObject({ access: 'masked', patientName: '' });
    expect(await db.sealed.details.get(row.id)).toBeNull();
    expect(await db.offlineStudies.get(row.id)).toBeUndefined();
    expect(await db.offlineFrames.where('studyId').equals(row.id).count()).toBe(0);
    // Other studies keep theirs.
    expect(await db.sealed.details.get(kept.id)).not.toBeNull();
    expect(await db.offlineStudies.get(kept.id)).toBeDefined();
    expect(await db.offlineFrames.where('studyId').equals(kept.id).count()).toBe(1);
  });

  it('starts again from a snapshot when the database was restored (another epoch), keeping the outbox', async () => {
    const kept = server.put(makeStudy());
    await engine.pull();
    const gone = server.put(makeStudy()); // written after the backup
    await engine.pull();
    expect(await db.studies.count()).toBe(2);
    // A change made on this device, not yet sent.
    await db.outbox.add({
      key: 'waiting',
      studyId: kept.id,
      patch: { priority: 'urgent' },
      baseVersion: kept.version,
      label: 'urgent',
      createdAt: new Date().toISOString(),
      state: 'pending',
      attempts: 0,
    });
    server.restore(1, '00000000-0000-4000-8000-0000000000e2');
    await engine.pull();
    // Refused under the old epoch, then a snapshot under the new one.
    const refused = server.epochsSeen.lastIndexOf('00000000-0000-4000-8000-0000000000e1');
    expect(refused).toBeGreaterThan(-1);
    expect(server.epochsSeen.slice(refused + 1).every((epoch) => epoch === '00000000-0000-4000-8000-0000000000e2')).toBe(true);
    expect(await db.sealed.studies.get(gone.id)).toBeNull();
    expect(await db.sealed.studies.get(kept.id)).not.toBeNull();
    expect(await db.outbox.count()).toBe(1);
  });

  it('starts again when the server is behind the device (restored, same epoch)', async () => {
    server.put(makeStudy());
    server.put(makeStudy());
    await engine.pull();
    server.restore(1, server.epoch);
    await engine.pull();
    expect(await db.studies.count()).toBe(1);
  });

  it('drops rows whose reasons lapsed: a window that passed, a prior whose study left', async () => {
    const now = Date.now();
    const old = new Date(now - 72 * 3_600_000).toISOString();
    const anchor = server.put(makeStudy({ scope: ['assigned'] } as Partial<WorklistStudy>));
    server.put(makeStudy({ scope: ['window'], receivedAt: old } as Partial<WorklistStudy>));
    const prior = server.put(makeStudy({ scope: ['prior'], priorOf: [anchor.id] } as Partial<WorklistStudy>));
    const orphan = server.put(makeStudy({ scope: ['prior'], priorOf: ['00000000-0000-4000-8000-000000000999'] } as Partial<WorklistStudy>));
    const pruning = new SyncEngine(db, { ...ME, role: 'resident' }, { request: server.request }, { pollMs: 0, pruneEveryMs: 0 });
    await pruning.pull();
    const held = (await db.sealed.studies.toArray()).map((r) => r.id).sort();
    expect(held).toEqual([anchor.id, prior.id].sort());
    expect(held).not.toContain(orphan.id);
  });

  it('drops the priors of a row that left at once, not at the next timed prune', async () => {
    const anchor = server.put(makeStudy({ scope: ['assigned'] } as Partial<WorklistStudy>));
    const prior = server.put(makeStudy({ scope: ['prior'], priorOf: [anchor.id] } as Partial<WorklistStudy>));
    // Timed prunes an hour apart: only the anchor's tombstone can make the prior go now.
    const engine = new SyncEngine(db, { ...ME, role: 'resident' }, { request: server.request }, { pollMs: 0, pruneEveryMs: 3_600_000 });
    await engine.pull();
    expect((await db.sealed.studies.toArray()).map((r) => r.id).sort()).toEqual([anchor.id, prior.id].sort());
    server.remove(anchor.id);
    await engine.pull();
    expect(await db.studies.count()).toBe(0);
  });

  it('stores a row answered outside the feed (follow, opened from a search) unless it holds a newer one; a tombstone removes it', async () => {
    const followed = { ...makeStudy(), scope: ['followed'], version: 3 } as DeviceStudy;
    await engine.store(followed);
    expect(((await db.sealed.studies.get(followed.id)) as DeviceStudy).scope).toEqual(['followed']);
    await engine.store({ ...followed, version: 2, scope: ['recent'] });
    expect(((await db.sealed.studies.get(followed.id)) as DeviceStudy).scope).toEqual(['followed']);
    await engine.store({ ...followed, scope: ['followed', 'recent'] });
    expect(((await db.sealed.studies.get(followed.id)) as DeviceStudy).scope).toEqual(['followed', 'recent']);
    await engine.store({ id: followed.id, deleted: true });
    expect(await db.sealed.studies.get(followed.id)).toBeNull();
  });

  it('keeps the reasons a row is held for when a change the user made comes back as the plain row', async () => {
    const row = server.put(makeStudy({ scope: ['assigned'], priorOf: [] } as Partial<WorklistStudy>));
    const pruning = new SyncEngine(db, { ...ME, role: 'resident' }, { request: server.request }, { pollMs: 0, pruneEveryMs: 0 });
    await pruning.pull();
    server.feedDown = true;
    await pruning.enqueue(row.id, { priority: 'urgent' }, 'set priority');
    await pruning.syncNow();
    expect(server.patches).toHaveLength(1);
    const held = (await db.sealed.studies.get(row.id)) as DeviceStudy;
    expect(held).toMatchObject({ priority: 'urgent', version: 2, scope: ['assigned'] });
    pruning.stop();
  });

  it('reports a STAT arrival after the first load, not during it', async () => {
    server.put(makeStudy({ priority: 'stat' }));
    const arrivals: string[] = [];
    engine.onStatArrival((a) => arrivals.push(...a.map((x) => x.id)));
    await engine.pull();
    expect(arrivals).toEqual([]);
    const stat = server.put(makeStudy({ priority: 'stat' }));
    server.put(makeStudy({ priority: 'routine' }));
    await engine.pull();
    expect(arrivals).toEqual([stat.id]);
  });

  it('syncNow records the last sync time and goes offline on a network error', async () => {
    server.put(makeStudy());
    await engine.syncNow();
    expect(engine.getStatus().lastSyncedAt).not.toBeNull();
    expect(engine.getStatus().online).toBe(true);
    server.offline = true;
    await engine.syncNow();
    expect(engine.getStatus().online).toBe(false);
  });
});

describe('outbox', () => {
  it('queues changes offline as pending and delivers them when back online', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.offline = true;
    await engine.enqueue(row.id, { assigneeId: ME.id }, 'assign to me');
    await engine.syncNow();
    const pending = await db.outbox.toArray();
    expect(pending).toHaveLength(1);
    expect(pending[0]!.state).toBe('pending');
    expect(server.rows.get(row.id)!.assignee).toBeNull();
    // shown as the user intends meanwhile
    expect(overlay((await db.sealed.studies.get(row.id))!, pending, ME).assignee?.id).toBe(ME.id);

    server.offline = false;
    await engine.syncNow();
    expect(await db.outbox.count()).toBe(0);
    expect(server.rows.get(row.id)!.assignee?.id).toBe(ME.id);
    expect((await db.sealed.studies.get(row.id))!.assignee?.id).toBe(ME.id);
    expect(server.patches[0]).toMatchObject({ body: { assigneeId: ME.id, version: 1 }, key: 'key-1' });
  });

  it('rebases a second offline change on the version the first one produced', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.offline = true;
    await engine.enqueue(row.id, { assigneeId: ME.id }, 'assign to me');
    await engine.enqueue(row.id, { priority: 'urgent' }, 'urgent');
    server.offline = false;
    await engine.syncNow();
    expect(await db.outbox.count()).toBe(0);
    const final = server.rows.get(row.id)!;
    expect(final).toMatchObject({ priority: 'urgent', version: 3 });
    expect(final.assignee?.id).toBe(ME.id);
  });

  it('treats a replay the server already applied as delivered (idempotent)', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.loseNextAnswer = true;
    // The enqueue's own sync loses the answer; the next one replays the change.
    await engine.enqueue(row.id, { assigneeId: ME.id }, 'assign to me');
    await engine.syncNow();
    await engine.syncNow();
    expect(server.patches).toHaveLength(2);
    expect(await db.outbox.count()).toBe(0);
    expect(server.rows.get(row.id)!.version).toBe(2); // applied once
    const [first, second] = server.patches.map((p) => p.key);
    expect(first).toMatch(/^key-/);
    expect(second).toBe(first); // the replay carries the same idempotency key
  });

  it('turns a 409 into a conflict with the server row, and applies the user’s choice', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.offline = true;
    await engine.enqueue(row.id, { assigneeId: ME.id }, 'assign to me');
    server.offline = false;
    server.edit(row.id, { assignee: { id: OTHER, name: 'Dr Other' } });
    await engine.push();
    const [entry] = await db.outbox.toArray();
    expect(entry!.state).toBe('conflict');
    expect((await db.sealed.studies.get(row.id))!.assignee?.id).toBe(OTHER);
    expect(server.rows.get(row.id)!.assignee?.id).toBe(OTHER);

    await engine.resolveConflict(entry!.seq!, 'apply-mine');
    await engine.syncNow();
    expect(await db.outbox.count()).toBe(0);
    expect(server.rows.get(row.id)!.assignee?.id).toBe(ME.id);
  });

  it('keeps a conflict until the user discards it', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.edit(row.id, { priority: 'stat' });
    await engine.enqueue(row.id, { priority: 'urgent' }, 'urgent');
    await engine.syncNow();
    await engine.syncNow();
    const [entry] = await db.outbox.toArray();
    expect(entry!.state).toBe('conflict');
    await engine.resolveConflict(entry!.seq!, 'discard');
    expect(await db.outbox.count()).toBe(0);
    expect(server.rows.get(row.id)!.priority).toBe('stat');
  });

  it('keeps a refused change visible as failed', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.forbidden = true;
    await engine.enqueue(row.id, { priority: 'stat' }, 'stat');
    await engine.syncNow();
    const [entry] = await db.outbox.toArray();
    expect(entry).toMatchObject({ state: 'failed' });
    expect(entry!.error).toContain('PERMISSION_DENIED');
  });

  it('shows QuotaExceededError as a storage state instead of crashing', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    const original = db.outbox.add.bind(db.outbox);
    db.outbox.add = (() =>
      Promise.reject(Object.assign(new Error('quota'), { name: 'QuotaExceededError' }))) as unknown as typeof db.outbox.add;
    await expect(engine.enqueue(row.id, { priority: 'stat' }, 'stat')).rejects.toThrow();
    expect(engine.getStatus().storageError).toMatch(/out of storage/);
    db.outbox.add = original;
    await engine.enqueue(row.id, { priority: 'stat' }, 'stat');
    expect(engine.getStatus().storageError).toBeNull();
  });

  it('satisfies() compares only the fields a change asks for', () => {
    const row = makeStudy({ priority: 'stat', assignee: { id: ME.id, name: ME.name } });
    expect(satisfies(row, { priority: 'stat' })).toBe(true);
    expect(satisfies(row, { assigneeId: ME.id, priority: 'stat' })).toBe(true);
    expect(satisfies(row, { assigneeId: null })).toBe(false);
    expect(satisfies(row, { status: 'in_progress' })).toBe(false);
  });

  it('a network error leaves the entry pending for the next replay', async () => {
    const row = server.put(makeStudy());
    await engine.pull();
    server.offline = true;
    await engine.enqueue(row.id, { status: 'in_progress' }, 'start');
    await expect(engine.push()).rejects.toBeInstanceOf(NetworkError);
    expect((await db.outbox.toArray())[0]!.state).toBe('pending');
  });
});
