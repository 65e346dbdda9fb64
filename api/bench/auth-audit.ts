/**
 * API core: authenticated GET /api/auth/me and GET /api/audit (the default page, and filtered and
 * deep pages) at 50 concurrent connections, the server in its own process, over an audit table
 * seeded straight into the database (SQLite by default, PostgreSQL with `--postgres <admin URL>`).
 * Goals: /auth/me p95 < 10 ms; /audit?limit=50 p95 < 20 ms at 1,000,000 audit rows.
 *
 *   npm run bench -- auth-audit
 *   tsx bench/auth-audit.ts [--duration 10] [--audit-rows 1000000] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { encodeCursor } from '../src/pagination';
import { createPostgresDatabase } from '../test/support/database';
import { seedAudit } from './audit-seed';
import { type LoadResult, load, machine, startServer, table } from './support';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    'audit-rows': { type: 'string', default: '1000000' },
    postgres: { type: 'string' },
    /** Which rows to run: me, audit (the default page), filters (filtered and deep pages). */
    only: { type: 'string', default: 'me,audit,filters' },
  },
});
const duration = Number(values.duration);
const parts = new Set(values.only.split(','));
const auditRows = Number(values['audit-rows']);
const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-'));
const database = values.postgres
  ? await createPostgresDatabase(values.postgres, 'pacs_bench')
  : { url: `sqlite:${path.join(dir, 'pacs.sqlite')}`, drop: async () => undefined };
try {
  const sequelize = await connectDatabase(database.url);
  await migrate(sequelize);
  const started = Date.now();
  await seedAudit(sequelize, auditRows);
  await sequelize.close();
  console.log(`seeded ${auditRows} audit rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const server = await startServer(
    { DATABASE_URL: database.url, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' },
    3999,
  );
  try {
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@pacs.local', password: 'pacs-admin-dev-password' }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const headers = { authorization: `Bearer ${accessToken}` };
    const audit = (qs: string) => `${server.url}/api/audit?${qs}`;
    const cpuOf = server.child.pid;
    // Warm-up: JIT, the database's page cache.
    await load('warm-up', { url: `${server.url}/api/auth/me`, headers, duration: 2 });
    await load('warm-up', { url: audit('limit=50'), headers, duration: 2 });
    // A cursor 90 % down the seeded rows (ids are 1..auditRows), as a client paging that far holds it.
    const deep = encodeCursor([String(Math.ceil(auditRows * 0.1))]);
    const results: LoadResult[] = [];
    if (parts.has('me')) results.push(await load('GET /api/auth/me', { url: `${server.url}/api/auth/me`, headers, duration, cpuOf }));
    if (parts.has('audit')) results.push(await load('GET /api/audit?limit=50', { url: audit('limit=50'), headers, duration, cpuOf }));
    if (parts.has('filters')) {
      results.push(
        await load('filtered: patientId (20 rows)', { url: audit('patientId=PAT-1234&limit=50'), headers, duration, cpuOf }),
        await load('filtered: eventId=Export (1 row in 1,000)', { url: audit('eventId=Export&limit=50'), headers, duration, cpuOf }),
        await load('filtered: outcome=8 (no row)', { url: audit('outcome=8&limit=50'), headers, duration, cpuOf }),
        await load('filtered: from/to, one day', {
          url: audit('from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z&limit=50'),
          headers,
          duration,
          cpuOf,
        }),
        await load('deep keyset page (90 % down)', { url: audit(`limit=50&cursor=${deep}`), headers, duration, cpuOf }),
      );
    }
    const engine = values.postgres ? 'PostgreSQL' : 'SQLite (WAL)';
    console.log(`\nMachine: ${machine()}\n50 connections, ${duration} s each, ${engine}, ${auditRows} audit rows before the run\n`);
    console.log(table(results));
  } finally {
    await server.stop();
  }
} finally {
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
}
