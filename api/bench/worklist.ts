import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { QueryTypes } from 'sequelize';
import { connectDatabase } from '../src/db/connect';
import { encodeCursor } from '../src/pagination';
import { type LoadResult, load, machine, startServer, table } from './support';
import { seedStudies } from './worklist-seed';

const { values } = parseArgs({
  options: { studies: { type: 'string', default: '100000,1000000' }, duration: { type: 'string', default: '10' } },
});
const sizes = values.studies.split(',').map(Number);
const duration = Number(values.duration);

/** Cursors spread over the default order, as clients that paged that far would hold them. */
async function cursorsAt(databaseUrl: string, count: number, fractions: number[]): Promise<string[]> {
  const sequelize = await connectDatabase(databaseUrl);
  const cursors: string[] = [];
  for (const fraction of fractions) {
    const [row] = await sequelize.query<{ priorityRank: number; receivedAt: string; id: string }>(
      'SELECT priorityRank, receivedAt, id FROM studies ORDER BY priorityRank, receivedAt, id LIMIT 1 OFFSET ?',
      { replacements: [Math.floor(count * fraction)], type: QueryTypes.SELECT },
    );
    cursors.push(encodeCursor([row!.priorityRank, new Date(row!.receivedAt).toISOString(), row!.id]));
  }
  await sequelize.close();
  return cursors;
}

console.log(`Machine: ${machine()}\n`);
for (const count of sizes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-worklist-'));
  const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
  try {
    const started = Date.now();
    await seedStudies(databaseUrl, count);
    console.log(`seeded ${count} studies in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const [cursor] = await cursorsAt(databaseUrl, count, [0.9]);
    const spread = await cursorsAt(
      databaseUrl,
      count,
      Array.from({ length: 500 }, (_, i) => (i + 0.5) / 500),
    );
    const server = await startServer(
      { DATABASE_URL: databaseUrl, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' },
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
      const results: LoadResult[] = [
        await load(`default page (${count})`, { url: url('limit=50'), headers, duration }),
        await load(`filtered: status=unread&modality=CT (${count})`, { url: url('status=unread&modality=CT&limit=50'), headers, duration }),
        await load(`deep keyset page, 90 % (${count})`, { url: url(`limit=50&cursor=${cursor}`), headers, duration }),
        await load(`free text q=kowalski (${count})`, { url: url('q=kowalski&limit=50'), headers, duration }),
        await load(`uncached: 200 distinct accession searches (${count})`, {
          url: url('limit=50'),
          headers,
          duration,
          paths: Array.from({ length: 200 }, (_, i) => `/api/studies?limit=50&q=a${Math.floor(((i + 0.5) / 200) * count)}x`),
        }),
        await load(`uncached: 500 distinct keyset pages (${count})`, {
          url: url('limit=50'),
          headers,
          duration,
          paths: spread.map((c) => `/api/studies?limit=50&cursor=${c}`),
        }),
      ];
      console.log(`\n${count} studies, 50 connections, ${duration} s each, SQLite (WAL); every request also writes its audit row\n`);
      console.log(table(results));
      console.log('');
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
