/** Getting corpus files into Orthanc: study/series UIDs added where a codec sample has none, then uploaded. */
import { TS } from './cases';

// ---------------------------------------------------------------------------------------------
// Getting files into Orthanc

/** Explicit VR with a 4-byte length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Offset just past one explicit-LE element (recursing through undefined-length sequences and items). */
function skipElement(buf: Buffer, offset: number): number {
  const group = buf.readUInt16LE(offset);
  const element = buf.readUInt16LE(offset + 2);
  if (group === 0xfffe) {
    const length = buf.readUInt32LE(offset + 4);
    if (element !== 0xe000 || length !== 0xffffffff) return offset + 8 + (length === 0xffffffff ? 0 : length);
    let p = offset + 8;
    while (!(buf.readUInt16LE(p) === 0xfffe && buf.readUInt16LE(p + 2) === 0xe00d)) p = skipElement(buf, p);
    return p + 8;
  }
  const vr = buf.toString('latin1', offset + 4, offset + 6);
  if (!LONG_VRS.has(vr)) return offset + 8 + buf.readUInt16LE(offset + 6);
  const length = buf.readUInt32LE(offset + 8);
  if (length !== 0xffffffff) return offset + 12 + length;
  let p = offset + 12;
  while (!(buf.readUInt16LE(p) === 0xfffe && buf.readUInt16LE(p + 2) === 0xe0dd)) p = skipElement(buf, p);
  return p + 8;
}

function uiElement(group: number, element: number, uid: string): Buffer {
  const value = uid.length % 2 ? `${uid}\0` : uid;
  const out = Buffer.alloc(8 + value.length);
  out.writeUInt16LE(group, 0);
  out.writeUInt16LE(element, 2);
  out.write('UI', 4, 'latin1');
  out.writeUInt16LE(value.length, 6);
  out.write(value, 8, 'latin1');
  return out;
}

/**
 * Codec test files without SOP/Study/Series Instance UID cannot be stored in a PACS. For those, a copy
 * in memory gets the missing UIDs inserted (explicit VR little endian data sets only); pixel data untouched.
 */
export function withStudyUids(file: Buffer, uidRoot: string): { bytes: Buffer; added: boolean } {
  const part10 = file.toString('latin1', 128, 132) === 'DICM';
  // A file that starts straight with its meta elements (no preamble, no "DICM") gets a proper header.
  if (!part10 && !(file.length > 8 && file.readUInt16LE(0) === 0x0002)) return { bytes: file, added: false };
  let p = part10 ? 132 : 0;
  let ts = '';
  while (p < file.length && file.readUInt16LE(p) === 0x0002) {
    const next = skipElement(file, p);
    if (file.readUInt16LE(p + 2) === 0x0010) ts = file.toString('latin1', p + 8, next).replace(/[\0 ]+$/, '');
    p = next;
  }
  if (!part10) return withStudyUids(part10File(ts, file.subarray(p), uidRoot), uidRoot);
  if (ts === TS.implicitLE || ts === TS.explicitBE || ts === TS.deflatedLE) return { bytes: file, added: false };
  const wanted: [number, string][] = [
    [0x00080018, `${uidRoot}.3`],
    [0x0020000d, `${uidRoot}.1`],
    [0x0020000e, `${uidRoot}.2`],
  ];
  const parts: Buffer[] = [file.subarray(0, p)];
  let added = false;
  const insert = (tag: number, uid: string) => {
    parts.push(uiElement(tag >>> 16, tag & 0xffff, uid));
    added = true;
  };
  while (p < file.length) {
    const key = file.readUInt16LE(p) * 0x10000 + file.readUInt16LE(p + 2);
    while (wanted.length && wanted[0]![0] <= key) {
      const [tag, uid] = wanted.shift()!;
      if (key !== tag) insert(tag, uid);
    }
    const next = skipElement(file, p);
    parts.push(file.subarray(p, next));
    p = next;
  }
  for (const [tag, uid] of wanted) insert(tag, uid);
  return { bytes: added ? Buffer.concat(parts) : file, added };
}

/** Preamble, "DICM" and a File Meta group for a bare explicit-LE data set (SOP UIDs from the data set, or made up). */
function part10File(ts: string, dataSet: Buffer, uidRoot: string): Buffer {
  const stringAt = (tag: number): string => {
    let p = 0;
    while (p < dataSet.length) {
      const key = dataSet.readUInt16LE(p) * 0x10000 + dataSet.readUInt16LE(p + 2);
      const next = skipElement(dataSet, p);
      if (key === tag) return dataSet.toString('latin1', p + 8, next).replace(/[\0 ]+$/, '');
      if (key > tag) break;
      p = next;
    }
    return '';
  };
  const version = Buffer.from([0x02, 0x00, 0x01, 0x00, 0x4f, 0x42, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
  const elements = Buffer.concat([
    version,
    uiElement(0x0002, 0x0002, stringAt(0x00080016) || '1.2.840.10008.5.1.4.1.1.7'),
    uiElement(0x0002, 0x0003, stringAt(0x00080018) || `${uidRoot}.3`),
    uiElement(0x0002, 0x0010, ts),
    uiElement(0x0002, 0x0012, '2.25.260946479018442447213437418924960232449'),
  ]);
  const length = Buffer.alloc(12);
  length.writeUInt16LE(0x0002, 0);
  length.writeUInt16LE(0x0000, 2);
  length.write('UL', 4, 'latin1');
  length.writeUInt16LE(4, 6);
  length.writeUInt32LE(elements.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), length, elements, dataSet]);
}

export interface OrthancRest {
  httpUrl: string;
  username: string;
  password: string;
}

export function orthancFetch(orthanc: OrthancRest, pathname: string, init: RequestInit = {}): Promise<Response> {
  const authorization = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  return fetch(`${orthanc.httpUrl}${pathname}`, {
    ...init,
    headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
    signal: AbortSignal.timeout(60_000),
  });
}

/** POST /instances; answers Orthanc's ids, or the HTTP status when refused. */
export async function uploadInstance(
  orthanc: OrthancRest,
  bytes: Buffer,
): Promise<{ ok: true; instance: string; study: string; status: string } | { ok: false; httpStatus: number }> {
  const response = await orthancFetch(orthanc, '/instances', {
    method: 'POST',
    body: new Uint8Array(bytes),
    headers: { 'content-type': 'application/dicom' },
  });
  const text = await response.text();
  if (!response.ok) return { ok: false, httpStatus: response.status };
  const body = JSON.parse(text) as { ID: string; ParentStudy: string; Status: string };
  return { ok: true, instance: body.ID, study: body.ParentStudy, status: body.Status };
}

export async function studyInstanceUid(orthanc: OrthancRest, orthancStudy: string): Promise<string> {
  const response = await orthancFetch(orthanc, `/studies/${orthancStudy}`);
  const body = (await response.json()) as { MainDicomTags: { StudyInstanceUID: string } };
  return body.MainDicomTags.StudyInstanceUID;
}

/** Splits cases into rounds in which no SOP Instance UID repeats (codec variants share theirs). */
export function rounds<T extends { sopUid: string }>(cases: T[]): T[][] {
  const out: { uids: Set<string>; items: T[] }[] = [];
  for (const c of cases) {
    let round = out.find((r) => !r.uids.has(c.sopUid));
    if (!round) {
      round = { uids: new Set(), items: [] };
      out.push(round);
    }
    round.uids.add(c.sopUid);
    round.items.push(c);
  }
  return out.map((r) => r.items);
}
