/**
 * Logout ends the access token too, not only the refresh cookie: the token's session id is
 * refused from then on, on this instance, on another instance sharing Redis (told at once, or
 * when it starts later), and after a restart without Redis.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../scripts/redis.mjs';
import { buildApp } from '../src/app';
import { bearer, createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';

const me = (app: FastifyInstance, token: string) => app.inject({ url: '/api/auth/me', headers: bearer(token) });

async function loginAndLogout(t: TestApp, via: FastifyInstance = t.app, withCookie = true) {
  const user = await t.userWithToken('attending');
  const login = await t.login(user.email, TEST_PASSWORD);
  expect(login.statusCode).toBe(200);
  const token: string = login.json().accessToken;
  expect((await me(via, token)).statusCode).toBe(200);
  const logout = await via.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: bearer(token),
    ...(withCookie ? { cookies: { pacs_refresh: refreshCookieOf(login)! } } : {}),
  });
  expect(logout.statusCode).toBe(200);
  return { token, user };
}

describe('one instance', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t?.close());

  it.each([
    ['with the refresh cookie', true],
    ['without the refresh cookie', false],
  ])('after logout (%s) the same access token gets 401 SESSION_ENDED', async (_label, withCookie) => {
    const { token } = await loginAndLogout(t, t.app, withCookie);
    const after = await me(t.app, token);
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('SESSION_ENDED');
    const worklist = await t.app.inject({ url: '/api/studies', headers: bearer(token) });
    expect(worklist.statusCode).toBe(401);
  });

  it('other sessions of the same user keep working', async () => {
    const user = await t.userWithToken('resident');
    const first = (await t.login(user.email, TEST_PASSWORD)).json().accessToken;
    const second = (await t.login(user.email, TEST_PASSWORD)).json().accessToken;
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(first) })).statusCode).toBe(200);
    expect((await me(t.app, first)).statusCode).toBe(401);
    expect((await me(t.app, second)).statusCode).toBe(200);
  });

  it('a restarted instance still refuses a token logged out before the restart (read from the database)', async () => {
    const { token } = await loginAndLogout(t);
    const restarted = await buildApp(t.config);
    try {
      expect((await me(restarted, token)).statusCode).toBe(401);
    } finally {
      await restarted.close();
    }
  });
});

describe('two instances sharing Redis', () => {
  let redis: RedisServer;
  let a: TestApp;
  let b: FastifyInstance;
  beforeAll(async () => {
    redis = await startRedis();
    a = await createTestApp({ PACS_REDIS_URL: redis.url });
    b = await buildApp(a.config);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.kill();
  });

  it('logout on A makes the token refused on B', async () => {
    const { token } = await loginAndLogout(a, a.app);
    await expect.poll(async () => (await me(b, token)).statusCode, { timeout: 5000 }).toBe(401);
    expect((await me(b, token)).json().code).toBe('SESSION_ENDED');
  });

  it('logout on B makes the token refused on A', async () => {
    const { token } = await loginAndLogout(a, b);
    await expect.poll(async () => (await me(a.app, token)).statusCode, { timeout: 5000 }).toBe(401);
  });

  it('an instance started after the logout learns it from Redis', async () => {
    const { token } = await loginAndLogout(a, a.app);
    // A database of its own: only Redis can tell this instance about the logout.
    const other = await createTestApp({ PACS_REDIS_URL: redis.url, PACS_JWT_SECRET: a.config.jwtSecret });
    try {
      await a.app.db.models.User.findAll({ raw: true }).then((users) =>
        other.app.db.models.User.bulkCreate(users, { ignoreDuplicates: true }),
      );
      await expect.poll(async () => (await me(other.app, token)).json().code, { timeout: 5000 }).toBe('SESSION_ENDED');
    } finally {
      await other.close();
    }
  });
});
