/** The interactive API docs are for development: off in production unless PACS_API_DOCS turns them on. */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app';
import { productionEnv } from './support/production';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('/api/docs', () => {
  it.each([
    ['production', 404, productionEnv()],
    ['production with PACS_API_DOCS=true', 200, productionEnv({ PACS_API_DOCS: 'true' })],
    ['test (development defaults)', 200, {}],
    ['development with PACS_API_DOCS=false', 404, { PACS_API_DOCS: 'false' }],
  ])('%s → %i', async (_label, status, env) => {
    t = await createTestApp(env);
    for (const url of ['/api/docs/', '/api/docs/json']) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(status);
    }
  });
});
