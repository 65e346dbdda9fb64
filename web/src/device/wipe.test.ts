/**
 * The device identity and the wipe of a revoked device, on fake-indexeddb: every database of the
 * app goes (a user's worklist database and a report copy), the report counts what was there and
 * names the device; a report the network lost is kept and sent at the next attempt, and the
 * identity is renewed only once the server has it. The server is a stand-in for the one endpoint.
 */
import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/client';
import { testDataKey } from '../test/data-key';
import { DB_PREFIX, dbNameFor, openWorklistDb, rememberDb } from './db';
import { adoptDeviceId, deviceIdentity, renewDeviceIdentity } from './identity';
import { sendPendingWipeReport, wipeDevice } from './wipe';

const USER = '33333333-3333-4333-8333-333333333333';
const appDatabases = async () => (await Dexie.getDatabaseNames()).filter((name) => name.startsWith(DB_PREFIX));

let reports: unknown[];
let networkDown: boolean;
const realFetch = api.fetchImpl;
beforeEach(() => {
  localStorage.clear();
  reports = [];
  networkDown = false;
  api.fetchImpl = async (input, init) => {
    if (networkDown) throw new TypeError('Failed to fetch');
    expect(String(input)).toBe('/api/auth/device/wipe-report');
    reports.push(JSON.parse(String(init?.body)));
    return new Response(JSON.stringify({ wipedAt: new Date().toISOString() }), { headers: { 'content-type': 'application/json' } });
  };
});
afterEach(() => {
  api.fetchImpl = realFetch;
});

describe('device identity', () => {
  it('is made once: a UUID and 32 random bytes in base64url; the server may give another id, the secret stays', () => {
    const first = deviceIdentity();
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deviceIdentity()).toEqual(first);
    const assigned = crypto.randomUUID();
    adoptDeviceId(assigned);
    expect(deviceIdentity()).toEqual({ id: assigned, secret: first.secret });
    adoptDeviceId('not-an-id');
    expect(deviceIdentity().id).toBe(assigned);
    expect(renewDeviceIdentity().secret).not.toBe(first.secret);
  });

  it('a damaged stored identity is replaced by a new one', () => {
    localStorage.setItem('pacs.device', '{"id":"x","secret":"short"}');
    expect(deviceIdentity().secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    localStorage.setItem('pacs.device', 'not json');
    expect(deviceIdentity().id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('wiping a revoked device', () => {
  it('deletes every database of the app, counts what was there, reports it with the identity, then renews the identity', async () => {
    const db = openWorklistDb(USER, testDataKey);
    rememberDb(USER);
    await db.studies.bulkPut([{ id: 'a' }, { id: 'b' }, { id: 'c' }] as never[]);
    await db.offlineStudies.bulkPut([{ id: 'a' }, { id: 'b' }] as never[]);
    const copy = new Dexie(`${dbNameFor(USER)}.report.r1`);
    copy.version(1).stores({ updates: '++id' });
    await copy.open();
    copy.close();
    localStorage.setItem('pacs.lastSession', '{"user":{"id":"x"}}');
    const identity = deviceIdentity();

    const summary = await wipeDevice();
    expect(summary).toEqual({ databases: 2, studies: 2, reports: 1, worklistRows: 3, caches: 0 });
    expect(await appDatabases()).toEqual([]);
    expect(localStorage.getItem('pacs.lastSession')).toBeNull();
    expect(reports).toEqual([{ device: identity, wiped: summary }]);
    expect(deviceIdentity().secret).not.toBe(identity.secret);
  });

  it('a report the network lost is kept, and the identity with it, until it gets through', async () => {
    const identity = deviceIdentity();
    networkDown = true;
    await wipeDevice();
    expect(reports).toEqual([]);
    expect(deviceIdentity()).toEqual(identity);
    networkDown = false;
    expect(await sendPendingWipeReport()).toBe(true);
    expect(reports).toEqual([{ device: identity, wiped: { databases: 0, studies: 0, reports: 0, worklistRows: 0, caches: 0 } }]);
    expect(deviceIdentity().secret).not.toBe(identity.secret);
    expect(await sendPendingWipeReport()).toBe(true);
    expect(reports).toHaveLength(1);
  });
});
