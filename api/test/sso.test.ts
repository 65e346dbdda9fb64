/**
 * Single sign-on (OpenID Connect, authorization code + PKCE) against a real OpenID provider
 * (`oidc-provider` from the test kit, over TLS with a CA made here): provisioning through the
 * group → role mapping, linking, approval, the provider's refusals reaching our refresh, RP-initiated
 * logout; and what an attacker or a broken provider sends: a wrong state, a replayed code or
 * callback, an ID token for another audience, a user the mapping does not allow, an unreachable
 * or garbage-answering provider.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { GroupRoleMappings, LogoutResponse, SessionResponse, SignInMethods } from '@pacs/shared';
import { startIdentityProvider, type TestAccount, type TestIdentityProvider } from '@pacs/test-kit/identity-provider';
import { makePki, type Pki } from '@pacs/test-kit/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeReturnPath } from '../src/auth/sso/sign-ins';
import { loadConfig } from '../src/config';
import { bearer, createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';
import { callback, landing, ProviderBrowser, startSignIn } from './support/sso';

const ORIGIN = 'http://pacs.test';
let dir: string;
let pki: Pki;
let idp: TestIdentityProvider;
let t: TestApp;
let admin: { id: string; token: string };

const account = (sub: string, groups: string[], extra: Partial<TestAccount> = {}): TestAccount => ({
  sub,
  email: `${sub}@hospital.test`,
  name: `Dr ${sub}`,
  groups,
  ...extra,
});

function ssoEnv(provider: TestIdentityProvider, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PACS_PUBLIC_URL: ORIGIN,
    PACS_OIDC_ISSUER: provider.issuer,
    PACS_OIDC_CLIENT_ID: provider.client.clientId,
    PACS_OIDC_CLIENT_SECRET: provider.client.clientSecret,
    PACS_OIDC_SCOPES: 'openid profile email groups offline_access',
    PACS_OIDC_CA_FILE: pki.ca,
    PACS_OIDC_PROVISIONING: 'automatic',
    PACS_LOGIN_RATE_PER_MINUTE: '1000',
    ...extra,
  };
}

async function setMapping(app: TestApp, token: string, items: GroupRoleMappings['items']) {
  const response = await app.app.inject({ method: 'PUT', url: '/api/sso/group-roles', headers: bearer(token), payload: { items } });
  expect(response.statusCode, response.body).toBe(200);
}

/** A whole sign-in as `login`: our start, the provider's form, our callback. */
async function signInAs(app: TestApp, login: string, returnTo?: string) {
  const browser = new ProviderBrowser(idp.issuer, readFileSync(pki.ca, 'utf8'));
  try {
    const { authorizeUrl, binding } = await startSignIn(app.app, returnTo);
    const back = await browser.signIn(authorizeUrl, login);
    const response = await callback(app.app, back, binding);
    return { response, back, binding, landing: landing(response) };
  } finally {
    await browser.close();
  }
}

const refresh = (app: TestApp, cookie: string) =>
  app.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: cookie } });

async function auditOf(app: TestApp, where: Record<string, unknown>) {
  return (await app.app.db.models.AuditLog.findAll({ where, raw: true, order: [['id', 'ASC']] })).map((row) => ({
    ...row,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
  }));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-sso-'));
  pki = makePki(dir, 'hospital');
  idp = await startIdentityProvider({
    pki,
    redirectUri: `${ORIGIN}/api/auth/oidc/callback`,
    postLogoutRedirectUri: `${ORIGIN}/?signed_out=sso`,
    accounts: [
      account('attending1', ['radiology-attendings', 'staff']),
      account('resident1', ['radiology-residents']),
      account('cook1', ['cafeteria']),
      account('moved1', ['radiology-residents']),
      account('leaver1', ['radiology-attendings']),
      account('noemail1', ['radiology-attendings'], { email: '' }),
    ],
  });
  t = await createTestApp(ssoEnv(idp));
  admin = await t.userWithToken('admin');
  await setMapping(t, admin.token, [
    { group: 'radiology-attendings', role: 'attending' },
    { group: 'radiology-residents', role: 'resident' },
  ]);
});
afterAll(async () => {
  await t?.close();
  await idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a sign-in through the provider', () => {
  it('provisions the user with the mapped role and ends in our own session (refresh cookie, access token)', async () => {
    const { response, landing: where } = await signInAs(t, 'attending1', '/worklist?tab=mine');
    expect(response.statusCode).toBe(303);
    expect(String(response.headers.location)).toBe('/worklist?tab=mine&signin=sso');
    expect(where.error).toBeNull();
    const cookie = refreshCookieOf(response);
    expect(cookie).toBeTruthy();
    const session = (await refresh(t, cookie!)).json() as SessionResponse;
    expect(session.user).toMatchObject({ email: 'attending1@hospital.test', name: 'Dr attending1', role: 'attending', active: true });
    // Our access token works like a password login's.
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(session.accessToken) })).statusCode).toBe(200);
    const logins = await auditOf(t, { eventId: 'UserAuthentication', objectId: session.user.id });
    expect(logins.some((row) => row.details.method === 'sso' && row.details.sso === 'provisioned' && row.outcome === 0)).toBe(true);
    // A provisioned account has no password: the password form refuses it like a wrong one.
    expect((await t.login('attending1@hospital.test', '!sso-only')).statusCode).toBe(401);
  });

  it('signs the same person in again to the same account, and a return path is kept to this origin', async () => {
    const first = await signInAs(t, 'resident1');
    const second = await signInAs(t, 'resident1', 'https://evil.example/phish');
    expect(second.landing.path).toBe('/');
    const a = (await refresh(t, refreshCookieOf(first.response)!)).json() as SessionResponse;
    const b = (await refresh(t, refreshCookieOf(second.response)!)).json() as SessionResponse;
    expect(b.user.id).toBe(a.user.id);
    expect(b.user.role).toBe('resident');
  });

  it('links an existing local account when the provider vouches for the e-mail, and refuses when it does not', async () => {
    const local = await t.userWithToken('attending', { email: 'linked1@hospital.test' });
    idp.accounts.set('linked1', account('linked1', ['radiology-attendings']));
    const linked = await signInAs(t, 'linked1');
    const session = (await refresh(t, refreshCookieOf(linked.response)!)).json() as SessionResponse;
    expect(session.user.id).toBe(local.id);
    // The local password still works: local accounts stay as the fallback.
    expect((await t.login('linked1@hospital.test', TEST_PASSWORD)).statusCode).toBe(200);

    await t.userWithToken('attending', { email: 'unverified1@hospital.test' });
    idp.accounts.set('unverified1', account('unverified1', ['radiology-attendings'], { emailVerified: false }));
    const refused = await signInAs(t, 'unverified1');
    expect(refused.landing.error).toBe('conflict');
    expect(refreshCookieOf(refused.response)).toBeFalsy();
  });
});

describe('refused sign-ins', () => {
  it('refuses a wrong state, audited as a security alert, and signs nobody in', async () => {
    const browser = new ProviderBrowser(idp.issuer, readFileSync(pki.ca, 'utf8'));
    const { authorizeUrl, binding } = await startSignIn(t.app);
    const back = await browser.signIn(authorizeUrl, 'attending1');
    await browser.close();
    back.searchParams.set('state', 'forged-state-value');
    const response = await callback(t.app, back, binding);
    expect(response.statusCode).toBe(303);
    expect(landing(response)).toEqual({ path: '/', error: 'refused' });
    expect(refreshCookieOf(response)).toBeFalsy();
    const alerts = await auditOf(t, { eventId: 'SecurityAlert' });
    expect(alerts.some((row) => row.details.event === 'sso-login' && row.details.refused === 'refused')).toBe(true);
  });

  it('refuses a replayed callback and a replayed code under a new sign-in', async () => {
    const first = await signInAs(t, 'attending1');
    expect(first.landing.error).toBeNull();
    // The same callback again, from the same browser: the sign-in is spent.
    const again = await callback(t.app, first.back, first.binding);
    expect(landing(again).error).toBe('refused');
    expect(refreshCookieOf(again)).toBeFalsy();
    // The code under a fresh sign-in (its own state): the provider refuses a used code and a wrong PKCE verifier.
    const { authorizeUrl, binding } = await startSignIn(t.app);
    const replay = new URL(first.back);
    replay.searchParams.set('state', new URL(authorizeUrl).searchParams.get('state')!);
    const replayed = await callback(t.app, replay, binding);
    expect(landing(replayed).error).toBe('refused');
    expect(refreshCookieOf(replayed)).toBeFalsy();
  });

  it('refuses an ID token for another audience, though the provider signed it', async () => {
    idp.tamper = 'id-token-audience';
    try {
      const { response, landing: where } = await signInAs(t, 'attending1');
      expect(where.error).toBe('refused');
      expect(refreshCookieOf(response)).toBeFalsy();
      const alerts = await auditOf(t, { eventId: 'SecurityAlert' });
      expect(alerts.some((row) => String(row.details.detail).includes('claim'))).toBe(true);
    } finally {
      idp.tamper = 'none';
    }
  });

  it('refuses a user the mapping does not allow, and creates no account', async () => {
    const { response, landing: where } = await signInAs(t, 'cook1');
    expect(where.error).toBe('not-allowed');
    expect(refreshCookieOf(response)).toBeFalsy();
    expect(await t.app.db.models.User.count({ where: { email: 'cook1@hospital.test' } })).toBe(0);
  });

  it('refuses an identity without an e-mail (nothing to name the account by)', async () => {
    expect((await signInAs(t, 'noemail1')).landing.error).toBe('refused');
  });

  it.each([
    ['no sign-in cookie', null, 'expired'],
    ['an unknown sign-in cookie', 'x'.repeat(43), 'expired'],
    ['an oversize cookie', 'x'.repeat(5000), 'expired'],
  ])('sends a callback with %s to the login page', async (_name, binding, error) => {
    const response = await callback(t.app, new URL(`${ORIGIN}/api/auth/oidc/callback?code=abc&state=def`), binding);
    expect(response.statusCode).toBe(303);
    expect(landing(response).error).toBe(error);
  });

  it.each([
    ['the provider refusing (access_denied)', { error: 'access_denied' }, 'cancelled'],
    ['no code', { state: 'whatever' }, 'refused'],
    ['an error with a script', { error: '<script>alert(1)</script>', state: 'x' }, 'refused'],
  ])('sends a callback with %s to the login page with a reason', async (_name, params, error) => {
    const { binding } = await startSignIn(t.app);
    const url = new URL(`${ORIGIN}/api/auth/oidc/callback`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const response = await callback(t.app, url, binding);
    expect(landing(response).error).toBe(error);
    expect(String(response.headers.location)).not.toContain('<');
  });

  it.each([
    ['an oversize parameter', `code=${'a'.repeat(5000)}&state=x`],
    ['a NUL in the state', 'code=abc&state=a%00b'],
  ])('answers 400 to a callback with %s, and leaves the sign-in open', async (_name, query) => {
    const { binding } = await startSignIn(t.app);
    const response = await callback(t.app, new URL(`${ORIGIN}/api/auth/oidc/callback?${query}`), binding);
    expect(response.statusCode).toBe(400);
    expect(await t.app.db.models.SsoSignIn.count({ where: { usedAt: null } })).toBeGreaterThan(0);
  });
});

describe('the session after a sign-in follows the provider', () => {
  it('ends at the next refresh once the account is deactivated at the provider; the access token dies too', async () => {
    const { response } = await signInAs(t, 'leaver1');
    const live = await refresh(t, refreshCookieOf(response)!);
    expect(live.statusCode).toBe(200);
    const session = live.json() as SessionResponse;
    idp.accounts.get('leaver1')!.active = false;
    const ended = await refresh(t, refreshCookieOf(live)!);
    expect(ended.statusCode).toBe(401);
    expect(ended.json().code).toBe('SSO_SESSION_ENDED');
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(session.accessToken) })).statusCode).toBe(401);
    const rows = await auditOf(t, { eventId: 'UserAuthentication', objectId: session.user.id });
    expect(rows.some((row) => row.details.rejected === 'sso-ended' && row.outcome !== 0)).toBe(true);
  });

  it('takes a change of groups at the provider into the role at the next refresh', async () => {
    const { response } = await signInAs(t, 'moved1');
    const before = await refresh(t, refreshCookieOf(response)!);
    expect((before.json() as SessionResponse).user.role).toBe('resident');
    idp.accounts.get('moved1')!.groups = ['radiology-attendings'];
    const after = await refresh(t, refreshCookieOf(before)!);
    expect(after.statusCode, after.body).toBe(200);
    expect((after.json() as SessionResponse).user.role).toBe('attending');
    expect(idp.tokenRequests.some((request) => request.grantType === 'refresh_token' && request.status === 200)).toBe(true);
  });

  it('ties the session to the web app’s device at its first refresh (a sign-in by navigation carries none)', async () => {
    const { response } = await signInAs(t, 'resident1');
    const device = { id: randomUUID(), secret: randomBytes(32).toString('base64url') };
    const live = await t.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      cookies: { pacs_refresh: refreshCookieOf(response)! },
      payload: { device },
    });
    expect(live.statusCode, live.body).toBe(200);
    const session = live.json() as SessionResponse;
    expect(session.device?.id).toBe(device.id);
    const sessions = await t.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(session.accessToken) });
    expect(JSON.stringify(sessions.json())).toContain(device.id);
  });

  it("logs out of our session and answers the provider's end-session page (RP-initiated logout)", async () => {
    const { response } = await signInAs(t, 'attending1');
    const live = await refresh(t, refreshCookieOf(response)!);
    const { accessToken } = live.json() as SessionResponse;
    const logout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer(accessToken),
      cookies: { pacs_refresh: refreshCookieOf(live)! },
    });
    expect(logout.statusCode).toBe(200);
    const { endSessionUrl } = logout.json() as LogoutResponse;
    const end = new URL(endSessionUrl!);
    expect(end.origin).toBe(idp.issuer);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${ORIGIN}/?signed_out=sso`);
    expect(end.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect((await refresh(t, refreshCookieOf(live)!)).statusCode).toBe(401);
    // A password session has no provider page to visit.
    const local = await t.userWithToken('resident');
    const password = await t.login(local.email, TEST_PASSWORD);
    const localLogout = await t.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: bearer((password.json() as SessionResponse).accessToken),
    });
    expect(localLogout.json()).toEqual({ endSessionUrl: null });
  });
});

describe('the group → role mapping', () => {
  it('is the admin’s to edit (audited), refused to others, and refuses a group mapped twice', async () => {
    const attending = await t.userWithToken('attending');
    const put = (token: string, items: unknown) =>
      t.app.inject({ method: 'PUT', url: '/api/sso/group-roles', headers: bearer(token), payload: { items } });
    expect((await put(attending.token, [])).statusCode).toBe(403);
    const twice = await put(admin.token, [
      { group: 'g', role: 'attending' },
      { group: 'g', role: 'resident' },
    ]);
    expect(twice.statusCode).toBe(400);
    expect(twice.json().code).toBe('SSO_MAPPING_INVALID');
    for (const bad of [
      [{ group: '', role: 'admin' }],
      [{ group: 'a\u0000b', role: 'admin' }],
      [{ group: 'x', role: 'superuser' }],
      [{ group: 'x'.repeat(300), role: 'admin' }],
    ]) {
      expect((await put(admin.token, bad)).statusCode).toBe(400);
    }
    const settings = await t.app.inject({ method: 'GET', url: '/api/sso/settings', headers: bearer(admin.token) });
    expect(settings.json()).toMatchObject({ enabled: true, issuer: `${idp.issuer}/`, provisioning: 'automatic', localLogin: true });
    expect(settings.json().mappings).toEqual([
      { group: 'radiology-attendings', role: 'attending' },
      { group: 'radiology-residents', role: 'resident' },
    ]);
    const changes = await auditOf(t, { objectType: 'SsoGroupRoles' });
    expect(changes.some((row) => row.details.event === 'sso-mapping-change' && row.userId === admin.id)).toBe(true);
  });
});

describe('provisioning by approval, and local sign-in turned off', () => {
  it('creates the account inactive until an admin activates it', async () => {
    const app = await createTestApp(ssoEnv(idp, { PACS_OIDC_PROVISIONING: 'approval' }));
    try {
      const approver = await app.userWithToken('admin');
      await setMapping(app, approver.token, [{ group: 'radiology-residents', role: 'resident' }]);
      const first = await signInAs(app, 'resident1');
      expect(first.landing.error).toBe('pending');
      const user = await app.app.db.models.User.findOne({ where: { email: 'resident1@hospital.test' }, raw: true });
      expect({ active: Boolean(user!.active), approvalPending: Boolean(user!.approvalPending), role: user!.role }).toEqual({
        active: false,
        approvalPending: true,
        role: 'resident',
      });
      const listed = await app.app.inject({ method: 'GET', url: '/api/users?active=false', headers: bearer(approver.token) });
      expect(listed.json().items.find((u: { id: string }) => u.id === user!.id)).toMatchObject({ approvalPending: true });
      expect((await signInAs(app, 'resident1')).landing.error).toBe('pending');
      const approve = await app.app.inject({
        method: 'PATCH',
        url: `/api/users/${user!.id}`,
        headers: bearer(approver.token),
        payload: { active: true },
      });
      expect(approve.statusCode, approve.body).toBe(200);
      const signedIn = await signInAs(app, 'resident1');
      expect(signedIn.landing.error).toBeNull();
      expect(refreshCookieOf(signedIn.response)).toBeTruthy();
    } finally {
      await app.close();
    }
  });

  it('refuses the password form when local sign-in is off, and says what is offered', async () => {
    const app = await createTestApp(ssoEnv(idp, { PACS_LOCAL_LOGIN: 'false' }));
    try {
      const user = await app.userWithToken('attending');
      const refused = await app.login(user.email, TEST_PASSWORD);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('LOCAL_LOGIN_DISABLED');
      const methods = (await app.app.inject({ method: 'GET', url: '/api/auth/methods' })).json() as SignInMethods;
      expect(methods).toEqual({ localLogin: false, sso: { label: 'Hospital sign-in' } });
    } finally {
      await app.close();
    }
  });
});

describe('a provider that is down or answers garbage', () => {
  it.each(['down', 'garbage'] as const)('when %s: the login page says so, local sign-in still works, nothing crashes', async (kind) => {
    let server: https.Server | null = null;
    let issuer = 'https://127.0.0.1:9';
    if (kind === 'garbage') {
      server = https.createServer({ key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) }, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    const app = await createTestApp(ssoEnv(idp, { PACS_OIDC_ISSUER: issuer, PACS_OIDC_TIMEOUT_SECONDS: '2' }));
    try {
      const start = await app.app.inject({ method: 'GET', url: '/api/auth/oidc/login' });
      expect(start.statusCode).toBe(303);
      expect(landing(start).error).toBe('unavailable');
      const methods = (await app.app.inject({ method: 'GET', url: '/api/auth/methods' })).json() as SignInMethods;
      expect(methods.localLogin).toBe(true);
      const user = await app.userWithToken('resident');
      expect((await app.login(user.email, TEST_PASSWORD)).statusCode).toBe(200);
    } finally {
      await app.close();
      server?.closeAllConnections();
      server?.close();
    }
  });

  it('answers 404 at the sign-in routes where single sign-on is not set up', async () => {
    const app = await createTestApp();
    try {
      expect((await app.app.inject({ method: 'GET', url: '/api/auth/oidc/login' })).statusCode).toBe(404);
      expect((await app.app.inject({ method: 'GET', url: '/api/auth/methods' })).json()).toEqual({ localLogin: true, sso: null });
    } finally {
      await app.close();
    }
  });
});

describe('the return path after a sign-in', () => {
  it.each([
    ['/worklist?tab=mine', '/worklist?tab=mine'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example/', '/'],
    ['/\u0000x', '/'],
    ['/a\nLocation: x', '/'],
    ['javascript:alert(1)', '/'],
    [`/${'a'.repeat(600)}`, '/'],
    [42, '/'],
  ])('keeps %j as %j', (given, kept) => {
    expect(safeReturnPath(given)).toBe(kept);
  });
});

describe('settings', () => {
  const base = { PACS_ENV: 'test', PACS_JWT_SECRET: 'test-secret-that-is-long-enough-0123456789' };
  it.each([
    ['an http issuer', { PACS_OIDC_ISSUER: 'http://idp.example', PACS_OIDC_CLIENT_ID: 'pacs' }, /must be an https URL/],
    ['an issuer without a client id', { PACS_OIDC_ISSUER: 'https://idp.example' }, /PACS_OIDC_CLIENT_ID/],
    [
      'scopes without openid',
      { PACS_OIDC_ISSUER: 'https://idp.example', PACS_OIDC_CLIENT_ID: 'pacs', PACS_OIDC_SCOPES: 'profile' },
      /openid/,
    ],
    ['local sign-in off without single sign-on', { PACS_LOCAL_LOGIN: 'false' }, /PACS_LOCAL_LOGIN/],
    [
      'a missing CA file',
      { PACS_OIDC_ISSUER: 'https://idp.example', PACS_OIDC_CLIENT_ID: 'pacs', PACS_OIDC_CA_FILE: '/nonexistent.pem' },
      /no such file/,
    ],
  ])('refuses %s', (_name, env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });
});
