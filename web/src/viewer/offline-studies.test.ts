import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openWorklistDb, type WorklistDb, wipeAllWorklistDbs } from '../device/db';
import { openBytes, sealBytes } from '../device/vault/sealed';
import { testDataKey } from '../test/data-key';
import { type DicomJson, extractFrame, layoutStudy } from './dicom-json';
import { OfflineStudies, type PathFetcher } from './offline-studies';

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

/** The vault's data key stands in as a plain non-extractable key (the vault has its own tests). */
let vaultKey: CryptoKey;
const dataKey = async () => {
  vaultKey ??= await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  return vaultKey;
};

function store(fetcher: PathFetcher) {
  return new OfflineStudies(db, fetcher, {
    key: dataKey,
    budgetBytes: () => budget.bytes,
    concurrency: 3,
    now: () => clock,
  });
}

beforeEach(() => {
  db = openWorklistDb(`u-${Math.random().toString(36).slice(2)}`, testDataKey);
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

  it('encryption round trip binds the record id', async () => {
    const key = await dataKey();
    const sealed = await sealBytes(key, new Uint8Array([1, 2, 3]), 'frame-1');
    expect([...(await openBytes(key, sealed, 'frame-1'))]).toEqual([1, 2, 3]);
    await expect(openBytes(key, sealed, 'frame-2')).rejects.toThrow();
  });

  it('logout wipes offline studies with the worklist database', async () => {
    const server = fakeServer(instances);
    await store(server.fetcher).download({ id: 's1', studyInstanceUid: STUDY, label: 'CT' });
    const name = db.name;
    db.close();
    localStorage.setItem('pacs.knownDbs', JSON.stringify([name]));
    await wipeAllWorklistDbs();
    expect(await Dexie.exists(name)).toBe(false);
    db = openWorklistDb(name.replace('pacs-worklist-', ''), testDataKey);
    expect(await db.offlineStudies.count()).toBe(0);
  });

  it('a write landing after the wipe fails instead of recreating the wiped database', async () => {
    const server = fakeServer([instance(1)]);
    await store(server.fetcher).download({ id: 's1', studyInstanceUid: STUDY, label: 'CT' });
    const name = db.name;
    localStorage.setItem('pacs.knownDbs', JSON.stringify([name]));
    await wipeAllWorklistDbs();
    await expect(db.meta.put({ key: 'late', value: 'sync write' })).rejects.toThrow();
    expect(await Dexie.exists(name)).toBe(false);
    db = openWorklistDb(name.replace('pacs-worklist-', ''), testDataKey);
  });
});

/** A minimal Part-10 file: File Meta with the transfer syntax, then Pixel Data (explicit VR little endian). */
function part10(transferSyntax: string, pixelData: Uint8Array): Uint8Array<ArrayBuffer> {
  const ts = transferSyntax.length % 2 ? `${transferSyntax}\0` : transferSyntax;
  const tsElement = new Uint8Array(8 + ts.length);
  const tv = new DataView(tsElement.buffer);
  tv.setUint16(0, 0x0002, true);
  tv.setUint16(2, 0x0010, true);
  tsElement.set(new TextEncoder().encode('UI'), 4);
  tv.setUint16(6, ts.length, true);
  tsElement.set(new TextEncoder().encode(ts), 8);
  const groupLength = new Uint8Array(12);
  const gv = new DataView(groupLength.buffer);
  gv.setUint16(0, 0x0002, true);
  groupLength.set(new TextEncoder().encode('UL'), 4);
  gv.setUint16(6, 4, true);
  gv.setUint32(8, tsElement.length, true);
  const pixelHead = new Uint8Array(12);
  const pv = new DataView(pixelHead.buffer);
  pv.setUint16(0, 0x7fe0, true);
  pv.setUint16(2, 0x0010, true);
  pixelHead.set(new TextEncoder().encode('OB'), 4);
  pv.setUint32(8, pixelData.length, true);
  const parts = [new Uint8Array(128), new TextEncoder().encode('DICM'), groupLength, tsElement, pixelHead, pixelData];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

describe('offline store: frames the archive cannot send as stored, palette tables', () => {
  const EXPLICIT_LE = '1.2.840.10008.1.2.1';
  const HTJ2K = '1.2.840.10008.1.2.4.201';
  // 8 × 4 pixels of 16 bits: 64 bytes per native frame, as pixels() makes them.
  const sized = (n: number, frames = 1): DicomJson => ({
    ...instance(n, frames),
    '00280010': { vr: 'US', Value: [4] },
    '00280011': { vr: 'US', Value: [8] },
    '00280100': { vr: 'US', Value: [16] },
  });

  /**
   * Like Orthanc with a big endian / deflated instance (`transcodes`: 500 to `*`, Explicit VR LE on request)
   * or an HTJ2K one (500 to `*`, a mislabelled short "Explicit VR LE" answer, the instance as stored).
   */
  function awkwardServer(instances: DicomJson[], kind: 'transcodes' | 'htj2k') {
    const requests: string[] = [];
    const fetcher: PathFetcher = async (path, { accept }) => {
      if (path.endsWith('/metadata'))
        return new Response(JSON.stringify(instances), { headers: { 'content-type': 'application/dicom+json' } });
      const asked = /transfer-syntax=([^;\s]+)/.exec(accept)?.[1] ?? 'none';
      requests.push(`${path.replace(/^.*\/instances\//, '')} ${asked}`);
      if (!path.includes('/frames/')) {
        // whole instance: frame N of the multi-frame test instance is pixels(path of frame N)
        const { contentType, bytes } = multipart(part10(HTJ2K, pixels(`${path}/frames/1`)));
        return new Response(bytes, { headers: { 'content-type': contentType.replace('application/octet-stream', 'application/dicom') } });
      }
      if (asked === '*') return new Response('transcoding failed', { status: 500 });
      const body = kind === 'transcodes' ? pixels(path) : pixels(path).slice(0, 20);
      const { contentType, bytes } = multipart(body);
      return new Response(bytes, { headers: { 'content-type': contentType } });
    };
    return { fetcher, requests };
  }

  it('stores a big endian or deflated instance’s frames as Explicit VR Little Endian (asking `*` once per instance)', async () => {
    const instances = [sized(1), sized(2, 3)];
    const server = awkwardServer(instances, 'transcodes');
    const s = new OfflineStudies(db, server.fetcher, {
      key: dataKey,
      budgetBytes: () => budget.bytes,
      concurrency: 1,
    });
    const row = await s.download({ id: 'be', studyInstanceUid: STUDY, label: 'CT' });
    expect(row.state).toBe('complete');
    expect(row.doneFrames).toBe(4);
    for (const path of layoutStudy(instances).series[0]!.frames.map((f) => f.path)) {
      const frame = await s.readFrame(path);
      expect(frame!.transferSyntax).toBe(EXPLICIT_LE);
      expect([...frame!.pixelData]).toEqual([...pixels(path)]);
    }
    // one `*` try per instance, then its other frames straight as Explicit VR Little Endian
    expect(server.requests.filter((r) => r.endsWith(' *'))).toHaveLength(2);
    expect(server.requests.filter((r) => r.endsWith(EXPLICIT_LE))).toHaveLength(4);
  });

  it('cuts an HTJ2K frame out of the instance as stored when the archive can send it neither way', async () => {
    const instances = [sized(1)];
    const server = awkwardServer(instances, 'htj2k');
    const cut: number[] = [];
    const s = new OfflineStudies(db, server.fetcher, {
      key: dataKey,
      budgetBytes: () => budget.bytes,
      framePixels: (dataSet, index) => {
        cut.push(index);
        const element = dataSet.elements.x7fe00010!;
        return new Uint8Array(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + element.dataOffset, element.length);
      },
    });
    const row = await s.download({ id: 'ht', studyInstanceUid: STUDY, label: 'CT' });
    expect(row.state).toBe('complete');
    const path = layoutStudy(instances).series[0]!.frames[0]!.path;
    const frame = await s.readFrame(path);
    expect(frame!.transferSyntax).toBe(HTJ2K);
    expect([...frame!.pixelData]).toEqual([...pixels(path)]);
    expect(cut).toEqual([0]);
  });

  it('a frame the archive cannot send in any way pauses the download with the reason', async () => {
    const instances = [sized(1)];
    const server = awkwardServer(instances, 'htj2k');
    // no framePixels: the instance route is not available
    const s = new OfflineStudies(db, server.fetcher, { key: dataKey, budgetBytes: () => budget.bytes });
    await expect(s.download({ id: 'ht', studyInstanceUid: STUDY, label: 'CT' })).rejects.toThrow(/HTTP 500/);
    expect((await s.get('ht'))?.state).toBe('paused');
  });

  it('stores palette colour tables linked as bulk data in the study’s metadata', async () => {
    const lut = (base: number) => {
      const bytes = new Uint8Array(8);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < 4; i++) view.setUint16(i * 2, base + i * 0x1000, true);
      return bytes;
    };
    const palette: DicomJson = {
      ...sized(1),
      '00280004': { vr: 'CS', Value: ['PALETTE COLOR'] },
      '00281201': {
        vr: 'OW',
        BulkDataURI: 'http://orthanc:8042/dicom-web/studies/1.2.3.4/series/1.2.3.4.5/instances/1.2.3.4.5.1/bulk/00281201',
      },
      '00281202': { vr: 'OW', BulkDataURI: '/dicom-web/studies/1.2.3.4/series/1.2.3.4.5/instances/1.2.3.4.5.1/bulk/00281202' },
      '00281203': { vr: 'OW', InlineBinary: btoa(String.fromCharCode(...lut(3))) },
    };
    const bulk: string[] = [];
    const base = fakeServer([palette]);
    const fetcher: PathFetcher = async (path, init) => {
      if (!path.includes('/bulk/')) return base.fetcher(path, init);
      bulk.push(path.slice(path.lastIndexOf('/') + 1));
      const { contentType, bytes } = multipart(lut(path.endsWith('1201') ? 1 : 2) as Uint8Array<ArrayBuffer>);
      return new Response(bytes, { headers: { 'content-type': contentType } });
    };
    const s = store(fetcher);
    expect((await s.download({ id: 'pal', studyInstanceUid: STUDY, label: 'US' })).state).toBe('complete');
    expect(bulk.sort()).toEqual(['00281201', '00281202']);
    const [stored] = (await s.open('pal'))!.instances;
    expect(stored!['00281201']!.Value).toEqual([1, 0x1001, 0x2001, 0x3001]);
    expect(stored!['00281202']!.Value).toEqual([2, 0x1002, 0x2002, 0x3002]);
    expect(stored!['00281203']!.Value).toEqual([3, 0x1003, 0x2003, 0x3003]);
  });
});
