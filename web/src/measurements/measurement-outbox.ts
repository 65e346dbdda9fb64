/**
 * Measurements and key images on the device: every change is stored in the outbox first and sent
 * in order; the server's list (kept for opening the study offline) is shown with the changes still
 * waiting laid over it. A network error leaves the rest waiting for the next flush (the app flushes
 * when the connection returns); a refusal drops that change, since sending it again cannot succeed.
 */
import type {
  KeyImage,
  KeyImageCreate,
  KeyImageList,
  Measurement,
  MeasurementCreate,
  MeasurementList,
  MeasurementUpdate,
} from '@pacs/shared';
import { ApiError, api, NetworkError } from '../api/client';
import type { MeasurementOp, WorklistDb } from '../device/db';

export interface StudyAnnotations {
  measurements: Measurement[];
  keyImages: KeyImage[];
  /** The server could not be asked: what the device last saw, with its own changes. */
  fromDevice: boolean;
  /** Changes still waiting for the server. */
  pending: number;
}

const changes = new EventTarget();

/** Called after the device's measurements of a study changed (a change made, or the server's answer). */
export function onAnnotationsChanged(listener: (studyId: string) => void): () => void {
  const handler = (event: Event) => listener((event as CustomEvent<string>).detail);
  changes.addEventListener('change', handler);
  return () => changes.removeEventListener('change', handler);
}
const announce = (studyId: string) => changes.dispatchEvent(new CustomEvent('change', { detail: studyId }));

const base = (studyId: string) => `/api/studies/${encodeURIComponent(studyId)}`;

export async function loadAnnotations(db: WorklistDb, studyId: string, userId: string): Promise<StudyAnnotations> {
  let measurements: Measurement[];
  let keyImages: KeyImage[];
  let fromDevice = false;
  try {
    const [m, k] = await Promise.all([
      api.request<MeasurementList>('GET', `${base(studyId)}/measurements`),
      api.request<KeyImageList>('GET', `${base(studyId)}/key-images`),
    ]);
    measurements = m.items;
    keyImages = k.items;
    await db.sealed.measurementCache.put({ studyId, measurements, keyImages });
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    const cached = await db.sealed.measurementCache.get(studyId);
    measurements = cached?.measurements ?? [];
    keyImages = cached?.keyImages ?? [];
    fromDevice = true;
  }
  const ops = (await db.sealed.measurementOps.where('studyId', studyId)).sort((a, b) => a.seq! - b.seq!);
  return { ...overlay(measurements, keyImages, ops, studyId, userId), fromDevice, pending: ops.length };
}

function overlay(measurements: Measurement[], keyImages: KeyImage[], ops: MeasurementOp[], studyId: string, userId: string) {
  const byId = new Map(measurements.map((m) => [m.id, m]));
  const keys = new Map(keyImages.map((k) => [k.id, k]));
  const now = new Date().toISOString();
  for (const op of ops) {
    if (op.kind === 'create' && !byId.has(op.targetId)) {
      const body = op.body as MeasurementCreate;
      byId.set(op.targetId, {
        ...body,
        studyId,
        seriesNumber: null,
        instanceNumber: null,
        authorId: userId,
        authorName: '',
        authorRole: '',
        mine: true,
        createdAt: op.createdAt,
        updatedAt: now,
      });
    } else if (op.kind === 'update') {
      const earlier = byId.get(op.targetId);
      if (earlier) byId.set(op.targetId, { ...earlier, ...(op.body as MeasurementUpdate) });
    } else if (op.kind === 'delete') byId.delete(op.targetId);
    else if (op.kind === 'flag') {
      const body = op.body as KeyImageCreate;
      const same = [...keys.values()].some((k) => k.sopInstanceUid === body.sopInstanceUid && k.frame === body.frame);
      if (!same)
        keys.set(op.targetId, {
          ...body,
          note: body.note ?? '',
          studyId,
          seriesNumber: null,
          instanceNumber: null,
          flaggedById: userId,
          flaggedByName: '',
          createdAt: op.createdAt,
        });
    } else if (op.kind === 'unflag') keys.delete(op.targetId);
  }
  return { measurements: [...byId.values()], keyImages: [...keys.values()] };
}

/** Stores a change and tries to send it (and anything waiting before it). */
export async function recordChange(db: WorklistDb, op: Omit<MeasurementOp, 'key' | 'createdAt' | 'seq'>): Promise<void> {
  await db.measurementOps.add(
    await db.sealed.measurementOps.seal({
      ...op,
      key: `${op.targetId}:${op.kind}:${crypto.randomUUID()}`,
      createdAt: new Date().toISOString(),
    }),
  );
  announce(op.studyId);
  void flushMeasurements(db).catch(() => undefined);
}

function send(op: MeasurementOp): Promise<unknown> {
  const study = base(op.studyId);
  switch (op.kind) {
    case 'create':
      return api.request('POST', `${study}/measurements`, op.body);
    case 'update':
      return api.request('PUT', `${study}/measurements/${op.targetId}`, op.body);
    case 'delete':
      return api.request('DELETE', `${study}/measurements/${op.targetId}`);
    case 'flag':
      return api.request('POST', `${study}/key-images`, op.body);
    case 'unflag':
      return api.request('DELETE', `${study}/key-images/${op.targetId}`);
  }
}

let flushing: Promise<number> | null = null;

/** Sends the waiting changes in order, one flush at a time; resolves with how many the server answered. */
export function flushMeasurements(db: WorklistDb): Promise<number> {
  flushing ??= (async () => {
    let sent = 0;
    try {
      for (const op of await db.sealed.measurementOps.openAll(await db.measurementOps.orderBy('seq').toArray())) {
        try {
          await send(op);
        } catch (error) {
          if (error instanceof NetworkError) break;
          // A delete of what is gone already is done; anything else refused cannot be sent again.
          if (!(error instanceof ApiError)) throw error;
        }
        await db.measurementOps.delete(op.seq!);
        sent += 1;
        announce(op.studyId);
      }
    } finally {
      flushing = null;
    }
    return sent;
  })();
  return flushing;
}
