/**
 * Real refusals carry codes from the shared ERROR_CODES and bodies of the shared ErrorResponse
 * shape: what the web matches is what the API sends.
 */
import { randomUUID } from 'node:crypto';
import { ErrorResponse, isErrorCode } from '@pacs/shared';
import type { LightMyRequestResponse } from 'fastify';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let attending: { id: string; token: string };
let admin: { token: string };
beforeAll(async () => {
  t = await createTestApp();
  attending = await t.userWithToken('attending');
  admin = await t.userWithToken('admin');
});
afterAll(async () => t?.close());

/** The refusal's body, after checking it is an ErrorResponse whose code is a listed one. */
function refusal(response: LightMyRequestResponse, status: number): ErrorResponse {
  expect(response.statusCode).toBe(status);
  const body = response.json();
  expect(Value.Check(ErrorResponse, body), JSON.stringify(body)).toBe(true);
  expect(isErrorCode(body.code), String(body.code)).toBe(true);
  return body;
}

describe('error codes of real answers', () => {
  it('404 for a study that does not exist', async () => {
    const response = await t.app.inject({ url: `/api/studies/${randomUUID()}`, headers: bearer(attending.token) });
    expect(refusal(response, 404).code).toBe('NOT_FOUND');
  });

  it('409 STALE_VERSION for a change made on an old version', async () => {
    const study = await seedStudy(t.app);
    const patch = (version: number) =>
      t.app.inject({
        method: 'PATCH',
        url: `/api/studies/${study.id}`,
        headers: bearer(attending.token),
        payload: { priority: 'urgent', version },
      });
    const version = (await t.app.inject({ url: `/api/studies/${study.id}`, headers: bearer(attending.token) })).json().study.version;
    expect((await patch(version)).statusCode).toBe(200);
    expect(refusal(await patch(version), 409).code).toBe('STALE_VERSION');
  });

  it('400 VALIDATION_FAILED for a query that does not match the route schema', async () => {
    const response = await t.app.inject({ url: '/api/studies?limit=abc', headers: bearer(attending.token) });
    expect(refusal(response, 400).code).toBe('VALIDATION_FAILED');
  });

  it('401 TOKEN_MISSING without an access token', async () => {
    const response = await t.app.inject({ url: '/api/studies' });
    expect(refusal(response, 401).code).toBe('TOKEN_MISSING');
  });

  it("415 with Fastify's listed code for a content type no route parses", async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { ...bearer(admin.token), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=x',
    });
    expect(refusal(response, 415).code).toBe('FST_ERR_CTP_INVALID_MEDIA_TYPE');
  });

  it('tells a study without a report (NO_REPORT_YET) from a missing study (NOT_FOUND), as the web reads it', async () => {
    const study = await seedStudy(t.app);
    const noReport = await t.app.inject({ url: `/api/studies/${study.id}/report`, headers: bearer(attending.token) });
    expect(refusal(noReport, 404).code).toBe('NO_REPORT_YET');
    const noStudy = await t.app.inject({ url: `/api/studies/${randomUUID()}/report`, headers: bearer(attending.token) });
    expect(refusal(noStudy, 404).code).toBe('NOT_FOUND');
  });
});
