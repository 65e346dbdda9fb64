import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorklistStudy } from '../api/types';
import { openWorklistDb, type WorklistDb } from '../device/db';
import { testDataKey } from '../test/data-key';
import type { DicomJson } from './dicom-json';
import { assignedStudies, hasOpenReportDraft, keepAssignedEnabled, keepAssignedOffline, setKeepAssigned } from './offline-policy';
import { OfflineStudies, type PathFetcher } from './offline-studies';

const ME = '00000000-0000-4000-8000-00000000000a';
const OTHER = '00000000-0000-4000-8000-00000000000b';

function study(id: string, overrides: Partial<WorklistStudy> = {}): WorklistStudy {
  return {
    id,
    studyInstanceUid: `1.2.840.99.${[...id].map((c) => c.charCodeAt(0)).join('')}`,
    patientName: 'Test^Patient',
    patientId: 'PID-1',
    patientBirthDate: null,
    patientSex: null,
    accessionNumber: `ACC-${id}`,
    studyDate: '20261101',
    studyTime: null,
    description: 'CT',
    modalities: ['CT'],
    bodyPart: 'CHEST',
    referringPhysician: '',
    indication: '',
    orderMatch: '',
    numberOfSeries: 1,
    numberOfInstances: 2,
    status: 'unread',
    priority: 'routine',
    assignee: null,
    updatedAfterArrival: false,
    receivedAt: '2026-11-01T10:00:00.000Z',
    updatedAt: '2026-11-01T10:00:00.000Z',
    version: 1,
    restricted: false,
    access: 'open',
    emergencyAccessUntil: null,
    ...overrides,
  };
}

function instances(studyUid: string): DicomJson[] {
  return [1, 2].map((n) => ({
    '0020000D': { vr: 'UI', Value: [studyUid] },
    '0020000E': { vr: 'UI', Value: [`${studyUid}.1`] },
    '00080018': { vr: 'UI', Value: [`${studyUid}.1.${n}`] },
    '00200013': { vr: 'IS', Value: [n] },
  }));
}

/** A fake /dicom-web that serves any study (64-byte frames) and records which studies were fetched. */
function fakeServer() {
  const fetchedStudies = new Set<string>();
  const fetcher: PathFetcher = async (path) => {
    const uid = /studies\/([^/]+)/.exec(path)?.[1] ?? '';
    fetchedStudies.add(uid);
    if (path.endsWith('/metadata')) return new Response(JSON.stringify(instances(uid)));
    return new Response(new Uint8Array(64).fill(7), { headers: { 'content-type': 'application/octet-stream' } });
  };
  return { fetcher, fetchedStudies };
}

let db: WorklistDb;
const budget = { bytes: 10 * 1024 * 1024 };
let clock = 1_000_000;

function makeStore(fetcher: PathFetcher) {
  return new OfflineStudies(db, fetcher, {
    key: async () => testDataKey(),
    budgetBytes: () => budget.bytes,
    now: () => clock,
    isProtected: hasOpenReportDraft(db),
  });
}

beforeEach(() => {
  db = openWorklistDb(`policy-${Math.random().toString(36).slice(2)}`, testDataKey);
  budget.bytes = 10 * 1024 * 1024;
  clock = 1_000_000;
  localStorage.clear();
});
afterEach(async () => {
  db.close();
  await Dexie.delete(db.name);
});

describe('eviction never removes a study with an open report draft', () => {
  it('skips in-progress and preliminary studies, evicts the least recently opened of the rest', async () => {
    const rows = [
      study('a', { status: 'in_progress' }),
      study('b', { status: 'preliminary' }),
      study('c', { status: 'final' }),
      study('d', { status: 'unread' }),
    ];
    await db.sealed.studies.bulkPut(rows);
    const server = fakeServer();
    const store = makeStore(server.fetcher);
    for (const row of rows) {
      clock += 1000; // a is the least recently opened, d the most
      await store.download({ id: row.id, studyInstanceUid: row.studyInstanceUid, label: row.id });
    }
    const one = (await store.get('d'))!.bytes;
    budget.bytes = one * 2 + 1; // room for two of the four
    expect(await store.evict()).toEqual(['c', 'd']);
    expect((await store.list()).map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(await db.offlineFrames.where('studyId').equals('a').count()).toBe(2);
  });

  it('lets a study go once its report is signed', async () => {
    await db.sealed.studies.put(study('a', { status: 'in_progress' }));
    const server = fakeServer();
    const store = makeStore(server.fetcher);
    await store.download({ id: 'a', studyInstanceUid: study('a').studyInstanceUid, label: 'a' });
    budget.bytes = 1;
    expect(await store.evict()).toEqual([]);
    await db.sealed.studies.put({ ...(await db.sealed.studies.get('a'))!, status: 'final' });
    expect(await store.evict()).toEqual(['a']);
  });
});

describe('keep my assigned studies offline', () => {
  it('is a per-device setting, off by default', () => {
    expect(keepAssignedEnabled()).toBe(false);
    setKeepAssigned(true);
    expect(keepAssignedEnabled()).toBe(true);
    setKeepAssigned(false);
    expect(keepAssignedEnabled()).toBe(false);
  });

  it('lists my unsigned assigned studies, most urgent first', async () => {
    const me = { id: ME, name: 'Me' };
    await db.sealed.studies.bulkPut([
      study('r1', { assignee: me, receivedAt: '2026-11-01T08:00:00.000Z' }),
      study('s1', { assignee: me, priority: 'stat', receivedAt: '2026-11-01T09:00:00.000Z' }),
      study('f1', { assignee: me, status: 'final' }),
      study('o1', { assignee: { id: OTHER, name: 'Other' } }),
      study('n1'),
    ]);
    expect((await assignedStudies(db, ME)).map((s) => s.id)).toEqual(['s1', 'r1']);
  });

  it('downloads the assigned studies that are not complete yet, and only those', async () => {
    const me = { id: ME, name: 'Me' };
    const rows = [study('a1', { assignee: me }), study('a2', { assignee: me }), study('x1', { assignee: { id: OTHER, name: 'O' } })];
    await db.sealed.studies.bulkPut(rows);
    const server = fakeServer();
    const store = makeStore(server.fetcher);
    await store.download({ id: 'a1', studyInstanceUid: rows[0]!.studyInstanceUid, label: 'a1' });
    server.fetchedStudies.clear();
    const result = await keepAssignedOffline(store, db, ME, { budgetBytes: () => budget.bytes });
    expect(result).toEqual({ downloaded: ['a2'], skippedForBudget: [], failed: [] });
    expect([...server.fetchedStudies]).toEqual([rows[1]!.studyInstanceUid]);
    expect((await store.get('a2'))?.state).toBe('complete');
    expect(await store.get('x1')).toBeUndefined();
  });

  it('stops adding studies when the budget is full instead of evicting assigned ones', async () => {
    const me = { id: ME, name: 'Me' };
    await db.sealed.studies.bulkPut([study('a1', { assignee: me, priority: 'stat' }), study('a2', { assignee: me })]);
    const server = fakeServer();
    const store = makeStore(server.fetcher);
    budget.bytes = 1; // the first download fills it
    const result = await keepAssignedOffline(store, db, ME, { budgetBytes: () => budget.bytes });
    expect(result.downloaded).toEqual(['a1']);
    expect(result.skippedForBudget).toEqual(['a2']);
  });

  it('reports a failed download and goes on with the next study', async () => {
    const me = { id: ME, name: 'Me' };
    const rows = [study('a1', { assignee: me, priority: 'stat' }), study('a2', { assignee: me })];
    await db.sealed.studies.bulkPut(rows);
    const server = fakeServer();
    const failing: PathFetcher = async (path, init) => {
      if (path.includes(rows[0]!.studyInstanceUid)) throw new TypeError('Failed to fetch');
      return server.fetcher(path, init);
    };
    const result = await keepAssignedOffline(makeStore(failing), db, ME, { budgetBytes: () => budget.bytes });
    expect(result.downloaded).toEqual(['a2']);
    expect(result.failed).toEqual([{ studyId: 'a1', error: 'Failed to fetch' }]);
  });
});
