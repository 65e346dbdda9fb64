/**
 * Personal macros: each user's own (another's is invisible and unchangeable), keyed by ids the
 * client made so a replayed create is one macro and one audit row, triggers unique per user,
 * tombstones that a late edit cannot revive, and a hostile table of bodies refused with nothing stored.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

type User = { id: string; token: string };
let t: TestApp;
let alice: User;
let bob: User;
let attending: User;
let technologist: User;

beforeAll(async () => {
  t = await createTestApp();
  alice = await t.userWithToken('resident');
  bob = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  technologist = await t.userWithToken('technologist');
});
afterAll(async () => t?.close());

const put = (user: User, id: string, payload: unknown) =>
  t.app.inject({ method: 'PUT', url: `/api/macros/${id}`, headers: bearer(user.token), payload: payload as object });
const list = async (user: User, q?: string) => {
  const response = await t.app.inject({
    url: `/api/macros${q === undefined ? '' : `?q=${encodeURIComponent(q)}`}`,
    headers: bearer(user.token),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().items as { id: string; trigger: string; label: string; text: string; version: number }[];
};
const remove = (user: User, id: string) => t.app.inject({ method: 'DELETE', url: `/api/macros/${id}`, headers: bearer(user.token) });
const auditRows = (id: string) => t.app.db.models.AuditLog.count({ where: { objectType: 'Macro', objectId: id } });
const stored = () => t.app.db.models.UserMacro.count();

const NORMAL = { trigger: 'normal', label: 'Normal chest', text: 'Lungs clear. No effusion.' };

describe('personal macros', () => {
  it('a replayed create is one macro with one audit row; an edit bumps the version', async () => {
    const id = randomUUID();
    const first = await put(alice, id, NORMAL);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ id, ...NORMAL, version: 1 });
    for (let i = 0; i < 3; i++) {
      const replay = await put(alice, id, NORMAL);
      expect(replay.statusCode).toBe(200);
      expect(replay.json().version).toBe(1);
    }
    expect(await auditRows(id)).toBe(1);
    expect((await list(alice)).filter((m) => m.id === id)).toHaveLength(1);

    const edited = await put(alice, id, { ...NORMAL, text: 'Lungs clear.' });
    expect(edited.json()).toMatchObject({ text: 'Lungs clear.', version: 2 });
    expect(await auditRows(id)).toBe(2);
    const row = await t.app.db.models.AuditLog.findOne({ where: { objectType: 'Macro', objectId: id, action: 'U' }, raw: true });
    expect(row).toMatchObject({ eventId: 'ApplicationActivity', patientId: null });
    expect(JSON.stringify(row)).not.toContain('Lungs clear');
  });

  it('another user’s macro is invisible and cannot be changed or deleted', async () => {
    const id = randomUUID();
    expect((await put(alice, id, { ...NORMAL, trigger: 'mine' })).statusCode).toBe(201);
    expect((await list(bob)).some((m) => m.id === id)).toBe(false);
    const forged = await put(bob, id, { ...NORMAL, trigger: 'mine', text: 'taken over' });
    expect(forged.statusCode).toBe(404);
    expect((await remove(bob, id)).statusCode).toBe(404);
    expect((await list(alice)).find((m) => m.id === id)).toMatchObject({ text: NORMAL.text, version: 1 });
    // The same trigger is free for another user.
    expect((await put(bob, randomUUID(), { ...NORMAL, trigger: 'mine' })).statusCode).toBe(201);
  });

  it('triggers are unique per user; search finds by words', async () => {
    const one = randomUUID();
    expect((await put(attending, one, { trigger: 'pe', label: 'No PE', text: 'No pulmonary embolism.' })).statusCode).toBe(201);
    const clash = await put(attending, randomUUID(), { trigger: 'pe', label: 'Other', text: 'x' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('TRIGGER_TAKEN');
    expect((await put(attending, randomUUID(), { trigger: 'effusion', label: 'Effusion', text: 'Small left effusion.' })).statusCode).toBe(
      201,
    );
    expect((await list(attending, 'pulmonary EMBOLISM')).map((m) => m.trigger)).toEqual(['pe']);
    expect((await list(attending, 'left')).map((m) => m.trigger)).toEqual(['effusion']);
  });

  it('delete leaves a tombstone: a late edit is refused, a second delete changes nothing, the trigger is free again', async () => {
    const id = randomUUID();
    expect((await put(alice, id, { ...NORMAL, trigger: 'gone' })).statusCode).toBe(201);
    expect((await remove(alice, id)).statusCode).toBe(204);
    expect((await remove(alice, id)).statusCode).toBe(204);
    expect(await auditRows(id)).toBe(2);
    const late = await put(alice, id, { ...NORMAL, trigger: 'gone', text: 'edited offline' });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('MACRO_DELETED');
    expect((await list(alice)).some((m) => m.id === id)).toBe(false);
    expect((await put(alice, randomUUID(), { ...NORMAL, trigger: 'gone' })).statusCode).toBe(201);
  });

  it('roles without reports have no macros', async () => {
    expect((await t.app.inject({ url: '/api/macros', headers: bearer(technologist.token) })).statusCode).toBe(403);
    expect((await put(technologist, randomUUID(), NORMAL)).statusCode).toBe(403);
  });

  it.each([
    ['a trigger with a dot', { ...NORMAL, trigger: '.normal' }],
    ['an upper-case trigger', { ...NORMAL, trigger: 'Normal' }],
    ['an oversize trigger', { ...NORMAL, trigger: 'n'.repeat(33) }],
    ['an empty text', { ...NORMAL, text: '' }],
    ['an oversize text', { ...NORMAL, text: 'x'.repeat(20001) }],
    ['a NUL in the text', { ...NORMAL, text: 'a\u0000b' }],
    ['a number as label', { ...NORMAL, label: 7 }],
    ['an unknown field', { ...NORMAL, userId: 'someone-else' }],
    ['a missing label', { trigger: 'x', text: 'y' }],
  ])('refuses %s (400, nothing stored)', async (_what, body) => {
    const before = await stored();
    const response = await put(alice, randomUUID(), body);
    expect(response.statusCode, response.body).toBe(400);
    expect(await stored()).toBe(before);
  });

  it('refuses an id that is not a UUID', async () => {
    expect((await put(alice, 'not-a-uuid', NORMAL)).statusCode).toBe(400);
  });
});
