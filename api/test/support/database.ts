/**
 * A fresh, empty database per test file: a temporary SQLite file by default, or a new database
 * on the PostgreSQL server named by TEST_POSTGRES_URL when PACS_TEST_DIALECT=postgres.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  dialect: 'sqlite' | 'postgres';
  drop(): Promise<void>;
}

export function testDialect(): 'sqlite' | 'postgres' {
  return process.env.PACS_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
}

/** A new, empty database on the PostgreSQL server `adminUrl` reaches (tests, benchmarks); `drop` removes it. */
export async function createPostgresDatabase(adminUrl: string, prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dialect: 'postgres',
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testDialect() === 'postgres') {
    const adminUrl = process.env.TEST_POSTGRES_URL;
    if (!adminUrl) throw new Error('PACS_TEST_DIALECT=postgres needs TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)');
    return createPostgresDatabase(adminUrl, 'pacs_test');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-test-'));
  return {
    url: `sqlite:${path.join(dir, 'pacs.sqlite')}`,
    dialect: 'sqlite',
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
