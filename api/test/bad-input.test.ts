/** Bad input gets a clear 4xx, changes nothing and is audited; a failure inside says nothing about internals. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: { token: string };
beforeAll(async () => {
  t = await createTestApp({ PACS_BODY_LIMIT: '4096' });
  admin = await t.userWithToken('admin');
});
afterAll(async () => t?.close());

const createUser = (payload: string, contentType = 'application/json') =>
  t.app.inject({ method: 'POST', url: '/api/users', headers: { ...bearer(admin.token), 'content-type': contentType }, payload });

const auditFor = (response: { headers: Record<string, unknown> }) =>
  t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });

describe('bad input', () => {
  const valid = { email: 'valid@pacs.local', name: 'Valid', role: 'resident', password: 'a-long-enough-password' };

  it.each([
    ['malformed JSON', '{"email": "x@pacs.local",', 400, /not valid JSON/],
    ['wrong type', JSON.stringify({ ...valid, name: 42 }), 400, /name/],
    ['missing field', JSON.stringify({ email: 'x@pacs.local', name: 'X', role: 'resident' }), 400, /password/],
    ['unknown field', JSON.stringify({ ...valid, isSuperuser: true }), 400, /additional properties/],
    ['oversized body', JSON.stringify({ ...valid, name: 'x'.repeat(8000) }), 413, /too large/i],
  ])('%s → %d with a reason, nothing written, audited', async (_label, payload, status, reason) => {
    const before = await t.app.db.models.User.count();
    const response = await createUser(payload);
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(reason);
    expect(await t.app.db.models.User.count()).toBe(before);
    expect(await auditFor(response)).toMatchObject({ outcome: 4 });
  });

  it('refuses an unsupported content type with 415', async () => {
    const response = await createUser('email=x', 'application/x-www-form-urlencoded');
    expect(response.statusCode).toBe(415);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await t.app.inject({ url: '/api/nothing-here?patient=Doe' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(response.body).not.toContain('Doe');
  });

  it('hides internals of a 5xx and keeps the request id', async () => {
    const broken = await createTestAppWithClosedDatabase();
    try {
      const response = await broken.app.inject({ url: '/api/users', headers: bearer(broken.token) });
      expect(response.statusCode).toBeGreaterThanOrEqual(500);
      expect(response.json()).toMatchObject({
        message: expect.not.stringMatching(/sqlite|sequelize|SQL|select/i),
        requestId: response.headers['x-request-id'],
      });
      expect(response.body).not.toMatch(/at .*\.ts:\d+/);
    } finally {
      await broken.app.close().catch(() => {});
      await broken.database.drop();
    }
  });
});

async function createTestAppWithClosedDatabase() {
  const test = await createTestApp();
  const { token } = await test.userWithToken('admin');
  await test.app.db.sequelize.close();
  return { app: test.app, database: test.database, token };
}
