/**
 * Several API instances behind one proxy (issue "Production deployment…", scale-out): two real
 * API apps on one database and a real Debian redis-server. The principal cache's TTL is made
 * long here, so only the cluster bus can explain what instance B learns from instance A.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../scripts/redis.mjs';
import { buildApp } from '../src/app';
import { CLUSTER_CHANNEL } from '../src/plugins/cluster-bus';
import { changeSequenceOf } from '../src/worklist/change-feed';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import { waitFor } from './support/sync-server';

const LONG_TTL = 10 * 60_000;

let redis: RedisServer;
let probe: Redis;
let a: TestApp;
let b: FastifyInstance;

beforeAll(async () => {
  redis = await startRedis();
  a = await createTestApp({ PACS_REDIS_URL: redis.url, PACS_LOGIN_RATE_PER_MINUTE: '3' }, { principalCacheTtlMs: LONG_TTL });
  b = await buildApp(a.config, { principalCacheTtlMs: LONG_TTL });
  probe = new Redis(redis.url);
  probe.on('error', () => {}); // Redis is killed on purpose in the last test
  // Both instances must be subscribed before anything is published, or a message is simply missed.
  await waitFor(
    async () => ((await probe.pubsub('NUMSUB', CLUSTER_CHANNEL)) as [string, number])[1] === 2,
    'both instances subscribed',
    10_000,
  );
});

afterAll(async () => {
  probe?.disconnect();
  await b?.close();
  await a?.close();
  await redis?.kill();
});

describe('two API instances sharing Redis', () => {
  it('a user deactivated through A is refused by B although B had them cached', async () => {
    const admin = await a.userWithToken('admin');
    const user = await a.userWithToken('attending');
    const me = () => b.inject({ url: '/api/auth/me', headers: bearer(user.token) });
    expect((await me()).statusCode).toBe(200); // B caches the principal for LONG_TTL
    const deactivated = await a.app.inject({
      method: 'PATCH',
      url: `/api/users/${user.id}`,
      headers: bearer(admin.token),
      payload: { active: false },
    });
    expect(deactivated.statusCode).toBe(200);
    await expect.poll(async () => (await me()).statusCode, { timeout: 5000 }).toBe(401);
  });

  it('counts login attempts across instances: the limit holds however requests are spread', async () => {
    const attempt = (app: FastifyInstance) =>
      app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'nobody@test.local', password: 'wrong-password-1' } });
    const codes = [];
    for (const app of [a.app, b, a.app, b]) codes.push((await attempt(app)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429]);
  });

  it("a worklist change committed through A advances B's change sequence (its page cache and live nudges)", async () => {
    const seen: number[] = [];
    const stop = changeSequenceOf(b.db.models).onAdvance((seq) => seen.push(seq));
    try {
      const radiologist = await a.userWithToken('attending');
      const study = await seedStudy(a.app);
      const patched = await a.app.inject({
        method: 'PATCH',
        url: `/api/studies/${study.id}`,
        headers: bearer(radiologist.token),
        payload: { priority: 'urgent' },
      });
      expect(patched.statusCode).toBe(200);
      const counter = await a.app.db.models.Counter.findByPk('worklist', { raw: true });
      await expect.poll(() => seen.at(-1), { timeout: 5000 }).toBe(Number(counter!.value));
    } finally {
      stop();
    }
  });

  it('keeps serving when Redis goes away: logins neither fail nor hang', async () => {
    const user = await a.userWithToken('resident');
    await redis.kill();
    const login = await b.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: 'correct-horse-battery' },
    });
    expect(login.statusCode).toBe(200);
    expect((await b.inject({ url: '/api/auth/me', headers: bearer(login.json().accessToken) })).statusCode).toBe(200);
  });
});
