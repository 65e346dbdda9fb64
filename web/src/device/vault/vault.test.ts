/**
 * The device vault on fake-indexeddb with Node's WebCrypto: the data key is stored only wrapped
 * (never as a key object or raw bytes), opens with the server's key or the PIN, not with another
 * server key or a wrong PIN; wrong PINs are counted before each try and the fifth wipes; the PIN
 * copy dies at the offline limit.
 */
import 'fake-indexeddb/auto';
import Dexie from 'dexie';
import { beforeEach, describe, expect, it } from 'vitest';
import { openJson, sealJson } from './sealed';
import { DeviceVault, PIN_ATTEMPTS, vaultDbName } from './vault';

const USER = '44444444-4444-4444-8444-444444444444';
const SERVER_KEY = 'A'.repeat(43);
const OTHER_SERVER_KEY = 'B'.repeat(43);
const PIN = '493817';

let clock: number;
let discarded: string[];
const vault = () =>
  new DeviceVault(USER, {
    iterations: 1000,
    now: () => clock,
    discard: async (userId) => {
      discarded.push(userId);
    },
  });

beforeEach(async () => {
  clock = Date.parse('2026-12-04T10:00:00Z');
  discarded = [];
  await Dexie.delete(vaultDbName(USER));
});

describe('the device vault', () => {
  it('creates the data key under the server key and opens it again in a new page; sealed data round-trips', async () => {
    const first = vault();
    await first.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    const sealed = await sealJson(first.dataKey(), { patientName: 'DOE^JANE' }, 'study:1');
    first.close();

    const second = vault();
    expect(second.unlocked).toBe(false);
    expect(() => second.dataKey()).toThrow(/locked/);
    await second.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    expect(await openJson(second.dataKey(), sealed, 'study:1')).toEqual({ patientName: 'DOE^JANE' });
    // Bound to its record: the same ciphertext under another record's name does not open.
    await expect(openJson(second.dataKey(), sealed, 'study:2')).rejects.toThrow();
    expect(discarded).toEqual([USER]); // only when the key was first made
    second.close();
  });

  it('stores only wrapped bytes: no key object and nothing that opens without the server key or PIN', async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    await v.setPin(PIN, clock + 3_600_000);
    v.close();
    const raw = new Dexie(vaultDbName(USER));
    raw.version(1).stores({ copies: 'id' });
    const rows = await raw.table('copies').toArray();
    raw.close();
    expect(rows.map((r) => r.id).sort()).toEqual(['pin', 'server']);
    for (const row of rows) {
      for (const value of Object.values(row)) expect(value).not.toBeInstanceOf(CryptoKey);
      expect(row.wrapped).toBeInstanceOf(ArrayBuffer);
      expect(row.wrapped.byteLength).toBe(32 + 16); // a 256-bit key and the GCM tag
    }
  });

  it('another server key cannot open it: the old data is discarded and a new key made', async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    const sealed = await sealJson(v.dataKey(), 'x', 'r');
    v.close();
    discarded = [];
    const w = vault();
    await w.unlockWithServerKey(OTHER_SERVER_KEY, clock + 3_600_000);
    expect(discarded).toEqual([USER]);
    await expect(openJson(w.dataKey(), sealed, 'r')).rejects.toThrow();
    w.close();
  });

  it('opens with the PIN offline; a wrong PIN counts down, a right one resets the count', async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    await v.setPin(PIN, clock + 3_600_000);
    const sealed = await sealJson(v.dataKey(), 'report text', 'r');
    v.close();

    const offline = vault();
    expect(await offline.pinCopy()).toEqual({ notAfter: clock + 3_600_000, attemptsLeft: PIN_ATTEMPTS });
    expect(await offline.unlockWithPin('000000')).toEqual({ kind: 'wrong', attemptsLeft: PIN_ATTEMPTS - 1 });
    expect(offline.unlocked).toBe(false);
    expect(await offline.unlockWithPin(PIN)).toEqual({ kind: 'unlocked' });
    expect(await openJson(offline.dataKey(), sealed, 'r')).toBe('report text');
    expect(offline.get()).toMatchObject({ kind: 'unlocked', via: 'pin' });
    expect((await offline.pinCopy())?.attemptsLeft).toBe(PIN_ATTEMPTS);
    // Opened by PIN, the vault cannot set another PIN (that needs the server).
    await expect(offline.setPin('111111', clock + 1)).rejects.toThrow(/sign in/);
    offline.close();
  });

  it(`the ${PIN_ATTEMPTS}th wrong PIN in a row wipes the user's data and the vault`, async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 3_600_000);
    await v.setPin(PIN, clock + 3_600_000);
    v.close();
    discarded = [];
    const thief = vault();
    for (let i = 1; i < PIN_ATTEMPTS; i++) expect((await thief.unlockWithPin(`00000${i}`)).kind).toBe('wrong');
    expect(await thief.unlockWithPin('999999')).toEqual({ kind: 'wiped' });
    expect(discarded).toEqual([USER]);
    // Even the right PIN opens nothing now.
    expect(await thief.unlockWithPin(PIN)).toEqual({ kind: 'no-pin' });
    thief.close();
  });

  it('the PIN copy dies at the offline limit; a confirmation by the server extends it', async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 1000);
    await v.setPin(PIN, clock + 1000);
    clock += 500;
    await v.unlockWithServerKey(SERVER_KEY, clock + 1000); // a refresh: the limit counts from now
    v.close();
    clock += 900;
    const later = vault();
    expect(await later.unlockWithPin(PIN)).toEqual({ kind: 'unlocked' });
    later.close();
    clock += 200;
    const tooLate = vault();
    expect(await tooLate.unlockWithPin(PIN)).toEqual({ kind: 'expired' });
    expect(await tooLate.pinCopy()).toBeNull();
    tooLate.close();
  });

  it('refuses a PIN shorter than six characters', async () => {
    const v = vault();
    await v.unlockWithServerKey(SERVER_KEY, clock + 1000);
    await expect(v.setPin('12345', clock + 1000)).rejects.toThrow(/at least 6/);
    v.close();
  });
});
