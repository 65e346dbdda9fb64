/** OPS-2 / CONF-1: /metrics is never open in production: the server refuses to start without its token. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { SECRET, SERVICE_TOKEN, startServer } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const production = {
  PACS_ENV: 'production',
  PACS_DOCUMENT_TOKEN_SECRET: SECRET,
  PACS_SYNC_SERVICE_TOKEN: SERVICE_TOKEN,
};
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('metrics token (OPS-2)', () => {
  it('OPS-2: production without PACS_METRICS_TOKEN is a configuration error', () => {
    expect(() => loadConfig(production)).toThrow(/PACS_METRICS_TOKEN: required in production/);
    expect(loadConfig({ ...production, PACS_METRICS_TOKEN: METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN);
    // Development and tests stay open without one.
    expect(loadConfig({}).metricsToken).toBeUndefined();
  });

  it('OPS-2: the production process exits with 78 before listening', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...production, PACS_SYNC_PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('PACS_METRICS_TOKEN');
  });

  it('OPS-2: with a token, /metrics answers 401 without it and 200 with it', async () => {
    const { server, url } = await startServer({ env: { PACS_METRICS_TOKEN: METRICS_TOKEN } });
    cleanups.push(() => server.stop());
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('pacs_sync_connections');
  });
});
