import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sign = (header: object, payload: object, secret: string) => {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
};
const now = () => Math.floor(Date.now() / 1000);
const me = (token: string) => t.app.inject({ url: '/api/auth/me', headers: bearer(token) });
const claimsFor = (id: string, role: string) => ({ sub: id, role, aud: 'pacs-api', iss: 'pacs-api', iat: now(), exp: now() + 600 });

describe('access token attacks are refused with 401 and audited', () => {
  it('rejects a missing or malformed Authorization header', async () => {
    expect((await t.app.inject({ url: '/api/auth/me' })).json().code).toBe('TOKEN_MISSING');
    expect((await t.app.inject({ url: '/api/auth/me', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
    expect((await me('not.a.jwt')).statusCode).toBe(401);
  });

  it("rejects alg 'none'", async () => {
    const user = await t.userWithToken('admin');
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsFor(user.id, 'admin'))}.`;
    const response = await me(token);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('TOKEN_INVALID');
  });

  it('rejects a tampered role (payload changed, signature kept)', async () => {
    const user = await t.userWithToken('resident');
    const [header, payload, signature] = user.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`;
    expect((await t.app.inject({ url: '/api/users', headers: bearer(forged) })).statusCode).toBe(401);
  });

  it('rejects a token signed with another key, another algorithm or for another audience', async () => {
    const user = await t.userWithToken('admin');
    expect(
      (await me(sign({ alg: 'HS256', typ: 'JWT' }, claimsFor(user.id, 'admin'), 'some-other-secret-of-enough-length'))).statusCode,
    ).toBe(401);
    expect((await me(sign({ alg: 'HS512', typ: 'JWT' }, claimsFor(user.id, 'admin'), t.config.jwtSecret))).statusCode).toBe(401);
    const otherAudience = { ...claimsFor(user.id, 'admin'), aud: 'pacs-sync' };
    expect((await me(sign({ alg: 'HS256', typ: 'JWT' }, otherAudience, t.config.jwtSecret))).statusCode).toBe(401);
    // Control: the same construction with the right key and claims is accepted.
    expect((await me(sign({ alg: 'HS256', typ: 'JWT' }, claimsFor(user.id, 'admin'), t.config.jwtSecret))).statusCode).toBe(200);
  });

  it('rejects an expired token', async () => {
    const user = await t.userWithToken('attending');
    const expired = { ...claimsFor(user.id, 'attending'), iat: now() - 1000, exp: now() - 10 };
    const response = await me(sign({ alg: 'HS256', typ: 'JWT' }, expired, t.config.jwtSecret));
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('TOKEN_EXPIRED');
  });

  it('rejects a token of a user who no longer exists', async () => {
    const token = sign({ alg: 'HS256', typ: 'JWT' }, claimsFor('7d0e7b1e-0000-4000-8000-000000000000', 'admin'), t.config.jwtSecret);
    expect((await me(token)).statusCode).toBe(401);
  });

  it('audits a refusal as a security alert with the request id', async () => {
    // A new address: repeats of one anonymous refusal from one address share a row (audit-folding.test.ts).
    const before = await t.app.db.models.AuditLog.count({ where: { eventId: 'SecurityAlert', outcome: 4 } });
    const response = await t.app.inject({ url: '/api/auth/me', headers: bearer('garbage.garbage.garbage'), remoteAddress: '192.0.2.77' });
    const after = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', outcome: 4 }, raw: true });
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({ requestId: response.headers['x-request-id'], networkAddress: '192.0.2.77' });
  });
});

describe('account changes take effect at the next request', () => {
  it('a deactivated user is refused at once, access and refresh alike', async () => {
    const user = await t.userWithToken('resident');
    const cookie = refreshCookieOf(await t.login(user.email, TEST_PASSWORD))!;
    expect((await me(user.token)).statusCode).toBe(200);
    const admin = await t.userWithToken('admin');
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/users/${user.id}`,
      headers: bearer(admin.token),
      payload: { active: false },
    });
    expect(patch.statusCode).toBe(200);
    const response = await me(user.token);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('ACCOUNT_INACTIVE');
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: cookie } })).statusCode).toBe(401);
  });

  it('a role change invalidates tokens carrying the old role; a refresh carries the new one', async () => {
    const user = await t.userWithToken('resident');
    const cookie = refreshCookieOf(await t.login(user.email, TEST_PASSWORD))!;
    const admin = await t.userWithToken('admin');
    await t.app.inject({ method: 'PATCH', url: `/api/users/${user.id}`, headers: bearer(admin.token), payload: { role: 'attending' } });
    const stale = await me(user.token);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().code).toBe('ROLE_CHANGED');
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: cookie } });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().user.role).toBe('attending');
    const payload = JSON.parse(Buffer.from(refreshed.json().accessToken.split('.')[1], 'base64url').toString());
    expect(payload.role).toBe('attending');
  });
});
