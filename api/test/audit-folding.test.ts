/**
 * Anonymous refusals cannot fill the append-only audit table: repeats of the same refusal from
 * the same address within a window fold into one row with a count, written at the first
 * occurrence, plus one summary row at the window's end. Counts add up; another address's refusals
 * are still audited on their own, at once. Past a per-address budget, refusals turn into 429s.
 */
import { Op } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ PACS_AUDIT_FOLD_SECONDS: '2' });
});
afterAll(async () => t?.close());

const rowsFrom = async (address: string) =>
  (await t.app.db.models.AuditLog.findAll({ where: { networkAddress: address }, order: [['id', 'ASC']], raw: true })).map((row) => ({
    ...row,
    details: JSON.parse(row.details ?? '{}') as Record<string, unknown>,
  }));
const countOf = (rows: Awaited<ReturnType<typeof rowsFrom>>) => rows.reduce((sum, row) => sum + Number(row.details.count ?? 1), 0);

describe('anonymous refusals', () => {
  it.each([
    ['no token on the worklist', { url: '/api/studies?q=x' }, '203.0.113.10'],
    ['a forged token on the users list', { url: '/api/users', headers: bearer('eyJhbGciOiJIUzI1NiJ9.e30.forged') }, '203.0.113.11'],
    [
      'an unknown refresh token',
      { method: 'POST' as const, url: '/api/auth/refresh', cookies: { pacs_refresh: 'x'.repeat(43) } },
      '203.0.113.12',
    ],
  ])('400 × %s → a handful of rows whose counts add up to 400', async (_label, request, address) => {
    const responses = [];
    for (let i = 0; i < 400; i += 50) {
      responses.push(...(await Promise.all(Array.from({ length: 50 }, () => t.app.inject({ ...request, remoteAddress: address })))));
    }
    expect(responses.every((r) => r.statusCode === 401)).toBe(true);
    const immediately = await rowsFrom(address);
    expect(immediately.length).toBeGreaterThanOrEqual(1);
    expect(immediately.length).toBeLessThanOrEqual(3);
    // The summary of the repeats is written when the window closes.
    await expect.poll(async () => countOf(await rowsFrom(address)), { timeout: 20_000, interval: 250 }).toBe(400);
    const rows = await rowsFrom(address);
    expect(rows.length).toBeLessThanOrEqual(5);
    expect(rows.every((row) => row.outcome === 4 && row.userId === null)).toBe(true);
    expect(rows.some((row) => row.details.folded === true)).toBe(true);
  });

  it("a flood from one address does not hide another address's refusal", async () => {
    const flood = Promise.all(Array.from({ length: 200 }, () => t.app.inject({ url: '/api/studies', remoteAddress: '203.0.113.20' })));
    const other = await t.app.inject({ url: '/api/studies', remoteAddress: '203.0.113.21' });
    await flood;
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(other.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({ networkAddress: '203.0.113.21', outcome: 4 });
    await expect.poll(async () => countOf(await rowsFrom('203.0.113.20')), { timeout: 20_000, interval: 250 }).toBe(200);
  });

  it('past the per-address budget the rest are answered 429; a valid token from there and other addresses are not', async () => {
    const limited = await createTestApp({ PACS_ANONYMOUS_REFUSALS_PER_MINUTE: '20' });
    try {
      const flooder = '203.0.113.40';
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await limited.app.inject({ url: '/api/studies', remoteAddress: flooder })).statusCode);
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      const refused = await limited.app.inject({ url: '/api/studies', remoteAddress: flooder });
      expect(refused.statusCode).toBe(429);
      expect(refused.json().code).toBe('TOO_MANY_REFUSALS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      const colleague = await limited.userWithToken('attending');
      expect((await limited.app.inject({ url: '/api/studies', headers: bearer(colleague.token), remoteAddress: flooder })).statusCode).toBe(
        200,
      );
      expect((await limited.app.inject({ url: '/api/studies', remoteAddress: '203.0.113.41' })).statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it('a signed-in user’s refusals are not folded', async () => {
    const resident = await t.userWithToken('resident');
    const address = '203.0.113.30';
    for (let i = 0; i < 5; i++) {
      expect((await t.app.inject({ url: '/api/users', headers: bearer(resident.token), remoteAddress: address })).statusCode).toBe(403);
    }
    const rows = await t.app.db.models.AuditLog.findAll({ where: { networkAddress: address, userId: { [Op.ne]: null } }, raw: true });
    expect(rows).toHaveLength(5);
  });
});
