/**
 * Refresh-token reuse grace: a rotated token presented again shortly after (its response was lost)
 * and before its successor was used gets a fresh token of the same family; anything else is still
 * reuse and revokes the family. Real database (SQLite, or PostgreSQL with PACS_TEST_DIALECT).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, MAX_GRACE_REISSUES, RefreshRejected, RefreshTokens, SUPERSEDED } from '../src/auth/refresh-tokens';
import { ConfigError, loadConfig } from '../src/config';
import { createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;
/** Grace of one second, for the "too late" case without a long wait. */
let short: TestApp;
beforeAll(async () => {
  [t, short] = await Promise.all([createTestApp(), createTestApp({ PACS_REFRESH_REUSE_GRACE_SECONDS: '1' })]);
});
afterAll(async () => {
  await Promise.all([t?.close(), short?.close()]);
});

const refresh = (app: TestApp, token: string) =>
  app.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: token } });

async function loggedIn(app: TestApp): Promise<{ userId: string; token: string }> {
  const user = await app.userWithToken('attending');
  return { userId: user.id, token: refreshCookieOf(await app.login(user.email, TEST_PASSWORD))! };
}

async function rowOf(app: TestApp, token: string) {
  const row = await app.app.db.models.RefreshToken.findOne({ where: { tokenHash: hashToken(token) }, raw: true });
  if (!row) throw new Error('no such token');
  return row;
}

async function liveTokens(app: TestApp, familyId: string) {
  return app.app.db.models.RefreshToken.findAll({ where: { familyId, usedAt: null, revokedAt: null }, raw: true });
}

async function rotatedCookie(app: TestApp, token: string): Promise<string> {
  const response = await refresh(app, token);
  expect(response.statusCode).toBe(200);
  return refreshCookieOf(response)!;
}

const auditFor = async (app: TestApp, userId: string) =>
  (await app.app.db.models.AuditLog.findAll({ where: { userId }, order: [['id', 'ASC']], raw: true })).map((row) => ({
    eventId: row.eventId,
    outcome: row.outcome,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
  }));

describe('refresh after a lost response (inside the grace window)', () => {
  it('accepts the rotated token once more, and the new token carries the session on', async () => {
    const { userId, token: first } = await loggedIn(t);
    const lost = await rotatedCookie(t, first); // the client never sees this one

    const retry = await refresh(t, first);
    expect(retry.statusCode).toBe(200);
    expect(retry.json().user.id).toBe(userId);
    const fresh = refreshCookieOf(retry)!;
    expect(fresh).not.toBe(lost);
    expect((await rowOf(t, fresh)).familyId).toBe((await rowOf(t, first)).familyId);

    const next = await refresh(t, fresh);
    expect(next.statusCode).toBe(200);
    expect(refreshCookieOf(next)).toBeTruthy();

    const audit = await auditFor(t, userId);
    const grace = audit.filter((a) => a.details.event === 'refresh-grace');
    expect(grace).toHaveLength(1);
    expect(grace[0]).toMatchObject({ eventId: 'UserAuthentication', outcome: 0 });
    expect(grace[0]!.details.rotatedMsAgo).toBeGreaterThanOrEqual(0);
    expect(audit.filter((a) => a.eventId === 'SecurityAlert')).toHaveLength(0);
  });

  it('kills the unused successor: presenting it later is reuse and revokes the family', async () => {
    const { userId, token: first } = await loggedIn(t);
    const lost = await rotatedCookie(t, first);
    const fresh = await rotatedCookie(t, first);

    expect(await rowOf(t, lost)).toMatchObject({ usedAt: null, revokedReason: SUPERSEDED });
    const familyId = (await rowOf(t, first)).familyId;
    expect((await liveTokens(t, familyId)).map((r) => r.tokenHash)).toEqual([hashToken(fresh)]);

    // Whoever holds the superseded token raced the holder of `fresh`: one of them is not the user.
    const stale = await refresh(t, lost);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().code).toBe('REFRESH_REUSED');
    expect(await liveTokens(t, familyId)).toHaveLength(0);
    expect((await refresh(t, fresh)).json().code).toBe('REFRESH_REVOKED');
    const alerts = (await auditFor(t, userId)).filter((a) => a.eventId === 'SecurityAlert');
    expect(alerts.map((a) => a.details.reuse)).toEqual(['superseded-token']);
  });

  it('survives several lost responses in a row, each retry replacing the last unused successor', async () => {
    const { token: first } = await loggedIn(t);
    await rotatedCookie(t, first);
    let latest = '';
    for (let i = 0; i < 3; i++) latest = await rotatedCookie(t, first);
    const familyId = (await rowOf(t, first)).familyId;
    expect((await liveTokens(t, familyId)).map((r) => r.tokenHash)).toEqual([hashToken(latest)]);
    expect((await refresh(t, latest)).statusCode).toBe(200);
  });
});

describe('replays that stay reuse', () => {
  it('revokes the family when the successor was already used', async () => {
    const { userId, token: first } = await loggedIn(t);
    const second = await rotatedCookie(t, first);
    const third = await rotatedCookie(t, second);

    const replay = await refresh(t, first);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('REFRESH_REUSED');
    expect(replay.cookies.find((c) => c.name === 'pacs_refresh')?.value).toBe('');
    expect((await refresh(t, third)).json().code).toBe('REFRESH_REVOKED');
    const alerts = (await auditFor(t, userId)).filter((a) => a.eventId === 'SecurityAlert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ outcome: 8, details: { reuse: 'successor-used' } });
  });

  it('revokes the family when the rotated token comes back after the window', async () => {
    const { userId, token: first } = await loggedIn(short);
    const second = await rotatedCookie(short, first);
    const usedAt = new Date((await rowOf(short, first)).usedAt!).getTime();
    // Wait until the one-second window has certainly closed, no longer.
    while (Date.now() <= usedAt + 1000) await new Promise((resolve) => setTimeout(resolve, usedAt + 1001 - Date.now()));

    const replay = await refresh(short, first);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('REFRESH_REUSED');
    expect((await refresh(short, second)).json().code).toBe('REFRESH_REVOKED');
    const alerts = (await auditFor(short, userId)).filter((a) => a.eventId === 'SecurityAlert');
    expect(alerts.map((a) => a.details.reuse)).toEqual(['outside-grace']);
  });
});

describe('simultaneous presentations leave at most one live chain', () => {
  /** The 200 answers' cookies, and which of them is the family's one live token. */
  async function outcome(app: TestApp, familyId: string, responses: LightMyRequestResponse[]) {
    for (const r of responses) expect([200, 401]).toContain(r.statusCode);
    const issued = responses.filter((r) => r.statusCode === 200).map((r) => refreshCookieOf(r)!);
    const live = await liveTokens(app, familyId);
    expect(live.length).toBeLessThanOrEqual(1);
    const survivors = issued.filter((token) => live.some((row) => row.tokenHash === hashToken(token)));
    expect(survivors).toHaveLength(live.length);
    return { issued, survivor: survivors[0] };
  }

  it('the same rotated token twice at once (two retries of a lost response)', async () => {
    for (let round = 0; round < 5; round++) {
      const { token: first } = await loggedIn(t);
      await rotatedCookie(t, first);
      const familyId = (await rowOf(t, first)).familyId;
      const { issued, survivor } = await outcome(t, familyId, await Promise.all([refresh(t, first), refresh(t, first)]));
      expect(issued.length).toBeGreaterThanOrEqual(1);
      expect((await refresh(t, survivor!)).statusCode).toBe(200);
    }
  });

  it('the same fresh token three times at once', async () => {
    for (let round = 0; round < 5; round++) {
      const { token } = await loggedIn(t);
      const familyId = (await rowOf(t, token)).familyId;
      const { issued, survivor } = await outcome(t, familyId, await Promise.all([1, 2, 3].map(() => refresh(t, token))));
      expect(issued.length).toBeGreaterThanOrEqual(1);
      expect((await refresh(t, survivor!)).statusCode).toBe(200);
    }
  });

  it('a replay of the rotated token racing the use of its successor revokes the family', async () => {
    for (let round = 0; round < 5; round++) {
      const { token: first } = await loggedIn(t);
      const second = await rotatedCookie(t, first);
      const familyId = (await rowOf(t, first)).familyId;
      // Whichever lands first, the other finds the chain taken (successor used, or superseded).
      await outcome(t, familyId, await Promise.all([refresh(t, first), refresh(t, second)]));
      expect(await liveTokens(t, familyId)).toHaveLength(0);
    }
  });
});

describe('RefreshTokens with an injected clock', () => {
  let clock = Date.now();
  const tokens = () => new RefreshTokens(t.app.db.models, 3600, () => clock);
  const rejection = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(RefreshRejected);
        return error as RefreshRejected;
      },
    );

  async function rotatedAt(when: number) {
    const user = await t.userWithToken('resident');
    clock = when;
    const issued = await tokens().issue(user.id);
    await tokens().rotate(issued.token, 30);
    return issued.token;
  }

  it('accepts the replay until the last millisecond of the window, and not at its end', async () => {
    const start = Date.now();
    const inside = await rotatedAt(start);
    clock = start + 30_000 - 1;
    expect((await tokens().rotate(inside, 30)).grace).toEqual({ rotatedMsAgo: 29_999 });

    const outside = await rotatedAt(start);
    clock = start + 30_000;
    expect(await rejection(tokens().rotate(outside, 30))).toMatchObject({ reason: 'reused', reuse: 'outside-grace' });
  });

  it('treats every replay as reuse when the grace is 0', async () => {
    const token = await rotatedAt(Date.now());
    expect(await rejection(tokens().rotate(token, 0))).toMatchObject({ reason: 'reused', reuse: 'grace-disabled' });
  });

  it(`re-issues at most ${MAX_GRACE_REISSUES} times for one rotated token`, async () => {
    const token = await rotatedAt(Date.now());
    for (let i = 0; i < MAX_GRACE_REISSUES; i++) expect((await tokens().rotate(token, 30)).grace).not.toBeNull();
    expect(await rejection(tokens().rotate(token, 30))).toMatchObject({ reason: 'reused', reuse: 'grace-exhausted' });
  });

  it('refuses the grace path to a deactivated user and revokes the family', async () => {
    const user = await t.userWithToken('resident');
    clock = Date.now();
    const issued = await tokens().issue(user.id);
    await tokens().rotate(issued.token, 30);
    await t.app.db.models.User.update({ active: false }, { where: { id: user.id } });
    expect(await rejection(tokens().rotate(issued.token, 30))).toMatchObject({ reason: 'inactive' });
    expect(await liveTokens(t, issued.familyId)).toHaveLength(0);
  });
});

describe('PACS_REFRESH_REUSE_GRACE_SECONDS', () => {
  it('defaults to 30 s, takes 0 to disable, and refuses more than 300 s', () => {
    expect(loadConfig({}).refreshReuseGraceSeconds).toBe(30);
    expect(loadConfig({ PACS_REFRESH_REUSE_GRACE_SECONDS: '0' }).refreshReuseGraceSeconds).toBe(0);
    expect(() => loadConfig({ PACS_REFRESH_REUSE_GRACE_SECONDS: '301' })).toThrow(ConfigError);
    expect(() => loadConfig({ PACS_REFRESH_REUSE_GRACE_SECONDS: '-1' })).toThrow(/PACS_REFRESH_REUSE_GRACE_SECONDS/);
  });
});
