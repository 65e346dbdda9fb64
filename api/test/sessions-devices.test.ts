/**
 * Sessions and devices: a sign-in registers the web app's device (never taking over another
 * user's id or a device whose secret differs), users list and revoke their own sessions and
 * devices, admins anyone's; a revoked device is refused at its next refresh or sign-in with
 * DEVICE_REVOKED until it reports its wipe (id and secret), which is recorded once and audited.
 * Runs on SQLite and on PostgreSQL (PACS_TEST_DIALECT=postgres).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DeviceCredentials, DeviceList, SessionList, SessionResponse, WipeSummary } from '@pacs/shared';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../../scripts/redis.mjs';
import { buildApp } from '../src/app';
import { DeviceRegistry, LAST_SEEN_GRAIN_MS } from '../src/auth/devices/device-registry';
import { deviceLabel } from '../src/auth/devices/user-agent';
import { bearer, createTestApp, refreshCookieOf, TEST_PASSWORD, type TestApp } from './support/app';

const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const IPAD_UA =
  'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const WIPED: WipeSummary = { databases: 3, studies: 2, reports: 1, worklistRows: 40, caches: 1 };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ PACS_LOGIN_RATE_PER_MINUTE: '1000' });
});
afterAll(async () => t?.close());

const newDevice = (): DeviceCredentials => ({ id: randomUUID(), secret: randomBytes(32).toString('base64url') });
let addressCounter = 0;
/** A fresh address per call unless given: the wipe report's rate limit counts per address. */
const nextAddress = () => `198.51.100.${(addressCounter++ % 250) + 1}`;

interface Signed {
  token: string;
  cookie: string;
  sessionId: string;
  deviceId: string | undefined;
  deviceKey: string | undefined;
}

async function signIn(email: string, device?: DeviceCredentials, userAgent = CHROME_UA): Promise<Signed> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password: TEST_PASSWORD, ...(device ? { device } : {}) },
    headers: { 'user-agent': userAgent },
  });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json() as SessionResponse;
  const sid = JSON.parse(Buffer.from(body.accessToken.split('.')[1]!, 'base64url').toString()).sid as string;
  return {
    token: body.accessToken,
    cookie: refreshCookieOf(response)!,
    sessionId: sid,
    deviceId: body.device?.id,
    deviceKey: body.deviceKey,
  };
}

const refresh = (cookie: string | undefined, device?: DeviceCredentials, app: FastifyInstance = t.app) =>
  app.inject({
    method: 'POST',
    url: '/api/auth/refresh',
    ...(cookie ? { cookies: { pacs_refresh: cookie } } : {}),
    ...(device ? { payload: { device } } : {}),
  });
const me = (token: string, app: FastifyInstance = t.app) => app.inject({ url: '/api/auth/me', headers: bearer(token) });
const get = <T>(url: string, token: string) =>
  t.app.inject({ url, headers: bearer(token) }).then((r) => {
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as T;
  });
const revokeDevice = (id: string, token: string) =>
  t.app.inject({ method: 'POST', url: `/api/devices/${id}/revoke`, headers: bearer(token) });
const endSession = (id: string, token: string) => t.app.inject({ method: 'DELETE', url: `/api/sessions/${id}`, headers: bearer(token) });
const wipeReport = (payload: unknown, remoteAddress = nextAddress()) =>
  t.app.inject({ method: 'POST', url: '/api/auth/device/wipe-report', payload: payload as object, remoteAddress });

async function auditRows(event: string) {
  const rows = await t.app.db.models.AuditLog.findAll({ order: [['id', 'ASC']], raw: true });
  return rows.filter((row) => row.details && JSON.parse(row.details).event === event);
}
const codeOf = (response: LightMyRequestResponse) => (response.json() as { code?: string }).code;

describe('signing in from a device', () => {
  it('registers the device under its own id with a label from the User-Agent; lists it and the session as current', async () => {
    const user = await t.userWithToken('attending');
    const device = newDevice();
    const signed = await signIn(user.email, device);
    expect(signed.deviceId).toBe(device.id);

    const devices = await get<DeviceList>('/api/devices', signed.token);
    expect(devices.items).toEqual([
      expect.objectContaining({
        id: device.id,
        userId: user.id,
        label: 'Chrome 156 on Linux',
        current: true,
        activeSessions: 1,
        holdings: { studies: 0, reports: 0, worklistRows: 0 },
        revokedAt: null,
        wipedAt: null,
      }),
    ]);
    const stored = (await t.app.db.models.Device.findByPk(device.id, { raw: true }))!;
    expect(stored.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.secretHash).not.toContain(device.secret);

    const sessions = await get<SessionList>('/api/sessions', signed.token);
    expect(sessions.items).toEqual([
      expect.objectContaining({ id: signed.sessionId, deviceId: device.id, deviceLabel: 'Chrome 156 on Linux', current: true }),
    ]);
    // Listing security data is audited (as a query), with who asked.
    const listed = await auditRows('sessions-listed');
    expect(listed.at(-1)).toMatchObject({ eventId: 'Query', userId: user.id, objectType: 'Session', outcome: 0 });
    expect((await auditRows('devices-listed')).at(-1)).toMatchObject({ userId: user.id });
  });

  it('a second sign-in from the same device reuses its row; a refresh keeps the device and the session lists both', async () => {
    const user = await t.userWithToken('resident');
    const device = newDevice();
    const first = await signIn(user.email, device);
    const second = await signIn(user.email, device, IPAD_UA);
    expect(second.deviceId).toBe(device.id);
    const refreshed = await refresh(second.cookie, device);
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const token = (refreshed.json() as SessionResponse).accessToken;
    const sessions = await get<SessionList>('/api/sessions', token);
    expect(sessions.items.map((s) => s.id).sort()).toEqual([first.sessionId, second.sessionId].sort());
    expect(sessions.items.find((s) => s.current)?.id).toBe(second.sessionId);
    const [row] = (await get<DeviceList>('/api/devices', token)).items;
    expect(row).toMatchObject({ id: device.id, label: 'Safari 17 on iPadOS', activeSessions: 2 });
  });

  it('a sign-in without a device still works (scripts, old clients); its session shows an unknown device', async () => {
    const user = await t.userWithToken('technologist');
    const signed = await signIn(user.email);
    expect(signed.deviceId).toBeUndefined();
    expect((await get<SessionList>('/api/sessions', signed.token)).items[0]).toMatchObject({
      deviceId: null,
      deviceLabel: 'Unknown device',
    });
    const holdings = await t.app.inject({
      method: 'PUT',
      url: '/api/devices/current/holdings',
      headers: bearer(signed.token),
      payload: { studies: 1, reports: 0, worklistRows: 3 },
    });
    expect(holdings.statusCode).toBe(409);
    expect(codeOf(holdings)).toBe('NO_DEVICE');
  });

  it('never takes over an id registered to another user, or one presented with another secret', async () => {
    const alice = await t.userWithToken('attending');
    const mallory = await t.userWithToken('resident');
    const aliceDevice = newDevice();
    const aliceSession = await signIn(alice.email, aliceDevice);

    // Mallory copies Alice's device id with a secret of her own: a new device, a fresh id.
    const forged = { id: aliceDevice.id, secret: newDevice().secret };
    const malloryForged = await signIn(mallory.email, forged);
    expect(malloryForged.deviceId).not.toBe(aliceDevice.id);
    // Alice herself with a wrong secret: also a new device, her real one untouched.
    const aliceWrong = await signIn(alice.email, forged);
    expect(aliceWrong.deviceId).not.toBe(aliceDevice.id);
    expect(aliceWrong.deviceId).not.toBe(malloryForged.deviceId);

    const malloryDevices = await get<DeviceList>('/api/devices', malloryForged.token);
    expect(malloryDevices.items.map((d) => d.id)).toEqual([malloryForged.deviceId]);
    // Neither Alice's device nor her session can be revoked by Mallory: 404, as if they did not exist.
    const refused = await revokeDevice(aliceDevice.id, malloryForged.token);
    expect(refused.statusCode).toBe(404);
    expect((await endSession(aliceSession.sessionId, malloryForged.token)).statusCode).toBe(404);
    expect((await me(aliceSession.token)).statusCode).toBe(200);
    expect((await t.app.db.models.Device.findByPk(aliceDevice.id, { raw: true }))!).toMatchObject({ userId: alice.id, revokedAt: null });
  });

  it('last seen is written at most once a minute per device', async () => {
    const user = await t.userWithToken('attending');
    const device = newDevice();
    await signIn(user.email, device);
    let clock = Date.now() + 5 * LAST_SEEN_GRAIN_MS;
    const registry = new DeviceRegistry(t.app.db.models, () => clock);
    const seen = async () => new Date((await t.app.db.models.Device.findByPk(device.id, { raw: true }))!.lastSeenAt).getTime();
    await registry.touch(device.id);
    expect(await seen()).toBe(clock);
    const first = clock;
    clock += LAST_SEEN_GRAIN_MS / 2;
    await registry.touch(device.id);
    expect(await seen()).toBe(first);
    clock += LAST_SEEN_GRAIN_MS;
    await registry.touch(device.id);
    expect(await seen()).toBe(clock);
  });
});

describe("the device's vault key", () => {
  const keyOf = (response: LightMyRequestResponse) => (response.json() as SessionResponse).deviceKey;

  it('comes with a sign-in from a device, again with a refresh that proves the device, and differs per user and device', async () => {
    const alice = await t.userWithToken('resident');
    const bob = await t.userWithToken('attending');
    const tablet = newDevice();
    const signed = await signIn(alice.email, tablet);
    expect(signed.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await refresh(signed.cookie, tablet);
    expect(again.statusCode, again.body).toBe(200);
    expect(keyOf(again)).toBe(signed.deviceKey);
    // The same tablet for another user, and another tablet for the same user: other keys.
    const bobSigned = await signIn(bob.email, tablet);
    expect(bobSigned.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(bobSigned.deviceKey).not.toBe(signed.deviceKey);
    expect((await signIn(alice.email, newDevice())).deviceKey).not.toBe(signed.deviceKey);
  });

  it.each([
    ['no device in the body', () => undefined],
    ['the right id with another secret', (device: DeviceCredentials) => ({ id: device.id, secret: newDevice().secret })],
    ['another device of the same user', () => newDevice()],
  ])('is not handed to a refresh with %s (the cookie alone does not open the vault)', async (_name, present) => {
    const user = await t.userWithToken('resident');
    const device = newDevice();
    const signed = await signIn(user.email, device);
    const response = await refresh(signed.cookie, present(device));
    expect(response.statusCode, response.body).toBe(200);
    expect(keyOf(response)).toBeUndefined();
  });

  it('is not handed out without a device, nor to a revoked one', async () => {
    const user = await t.userWithToken('resident');
    expect((await signIn(user.email)).deviceKey).toBeUndefined();
    const device = newDevice();
    const signed = await signIn(user.email, device);
    expect((await revokeDevice(signed.deviceId!, signed.token)).statusCode).toBe(204);
    const response = await refresh(signed.cookie, device);
    expect(response.statusCode).toBe(401);
    expect(keyOf(response)).toBeUndefined();
  });
});

describe('offline holdings', () => {
  it('the device reports what it holds; its user and admins see the counts', async () => {
    const user = await t.userWithToken('attending');
    const admin = await t.userWithToken('admin');
    const device = newDevice();
    const signed = await signIn(user.email, device);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/devices/current/holdings',
      headers: bearer(signed.token),
      payload: { studies: 2, reports: 1, worklistRows: 57 },
    });
    expect(put.statusCode, put.body).toBe(204);
    const [mine] = (await get<DeviceList>('/api/devices', signed.token)).items;
    expect(mine).toMatchObject({ holdings: { studies: 2, reports: 1, worklistRows: 57 } });
    expect(mine!.holdingsReportedAt).not.toBeNull();
    const adminView = await get<DeviceList>(`/api/admin/devices?userId=${user.id}`, admin.token);
    expect(adminView.items).toEqual([expect.objectContaining({ id: device.id, userEmail: user.email, current: false })]);
    const everyone = await get<DeviceList>('/api/admin/devices', admin.token);
    expect(everyone.items.some((d) => d.id === device.id)).toBe(true);
  });
});

describe('revoking a session', () => {
  it('ends it at once (its access token refused, its refresh token too), audited; other sessions go on', async () => {
    const user = await t.userWithToken('resident');
    const phone = await signIn(user.email, newDevice());
    const desk = await signIn(user.email, newDevice());
    const ended = await endSession(phone.sessionId, desk.token);
    expect(ended.statusCode, ended.body).toBe(204);
    const after = await me(phone.token);
    expect(after.statusCode).toBe(401);
    expect(codeOf(after)).toBe('SESSION_ENDED');
    expect(codeOf(await refresh(phone.cookie))).toBe('REFRESH_REVOKED');
    expect((await me(desk.token)).statusCode).toBe(200);
    expect((await get<SessionList>('/api/sessions', desk.token)).items.map((s) => s.id)).toEqual([desk.sessionId]);
    const [row] = (await auditRows('session-revoked')).filter((r) => r.objectId === phone.sessionId);
    expect(row).toMatchObject({ eventId: 'SecurityAlert', action: 'D', objectId: phone.sessionId, userId: user.id, outcome: 0 });
  });

  it('admins end anyone’s session; a non-admin gets 404 for another user’s, exactly as for one that does not exist', async () => {
    const user = await t.userWithToken('attending');
    const other = await t.userWithToken('attending');
    const admin = await t.userWithToken('admin');
    const signed = await signIn(user.email, newDevice());
    const otherSigned = await signIn(other.email);
    const foreign = await endSession(signed.sessionId, otherSigned.token);
    const missing = await endSession(randomUUID(), otherSigned.token);
    expect([foreign.statusCode, codeOf(foreign)]).toEqual([404, 'NOT_FOUND']);
    expect(JSON.parse(foreign.body).message).toBe(JSON.parse(missing.body).message);
    const listed = await get<SessionList>(`/api/admin/sessions?userId=${user.id}`, admin.token);
    expect(listed.items.map((s) => s.id)).toEqual([signed.sessionId]);
    expect((await endSession(signed.sessionId, admin.token)).statusCode).toBe(204);
    expect(codeOf(await me(signed.token))).toBe('SESSION_ENDED');
  });
});

describe('revoking a device', () => {
  it('ends its sessions at once; its refresh and sign-in answer DEVICE_REVOKED until it reports the wipe, recorded once and audited', async () => {
    const user = await t.userWithToken('attending');
    const admin = await t.userWithToken('admin');
    const device = newDevice();
    const first = await signIn(user.email, device);
    const second = await signIn(user.email, device);
    const elsewhere = await signIn(user.email, newDevice());

    const revoked = await revokeDevice(device.id, admin.token);
    expect(revoked.statusCode, revoked.body).toBe(204);
    for (const session of [first, second]) expect(codeOf(await me(session.token))).toBe('SESSION_ENDED');
    expect((await me(elsewhere.token)).statusCode).toBe(200);

    // The next contact: a refresh naming the device is told to wipe, and its cookie is cleared.
    const refused = await refresh(second.cookie, device);
    expect([refused.statusCode, codeOf(refused)]).toEqual([401, 'DEVICE_REVOKED']);
    expect(String(refused.headers['set-cookie'])).toMatch(/pacs_refresh=;/);
    // Even with no cookie left, and at a sign-in, until the wipe is reported.
    expect(codeOf(await refresh(undefined, device))).toBe('DEVICE_REVOKED');
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD, device },
    });
    expect([login.statusCode, codeOf(login)]).toEqual([401, 'DEVICE_REVOKED']);
    expect(login.headers['set-cookie']).toBeUndefined();

    const report = await wipeReport({ device, wiped: WIPED });
    expect(report.statusCode, report.body).toBe(200);
    const { wipedAt } = report.json() as { wipedAt: string };
    const again = await wipeReport({ device, wiped: { ...WIPED, studies: 0 } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ wipedAt });

    const [row] = (await get<DeviceList>(`/api/admin/devices?userId=${user.id}`, admin.token)).items.filter((d) => d.id === device.id);
    expect(row).toMatchObject({ wipedAt, wipeReport: WIPED, activeSessions: 0, holdings: { studies: 0, reports: 0, worklistRows: 0 } });
    expect(row!.revokedAt).not.toBeNull();
    const stored = (await t.app.db.models.Device.findByPk(device.id, { raw: true }))!;
    expect(stored.revokedBy).toBe(admin.id);
    const wipes = (await auditRows('device-wiped')).filter((r) => r.objectId === device.id);
    expect(wipes).toHaveLength(1);
    expect(wipes[0]).toMatchObject({ eventId: 'SecurityAlert', action: 'D', userId: user.id, outcome: 0 });
    expect((await auditRows('device-revoked')).filter((r) => r.objectId === device.id)[0]).toMatchObject({ userId: admin.id });

    // Wiped: the same device may sign in again, as a new device (the revoked row stays as the record).
    const back = await signIn(user.email, device);
    expect(back.deviceId).toBeDefined();
    expect(back.deviceId).not.toBe(device.id);
  });

  it('a shared tablet is one device to each of its users: revoking it for one makes it wipe whoever asks next', async () => {
    const alice = await t.userWithToken('attending');
    const bob = await t.userWithToken('resident');
    const tablet = newDevice();
    const aliceSigned = await signIn(alice.email, tablet);
    const bobSigned = await signIn(bob.email, tablet);
    expect(bobSigned.deviceId).not.toBe(aliceSigned.deviceId);
    expect((await revokeDevice(aliceSigned.deviceId!, aliceSigned.token)).statusCode).toBe(204);
    const bobRefresh = await refresh(bobSigned.cookie, { id: bobSigned.deviceId!, secret: tablet.secret });
    expect(codeOf(bobRefresh)).toBe('DEVICE_REVOKED');
    const report = await wipeReport({ device: { id: bobSigned.deviceId!, secret: tablet.secret }, wiped: WIPED });
    expect(report.statusCode, report.body).toBe(200);
    expect((await t.app.db.models.Device.findByPk(aliceSigned.deviceId!, { raw: true }))!.wipedAt).not.toBeNull();
  });
});

describe('hostile input', () => {
  const valid = newDevice();
  const cases: [string, unknown, number, string][] = [
    ['a device id that is not a UUID', { id: 'not-a-uuid', secret: valid.secret }, 400, 'VALIDATION_FAILED'],
    ['a NUL in the device id', { id: `${valid.id.slice(0, 35)}\u0000`, secret: valid.secret }, 400, 'NUL_CHARACTER'],
    ['a NUL in the secret', { id: valid.id, secret: `${valid.secret.slice(0, 42)}\u0000` }, 400, 'NUL_CHARACTER'],
    ['an oversize secret', { id: valid.id, secret: 'A'.repeat(100_000) }, 400, 'VALIDATION_FAILED'],
    ['a secret one character short', { id: valid.id, secret: valid.secret.slice(1) }, 400, 'VALIDATION_FAILED'],
    ['a secret outside base64url', { id: valid.id, secret: `${valid.secret.slice(1)}+` }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { ...valid, userId: randomUUID() }, 400, 'VALIDATION_FAILED'],
    ['a device that is a string', valid.id, 400, 'VALIDATION_FAILED'],
  ];

  it.each(cases)('sign-in with %s: 4xx with a reason, no device row', async (_label, device, status, code) => {
    const user = await t.userWithToken('resident');
    const before = await t.app.db.models.Device.count();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD, device },
    });
    expect([response.statusCode, codeOf(response)]).toEqual([status, code]);
    expect(await t.app.db.models.Device.count()).toBe(before);
  });

  it.each(cases)('refresh with %s: 4xx with a reason', async (_label, device, status, code) => {
    const response = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { device } });
    expect([response.statusCode, codeOf(response)]).toEqual([status, code]);
  });

  it.each(cases)('wipe report with %s: 4xx with a reason', async (_label, device, status, code) => {
    const response = await wipeReport({ device, wiped: WIPED });
    expect([response.statusCode, codeOf(response)]).toEqual([status, code]);
  });

  it.each<[string, unknown]>([
    ['negative counts', { studies: -1, reports: 0, worklistRows: 0 }],
    ['counts as strings', { studies: '2', reports: 0, worklistRows: 0 }],
    ['a huge count', { studies: 1e12, reports: 0, worklistRows: 0 }],
    ['a missing count', { studies: 1, reports: 0 }],
    ['fractions', { studies: 1.5, reports: 0, worklistRows: 0 }],
  ])('holdings with %s: 400', async (_label, payload) => {
    const user = await t.userWithToken('attending');
    const signed = await signIn(user.email, newDevice());
    const response = await t.app.inject({
      method: 'PUT',
      url: '/api/devices/current/holdings',
      headers: bearer(signed.token),
      payload: payload as object,
    });
    expect([response.statusCode, codeOf(response)]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it.each([
    ['DELETE', '/api/sessions/not-a-uuid'],
    ['POST', '/api/devices/..%2F..%2Fusers/revoke'],
    ['POST', `/api/devices/${'f'.repeat(5000)}/revoke`],
  ])('%s %s: 4xx, never 500', async (method, url) => {
    const user = await t.userWithToken('attending');
    const response = await t.app.inject({ method: method as 'POST', url, headers: bearer(user.token) });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
  });

  it('a wipe report with an unknown id or a wrong secret is refused alike (401 DEVICE_REFUSED) and audited as a failure; one from a device never revoked is 409', async () => {
    const user = await t.userWithToken('attending');
    const device = newDevice();
    await signIn(user.email, device);
    const address = nextAddress();
    const unknown = await wipeReport({ device: newDevice(), wiped: WIPED }, address);
    const wrongSecret = await wipeReport({ device: { id: device.id, secret: newDevice().secret }, wiped: WIPED }, address);
    for (const response of [unknown, wrongSecret]) expect([response.statusCode, codeOf(response)]).toEqual([401, 'DEVICE_REFUSED']);
    expect(unknown.json().message).toBe(wrongSecret.json().message);
    // Each refusal is a row of its own (the first of its kind from an address is never folded away).
    const refusals = await t.app.db.models.AuditLog.findAll({ where: { networkAddress: address }, raw: true });
    expect(refusals).toHaveLength(2);
    for (const row of refusals) {
      expect(row).toMatchObject({ eventId: 'SecurityAlert', objectType: 'Device', outcome: 4 });
      expect(JSON.parse(row.details!)).toMatchObject({ status: 401, rejected: 'unknown device or wrong secret' });
    }

    const notRevoked = await wipeReport({ device, wiped: WIPED });
    expect([notRevoked.statusCode, codeOf(notRevoked)]).toEqual([409, 'DEVICE_NOT_REVOKED']);
    expect((await t.app.db.models.Device.findByPk(device.id, { raw: true }))!.wipedAt).toBeNull();
  });

  it('a flood of wipe reports from one address is cut off (429) without keeping the real device from reporting', async () => {
    const user = await t.userWithToken('attending');
    const device = newDevice();
    const signed = await signIn(user.email, device);
    expect((await revokeDevice(signed.deviceId!, signed.token)).statusCode).toBe(204);
    const flooder = nextAddress();
    const flood = await Promise.all(Array.from({ length: 30 }, () => wipeReport({ device: newDevice(), wiped: WIPED }, flooder)));
    const statuses = flood.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    const real = await wipeReport({ device, wiped: WIPED }, nextAddress());
    expect(real.statusCode, real.body).toBe(200);
  });
});

describe('labels', () => {
  it.each([
    ['Chrome on Linux', CHROME_UA, 'Chrome 156 on Linux'],
    ['Safari on an iPad', IPAD_UA, 'Safari 17 on iPadOS'],
    ['Firefox on Windows', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox 133 on Windows'],
    [
      'Edge on Windows',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0',
      'Edge 131 on Windows',
    ],
    ['curl', 'curl/8.5.0', 'Unknown browser'],
    ['no header', undefined, 'Unknown browser'],
    ['a browser named past the first 512 characters', `${'x'.repeat(10_000)} Chrome/1`, 'Unknown browser'],
  ])('%s', (_name, ua, label) => {
    expect(deviceLabel(ua)).toBe(label);
    expect(deviceLabel(ua).length).toBeLessThanOrEqual(100);
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

  it('a device revoked on A has its access tokens refused on B at once', async () => {
    const user = await a.userWithToken('attending');
    const device = newDevice();
    const login = await a.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: user.email, password: TEST_PASSWORD, device },
    });
    const token = (login.json() as SessionResponse).accessToken;
    expect((await me(token, b)).statusCode).toBe(200);
    const revoked = await a.app.inject({ method: 'POST', url: `/api/devices/${device.id}/revoke`, headers: bearer(token) });
    expect(revoked.statusCode).toBe(204);
    await expect.poll(async () => codeOf(await me(token, b)), { timeout: 5000 }).toBe('SESSION_ENDED');
    expect(codeOf(await refresh(refreshCookieOf(login), device, b))).toBe('DEVICE_REVOKED');
  });
});
