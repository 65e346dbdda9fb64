/**
 * Telling storage the browser removed from a deliberate wipe, on fake-indexeddb: the note that the
 * device holds a user's rows survives in localStorage; a workspace opening without a sync cursor
 * under that note was evicted (said once); every deliberate wipe removes the note first.
 */
import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { beforeEach, describe, expect, it } from 'vitest';
import { testDataKey } from '../test/data-key';
import { dbNameFor, openWorklistDb, setMeta, wipeAllWorklistDbs } from './db';
import { checkEviction, evictionNotice, forgetHeld, markHeld } from './eviction';
import { DeviceVault } from './vault/vault';

const USER = '55555555-5555-4555-8555-555555555555';
const OTHER = '66666666-6666-4666-8666-666666666666';

beforeEach(async () => {
  localStorage.clear();
  evictionNotice.dismiss();
  await Dexie.delete(dbNameFor(USER));
});

async function syncedDevice() {
  const db = openWorklistDb(USER, testDataKey);
  await setMeta(db, 'cursor', '42');
  markHeld(USER);
  return db;
}

describe('storage removed by the browser', () => {
  it('a database without its cursor under the note is an eviction, told once', async () => {
    const db = await syncedDevice();
    expect(await checkEviction(db, USER)).toBeNull();
    db.close();
    await Dexie.delete(dbNameFor(USER)); // what the browser's eviction does; localStorage stays
    const reopened = openWorklistDb(USER, testDataKey);
    const notice = await checkEviction(reopened, USER);
    expect(notice?.heldSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(evictionNotice.get()).toEqual(notice);
    // Once: the next workspace opening (still without rows) says nothing again.
    evictionNotice.dismiss();
    expect(await checkEviction(reopened, USER)).toBeNull();
    reopened.close();
  });

  it('a device that never held the user’s rows (a first sign-in) is not evicted', async () => {
    const db = openWorklistDb(USER, testDataKey);
    expect(await checkEviction(db, USER)).toBeNull();
    db.close();
  });

  it('a logout (every user’s databases wiped) removes the notes first', async () => {
    (await syncedDevice()).close();
    markHeld(OTHER);
    await wipeAllWorklistDbs();
    const db = openWorklistDb(USER, testDataKey);
    expect(await checkEviction(db, USER)).toBeNull();
    expect(localStorage.getItem(`pacs.held.${OTHER}`)).toBeNull();
    db.close();
  });

  it('the fifth wrong PIN wipes on purpose: no eviction notice afterwards', async () => {
    (await syncedDevice()).close();
    let clock = 1_000_000;
    const vault = () => new DeviceVault(USER, { iterations: 1_000, now: () => clock, discard: (id) => Dexie.delete(dbNameFor(id)) });
    const v = vault();
    await v.unlockWithServerKey('A'.repeat(43), clock + 3_600_000);
    await v.setPin('493817', clock + 3_600_000);
    v.close();
    const thief = vault();
    let outcome = await thief.unlockWithPin('000001');
    while (outcome.kind === 'wrong') outcome = await thief.unlockWithPin('000001');
    expect(outcome.kind).toBe('wiped');
    thief.close();
    clock += 1;
    const db = openWorklistDb(USER, testDataKey);
    expect(await checkEviction(db, USER)).toBeNull();
    db.close();
  });

  it('forgetHeld without a user forgets every user’s note, and only those', () => {
    markHeld(USER);
    markHeld(OTHER);
    localStorage.setItem('pacs.device', 'kept');
    forgetHeld();
    expect(Object.keys(localStorage).sort()).toEqual(['pacs.device']);
  });
});
