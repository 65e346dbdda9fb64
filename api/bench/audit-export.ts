/**
 * The ATNA audit export, measured: the API (src/server.ts, its own process, SQLite in a fresh data
 * dir) exports to Debian's rsyslogd over TLS with client certificates (made here with openssl).
 * Audit rows are written by this process into the same database with the API's own recorder (group
 * commit), as the API's requests write them.
 *  1. steady: `--rate` rows/s for `--seconds` s; the lag of each row from its write (EventDateTime)
 *     to rsyslog's receipt (timegenerated) → p50/p95. Goal: keeps up with 1,000 rows/s, lag p95 < 2 s.
 *  2. backlog: `--backlog` rows written while the export is held back (the repository down), then
 *     delivered after it returns → rows/s.
 *
 * Run: npm run bench audit-export [-- --rate 1000 --seconds 100 --backlog 100000]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { makePki } from '@pacs/test-kit/pki';
import { AuditRecorder } from '../src/audit/recorder';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { defineModels } from '../src/db/models';
import { Rsyslog } from '../test/support/rsyslog';
import { freePort } from '../test/support/sync-server';
import { benchApiEnv, machine, startServer } from './support';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '100' },
    backlog: { type: 'string', default: '100000' },
  },
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Receipt time and EventDateTime of every received line whose object id starts with `marker`. */
function lagsOf(file: string, marker: string): number[] {
  const lags: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(`ParticipantObjectID="${marker}`)) continue;
    const received = Date.parse(line.slice(0, line.indexOf(' ')));
    const written = Date.parse(/EventDateTime="([^"]+)"/.exec(line)?.[1] ?? '');
    lags.push(received - written);
  }
  return lags;
}

const countOf = (file: string, marker: string) => {
  try {
    return readFileSync(file, 'utf8').split(`ParticipantObjectID="${marker}`).length - 1;
  } catch {
    return 0;
  }
};

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-atna-'));
  const pki = makePki(dir, 'bench');
  const repository = new Rsyslog(dir, await freePort(), pki, true);
  await repository.start();
  const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const recorder = new AuditRecorder(defineModels(sequelize));
  const server = await startServer(
    {
      ...benchApiEnv(dir, databaseUrl),
      PACS_ATNA_URL: `tls://127.0.0.1:${repository.port}`,
      PACS_ATNA_CA_FILE: pki.ca,
      PACS_ATNA_CERT_FILE: pki.clientCert,
      PACS_ATNA_KEY_FILE: pki.clientKey,
    },
    await freePort(),
  );
  const write = (marker: string, i: number) =>
    recorder.record({
      eventId: 'DICOMInstancesAccessed',
      action: 'R',
      outcome: 0,
      userId: null,
      networkAddress: '10.1.2.3',
      objectType: 'Study',
      objectId: `${marker}${i}`,
      patientId: `MRN${i % 10_000}`,
      studyUid: `1.2.826.0.1.3680043.10.1234.${i}`,
      details: { method: 'GET', route: '/dicom-web/studies/:study/metadata', status: 200 },
    });
  try {
    const rate = Number(values.rate);
    const seconds = Number(values.seconds);
    const total = rate * seconds;
    // Steady: 10 ms ticks of rate/100 rows each, started on schedule whatever the previous tick took.
    const started = Date.now();
    const pending: Promise<void>[] = [];
    for (let tick = 0; tick < seconds * 100; tick++) {
      const due = started + tick * 10;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      for (let i = 0; i < rate / 100; i++) pending.push(write('S', tick * (rate / 100) + i));
    }
    await Promise.all(pending);
    const wroteFor = (Date.now() - started) / 1000;
    await until(() => countOf(repository.output, 'S') >= total, 'the steady rows', 300_000);
    const lags = lagsOf(repository.output, 'S').sort((a, b) => a - b);
    console.log(
      `steady: ${total} rows at ${rate}/s (written in ${wroteFor.toFixed(1)} s): lag p50 ${percentile(lags, 50)} ms, p95 ${percentile(lags, 95)} ms, max ${lags.at(-1)} ms; received ${lags.length}`,
    );

    // Backlog: the repository down while rows pile up, then back.
    await repository.stop();
    const backlog = Number(values.backlog);
    const batch: Promise<void>[] = [];
    for (let i = 0; i < backlog; i++) {
      batch.push(write('B', i));
      if (batch.length === 1000) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    const back = Date.now();
    await repository.start();
    await until(() => countOf(repository.output, 'B') >= backlog, 'the backlog', 900_000);
    const drained = (Date.now() - back) / 1000;
    console.log(
      `backlog: ${backlog} rows delivered in ${drained.toFixed(1)} s after the repository returned = ${(backlog / drained).toFixed(0)} rows/s (includes up to 30 s of reconnect back-off)`,
    );
    console.log(`duplicates: ${countOf(repository.output, 'S') + countOf(repository.output, 'B') - total - backlog}`);
    console.log(machine());
  } finally {
    await server.stop();
    await repository.stop();
    await sequelize.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
