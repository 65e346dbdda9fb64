/**
 * Every registered route × every role against the one permission matrix: a route added without
 * a declared permission fails at start-up, and a declared one must deny exactly the roles the
 * matrix denies.
 */
import { type Action, can, ROLES, type Role } from '@pacs/shared';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import accessControl from '../src/plugins/access-control';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
const tokens = {} as Record<Role, string>;
beforeAll(async () => {
  t = await createTestApp();
  for (const role of ROLES) tokens[role] = (await t.userWithToken(role)).token;
});
afterAll(async () => t?.close());

const SAMPLE_ID = '3f1d2c4b-5a69-4788-9abc-def012345678';
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, SAMPLE_ID).replace(/\*$/, 'studies');

describe('route × role permission matrix', () => {
  it('knows the routes the API serves', () => {
    const urls = t.app.routeTable.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'POST /api/auth/login',
      'GET /api/auth/me',
      'GET /api/users',
      'PATCH /api/users/:id',
      'GET /api/audit',
      'GET /health/ready',
    ]) {
      expect(urls).toContain(expected);
    }
  });

  it('denies exactly the roles the matrix denies, on every protected route', async () => {
    const protectedRoutes = t.app.routeTable.filter((r) => r.access !== 'public' && r.access !== 'webhook');
    expect(protectedRoutes.length).toBeGreaterThan(5);
    for (const route of protectedRoutes) {
      for (const role of ROLES) {
        const response = await t.app.inject({ method: route.method as 'GET', url: concrete(route.url), headers: bearer(tokens[role]) });
        const allowed = can(role, route.access as Action);
        const label = `${role} ${route.method} ${route.url} (${route.access}) → ${response.statusCode}`;
        if (allowed) {
          expect([401, 403], label).not.toContain(response.statusCode);
        } else {
          expect(response.statusCode, label).toBe(403);
          expect(codeOf(response.json()), label).toBe('PERMISSION_DENIED');
        }
      }
    }
  });

  it('answers 401 without a token on every protected route, and never 401 on public ones', async () => {
    for (const route of t.app.routeTable) {
      const response = await t.app.inject({ method: route.method as 'GET', url: concrete(route.url) });
      const label = `${route.method} ${route.url} → ${response.statusCode}`;
      if (route.access === 'public') {
        expect(response.statusCode >= 500, label).toBe(false);
        expect(codeOf(response.json()), label).not.toBe('TOKEN_MISSING');
      } else if (route.access === 'webhook') {
        expect(response.statusCode, label).toBe(401);
        expect(codeOf(response.json()), label).toBe('WEBHOOK_REFUSED');
      } else {
        expect(response.statusCode, label).toBe(401);
        expect(codeOf(response.json()), label).toBe('TOKEN_MISSING');
      }
    }
  });

  it('audits every 403 with who was refused and for what', async () => {
    const response = await t.app.inject({ url: '/api/audit', headers: bearer(tokens.resident) });
    expect(response.statusCode).toBe(403);
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({ eventId: 'Query', outcome: 4, userRole: 'resident' });
    expect(JSON.parse(row!.details!)).toMatchObject({ status: 403, route: '/api/audit' });
  });
});

describe('deny by default', () => {
  it('refuses to start when a route declares no permission', async () => {
    const app = Fastify();
    app.decorate('config', t.config);
    app.decorate('db', t.app.db);
    await app.register(fp(async () => {}, { name: 'database' }));
    await app.register(accessControl);
    expect(() => app.get('/api/undeclared', async () => ({ leaked: true }))).toThrow(/declares no config.access/);
    app.get('/api/declared', { config: { access: 'audit:read' } }, async () => ({ ok: true }));
    expect(app.routeTable).toContainEqual({ method: 'GET', url: '/api/declared', access: 'audit:read' });
    await app.close();
  });
});

/** The error code of an answer: ours, or the one an OperationOutcome (under /fhir) carries in its details. */
function codeOf(body: { code?: string; issue?: { details?: { coding?: { code?: string }[] } }[] }): string | undefined {
  return body.code ?? body.issue?.[0]?.details?.coding?.[0]?.code;
}
