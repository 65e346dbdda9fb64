/**
 * Failed logins slow down the one who fails, not the account's owner: a back-off per client
 * address and per (account, address) that doubles after a few failures, and a short capped one
 * per account against guessing from many addresses. Unknown accounts are answered exactly like
 * known ones. The client address is the socket's unless the socket is a trusted proxy.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestApp, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    PACS_LOGIN_MAX_FAILURES: '3',
    PACS_LOGIN_BACKOFF_MAX_SECONDS: '600',
    PACS_LOGIN_RATE_PER_MINUTE: '1000',
    PACS_TRUST_PROXY: 'true',
  });
});
afterAll(async () => t?.close());
// A stopped clock (Date only): waits end when a test moves the clock, never because the machine is slow.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
});
afterEach(() => {
  vi.useRealTimers();
});

let n = 0;
const next = () => {
  n += 1;
  return n;
};
const address = () => `198.51.100.${next() % 250}`;

function login(email: string, password: string, from: string, forwardedFor?: string) {
  return t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password },
    remoteAddress: from,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  });
}

/** What a client sees, without what differs per request. */
const visible = (r: LightMyRequestResponse) => {
  const { requestId: _id, ...body } = r.json();
  return { status: r.statusCode, body, retryAfter: r.headers['retry-after'] };
};

describe('flood from one address', () => {
  it.each([
    ['a wrong-password flood on the same account', (victim: string) => victim],
    ['a flood on many other accounts', () => `someone-${next()}@pacs.local`],
  ])('%s from A does not stop the owner signing in from B', async (_label, target) => {
    const victim = await t.userWithToken('attending');
    const attacker = address();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await login(target(victim.email), 'wrong-password-x', attacker)).statusCode);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    // The attacker is held back even with the right password (no password is checked while waiting)…
    const attackerRight = await login(victim.email, TEST_PASSWORD, attacker);
    expect(attackerRight.statusCode).toBe(429);
    expect(attackerRight.json().code).toBe('LOGIN_THROTTLED');
    // …while the owner, elsewhere, is not held back at all.
    const owner = await login(victim.email, TEST_PASSWORD, address());
    expect(owner.statusCode).toBe(200);
  });

  it('the back-off doubles up to the cap and is announced in Retry-After; refused attempts do not extend it', async () => {
    const user = await t.userWithToken('resident');
    const from = address();
    for (let i = 0; i < 3; i++) expect((await login(user.email, 'wrong-password-x', from)).statusCode).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const held = await login(user.email, 'wrong-password-x', from);
      expect(held.statusCode).toBe(429);
      expect((await login(user.email, 'wrong-password-x', from)).headers['retry-after']).toBe(held.headers['retry-after']);
      const wait = Number(held.headers['retry-after']);
      waits.push(wait);
      vi.setSystemTime(Date.now() + wait * 1000);
      expect((await login(user.email, 'wrong-password-x', from)).statusCode).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
    // The right password from elsewhere is not held back by any of it.
    expect((await login(user.email, TEST_PASSWORD, address())).statusCode).toBe(200);
  });

  it('guessing one account from many addresses is slowed for at most a minute', async () => {
    const user = await t.userWithToken('resident');
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 40; i++) last = await login(user.email, 'wrong-password-x', address());
    expect(last!.statusCode).toBe(429);
    expect(Number(last!.headers['retry-after'])).toBeLessThanOrEqual(60);
  });
});

describe('unknown accounts are answered like known ones', () => {
  it.each([
    ['wrong password', async () => (await t.userWithToken('attending')).email],
    [
      'deactivated, wrong password',
      async () => {
        const user = await t.userWithToken('attending');
        await t.app.db.models.User.update({ active: false }, { where: { id: user.id } });
        return user.email;
      },
    ],
  ])('%s vs unknown: same statuses, bodies and Retry-After through the back-off', async (_label, knownEmail) => {
    const known = await knownEmail();
    const unknown = `nobody-${n}@pacs.local`;
    const [fromKnown, fromUnknown] = [address(), address()];
    for (let i = 0; i < 6; i++) {
      const a = visible(await login(known, 'wrong-password-x', fromKnown));
      const b = visible(await login(unknown, 'wrong-password-x', fromUnknown));
      expect(b, `attempt ${i + 1}`).toEqual(a);
    }
  });

  it('takes comparable time: the password of an unknown account is hashed too', async () => {
    const known = (await t.userWithToken('attending')).email;
    const time = async (email: string) => {
      const started = performance.now();
      await login(email, 'wrong-password-x', address());
      return performance.now() - started;
    };
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const knownTimes: number[] = [];
    const unknownTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      knownTimes.push(await time(known));
      unknownTimes.push(await time(`nobody-timing-${i}@pacs.local`));
    }
    const ratio = median(unknownTimes) / median(knownTimes);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe('client address', () => {
  it.each([
    ['an untrusted peer forging X-Forwarded-For', '203.0.113.9', true],
    ['a trusted proxy forwarding one client', '127.0.0.1', false],
  ])('%s: still held back after 8 failures', async (_label, peer, limited) => {
    const user = await t.userWithToken('resident');
    const client = address();
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 8; i++) {
      // Behind the trusted proxy all attempts come from one client; the forger invents a new one each time.
      const forwarded = peer === '127.0.0.1' ? client : `192.0.2.${i + 1}`;
      last = await login(user.email, 'wrong-password-x', peer, forwarded);
    }
    expect(last!.statusCode).toBe(429);
    if (limited) {
      // Audited under the peer's address, never under an invented one.
      const invented = Array.from({ length: 8 }, (_, i) => `192.0.2.${i + 1}`);
      expect(await t.app.db.models.AuditLog.count({ where: { networkAddress: invented } })).toBe(0);
      expect(await t.app.db.models.AuditLog.count({ where: { networkAddress: peer } })).toBeGreaterThan(0);
    }
  });

  it('behind a trusted proxy, a flood from one client does not stop another client', async () => {
    const user = await t.userWithToken('resident');
    for (let i = 0; i < 30; i++) await login(user.email, 'wrong-password-x', '127.0.0.1', '192.0.2.200');
    expect((await login(user.email, TEST_PASSWORD, '127.0.0.1', '192.0.2.201')).statusCode).toBe(200);
  });
});
