/** An in-memory stand-in for the worklist API's feed and PATCH, with the same version rules. */
import { ApiError, NetworkError } from '../api/client';
import type { DeviceStudy, StudyPatch, User, WorklistStudy } from '../api/types';

let n = 0;
export function makeStudy(overrides: Partial<WorklistStudy> = {}): WorklistStudy {
  n += 1;
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    studyInstanceUid: `1.2.3.${n}`,
    patientName: `Doe^Jane${n}`,
    patientId: `PID-${n}`,
    patientBirthDate: null,
    patientSex: null,
    accessionNumber: `ACC-${n}`,
    studyDate: '20260105',
    studyTime: null,
    description: 'CT HEAD',
    modalities: ['CT'],
    bodyPart: '',
    referringPhysician: '',
    indication: '',
    orderMatch: '',
    numberOfSeries: 1,
    numberOfInstances: 3,
    status: 'unread',
    priority: 'routine',
    assignee: null,
    updatedAfterArrival: false,
    receivedAt: new Date(Date.UTC(2026, 0, 5, 8, 0, n)).toISOString(),
    updatedAt: new Date(Date.UTC(2026, 0, 5, 8, 0, n)).toISOString(),
    version: 1,
    restricted: false,
    access: 'open',
    emergencyAccessUntil: null,
    ...overrides,
  };
}

export class FakeServer {
  rows = new Map<string, WorklistStudy>();
  log: { seq: number; id: string; deleted?: boolean }[] = [];
  seq = 0;
  offline = false;
  /** Apply the next PATCH but lose its answer (the client sees a network error). */
  loseNextAnswer = false;
  patches: { id: string; body: StudyPatch; key: string | undefined }[] = [];
  users = new Map<string, string>();
  forbidden = false;
  /** The feed fails (the PATCH still answers): a pull cut off after a push. */
  feedDown = false;
  /** The database's identity; a restore changes it. */
  epoch = '00000000-0000-4000-8000-0000000000e1';
  /** The epochs the device named, in order. */
  epochsSeen: (string | null)[] = [];

  /** A restore from a backup: the log back to `keep` entries, a new epoch. */
  restore(keep: number, epoch: string): void {
    this.log = this.log.slice(0, keep);
    this.seq = this.log.at(-1)?.seq ?? 0;
    this.epoch = epoch;
  }

  put(row: WorklistStudy): WorklistStudy {
    this.rows.set(row.id, row);
    this.log.push({ seq: ++this.seq, id: row.id });
    return row;
  }
  remove(id: string): void {
    this.rows.delete(id);
    this.log.push({ seq: ++this.seq, id, deleted: true });
  }
  /** Another user's edit. */
  edit(id: string, change: Partial<WorklistStudy>): WorklistStudy {
    const row = this.rows.get(id)!;
    return this.put({ ...row, ...change, version: row.version + 1, updatedAt: new Date().toISOString() });
  }

  request = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    if (this.offline) throw new NetworkError('offline');
    const url = new URL(path, 'http://x');
    if (method === 'GET' && url.pathname === '/api/studies/changes') {
      if (this.feedDown) throw new NetworkError('feed unreachable');
      const after = Number(url.searchParams.get('cursor') ?? 0);
      const named = url.searchParams.get('epoch');
      this.epochsSeen.push(named);
      if ((named !== null && named !== this.epoch) || after > this.seq) {
        throw new ApiError(409, { statusCode: 409, error: 'Conflict', message: 'start again', code: 'FEED_RESET', epoch: this.epoch });
      }
      const limit = Number(url.searchParams.get('limit') ?? 500);
      const latest = new Map<string, { seq: number; id: string; deleted?: boolean }>();
      for (const entry of this.log) if (entry.seq > after) latest.set(entry.id, entry);
      const ordered = [...latest.values()].sort((a, b) => a.seq - b.seq);
      const page = ordered.slice(0, limit);
      return {
        changes: page.map((e) => (e.deleted ? { id: e.id, deleted: true } : this.rows.get(e.id)!)),
        cursor: String(page.at(-1)?.seq ?? after),
        hasMore: ordered.length > limit,
        epoch: this.epoch,
      } as T;
    }
    const match = /^\/api\/studies\/([^/]+)$/.exec(url.pathname);
    if (method === 'PATCH' && match) {
      const id = match[1]!;
      const patch = body as StudyPatch;
      this.patches.push({ id, body: patch, key: headers['idempotency-key'] });
      if (this.forbidden) {
        throw new ApiError(403, { statusCode: 403, error: 'Forbidden', message: 'not allowed', code: 'PERMISSION_DENIED' });
      }
      const row = this.rows.get(id);
      if (!row) throw new ApiError(404, { statusCode: 404, error: 'Not Found', message: 'study not found' });
      if (patch.version !== undefined && patch.version !== row.version) {
        throw new ApiError(409, {
          statusCode: 409,
          error: 'Conflict',
          message: 'the study changed since you loaded it',
          code: 'STALE_VERSION',
          current: row,
        });
      }
      const next: WorklistStudy = {
        ...row,
        ...(patch.priority ? { priority: patch.priority } : {}),
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.assigneeId !== undefined
          ? { assignee: patch.assigneeId ? { id: patch.assigneeId, name: this.users.get(patch.assigneeId) ?? 'someone' } : null }
          : {}),
        version: row.version + 1,
      };
      this.put(next);
      if (this.loseNextAnswer) {
        this.loseNextAnswer = false;
        throw new NetworkError('answer lost');
      }
      // Like the API: a PATCH answers the plain worklist row, without the device feed's reasons.
      const { scope: _scope, priorOf: _priorOf, openedAt: _openedAt, ...plain } = next as DeviceStudy;
      return plain as T;
    }
    throw new Error(`fake server: no route ${method} ${path}`);
  };
}

/** A signed-in attending as the API's session answers describe them (API client and session tests). */
export const TEST_USER = {
  id: '00000000-0000-4000-8000-000000000002',
  email: 'radiologist@pacs.local',
  name: 'Radiologist',
  role: 'attending',
  active: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  providerId: '',
  approvalPending: false,
} satisfies User;

export const jsonResponse = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
