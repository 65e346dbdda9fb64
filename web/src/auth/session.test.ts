/**
 * The session store at start-up and on reconnect: a refresh that fails for any reason but the
 * server refusing it (401) keeps the device's session (offline), so a lost refresh response on
 * flaky Wi-Fi never signs the radiologist out.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api/client';
import { jsonResponse, TEST_USER } from '../test/fake-server';
import { session } from './session';

const user = TEST_USER;
const json = jsonResponse;

type Answer = () => Promise<Response>;
const lost: Answer = async () => {
  throw new TypeError('Failed to fetch');
};
const serverError: Answer = async () => json(500, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
const refused: Answer = async () =>
  json(401, { statusCode: 401, error: 'Unauthorized', message: 'refresh token reused', code: 'REFRESH_REUSED' });
const confirmed: Answer = async () => json(200, { accessToken: 'access', tokenType: 'Bearer', expiresIn: 900, user });

function answerRefreshWith(answer: Answer) {
  api.fetchImpl = async (input) => {
    if (!String(input).endsWith('/api/auth/refresh')) throw new Error(`unexpected request ${String(input)}`);
    return answer();
  };
}

const originalFetch = api.fetchImpl;
beforeEach(() => {
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
  ])('stays signed in (offline) when %s', async (_case, answer) => {
    answerRefreshWith(answer);
    await session.boot();
    expect(session.get()).toMatchObject({ mode: 'offline', user: { id: user.id } });
  });

  it('signs out when the server refuses the refresh', async () => {
    answerRefreshWith(refused);
    await session.boot();
    expect(session.get()).toMatchObject({ mode: 'anonymous', user: null });
  });
});

describe('reconnecting from offline', () => {
  beforeEach(async () => {
    answerRefreshWith(lost);
    await session.boot();
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
