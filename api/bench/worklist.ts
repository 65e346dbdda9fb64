/**
 * The worklist at scale: listing, filtering, deep keyset pages and free-text search over N studies
 * seeded straight into the database (SQLite by default, PostgreSQL with `--postgres <admin URL>`),
 * 50 connections against the API in its own process. Search rows send each term once (no page
 * cache can answer it): surnames, surname prefixes, MRNs and accessions.
 *
 *   npm run bench -- worklist                       (100,000 and 1,000,000 studies, SQLite)
 *   tsx bench/worklist.ts --studies 1000000 --only search --postgres postgres://postgres@127.0.0.1:5432/postgres
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { foldForSearch } from '@pacs/shared';
import { QueryTypes } from 'sequelize';
import { connectDatabase } from '../src/db/connect';
import { encodeCursor } from '../src/pagination';
import { createPostgresDatabase } from '../test/support/database';
import { type LoadResult, load, machine, startServer, table } from './support';
import { FAMILY, seedStudies } from './worklist-seed';

const { values } = parseArgs({
  options: {
    studies: { type: 'string', default: '100000,1000000' },
    duration: { type: 'string', default: '10' },
    postgres: { type: 'string' },
    only: { type: 'string', default: 'list,search' },
  },
});
const sizes = values.studies.split(',').map(Number);
const duration = Number(values.duration);
const parts = new Set(values.only.split(','));

/** Cursors spread over the default order, as clients that paged that far would hold them. */
async function cursorsAt(databaseUrl: string, count: number, fractions: number[]): Promise<string[]> {
  const sequelize = await connectDatabase(databaseUrl);
  const cursors: string[] = [];
  for (const fraction of fractions) {
    const [row] = await sequelize.query<{ priorityRank: number; receivedAt: string; id: string }>(
      'SELECT "priorityRank", "receivedAt", "id" FROM studies ORDER BY "priorityRank", "receivedAt", "id" LIMIT 1 OFFSET ?',
      { replacements: [Math.floor(count * fraction)], type: QueryTypes.SELECT },
    );
    cursors.push(encodeCursor([row!.priorityRank, new Date(row!.receivedAt).toISOString(), row!.id]));
  }
  await sequelize.close();
  return cursors;
}

/** The first `n` of `list` in a shuffled but repeatable order (distinct when `list` is). */
function shuffled(list: string[], n: number): string[] {
  const key = (s: string) => createHash('sha1').update(s).digest('hex');
  return list
    .map((s) => [key(s), s] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(0, n)
    .map(([, s]) => s);
}

/** `n` distinct search terms of each kind, as a front desk types them (lower case, no accents). */
function searchTerms(count: number, n: number): Record<'surnames' | 'prefixes' | 'MRNs' | 'accessions', string[]> {
  const surnames = [...new Set(FAMILY.map(foldForSearch))];
  const prefixes = [...new Set(surnames.flatMap((s) => [s.slice(0, 4), s.slice(0, 5), s.slice(0, 6)]))];
  const numbers = (prefix: string, range: number) =>
    shuffled(
      Array.from({ length: 4 * n }, (_, i) => `${prefix}${Math.floor(((i + 0.5) / (4 * n)) * range)}`),
      n,
    );
  return {
    surnames: shuffled(surnames, n),
    prefixes: shuffled(prefixes, n),
    MRNs: numbers('p', Math.ceil(count / 3)),
    accessions: numbers('a', count),
  };
}

/** A fresh database for one size: a SQLite file in `dir`, or a new database on the PostgreSQL server. */
async function freshDatabase(dir: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (!values.postgres) return { url: `sqlite:${path.join(dir, 'pacs.sqlite')}`, drop: async () => undefined };
  return createPostgresDatabase(values.postgres, 'pacs_bench');
}

console.log(`Machine: ${machine()}\n`);
for (const count of sizes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-worklist-'));
  const database = await freshDatabase(dir);
  try {
    const started = Date.now();
    await seedStudies(database.url, count);
    console.log(`seeded ${count} studies in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const server = await startServer(
      { DATABASE_URL: database.url, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' },
      3997,
    );
    try {
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'radiologist@pacs.local', password: 'pacs-radiologist-dev-password' }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const headers = { authorization: `Bearer ${accessToken}` };
      const url = (qs: string) => `${server.url}/api/studies?${qs}`;
      await load('warm-up', { url: url('limit=50'), headers, duration: 2 });
      const results: LoadResult[] = [];
      if (parts.has('list')) {
        const [cursor] = await cursorsAt(database.url, count, [0.9]);
        const pages = await cursorsAt(
          database.url,
          count,
          Array.from({ length: 500 }, (_, i) => (i + 0.5) / 500),
        );
        results.push(
          await load(`default page (${count})`, { url: url('limit=50'), headers, duration }),
          await load(`filtered: status=unread&modality=CT (${count})`, {
            url: url('status=unread&modality=CT&limit=50'),
            headers,
            duration,
          }),
          await load(`deep keyset page, 90 % (${count})`, { url: url(`limit=50&cursor=${cursor}`), headers, duration }),
          await load(`500 distinct keyset pages, round-robin (${count})`, {
            url: url('limit=50'),
            headers,
            duration,
            paths: pages.map((c) => `/api/studies?limit=50&cursor=${c}`),
          }),
        );
      }
      if (parts.has('search')) {
        const searchPath = (term: string) => `/api/studies?limit=50&q=${encodeURIComponent(term)}`;
        // The goal's row first: 200 distinct terms, 50 of each kind, interleaved; then 300 more of each kind alone.
        // No term is sent twice in a run.
        const terms = searchTerms(count, 375);
        const goal = Array.from({ length: 50 }, (_, i) => [
          terms.surnames[i]!,
          terms.prefixes[i]!,
          terms.MRNs[i]!,
          terms.accessions[i]!,
        ]).flat();
        results.push(
          await load(`search: 200 distinct terms, each once (${count})`, {
            url: url('limit=50'),
            headers,
            amount: 200,
            paths: goal.map(searchPath),
          }),
        );
        // Service time without queueing: 100 more terms, one request at a time.
        const alone = Array.from({ length: 25 }, (_, i) => [
          terms.surnames[350 + i]!,
          terms.prefixes[350 + i]!,
          terms.MRNs[350 + i]!,
          terms.accessions[350 + i]!,
        ]).flat();
        results.push(
          await load(`search: 100 distinct terms, one connection (${count})`, {
            url: url('limit=50'),
            headers,
            connections: 1,
            amount: alone.length,
            paths: alone.map(searchPath),
          }),
        );
        for (const [kind, all] of Object.entries(terms)) {
          const rest = all.slice(50, 350);
          results.push(
            await load(`search: ${rest.length} distinct ${kind}, each once (${count})`, {
              url: url('limit=50'),
              headers,
              amount: rest.length,
              paths: rest.map(searchPath),
            }),
          );
        }
      }
      const engine = values.postgres ? 'PostgreSQL' : 'SQLite (WAL)';
      console.log(`\n${count} studies, 50 connections, ${duration} s a timed row, ${engine}; every request also writes its audit row\n`);
      console.log(table(results));
      console.log('');
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
