import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openWorklistDb, type WorklistDb, wipeAllWorklistDbs } from '../db/db';
import { dataKey, decrypt, encrypt, OfflineKeyExpired } from './crypto';
import { type DicomJson, extractFrame, layoutStudy } from './dicom-json';
import { OfflineStore, type PathFetcher } from './offline-store';

const STUDY = '1.2.3.4';
const SERIES = '1.2.3.4.5';

function instance(n: number, frames = 1, study = STUDY): DicomJson {
  return {
    '0020000D': { vr: 'UI', Value: [study] },
    '0020000E': { vr: 'UI', Value: [SERIES] },
    '00080018': { vr: 'UI', Value: [`1.2.3.4.5.${n}`] },
    '00200013': { vr: 'IS', Value: [n] },
    '00200011': { vr: 'IS', Value: [2] },
    '0008103E': { vr: 'LO', Value: ['Axial'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Zoë' }] },
    '00200032': { vr: 'DS', Value: [0, 0, -n * 2.5] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    ...(frames > 1 ? { '00280008': { vr: 'IS', Value: [frames] } } : {}),
  };
}

/** Frame pixels: deterministic bytes per path. */
function pixels(path: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(64);
  for (let i = 0; i < out.length; i++) out[i] = (path.length * 31 + i * 7 + path.charCodeAt(path.length - 1 - (i % 10))) & 0xff;
  return out;
}

function multipart(body: Uint8Array<ArrayBuffer>): { contentType: string; bytes: Uint8Array<ArrayBuffer> } {
  const boundary = 'b0undary';
  const head = new TextEncoder().encode(
    `--${boundary}\r\nContent-Type: application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
  const bytes = new Uint8Array(head.length + body.length + tail.length);
  bytes.set(head);
  bytes.set(body, head.length);
  bytes.set(tail, head.length + body.length);
  return {
    contentType: `multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1; boundary=${boundary}`,
    bytes,
  };
}

/** A fake /dicom-web: counts requests, can fail after N frames. */
function fakeServer(instances: DicomJson[], byStudy: Record<string, DicomJson[]> = {}) {
  const state = { frameRequests: 0, failAfter: Number.POSITIVE_INFINITY, online: true };
  const fetcher: PathFetcher = async (path, { signal }) => {
    if (!state.online) throw new TypeError('Failed to fetch');
    signal?.throwIfAborted();
    const uid = /studies\/([^/]+)/.exec(path)?.[1] ?? '';
    if (path.endsWith('/metadata'))
      return new Response(JSON.stringify(byStudy[uid] ?? instances), { headers: { 'content-type': 'application/dicom+json' } });
    state.frameRequests += 1;
    if (state.frameRequests > state.failAfter) throw new TypeError('Failed to fetch');
    const { contentType, bytes } = multipart(pixels(path));
    return new Response(bytes, { headers: { 'content-type': contentType } });
  };
  return { state, fetcher };
}

let db: WorklistDb;
let clock = 1_000_000;
const budget = { bytes: 10 * 1024 * 1024 };

function store(fetcher: PathFetcher, notAfter = () => clock + 3_600_000) {
  return new OfflineStore(db, fetcher, {
    key: () => dataKey(db, notAfter(), clock),
    budgetBytes: () => budget.bytes,
    concurrency: 3,
    now: () => clock,
  });
}

beforeEach(() => {
  db = openWorklistDb(`u-${Math.random().toString(36).slice(2)}`);
  budget.bytes = 10 * 1024 * 1024;
  clock = 1_000_000;
});
afterEach(async () => {
  db.close();
  await Dexie.delete(db.name);
});

describe('DICOM JSON layout and multipart', () => {
  it('orders a stack by position and expands multi-frame instances', () => {
    const layout = layoutStudy([instance(3), instance(1), instance(2, 3)]);
    expect(layout.patientName).toBe('Müller Zoë');
    expect(layout.series).toHaveLength(1);
    expect(layout.series[0]!.imageCount).toBe(3);
    expect(layout.series[0]!.frames.map((f) => `${f.sopInstanceUid.split('.').pop()}:${f.frame}`)).toEqual([
      '1:1',
      '2:1',
      '2:2',
      '2:3',
      '3:1',
    ]);
    expect(layout.totalFrames).toBe(5);
  });

  it('extracts the first part of a multipart answer with its transfer syntax', () => {
    const body = pixels('/x');
    const { contentType, bytes } = multipart(body);
    const out = extractFrame(contentType, bytes);
    expect(out.transferSyntax).toBe('1.2.840.10008.1.2.1');
    expect([...out.pixelData]).toEqual([...body]);
  });
});

describe('offline store', () => {
  const instances = [instance(1), instance(2), instance(3, 4)];
  const paths = layoutStudy(instances).series[0]!.frames.map((f) => f.path);

  it('downloads metadata and every frame, encrypted, with progress', async () => {
    const server = fakeServer(instances);
    const progress: number[] = [];
    const row = await store(server.fetcher).download(
      { id: 's1', studyInstanceUid: STUDY, label: 'CT', extra: { patient: 'x' } },
      { onProgress: (p) => progress.push(p.doneFrames) },
    );
    expect(row.state).toBe('complete');
    expect(row.totalFrames).toBe(6);
    expect(row.doneFrames).toBe(6);
    expect(progress.at(-1)).toBe(6);
    expect(row.bytes).toBeGreaterThan(6 * 64);
    // at rest: ciphertext, not the pixels
    const stored = await db.offlineFrames.get(paths[0]!);
    expect(stored).toBeDefined();
    expect(new Uint8Array(stored!.data).slice(0, 64)).not.toEqual(pixels(paths[0]!));
    // read back: the pixels
    const frame = await store(server.fetcher).readFrame(paths[0]!);
    expect([...frame!.pixelData]).toEqual([...pixels(paths[0]!)]);
    const content = await store(server.fetcher).open<{ patient: string }>('s1');
    expect(content?.instances).toHaveLength(3);
    expect(content?.extra.patient).toBe('x');
  });

  it('resumes after a dropped connection without fetching stored frames again', async () => {
    const server = fakeServer(instances);
    server.state.failAfter = 2;
    const s = store(server.fetcher);
    await expect(s.download({ id: 's1', studyInstanceUid: STUDY, label: 'CT' })).rejects.toThrow(/Failed to fetch/);
    const paused = await s.get('s1');
    expect(paused?.state).toBe('paused');
    expect(paused?.doneFrames).toBe(2);
    server.state.failAfter = Number.POSITIVE_INFINITY;
    server.state.frameRequests = 0;
    const row = await s.download({ id: 's1', studyInstanceUid: STUDY, label: 'CT' });
    expect(row.state).toBe('complete');
    expect(server.state.frameRequests).toBe(4);
    expect(await db.offlineFrames.where('studyId').equals('s1').count()).toBe(6);
  });

  it('is cancellable and keeps what it stored', async () => {
    const server = fakeServer(instances);
    const controller = new AbortController();
    const row = await store(server.fetcher).download(
      { id: 's1', studyInstanceUid: STUDY, label: 'CT' },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.doneFrames >= 1) controller.abort();
        },
      },
    );
    expect(row.state).toBe('paused');
    expect(row.doneFrames).toBeGreaterThanOrEqual(1);
    expect(row.doneFrames).toBeLessThan(6);
    expect(await db.offlineFrames.where('studyId').equals('s1').count()).toBe(row.doneFrames);
  });

  it('evicts the least recently opened studies beyond the budget', async () => {
    const uids: Record<string, string> = { a: '1.2.10', b: '1.2.11', c: '1.2.12' };
    const server = fakeServer(
      instances,
      Object.fromEntries(Object.values(uids).map((uid) => [uid, [instance(1, 1, uid), instance(2, 1, uid)]])),
    );
    const s = store(server.fetcher);
    for (const id of ['a', 'b', 'c']) {
      clock += 1000;
      await s.download({ id, studyInstanceUid: uids[id]!, label: id });
    }
    expect((await s.list()).map((r) => r.id).sort()).toEqual(['a', 'b', 'c']);
    clock += 1000;
    await s.open('a'); // a is now the most recently opened
    const one = (await s.get('c'))!.bytes;
    budget.bytes = one * 2 + 1;
    const evicted = await s.evict();
    expect(evicted).toEqual(['b']);
    expect((await s.list()).map((r) => r.id).sort()).toEqual(['a', 'c']);
    expect(await db.offlineFrames.where('studyId').equals('b').count()).toBe(0);
    expect(await db.offlineFrames.where('studyId').equals('a').count()).toBe(2);
  });

  it('encryption round trip binds the record id, and an expired key wipes offline data', async () => {
    const key = await dataKey(db, clock + 10, clock);
    const sealed = await encrypt(key, new Uint8Array([1, 2, 3]), 'frame-1');
    expect([...(await decrypt(key, sealed.iv, sealed.data, 'frame-1'))]).toEqual([1, 2, 3]);
    await expect(decrypt(key, sealed.iv, sealed.data, 'frame-2')).rejects.toThrow();
    const again = await dataKey(db, clock + 10, clock);
    expect([...(await decrypt(again, sealed.iv, sealed.data, 'frame-1'))]).toEqual([1, 2, 3]);
    await db.offlineStudies.put({
      id: 'x',
      studyInstanceUid: STUDY,
      label: '',
      state: 'complete',
      totalFrames: 0,
      doneFrames: 0,
      bytes: 0,
      createdAt: 0,
      lastOpenedAt: 0,
      iv: sealed.iv,
      data: sealed.data,
    });
    await expect(dataKey(db, clock + 10, clock + 11)).rejects.toBeInstanceOf(OfflineKeyExpired);
    expect(await db.offlineStudies.count()).toBe(0);
    expect(await db.offlineKeys.count()).toBe(0);
  });

  it('logout wipes offline studies with the worklist database', async () => {
    const server = fakeServer(instances);
    await store(server.fetcher).download({ id: 's1', studyInstanceUid: STUDY, label: 'CT' });
    const name = db.name;
    db.close();
    localStorage.setItem('pacs.knownDbs', JSON.stringify([name]));
    await wipeAllWorklistDbs();
    expect(await Dexie.exists(name)).toBe(false);
    db = openWorklistDb(name.replace('pacs-worklist-', ''));
    expect(await db.offlineStudies.count()).toBe(0);
  });
});
