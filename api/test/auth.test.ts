import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ PACS_LOGIN_MAX_FAILURES: '3', PACS_LOGIN_BACKOFF_MAX_SECONDS: '600' });
});
afterAll(async () => t?.close());

const decodeJwt = (token: string) => {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString() || '{}'));
  return { header, payload };
};

const lastAudit = async () => (await t.app.db.models.AuditLog.findAll({ order: [['id', 'DESC']], limit: 1, raw: true }))[0]!;

describe('login', () => {
  it('answers an access token with the required claims and sets an httpOnly SameSite refresh cookie', async () => {
    const response = await t.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.user).toMatchObject({ email: ADMIN_EMAIL, role: 'admin', active: true });
    expect(body.user).not.toHaveProperty('passwordHash');
    const { header, payload } = decodeJwt(body.accessToken);
    expect(header.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: body.user.id, role: 'admin', aud: 'pacs-api', iss: 'pacs-api' });
    expect(payload.exp - payload.iat).toBe(t.config.accessTokenTtl);
    const cookie = response.cookies.find((c) => c.name === 'pacs_refresh');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });
    expect(Buffer.from(cookie!.value, 'base64url').length).toBeGreaterThanOrEqual(16);
    const audit = await lastAudit();
    expect(audit).toMatchObject({ eventId: 'UserAuthentication', action: 'E', outcome: 0, userId: body.user.id, userRole: 'admin' });
  });

  it('stores the bcrypt hash at cost 12 or more, never the password', async () => {
    const admin = await t.app.db.models.User.findOne({ where: { email: ADMIN_EMAIL }, raw: true });
    expect(admin!.passwordHash).toMatch(/^\$2[aby]\$1[2-5]\$/);
    expect(admin!.passwordHash).not.toContain(ADMIN_PASSWORD);
  });

  it('refuses a wrong password or unknown email with the same 401 and audits the failure', async () => {
    const wrong = await t.login(ADMIN_EMAIL, 'not-the-password');
    const unknown = await t.login('nobody@pacs.local', 'not-the-password');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().message).toBe(unknown.json().message);
    const audit = await lastAudit();
    expect(audit).toMatchObject({ eventId: 'UserAuthentication', outcome: 4, userId: null });
    expect(JSON.parse(audit.details!)).toMatchObject({ email: 'nobody@pacs.local', status: 401 });
    // The failed attempt on the admin does not count against a later success.
    expect((await t.login(ADMIN_EMAIL, ADMIN_PASSWORD)).statusCode).toBe(200);
  });

  it('backs off the address after repeated failures, even for the right password, and reports Retry-After', async () => {
    const user = await t.userWithToken('resident');
    for (let i = 0; i < 3; i++) expect((await t.login(user.email, 'wrong-password-123')).statusCode).toBe(401);
    const held = await t.login(user.email, TEST_PASSWORD);
    expect(held.statusCode).toBe(429);
    expect(held.json().code).toBe('LOGIN_THROTTLED');
    // A short, growing wait (auth-login-throttle.test.ts), not a lock-out of the account.
    expect(Number(held.headers['retry-after'])).toBe(1);
  });

  it('rejects a deactivated account at login', async () => {
    const user = await t.userWithToken('technologist');
    await t.app.db.models.User.update({ active: false }, { where: { id: user.id } });
    const response = await t.login(user.email, TEST_PASSWORD);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('ACCOUNT_INACTIVE');
  });
});

describe('me, refresh, logout', () => {
  it('returns the signed-in user', async () => {
    const user = await t.userWithToken('attending');
    const response = await t.app.inject({ url: '/api/auth/me', headers: bearer(user.token) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: user.id, email: user.email, role: 'attending' });
  });

  it('rotates the refresh token on each use and revokes the family when an old one is replayed', async () => {
    const user = await t.userWithToken('resident');
    const login = await t.login(user.email, TEST_PASSWORD);
    const first = refreshCookieOf(login)!;

    const refreshed = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: first } });
    expect(refreshed.statusCode).toBe(200);
    const second = refreshCookieOf(refreshed)!;
    expect(second).not.toBe(first);
    expect(refreshed.json().user.id).toBe(user.id);
    // The successor is used, so a replay of `first` cannot be a lost response (the reuse grace).
    const third = refreshCookieOf(await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: second } }))!;

    const replay = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: first } });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('REFRESH_REUSED');
    // The legitimate latest token dies with its family.
    const successor = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: third } });
    expect(successor.statusCode).toBe(401);
    const alerts = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', userId: user.id }, raw: true });
    expect(alerts.some((a) => a.details?.includes('reuse'))).toBe(true);
  });

  it('leaves at most one live token when the same refresh token is raced', async () => {
    const user = await t.userWithToken('resident');
    const token = refreshCookieOf(await t.login(user.email, TEST_PASSWORD))!;
    const results = await Promise.all(
      [1, 2, 3].map(() => t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: token } })),
    );
    // The losers take the reuse grace (auth-refresh-grace.test.ts), each replacing the last successor.
    expect(results.every((r) => r.statusCode === 200 || r.statusCode === 401)).toBe(true);
    const { familyId } = (await t.app.refreshTokens.familyOf(token))!;
    const live = await t.app.db.models.RefreshToken.count({ where: { familyId, usedAt: null, revokedAt: null } });
    expect(live).toBeLessThanOrEqual(1);
  });

  it('refuses a missing or unknown refresh token', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/auth/refresh' })).json().code).toBe('REFRESH_MISSING');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: 'x'.repeat(43) } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().code).toBe('REFRESH_UNKNOWN');
  });

  it('logout revokes the session and clears the cookie', async () => {
    const user = await t.userWithToken('attending');
    const login = await t.login(user.email, TEST_PASSWORD);
    const cookie = refreshCookieOf(login)!;
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(login.json().accessToken),
      cookies: { pacs_refresh: cookie },
    });
    expect(logout.statusCode).toBe(200);
    expect(logout.cookies.find((c) => c.name === 'pacs_refresh')?.value).toBe('');
    const after = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: cookie } });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('REFRESH_REVOKED');
  });
});

describe('password change', () => {
  it('needs the current password, rejects weak ones and ends other sessions', async () => {
    const user = await t.userWithToken('resident');
    const otherDevice = refreshCookieOf(await t.login(user.email, TEST_PASSWORD))!;
    const headers = bearer(user.token);

    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers,
      payload: { currentPassword: 'nope-nope-nope', newPassword: 'a-brand-new-password' },
    });
    expect(wrong.statusCode).toBe(400);
    const weak = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'short' },
    });
    expect(weak.statusCode).toBe(400);
    const tooLong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'é'.repeat(40) },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().code).toBe('PASSWORD_TOO_LONG');

    // Let a second pass so the old token's iat is strictly older than the change.
    const changedAfter = Math.floor(Date.now() / 1000) + 1;
    await new Promise<void>((resolve) => {
      const poll = () => (Date.now() / 1000 >= changedAfter ? resolve() : setTimeout(poll, 20));
      poll();
    });
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'a-brand-new-password' },
    });
    expect(ok.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/auth/me', headers: bearer(ok.json().accessToken) })).statusCode).toBe(200);
    const old = await t.app.inject({ url: '/api/auth/me', headers });
    expect(old.statusCode).toBe(401);
    expect(old.json().code).toBe('PASSWORD_CHANGED');
    const otherRefresh = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: otherDevice } });
    expect(otherRefresh.statusCode).toBe(401);
    expect((await t.login(user.email, 'a-brand-new-password')).statusCode).toBe(200);
  });
});

describe('login rate limit', () => {
  it('answers 429 once one address exceeds the per-minute budget', async () => {
    const limited = await createTestApp({ PACS_LOGIN_RATE_PER_MINUTE: '3', PACS_AUDIT_FOLD_SECONDS: '1' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.login('someone@pacs.local', 'whatever-password')).statusCode);
      expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      // Both refusals are audited; the second, a repeat, in the summary row of its window.
      const refusals = async () => {
        const rows = await limited.app.db.models.AuditLog.findAll({ where: { outcome: 4 }, raw: true });
        const details = rows.map((a) => JSON.parse(a.details!)).filter((d) => d.status === 429);
        return details.reduce((sum, d) => sum + d.count, 0);
      };
      await expect.poll(refusals, { timeout: 10_000 }).toBe(2);
    } finally {
      await limited.close();
    }
  });
});
