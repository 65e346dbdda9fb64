/** Health, metrics, OpenAPI, security headers, CORS, migrations and logs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { migrate } from '../src/db/migrate';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
const logLines: string[] = [];
beforeAll(async () => {
  t = await createTestApp(
    { PACS_CORS_ORIGINS: 'https://viewer.hospital.example', PACS_METRICS_TOKEN: 'metrics-token-0123456789' },
    { logStream: { write: (line: string) => void logLines.push(line) } },
  );
});
afterAll(async () => t?.close());

describe('health', () => {
  it('is live, and ready while the database answers', async () => {
    expect((await t.app.inject({ url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    // No Orthanc in this app: ready, but degraded, with the reason.
    expect(ready.json()).toMatchObject({
      status: 'degraded',
      checks: { database: { status: 'ok' }, orthanc: { status: 'degraded', message: 'not configured' } },
    });
  });

  it('is not ready when an essential check fails', async () => {
    t.app.readinessChecks.push({ name: 'probe', essential: true, run: async () => ({ status: 'down', message: 'probe down' }) });
    try {
      const ready = await t.app.inject({ url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'down', checks: { probe: { status: 'down' } } });
    } finally {
      t.app.readinessChecks.pop();
    }
  });
});

describe('metrics', () => {
  it('needs the metrics token and reports request counts and latency by route pattern', async () => {
    await t.app.inject({ url: '/health/live' });
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const response = await t.app.inject({ url: '/metrics', headers: bearer('metrics-token-0123456789') });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/pacs_api_http_requests_total\{method="GET",route="\/health\/live",status_code="200"\} \d+/);
    expect(response.body).toContain('pacs_api_http_request_duration_seconds_bucket');
    expect(response.body).toContain('pacs_api_http_errors_total');
  });
});

describe('OpenAPI and Swagger UI', () => {
  it('documents every route with its schemas, and bearer auth on protected ones', async () => {
    const spec = (await t.app.inject({ url: '/api/docs/json' })).json();
    for (const route of t.app.routeTable.filter((r) => r.url !== '/metrics')) {
      const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');
      const operation = spec.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      if (route.access === 'public' || route.access === 'webhook') expect(operation.security, route.url).toBeUndefined();
      else expect(operation.security, route.url).toEqual([{ bearerAuth: [] }]);
    }
    expect(spec.paths['/api/auth/login'].post.requestBody.content['application/json'].schema.required).toEqual(['email', 'password']);
    const ui = await t.app.inject({ url: '/api/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });
});

describe('security headers and CORS', () => {
  it('sends a CSP, no-sniff and frame protection', async () => {
    const response = await t.app.inject({ url: '/health/live' });
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('allows only listed origins', async () => {
    const allowed = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/auth/me',
      headers: { origin: 'https://viewer.hospital.example', 'access-control-request-method': 'GET' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://viewer.hospital.example');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    const other = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/auth/me',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('logs', () => {
  it('carry request ids but never passwords, tokens, cookies or query strings', async () => {
    const login = await t.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const token = login.json().accessToken as string;
    const cookie = login.cookies.find((c) => c.name === 'pacs_refresh')!.value;
    await t.app.inject({ url: '/api/audit?patientId=PAT-SECRET-42', headers: bearer(token) });
    await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { pacs_refresh: cookie } });
    const text = logLines.join('');
    expect(text).toContain('"reqId"');
    expect(text).toContain('/api/audit');
    for (const secret of [ADMIN_PASSWORD, token, token.split('.')[2]!, cookie, 'PAT-SECRET-42', t.config.jwtSecret]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('migrations', () => {
  it('run once, are idempotent, and a restart keeps users without re-seeding', async () => {
    expect(await migrate(t.app.db.sequelize)).toEqual([]);
    const users = await t.app.db.models.User.count();
    const again = await buildApp(loadConfig({ ...process.env, PACS_ENV: 'test', PACS_LOG_LEVEL: 'silent', DATABASE_URL: t.database.url }));
    try {
      expect(await again.db.models.User.count()).toBe(users);
    } finally {
      await again.close();
    }
  });
});
