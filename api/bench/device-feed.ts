/**
 * A new device's first sync at scale: seeds N studies (SQLite), gives the radiologist a realistic
 * scope (studies assigned to them, follows, recent openings, CT and MR as their modalities, so a
 * few hundred unread arrivals of the last 48 h), starts the API in its own process and follows
 * `/api/studies/changes` from cursor 0 to the last page, as the web app does; then the changes of
 * 1,000 studies spread over the hospital (mostly tombstones: not this user's).
 * Goal: < 5 s and < 20 MB to the last page at 1,000,000 studies.
 * Run: pnpm --filter @pacs/api exec tsx bench/device-feed.ts [--studies 1000000] [--runs 3] [--limit 1000]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StudyChanges } from '@pacs/shared';
import { connectDatabase } from '../src/db/connect';
import { machine, startServer } from './support';
import { seedStudies } from './worklist-seed';

const { values } = parseArgs({
  options: {
    studies: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    limit: { type: 'string', default: '1000' },
  },
});
const count = Number(values.studies);
const runs = Number(values.runs);
const limit = Number(values.limit);

/** Every `every`-th study by sequence (spread over the whole history), for assignments, follows and openings. */
const spreadIds = async (sequelize: Awaited<ReturnType<typeof connectDatabase>>, every: number, offset: number) =>
  (
    (await sequelize.query(`SELECT id FROM studies WHERE changeSeq % ${every} = ${offset}`, { raw: true })) as [{ id: string }[], unknown]
  )[0].map((r) => r.id);

async function giveScope(databaseUrl: string, userId: string): Promise<void> {
  const sequelize = await connectDatabase(databaseUrl);
  const now = new Date();
  await sequelize.query(`UPDATE users SET modalities = '|CT|MR|' WHERE id = ?`, { replacements: [userId] });
  const assigned = await spreadIds(sequelize, Math.max(1, Math.floor(count / 150)), 0);
  await sequelize.query(`UPDATE studies SET assigneeId = ?, status = 'in_progress' WHERE id IN (${assigned.map(() => '?').join(',')})`, {
    replacements: [userId, ...assigned],
  });
  for (const [table, every, offset, column, at] of [
    ['study_follows', Math.max(1, Math.floor(count / 30)), 1, 'createdAt', now],
    ['study_opens', Math.max(1, Math.floor(count / 40)), 2, 'openedAt', new Date(now.getTime() - 86_400_000)],
  ] as const) {
    const ids = await spreadIds(sequelize, every, offset);
    await sequelize.query(`INSERT INTO ${table} (id, userId, studyRef, ${column}) VALUES ${ids.map(() => '(?,?,?,?)').join(',')}`, {
      replacements: ids.flatMap((id) => [randomUUID(), userId, id, at]),
    });
  }
  await sequelize.query('ANALYZE');
  await sequelize.close();
}

interface Sync {
  cursor: string;
  tombstones: number;
  ms: number;
  bytes: number;
  rows: number;
  pages: number;
  reasons: Record<string, number>;
}

/** Follows the feed from `cursor` to its last page, as a device does. */
async function follow(url: string, token: string, from = '0'): Promise<Sync> {
  const started = performance.now();
  let cursor = from;
  let tombstones = 0;
  let bytes = 0;
  let pages = 0;
  const rows = new Map<string, string[]>();
  for (;;) {
    const response = await fetch(`${url}/api/studies/changes?cursor=${encodeURIComponent(cursor)}&limit=${limit}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw new Error(`feed answered ${response.status}: ${await response.text()}`);
    const text = await response.text();
    bytes += Buffer.byteLength(text);
    pages += 1;
    const page = JSON.parse(text) as StudyChanges;
    for (const change of page.changes) {
      if ('deleted' in change) {
        tombstones += 1;
        rows.delete(change.id);
      } else rows.set(change.id, change.scope ?? []);
    }
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const ms = performance.now() - started;
  const reasons: Record<string, number> = {};
  for (const scope of rows.values()) for (const reason of scope) reasons[reason] = (reasons[reason] ?? 0) + 1;
  return { cursor, tombstones, ms, bytes, rows: rows.size, pages, reasons };
}

/** `n` studies spread over the history change (as many writers would), each taking the next sequence. */
async function changeStudies(databaseUrl: string, n: number): Promise<void> {
  const sequelize = await connectDatabase(databaseUrl);
  const ids = await spreadIds(sequelize, Math.floor(count / n), 3);
  await sequelize.transaction(async (transaction) => {
    const [[counter]] = (await sequelize.query("SELECT value FROM counters WHERE name = 'worklist'", { transaction })) as [
      [{ value: number }],
      unknown,
    ];
    for (const [i, id] of ids.entries()) {
      await sequelize.query(`UPDATE studies SET priority = 'urgent', changeSeq = ? WHERE id = ?`, {
        replacements: [Number(counter.value) + i + 1, id],
        transaction,
      });
    }
    await sequelize.query(`UPDATE counters SET value = ? WHERE name = 'worklist'`, {
      replacements: [Number(counter.value) + ids.length],
      transaction,
    });
  });
  await sequelize.close();
}

console.log(`Machine: ${machine()}\n`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-device-feed-'));
const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
try {
  const seeded = Date.now();
  await seedStudies(databaseUrl, count, Date.now());
  console.log(`seeded ${count} studies in ${((Date.now() - seeded) / 1000).toFixed(0)} s`);
  const env = { DATABASE_URL: databaseUrl, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' };
  let server = await startServer(env, 3996);
  const login = async () => {
    const response = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'radiologist@pacs.local', password: 'pacs-radiologist-dev-password' }),
    });
    return (await response.json()) as { accessToken: string; user: { id: string } };
  };
  const { user } = await login();
  await server.stop();
  await giveScope(databaseUrl, user.id);
  server = await startServer(env, 3996);
  try {
    const { accessToken } = await login();
    console.log(`\n${count} studies, SQLite (WAL), pages of ${limit}; bytes are the JSON bodies (uncompressed)\n`);
    console.log('| run | time to last page | bytes | rows | pages | rows by reason |');
    console.log('|---|---|---|---|---|---|');
    let cursor = '0';
    for (let run = 1; run <= runs; run += 1) {
      const sync = await follow(server.url, accessToken);
      cursor = sync.cursor;
      const reasons = Object.entries(sync.reasons)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      console.log(
        `| ${run} | ${(sync.ms / 1000).toFixed(2)} s | ${(sync.bytes / 2 ** 20).toFixed(2)} MB | ${sync.rows} | ${sync.pages} | ${reasons} |`,
      );
    }
    // A device that has synced pulls the changes of 1,000 studies anywhere in the hospital.
    await changeStudies(databaseUrl, 1000);
    const delta = await follow(server.url, accessToken, cursor);
    console.log(
      `\nthen 1,000 changed studies: ${(delta.ms / 1000).toFixed(2)} s to the last page, ${(delta.bytes / 2 ** 10).toFixed(0)} kB, ${delta.rows} rows, ${delta.tombstones} tombstones, ${delta.pages} page(s)`,
    );
  } finally {
    await server.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
