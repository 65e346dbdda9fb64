/**
 * Measurements on the device (fake-indexeddb, the API replaced at fetch): a change made offline is
 * stored, shown over the device's copy and sent in order when the connection returns; a create
 * whose answer was lost is sent again with the same id; a refused change is dropped, not retried.
 */
import 'fake-indexeddb/auto';
import type { Measurement } from '@pacs/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/client';
import { openWorklistDb, type WorklistDb } from '../device/db';
import { testDataKey } from '../test/data-key';
import { TEST_USER } from '../test/fake-server';
import { flushMeasurements, loadAnnotations, recordChange } from './measurement-outbox';

const USER = '44444444-4444-4444-8444-444444444444';
const STUDY = '55555555-5555-4555-8555-555555555555';
const ID = '66666666-6666-4666-8666-666666666666';

let db: WorklistDb;
let networkDown: boolean;
let refuse: boolean;
let sent: { method: string; path: string; body: unknown }[];
let stored: Measurement[];
const realFetch = api.fetchImpl;

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  api.adopt({ accessToken: 'access', tokenType: 'Bearer', expiresIn: 900, user: TEST_USER }, false);
  db = openWorklistDb(`${USER}-${Math.random()}`, testDataKey);
  networkDown = false;
  refuse = false;
  sent = [];
  stored = [];
  api.fetchImpl = async (input, init) => {
    if (networkDown) throw new TypeError('Failed to fetch');
    const path = String(input);
    const method = init?.method ?? 'GET';
    if (method === 'GET') return json({ items: path.endsWith('/measurements') ? stored : [] });
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    sent.push({ method, path, body });
    if (refuse) return json({ statusCode: 400, error: 'Bad Request', message: 'no', code: 'BAD_MEASUREMENT' }, 400);
    return method === 'DELETE' ? new Response(null, { status: 204 }) : json({ ...body, studyId: STUDY }, 201);
  };
});
afterEach(async () => {
  api.fetchImpl = realFetch;
  api.clear(false);
  db.close();
  await db.delete();
});

const create = {
  id: ID,
  tool: 'Length',
  seriesInstanceUid: '1.2.3',
  sopInstanceUid: '1.2.3.4',
  frame: 1,
  label: 'Lesion',
  points: [
    [1, 2],
    [3, 4],
  ],
  values: { length: 2.8 },
  units: { length: 'mm' },
};

describe('measurement outbox', () => {
  it('keeps offline changes on the device, shows them, and sends them in order when the connection returns', async () => {
    networkDown = true;
    await recordChange(db, { studyId: STUDY, kind: 'create', targetId: ID, body: create });
    await recordChange(db, { studyId: STUDY, kind: 'update', targetId: ID, body: { ...create, label: 'Node' } });
    await flushMeasurements(db);
    const offline = await loadAnnotations(db, STUDY, USER);
    expect(offline).toMatchObject({ fromDevice: true, pending: 2 });
    expect(offline.measurements).toEqual([expect.objectContaining({ id: ID, label: 'Node', mine: true, authorId: USER })]);

    networkDown = false;
    expect(await flushMeasurements(db)).toBe(2);
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual([
      `POST /api/studies/${STUDY}/measurements`,
      `PUT /api/studies/${STUDY}/measurements/${ID}`,
    ]);
    expect(sent[0]!.body).toMatchObject({ id: ID });
    expect(await db.measurementOps.count()).toBe(0);
  });

  it('a deleted measurement disappears from the device at once, before the server hears of it', async () => {
    stored = [{ ...create, studyId: STUDY, tool: 'Length' } as unknown as Measurement];
    expect((await loadAnnotations(db, STUDY, USER)).measurements).toHaveLength(1);
    networkDown = true;
    await recordChange(db, { studyId: STUDY, kind: 'delete', targetId: ID });
    expect((await loadAnnotations(db, STUDY, USER)).measurements).toHaveLength(0);
  });

  it('drops a change the server refuses instead of sending it for ever', async () => {
    refuse = true;
    await recordChange(db, { studyId: STUDY, kind: 'create', targetId: ID, body: { ...create, points: [[1, 2]] } });
    await flushMeasurements(db);
    expect(sent).toHaveLength(1);
    expect(await db.measurementOps.count()).toBe(0);
  });
});
