/**
 * Mixed-load soak: the whole system as `npm start` runs it, and N simulated users for M minutes —
 * worklist pages and searches, the live event stream, DICOMweb metadata and frames, report typing
 * over y-websocket with a colleague watching, a finalize now and then — while storescu sends a new
 * study every few seconds. Measures latency per request class, sync propagation, and memory and
 * CPU of every server process. Goals: API p95 < 100 ms, propagation p95 < 50 ms, no errors, memory
 * flat after warm-up (< 10 % growth). Figures go into BENCHMARKS.md by hand.
 *
 * Run: npm run bench -- soak --db sqlite|postgres --layout one|two --users 200 --minutes 10 [--out DIR] [--seed N] [--studies N]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, Recorder, startSampler } from './soak/metrics';
import { markdown, type SoakResult, svg } from './soak/report';
import { ADMIN, backgroundIngestion, createAccounts, login, seedStudies, waitForStudies, worklistTotal } from './soak/seed';
import { startSystem } from './soak/system';
import { runUser, type StudyRef, signIn, type World } from './soak/users';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    layout: { type: 'string', default: 'one' },
    users: { type: 'string', default: '200' },
    minutes: { type: 'string', default: '10' },
    studies: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const layout = values.layout === 'two' ? 'two' : 'one';
// Two instances share one database: PostgreSQL (SQLite is a single-host, single-writer file).
const db = values.db === 'postgres' || layout === 'two' ? 'postgres' : 'sqlite';
const USERS = Number(values.users);
const MINUTES = Number(values.minutes);
const STUDIES = Number(values.studies);
const SEED = Number(values.seed);
// Warm-up: the first fifth of the run (2 of 10 minutes).
const WARMUP_SECONDS = (MINUTES * 60) / 5;
const out = values.out ?? mkdtempSync(path.join(os.tmpdir(), 'pacs-soak-out-'));
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stderr.write(`[soak] ${line}\n`);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main() {
  const loadAtStart = loadAverage();
  log(`starting the system (${db}, layout ${layout}); logs in ${out}`);
  const system = await startSystem({ db, layout, log, logDir: out });
  try {
    const adminToken = await login(system.url, ADMIN);
    log(`seeding ${STUDIES} studies through Orthanc and ${USERS} accounts through the API`);
    await seedStudies(path.join(system.dataDir, 'seed-files'), system.orthanc, STUDIES);
    await waitForStudies(system.url, adminToken, STUDIES, 300_000);
    const accounts = await createAccounts(system.url, adminToken, USERS);

    // Every seeded study, dealt to the clinicians in turn: each reports on its own.
    const studies: StudyRef[] = [];
    for (let cursor: string | null = null; ; ) {
      const query = new URLSearchParams({ limit: '200', q: 'SACC', ...(cursor ? { cursor, includeTotal: 'false' } : {}) });
      const page = (await (
        await fetch(`${system.url}/api/studies?${query}`, { headers: { authorization: `Bearer ${adminToken}` } })
      ).json()) as {
        items: { id: string; studyInstanceUid: string }[];
        nextCursor: string | null;
      };
      studies.push(...page.items.map((s) => ({ id: s.id, uid: s.studyInstanceUid })));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    const clinicians = accounts.map((a, i) => ({ a, i })).filter(({ a }) => a.role === 'attending' || a.role === 'resident');
    const ownStudies = new Map<number, StudyRef[]>();
    studies.forEach((study, k) => {
      const owner = clinicians[k % clinicians.length];
      if (!owner) return;
      const list = ownStudies.get(owner.i) ?? [];
      list.push(study);
      ownStudies.set(owner.i, list);
    });
    const searchTerms = [
      'Smith',
      'Müller',
      'Garcia',
      'Nguyen',
      'Okafor',
      'Tanaka',
      ...Array.from({ length: 20 }, (_, k) => `SMRN${k * 7}`),
    ];
    searchTerms.push(...Array.from({ length: 20 }, (_, k) => `SACC${k * 13}`));

    const recorder = new Recorder();
    const world: World = {
      url: system.url,
      recorder,
      ownStudies,
      searchTerms,
      stopAt: Date.now() + MINUTES * 60_000,
      finalized: { count: 0 },
    };
    const sampler = startSampler(system.watched, 10_000, recorder.started);
    const ingestion = backgroundIngestion(path.join(system.dataDir, 'new-files'), system.orthanc, 5000);
    log(`load: ${USERS} users for ${MINUTES} min`);
    // Sign-ins spread over the first half of the warm-up (at most a minute), as a shift arriving:
    // each hashes a password, so all at once would only measure bcrypt.
    const signInSpreadMs = Math.min(60, WARMUP_SECONDS / 2) * 1000;
    const sessions = await Promise.all(
      accounts.map(async (account, i) => {
        await new Promise((resolve) => setTimeout(resolve, (i / accounts.length) * signInSpreadMs));
        return signIn(world, i, account, SEED);
      }),
    );
    // Each attending's reports are watched by a resident and the other way round.
    const attendings = sessions.filter((s) => s?.account.role === 'attending');
    const residents = sessions.filter((s) => s?.account.role === 'resident');
    await Promise.all(
      sessions.map((s) => {
        if (!s) return undefined;
        const others = s.account.role === 'attending' ? residents : attendings;
        const peer = others.length > 0 ? (others[s.index % others.length] ?? undefined) : undefined;
        return runUser(world, s, peer);
      }),
    );
    const sent = await ingestion.stop();
    // The last study sent needs its stable age and the webhook before it is listed.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const appeared = await worklistTotal(system.url, await login(system.url, ADMIN), 'NACC');
    const lag = sampler.stop();

    const classes = recorder.classes();
    const apiAll = recorder.apiByMinute.flat().sort((a, b) => a - b);
    const apiErrors = Object.entries(classes)
      .filter(([k]) => !k.startsWith('sync-') && k !== 'login')
      .reduce((sum, [, c]) => sum + c.errors, 0);
    const sync = [...recorder.propagation].sort((a, b) => a - b);
    const p95 = (list: number[] | undefined) =>
      percentile(
        [...(list ?? [])].sort((a, b) => a - b),
        95,
      );
    const samples = sampler.samples;
    const afterWarmup = samples.find((s) => s.t >= WARMUP_SECONDS) ?? samples[0]!;
    const last = samples.at(-1)!;
    const names = Object.keys(last.memory);
    const cpuMean = (name: string) => {
      const later = samples.filter((s) => s.t >= afterWarmup.t);
      return later.reduce((sum, s) => sum + (s.cpu[name] ?? 0), 0) / Math.max(1, later.length);
    };
    const memory = [...names, 'total'].map((name) => {
      const at = (s: (typeof samples)[number]) =>
        name === 'total'
          ? names.filter((n) => n !== 'load-generator').reduce((sum, n) => sum + (s.memory[n] ?? 0), 0)
          : (s.memory[name] ?? 0);
      const start = at(afterWarmup);
      const end = at(last);
      return {
        name,
        atWarmupEnd: start,
        atEnd: end,
        growthPercent: start > 0 ? ((end - start) / start) * 100 : 0,
        cpuMean: name === 'total' ? names.filter((n) => n !== 'load-generator').reduce((sum, n) => sum + cpuMean(n), 0) : cpuMean(name),
      };
    });
    const result: SoakResult = {
      options: { db, layout, users: USERS, minutes: MINUTES, seed: SEED },
      date: new Date().toISOString().slice(0, 10),
      load: { start: loadAtStart, end: loadAverage() },
      classes,
      api: {
        count: apiAll.length,
        errors: apiErrors,
        p50: percentile(apiAll, 50),
        p95: percentile(apiAll, 95),
        p99: percentile(apiAll, 99),
      },
      sync: { count: sync.length, p50: percentile(sync, 50), p95: percentile(sync, 95), p99: percentile(sync, 99) },
      apiP95ByMinute: Array.from({ length: recorder.apiByMinute.length }, (_, i) => p95(recorder.apiByMinute[i])),
      syncP95ByMinute: Array.from({ length: recorder.apiByMinute.length }, (_, i) => p95(recorder.syncByMinute[i])),
      samples,
      warmupSeconds: WARMUP_SECONDS,
      memory,
      ingestion: { ...sent, appeared },
      finalized: world.finalized.count,
      loadGenerator: { ...lag, cpuMean: cpuMean('load-generator') },
      errorKinds: Object.fromEntries([...recorder.errorKinds].map(([k, v]) => [k, Object.fromEntries(v)])),
    };
    const name = `soak-${layout === 'two' ? 'two' : db}`;
    writeFileSync(path.join(out, `${name}.json`), JSON.stringify(result, null, 2));
    writeFileSync(path.join(out, `${name}.md`), `${markdown(result)}\n`);
    writeFileSync(path.join(out, `${name}.svg`), svg(result));
    console.log(markdown(result));
    console.log(`\n(JSON, Markdown and SVG in ${out})`);
  } finally {
    await system.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
