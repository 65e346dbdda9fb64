/**
 * A second factor for local accounts (TOTP, RFC 6238): required for admins here, optional for the
 * others. Codes come from otplib as an authenticator app computes them. Enrolment at the first
 * login, a code accepted once, recovery codes used once, a remembered device, the back-off on wrong
 * codes, forged and stale challenges, an admin's reset and a user's own set-up, all audited.
 */
import type { EnrolledSession, MfaChallenge, MfaEnrolment, RecoveryCodes, SessionResponse } from '@pacs/shared';
import { generateSync } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ PACS_MFA_REQUIRED_ROLES: 'admin', PACS_MFA_REMEMBER_DAYS: '30', PACS_LOGIN_RATE_PER_MINUTE: '1000' });
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, payload, headers });
/** The code an authenticator app shows `stepsAhead` 30-second steps from now (a later step is a new code). */
const codeOf = (secret: string, stepsAhead = 0) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

async function challengeFor(email: string): Promise<MfaChallenge> {
  const response = await t.login(email, TEST_PASSWORD);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as MfaChallenge;
}

/** An admin enrolled at their first login; answers the secret and the recovery codes. */
async function enrolledAdmin(): Promise<{ id: string; email: string; token: string; secret: string; recoveryCodes: string[] }> {
  const admin = await t.userWithToken('admin');
  const { challenge } = await challengeFor(admin.email);
  const { secret } = (await post('/api/auth/mfa/enrol', { challenge })).json() as MfaEnrolment;
  const confirmed = await post('/api/auth/mfa/enrol/confirm', { challenge, code: codeOf(secret) });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { ...admin, secret, recoveryCodes: (confirmed.json() as EnrolledSession).recoveryCodes };
}

async function auditEvents(userId: string): Promise<string[]> {
  const rows = await t.app.db.models.AuditLog.findAll({ where: { objectId: userId }, order: [['id', 'ASC']], raw: true });
  return rows.map((row) => String(JSON.parse(row.details ?? '{}').event ?? ''));
}

describe('second factor at login', () => {
  it('an admin without one enrols at the first login: a secret to scan, a code from it, then the session and ten recovery codes shown once', async () => {
    const admin = await t.userWithToken('admin');
    const login = await t.login(admin.email, TEST_PASSWORD);
    expect(login.json()).toMatchObject({ mfa: 'enrol', expiresIn: 300 });
    expect(login.headers['set-cookie']).toBeUndefined();
    const { challenge } = login.json() as MfaChallenge;
    const enrolment = (await post('/api/auth/mfa/enrol', { challenge })).json() as MfaEnrolment;
    expect(enrolment.uri).toMatch(new RegExp(`^otpauth://totp/.+${encodeURIComponent(admin.email)}\\?secret=${enrolment.secret}`));
    const wrong = await post('/api/auth/mfa/enrol/confirm', {
      challenge,
      code: codeOf(enrolment.secret) === '000000' ? '111111' : '000000',
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'MFA_CODE_INVALID' });
    const confirmed = await post('/api/auth/mfa/enrol/confirm', { challenge, code: codeOf(enrolment.secret) });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const session = confirmed.json() as EnrolledSession;
    expect(session.accessToken).toBeTruthy();
    expect(session.recoveryCodes).toHaveLength(10);
    expect(String(confirmed.headers['set-cookie'])).toContain('pacs_refresh=');

    // At rest: the secret sealed, the recovery codes hashed.
    const row = (await t.app.db.models.User.findByPk(admin.id, { raw: true }))!;
    expect(row.mfaSecret).toMatch(/^v1\./);
    expect(row.mfaSecret).not.toContain(enrolment.secret);
    const stored = await t.app.db.models.MfaRecoveryCode.findAll({ where: { userId: admin.id }, raw: true });
    expect(stored).toHaveLength(10);
    for (const code of session.recoveryCodes) expect(stored.some((s) => s.codeHash.includes(code.replace('-', '')))).toBe(false);
    expect(await auditEvents(admin.id)).toEqual(expect.arrayContaining(['second-factor-enabled', 'login']));
  });

  it('asks for a code at every login; a code is accepted once; a remembered device skips the step', async () => {
    const admin = await enrolledAdmin();
    const { mfa, challenge } = await challengeFor(admin.email);
    expect(mfa).toBe('verify');
    const code = codeOf(admin.secret, 1);
    const verified = await post('/api/auth/mfa/verify', { challenge, code, rememberDevice: true });
    expect(verified.statusCode, verified.body).toBe(200);
    expect((verified.json() as SessionResponse).user.id).toBe(admin.id);
    const cookies = ([] as string[]).concat(verified.headers['set-cookie'] ?? []);
    const device = cookies.find((c) => c.startsWith('pacs_mfa_device='))!;
    expect(device).toMatch(/HttpOnly/i);

    const replay = await post('/api/auth/mfa/verify', { challenge: (await challengeFor(admin.email)).challenge, code });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'MFA_CODE_INVALID' });

    const remembered = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: admin.email, password: TEST_PASSWORD },
      headers: { cookie: device.split(';')[0]! },
    });
    expect((remembered.json() as SessionResponse).accessToken).toBeTruthy();
    // Another user's login with this device's cookie still needs their own factor.
    const other = await enrolledAdmin();
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: other.email, password: TEST_PASSWORD },
      headers: { cookie: device.split(';')[0]! },
    });
    expect(elsewhere.json()).toMatchObject({ mfa: 'verify' });
  });

  it('takes each recovery code once', async () => {
    const admin = await enrolledAdmin();
    const [first] = admin.recoveryCodes;
    const used = await post('/api/auth/mfa/verify', {
      challenge: (await challengeFor(admin.email)).challenge,
      recoveryCode: first!.toLowerCase(),
    });
    expect(used.statusCode, used.body).toBe(200);
    const again = await post('/api/auth/mfa/verify', { challenge: (await challengeFor(admin.email)).challenge, recoveryCode: first });
    expect(again.statusCode).toBe(401);
    expect(await auditEvents(admin.id)).toContain('second-factor-refused');
  });

  it('slows an account down after five wrong codes, whatever the sixth is', async () => {
    const admin = await enrolledAdmin();
    const { challenge } = await challengeFor(admin.email);
    const wrong = codeOf(admin.secret, 1) === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++) expect((await post('/api/auth/mfa/verify', { challenge, code: wrong })).statusCode).toBe(401);
    const throttled = await post('/api/auth/mfa/verify', { challenge, code: codeOf(admin.secret, 1) });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json()).toMatchObject({ code: 'MFA_THROTTLED' });
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
  });

  it.each([
    ['a forged challenge', (c: string) => `${c.split('.')[0]}.AAAA`],
    [
      'an altered challenge',
      (c: string) =>
        `${Buffer.from(JSON.stringify({ u: '00000000-0000-4000-8000-000000000000', p: 0, e: Date.now() + 60_000 })).toString('base64url')}.${c.split('.')[1]}`,
    ],
    ['a challenge with three parts', (c: string) => `${c}.x`],
  ])('refuses %s', async (_name, mangle) => {
    const admin = await enrolledAdmin();
    const { challenge } = await challengeFor(admin.email);
    const response = await post('/api/auth/mfa/verify', { challenge: mangle(challenge), code: codeOf(admin.secret, 1) });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'MFA_CHALLENGE_INVALID' });
  });

  it('a challenge is no access token, and a password change voids it', async () => {
    const admin = await enrolledAdmin();
    const { challenge } = await challengeFor(admin.email);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(challenge) })).statusCode).toBe(401);
    await t.app.db.models.User.update({ passwordChangedAt: new Date(Date.now() + 1000) }, { where: { id: admin.id } });
    const stale = await post('/api/auth/mfa/verify', { challenge, code: codeOf(admin.secret, 1) });
    expect(stale.json()).toMatchObject({ code: 'MFA_CHALLENGE_INVALID' });
  });

  it.each([
    ['a five-digit code', { code: '12345' }],
    ['letters', { code: 'abcdef' }],
    ['both a code and a recovery code', { code: '123456', recoveryCode: 'ABCDE-FGHIJ' }],
    ['a NUL in the recovery code', { recoveryCode: 'ABCDE\u0000FGHIJ' }],
  ])('refuses %s with 400', async (_name, body) => {
    const admin = await enrolledAdmin();
    const { challenge } = await challengeFor(admin.email);
    expect((await post('/api/auth/mfa/verify', { challenge, ...body })).statusCode).toBe(400);
  });
});

describe('managing the second factor', () => {
  it("an admin's reset makes the user enrol again, ends their refresh tokens, and is audited", async () => {
    const user = await enrolledAdmin();
    const resetter = await t.userWithToken('admin');
    const refused = await post(`/api/users/${user.id}/mfa/reset`, {}, bearer((await t.userWithToken('attending')).token));
    expect(refused.statusCode).toBe(403);
    const reset = await post(`/api/users/${user.id}/mfa/reset`, {}, bearer(resetter.token));
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await challengeFor(user.email)).mfa).toBe('enrol');
    expect(await t.app.db.models.MfaRecoveryCode.count({ where: { userId: user.id } })).toBe(0);
    expect(await t.app.db.models.RefreshToken.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
    expect(await auditEvents(user.id)).toContain('second-factor-reset');
  });

  it('a resident sets one up for themselves and may turn it off with a current code; an admin may not', async () => {
    const resident = await t.userWithToken('resident');
    expect((await t.login(resident.email, TEST_PASSWORD)).json()).toHaveProperty('accessToken');
    const { secret } = (await post('/api/auth/mfa/setup', {}, bearer(resident.token))).json() as MfaEnrolment;
    const activated = await post('/api/auth/mfa/activate', { code: codeOf(secret) }, bearer(resident.token));
    expect(activated.statusCode, activated.body).toBe(200);
    expect((activated.json() as RecoveryCodes).recoveryCodes).toHaveLength(10);
    expect((await t.login(resident.email, TEST_PASSWORD)).json()).toMatchObject({ mfa: 'verify' });
    const status = await t.app.inject({ method: 'GET', url: '/api/auth/mfa', headers: bearer(resident.token) });
    expect(status.json()).toEqual({ enabled: true, required: false, recoveryCodesLeft: 10 });
    expect((await post('/api/auth/mfa/setup', {}, bearer(resident.token))).statusCode).toBe(409);
    const off = await post('/api/auth/mfa/disable', { code: codeOf(secret, 1) }, bearer(resident.token));
    expect(off.statusCode, off.body).toBe(204);
    expect((await t.login(resident.email, TEST_PASSWORD)).json()).toHaveProperty('accessToken');

    const admin = await enrolledAdmin();
    const refused = await post('/api/auth/mfa/disable', { code: codeOf(admin.secret, 1) }, bearer(admin.token));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'MFA_REQUIRED' });
  });
});
