/**
 * Issue "Foundation" benchmark: authenticated GET /api/auth/me and GET /api/audit?limit=50 at 50
 * concurrent connections on embedded SQLite, the server in its own process. Goal: p95 < 10 ms.
 * Run: pnpm --filter @pacs/api exec tsx bench/auth-audit.ts [--duration 10] [--audit-rows 100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { defineModels } from '../src/db/models';
import { load, machine, startServer, table } from './support';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, 'audit-rows': { type: 'string', default: '100000' } },
});
const duration = Number(values.duration);
const auditRows = Number(values['audit-rows']);

const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-'));
const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
try {
  // A realistic audit table: rows of several users and patients, written in bulk before the run.
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const { AuditLog } = defineModels(sequelize);
  const started = Date.now();
  for (let offset = 0; offset < auditRows; offset += 5000) {
    const batch = Array.from({ length: Math.min(5000, auditRows - offset) }, (_, i) => ({
      eventId: 'PatientRecord' as const,
      action: 'R' as const,
      outcome: 0 as const,
      eventDateTime: new Date(Date.UTC(2026, 0, 1) + (offset + i) * 1000),
      userId: null,
      userRole: 'attending',
      networkAddress: '10.0.0.1',
      objectType: 'Study',
      objectId: null,
      patientId: `PAT-${(offset + i) % 5000}`,
      studyUid: `1.2.826.0.1.${offset + i}`,
      requestId: null,
      details: null,
    }));
    await AuditLog.bulkCreate(batch);
  }
  await sequelize.close();
  console.log(`seeded ${auditRows} audit rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const server = await startServer(
    { DATABASE_URL: databaseUrl, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' },
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
    // Warm-up: JIT, SQLite page cache.
    await load('warm-up', { url: `${server.url}/api/auth/me`, headers, duration: 2 });
    const results = [
      await load('GET /api/auth/me', { url: `${server.url}/api/auth/me`, headers, duration }),
      await load('GET /api/audit?limit=50', { url: `${server.url}/api/audit?limit=50`, headers, duration }),
    ];
    console.log(`\nMachine: ${machine()}\n50 connections, ${duration} s each, SQLite (WAL), ${auditRows} audit rows before the run\n`);
    console.log(table(results));
  } finally {
    await server.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
