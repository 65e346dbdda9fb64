/**
 * Assignment rule (shared/src/workflow.ts assignmentAllowed) through the API: residents take only
 * unassigned studies for themselves and give back only their own; attendings and admins reassign.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

type User = { id: string; token: string };
let t: TestApp;
let resident: User;
let resident2: User;
let attending: User;
let admin: User;

beforeAll(async () => {
  t = await createTestApp();
  resident = await t.userWithToken('resident');
  resident2 = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  admin = await t.userWithToken('admin');
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const who = () => ({ resident, resident2, attending, admin });
type Who = keyof ReturnType<typeof who>;

describe('PATCH /api/studies/:id assigneeId', () => {
  it.each<{ what: string; actor: Who; from: Who | null; to: Who | null; status: number }>([
    { what: "resident takes the attending's study", actor: 'resident', from: 'attending', to: 'resident', status: 403 },
    { what: "resident takes another resident's study", actor: 'resident', from: 'resident2', to: 'resident', status: 403 },
    { what: "resident unassigns the attending's study", actor: 'resident', from: 'attending', to: null, status: 403 },
    { what: 'resident hands an unassigned study to another resident', actor: 'resident', from: null, to: 'resident2', status: 403 },
    { what: 'resident hands their own study to the attending', actor: 'resident', from: 'resident', to: 'attending', status: 403 },
    { what: 'resident takes an unassigned study', actor: 'resident', from: null, to: 'resident', status: 200 },
    { what: 'resident gives back their own study', actor: 'resident', from: 'resident', to: null, status: 200 },
    { what: 'attending takes over a resident’s study', actor: 'attending', from: 'resident', to: 'attending', status: 200 },
    { what: 'attending assigns to a resident', actor: 'attending', from: null, to: 'resident2', status: 200 },
    { what: 'admin unassigns anyone', actor: 'admin', from: 'attending', to: null, status: 200 },
  ])('$what → $status', async ({ actor, from, to, status }) => {
    const users = who();
    const study = await seedStudy(t.app, { assigneeId: from ? users[from].id : null });
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${study.id}`,
      headers: bearer(users[actor].token),
      payload: { assigneeId: to ? users[to].id : null },
    });
    expect(response.statusCode, response.body).toBe(status);
    const row = await t.app.db.models.Study.findByPk(study.id, { raw: true });
    if (status === 403) {
      expect(response.json().code).toBe('ASSIGNMENT_FORBIDDEN');
      expect(row!.assigneeId).toBe(from ? users[from].id : null);
      const audit = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
      expect(audit).toMatchObject({ outcome: 4 });
    } else {
      expect(row!.assigneeId).toBe(to ? users[to].id : null);
    }
  });
});

describe('GET /api/users/assignable', () => {
  it('lists the active attendings and residents for an attending or admin, only themselves for a resident', async () => {
    const technologist = await t.userWithToken('technologist');
    const departed = await t.userWithToken('resident');
    await t.app.db.models.User.update({ active: false }, { where: { id: departed.id } });
    for (const reader of [attending, admin]) {
      const response = await t.app.inject({ url: '/api/users/assignable', headers: bearer(reader.token) });
      expect(response.statusCode, response.body).toBe(200);
      const ids = (response.json() as { users: { id: string; role: string }[] }).users.map((u) => u.id);
      expect(ids).toEqual(expect.arrayContaining([resident.id, resident2.id, attending.id]));
      expect(ids).not.toContain(technologist.id);
      expect(ids).not.toContain(admin.id);
      expect(ids).not.toContain(departed.id);
    }
    const own = await t.app.inject({ url: '/api/users/assignable', headers: bearer(resident.token) });
    expect((own.json() as { users: { id: string }[] }).users.map((u) => u.id)).toEqual([resident.id]);
  });

  it('is refused to roles that do not assign studies', async () => {
    for (const role of ['technologist', 'referrer'] as const) {
      const user = await t.userWithToken(role);
      expect((await t.app.inject({ url: '/api/users/assignable', headers: bearer(user.token) })).statusCode, role).toBe(403);
    }
  });
});
