/**
 * The session store at start-up and on reconnect: a refresh that fails for any reason but the
 * server refusing it (401) keeps the device's session (offline), so a lost refresh response on
 * flaky Wi-Fi never signs the radiologist out. At start-up the device's data is sealed: the PIN
 * opens it offline; without a PIN it stays locked until the server confirms the session.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/client';
import { closeAllVaults, vaultDbName, vaultFor } from '../device/vault/vault';
import { jsonResponse, TEST_USER } from '../test/fake-server';
import { NO_PIN_MESSAGE, session } from './session';

const user = TEST_USER;
const json = jsonResponse;

type Answer = () => Promise<Response>;
const lost: Answer = async () => {
  throw new TypeError('Failed to fetch');
};
const serverError: Answer = async () => json(500, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
const refused: Answer = async () =>
  json(401, { statusCode: 401, error: 'Unauthorized', message: 'refresh token reused', code: 'REFRESH_REUSED' });
const DEVICE_KEY = 'k'.repeat(43);
const PIN = '271828';
const confirmed: Answer = async () =>
  json(200, { accessToken: 'access', tokenType: 'Bearer', expiresIn: 900, user, deviceKey: DEVICE_KEY });

/** An earlier online session set a PIN on this device; then the page is gone (a reload). */
async function pinSetEarlier() {
  const vault = vaultFor(user.id);
  await vault.unlockWithServerKey(DEVICE_KEY, Date.now() + 3_600_000);
  await vault.setPin(PIN, Date.now() + 3_600_000);
  closeAllVaults();
}

function answerRefreshWith(answer: Answer) {
  api.fetchImpl = async (input) => {
    if (!String(input).endsWith('/api/auth/refresh')) throw new Error(`unexpected request ${String(input)}`);
    return answer();
  };
}

const originalFetch = api.fetchImpl;
beforeEach(async () => {
  closeAllVaults();
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(vaultDbName(user.id));
    req.onsuccess = req.onerror = resolve;
  });
  localStorage.clear();
  // Confirmed an hour ago: well inside the offline limit.
  localStorage.setItem('pacs.lastSession', JSON.stringify({ user, verifiedAt: new Date(Date.now() - 3_600_000).toISOString() }));
  api.clear(false);
});
afterEach(() => {
  api.fetchImpl = originalFetch;
});

describe('start-up with a session on this device', () => {
  it.each([
    ['the network loses the refresh', lost],
    ['the server fails', serverError],
  ])('asks for the PIN when %s, and the PIN opens the device offline', async (_case, answer) => {
    await pinSetEarlier();
    answerRefreshWith(answer);
    await session.boot();
    expect(session.get()).toMatchObject({ mode: 'pin', user: { id: user.id } });
    expect(await session.unlockWithPin('000000')).toMatchObject({ kind: 'wrong' });
    expect(session.get().mode).toBe('pin');
    expect(await session.unlockWithPin(PIN)).toEqual({ kind: 'unlocked' });
    expect(session.get()).toMatchObject({ mode: 'offline', user: { id: user.id } });
    expect(vaultFor(user.id).unlocked).toBe(true);
  });

  it('stays locked, saying why, when there is no PIN on the device', async () => {
    answerRefreshWith(lost);
    await session.boot();
    expect(session.get()).toMatchObject({ mode: 'locked', user: { id: user.id }, message: NO_PIN_MESSAGE });
    expect(vaultFor(user.id).unlocked).toBe(false);
  });

  it('opens the vault with the key the server sends', async () => {
    answerRefreshWith(confirmed);
    await session.boot();
    expect(session.get().mode).toBe('online');
    expect(vaultFor(user.id).get()).toMatchObject({ kind: 'unlocked', via: 'server' });
  });

  it('signs out when the server refuses the refresh', async () => {
    answerRefreshWith(refused);
    await session.boot();
    expect(session.get()).toMatchObject({ mode: 'anonymous', user: null });
  });
});

describe('reconnecting from offline', () => {
  beforeEach(async () => {
    await pinSetEarlier();
    answerRefreshWith(lost);
    await session.boot();
    await session.unlockWithPin(PIN);
    expect(session.get().mode).toBe('offline');
  });

  it('stays offline while refreshes are lost or fail, and goes online once one gets through', async () => {
    for (const answer of [lost, serverError]) {
      answerRefreshWith(answer);
      await session.reconnect();
      expect(session.get()).toMatchObject({ mode: 'offline', user: { id: user.id } });
    }
    answerRefreshWith(confirmed);
    await session.reconnect();
    expect(session.get()).toMatchObject({ mode: 'online', user: { id: user.id } });
  });

  it('ends the session when the server refuses the refresh', async () => {
    answerRefreshWith(refused);
    await session.reconnect();
    expect(session.get().mode).toBe('anonymous');
  });
});
