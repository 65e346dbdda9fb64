/**
 * The upgrade drill (DEPLOYMENT.md, "Upgrades with migrations"): the data directory of the previous
 * release — the tagged commit, run with its own `npm start` and used as a department would — is
 * taken over by this checkout's `npm start`. Its migrations run once and only once, nothing is lost
 * (studies, users, the signed report with its hash and signature, a report still being written, the
 * audit trail), people still sign in and search still finds the studies. Then the two ways back:
 * the previous release started on the upgraded directory, and on the backup taken before the upgrade.
 * Run by `npm run test:deployment` (alone: `npm run test:deployment -- upgrade`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_PASSWORDS } from '@pacs/api/config';
import { MIGRATION_NAMES } from '@pacs/api/db/migrate';
import { appendToSection } from '@pacs/api/testing/sync-server';
import { MIGRATION_NAMES as SYNC_MIGRATION_NAMES } from '@pacs/sync-server/db/migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coEditAndSign, createTemplate, editorText, openEditor, type Session, signIn, startReport, storeStudy, waitFor } from './client';
import { extractRelease, freePorts, type Ports, ROOT, type RunningRelease, readDatabase, startRelease } from './release';

const PREVIOUS = { tag: 'v2026.12.0', commit: '69af5dd974df988151251f09eb7fa2bf014d627d' };
const PREVIOUS_RELEASE = PREVIOUS.tag;
/** A tree's first start installs its node modules and builds its web app before it serves. */
const FIRST_START_MS = 600_000;
const START_MS = 180_000;
const ADMIN = 'admin@pacs.local';
const ATTENDING = 'radiologist@pacs.local';
const RESIDENT = 'resident@pacs.local';
const DRAFT_LINE = 'Draft kept across the upgrade.';

let work: string;
let previousRoot: string;
let ports: Ports;
const running = new Set<RunningRelease>();

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'pacs-upgrade-'));
  previousRoot = path.join(work, 'previous-release');
  mkdirSync(previousRoot);
  extractRelease(PREVIOUS, previousRoot);
  ports = await freePorts();
});

afterAll(async () => {
  for (const release of running) await release.stop().catch(() => undefined);
  if (work && process.env.PACS_DEPLOY_KEEP !== '1') rmSync(work, { recursive: true, force: true });
}, 180_000);

async function start(root: string, dataDir: string, name: string, withinMs: number): Promise<RunningRelease> {
  const began = Date.now();
  const release = await startRelease(root, dataDir, ports, path.join(work, `${name}.log`), withinMs);
  running.add(release);
  console.log(`upgrade drill: ${name} ready in ${Math.round((Date.now() - began) / 1000)} s`);
  return {
    ...release,
    async stop() {
      running.delete(release);
      await release.stop();
    },
  };
}

/** The `migrations` of each "database migrated" line the API logged in this start. */
function migratedInLog(release: RunningRelease): string[][] {
  return release
    .log()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"database migrated"'))
    .map((line) => (JSON.parse(line) as { migrations: string[] }).migrations);
}

interface Snapshot {
  pacsLedger: string[];
  syncLedger: string[];
  counts: Record<string, number>;
  auditRows: number;
  lastAuditId: number;
  /** Ids of the audit rows about reports (the filter migration 0020 indexes). */
  reportAuditIds: string[];
}

const COUNTED = ['studies', 'reports', 'users', 'report_templates', 'mfa_recovery_codes'];

/** What the stopped system holds, read from its database. */
async function snapshot(dataDir: string): Promise<Snapshot> {
  return readDatabase(dataDir, async (select) => {
    const names = async (ledger: string) => (await select<{ name: string }>(`SELECT name FROM ${ledger} ORDER BY name`)).map((r) => r.name);
    const counts: Record<string, number> = {};
    for (const table of COUNTED) counts[table] = (await select<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n;
    const audit = (await select<{ n: number; last: number }>('SELECT count(*) AS n, max(id) AS last FROM audit_logs'))[0]!;
    const reportRows = await select<{ id: number }>(`SELECT id FROM audit_logs WHERE "objectType" = 'Report' ORDER BY id`);
    return {
      pacsLedger: await names('pacs_migrations'),
      syncLedger: await names('sync_migrations'),
      counts,
      auditRows: audit.n,
      lastAuditId: audit.last,
      reportAuditIds: reportRows.map((r) => String(r.id)),
    };
  });
}

/** Digest of every audit row up to `lastId`, column by column, in id order: any change to one shows. */
async function auditDigest(dataDir: string, lastId: number): Promise<{ rows: number; digest: string }> {
  const rows = await readDatabase(dataDir, (select) =>
    select<Record<string, unknown>>(`SELECT * FROM audit_logs WHERE id <= ${lastId} ORDER BY id`),
  );
  return { rows: rows.length, digest: createHash('sha256').update(JSON.stringify(rows)).digest('hex') };
}

interface WorklistItem {
  id: string;
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  accessionNumber: string;
}

const worklist = async (user: Session) =>
  (await user.json<{ items: WorklistItem[]; total: number }>('GET', '/api/studies?limit=200')).items;

interface Search {
  /** Names the search without the patient data it carries, for the test's output. */
  label: string;
  q: string;
}

/** Searches a user makes: each study's family name, patient id and accession, and a first name without its accent. */
function searchesFor(items: WorklistItem[]): Search[] {
  const searches = items.flatMap((s) => [
    { label: `family name of ${s.id}`, q: s.patientName.split('^')[0] ?? '' },
    { label: `patient id of ${s.id}`, q: s.patientId },
    { label: `accession of ${s.id}`, q: s.accessionNumber },
  ]);
  return [...searches.filter((s) => s.q.length > 0), { label: 'accent-free first name', q: 'renee' }];
}

/** The worklist's studies and, for each search, the studies it finds (ids, sorted). */
async function worklistSeen(user: Session, searches: Search[]): Promise<{ studies: string[]; found: Record<string, string[]> }> {
  const studies = (await worklist(user)).map((s) => `${s.id} ${s.studyInstanceUid}`).sort();
  const found: Record<string, string[]> = {};
  for (const { label, q } of searches) {
    const page = await user.json<{ items: WorklistItem[] }>('GET', `/api/studies?limit=200&q=${encodeURIComponent(q)}`);
    found[label] = page.items.map((s) => s.id).sort();
  }
  return { studies, found };
}

/** Studies Orthanc holds (its REST API, with the development credentials `npm start` keeps in the data directory). */
async function orthancStudies(dataDir: string): Promise<number> {
  const { orthancPassword } = JSON.parse(readFileSync(path.join(dataDir, 'dev-secrets.json'), 'utf8')) as { orthancPassword: string };
  const response = await fetch(`http://127.0.0.1:${ports.orthancHttp}/studies`, {
    headers: { authorization: `Basic ${Buffer.from(`pacs-api:${orthancPassword}`).toString('base64')}` },
  });
  if (!response.ok) throw new Error(`Orthanc /studies: ${response.status}`);
  return ((await response.json()) as string[]).length;
}

const signedReport = (user: Session, id: string) => user.json<Record<string, unknown>>('GET', `/api/reports/${id}`);
const verification = (user: Session, id: string) => user.json<{ verified: boolean }>('GET', `/api/reports/${id}/verification`);

const staff = async (baseUrl: string) => ({
  attending: (await signIn(baseUrl, ATTENDING, DEV_PASSWORDS.radiologist)).session,
  resident: (await signIn(baseUrl, RESIDENT, DEV_PASSWORDS.resident)).session,
});

describe(`the data directory of ${PREVIOUS_RELEASE}, upgraded by this checkout`, () => {
  it('runs the new migrations once, loses nothing, keeps search working, and can be rolled back', async () => {
    const dataDir = path.join(work, 'data');
    const backupDir = path.join(work, 'backup-before-upgrade');

    // 1. The previous release, used as a department would: the admin enrols the second factor and
    // adds a colleague and a template; a modality sends a study; a report is co-edited and signed;
    // another is left half-written.
    const previous = await start(previousRoot, dataDir, 'previous', FIRST_START_MS);
    const admin = await signIn(previous.baseUrl, ADMIN, DEV_PASSWORDS.admin);
    expect(admin.mfaSecret, 'the admin enrols a second factor at the first sign-in').toBeTruthy();
    await admin.session.json('POST', '/api/users', {
      email: 'fellow@upgrade.test',
      name: 'Dr Fellow',
      role: 'attending',
      password: `Pw-${randomBytes(12).toString('hex')}`,
    });
    const templateId = await createTemplate(admin.session, 'Upgrade CT');
    const { attending, resident } = await staff(previous.baseUrl);
    const studyUid = await storeStudy(
      ports.dicom,
      'ORTHANC',
      {
        patient: { name: 'Upgrade^Renée', id: 'UPGRADE-1', birthDate: '19800101', sex: 'F' },
        studyDate: '20261205',
        studyTime: '090000',
        accessionNumber: 'UPGRADE0001',
        description: 'CT CHEST',
        priority: 'ROUTINE',
        series: [{ modality: 'CT', description: 'Axial', instances: 3, rows: 64, columns: 64 }],
      },
      11,
    );
    // Everything Orthanc holds (the demo studies of the first start, and this one) in the worklist.
    const items = await waitFor(
      'every study in the worklist',
      async () => {
        const listed = await worklist(attending);
        return listed.some((s) => s.studyInstanceUid === studyUid) && listed.length === (await orthancStudies(dataDir))
          ? listed
          : undefined;
      },
      120_000,
    );
    const study = items.find((s) => s.studyInstanceUid === studyUid)!;
    const signedId = await startReport(resident, study.id, templateId);
    const lines = { findings: 'Lungs clear. ', impression: 'No acute finding.' };
    expect(await coEditAndSign(previous.baseUrl, resident, attending, signedId, lines)).toBe('final');
    const draftId = await startReport(resident, items.find((s) => s.id !== study.id)!.id, templateId);
    const typing = await openEditor(previous.baseUrl, resident, draftId);
    const reading = await openEditor(previous.baseUrl, resident, draftId);
    try {
      appendToSection(typing.doc, 'Findings', DRAFT_LINE);
      // The server has it once another client of the document receives it.
      await waitFor('the draft line at the server', async () => (editorText(reading.doc).includes(DRAFT_LINE) ? true : undefined), 60_000);
    } finally {
      typing.destroy();
      reading.destroy();
    }
    const signedBefore = await signedReport(attending, signedId);
    expect(signedBefore.status).toBe('final');
    expect((await verification(attending, signedId)).verified).toBe(true);
    const searches = searchesFor(items);
    const seenBefore = await worklistSeen(attending, searches);
    for (const s of items) expect(seenBefore.found[`accession of ${s.id}`], 'each accession finds its study').toEqual([s.id]);
    expect(seenBefore.found['accent-free first name'], 'an accent-free search finds the accented name').toEqual([study.id]);
    await previous.stop();

    const before = await snapshot(dataDir);
    for (const [table, rows] of Object.entries(before.counts)) expect(rows, `${table} filled before the upgrade`).toBeGreaterThan(0);
    const auditBefore = await auditDigest(dataDir, before.lastAuditId);
    const newMigrations = MIGRATION_NAMES.filter((name) => !before.pacsLedger.includes(name));
    expect(newMigrations.length, `${PREVIOUS_RELEASE} must predate a migration, or the drill upgrades nothing`).toBeGreaterThan(0);
    expect(before.pacsLedger).toEqual(MIGRATION_NAMES.filter((name) => !newMigrations.includes(name)).sort());
    // The operator's backup before the upgrade (DEPLOYMENT.md step 1): the stopped data directory.
    cpSync(dataDir, backupDir, { recursive: true });

    // 2. This checkout's `npm start` on the same directory: the new migrations run, once.
    let began = Date.now();
    const current = await start(ROOT, dataDir, 'current', FIRST_START_MS);
    expect(migratedInLog(current)).toEqual([newMigrations]);
    const upgraded = await staff(current.baseUrl);
    const adminAgain = await signIn(current.baseUrl, ADMIN, DEV_PASSWORDS.admin, { secret: admin.mfaSecret, window: 1 });
    expect(await worklistSeen(upgraded.attending, searches), 'the same studies, and every search finds what it found before').toEqual(
      seenBefore,
    );
    expect(await signedReport(upgraded.attending, signedId), 'the signed report, hash and signature unchanged').toEqual(signedBefore);
    expect((await verification(upgraded.attending, signedId)).verified, 'hash and signature still verify').toBe(true);
    expect((await signedReport(upgraded.resident, draftId)).status).toBe('draft');
    const draft = await openEditor(current.baseUrl, upgraded.resident, draftId);
    try {
      expect(editorText(draft.doc)).toContain(DRAFT_LINE);
    } finally {
      draft.destroy();
    }
    // The audit trail's rows from before, read through the admin's filter that the new index serves.
    const trail = await adminAgain.session.json<{ items: { id: string }[] }>('GET', '/api/audit?objectType=Report&limit=500');
    expect(trail.items.map((r) => r.id)).toEqual(expect.arrayContaining(before.reportAuditIds));
    await current.stop();
    console.log(`upgrade drill: upgrade start, checks and stop in ${Math.round((Date.now() - began) / 1000)} s`);

    const after = await snapshot(dataDir);
    expect(after.pacsLedger).toEqual([...before.pacsLedger, ...newMigrations].sort());
    expect(after.syncLedger).toEqual([...new Set([...before.syncLedger, ...SYNC_MIGRATION_NAMES])].sort());
    expect(after.counts, 'studies, reports, users, templates, recovery codes').toEqual(before.counts);
    expect(await auditDigest(dataDir, before.lastAuditId), 'audit rows from before the upgrade, unchanged').toEqual(auditBefore);
    expect(after.lastAuditId, 'the upgraded system appends to the same trail').toBeGreaterThan(before.lastAuditId);

    // 3. A second start of this checkout migrates nothing.
    const again = await start(ROOT, dataDir, 'current-again', START_MS);
    expect(migratedInLog(again)).toEqual([]);
    expect((await worklistSeen((await staff(again.baseUrl)).attending, [])).studies).toEqual(seenBefore.studies);
    await again.stop();
    expect((await snapshot(dataDir)).pacsLedger).toEqual(after.pacsLedger);

    // 4. Back to the previous release on the upgraded directory. It predates the refusal of a
    // database migrated by a newer release: it starts, ignores the migrations it does not know, and
    // serves the data (its own search, without the index, finds the same).
    began = Date.now();
    const back = await start(previousRoot, dataDir, 'previous-on-upgraded', START_MS);
    expect(back.log()).not.toContain('migrated by a newer release');
    expect(migratedInLog(back)).toEqual([]);
    const backStaff = await staff(back.baseUrl);
    expect(await worklistSeen(backStaff.attending, searches)).toEqual(seenBefore);
    expect((await verification(backStaff.attending, signedId)).verified).toBe(true);
    await back.stop();
    expect((await snapshot(dataDir)).pacsLedger, 'the ledger keeps the newer migrations').toEqual(after.pacsLedger);

    // 5. The rollback DEPLOYMENT.md prescribes: the backup from before the upgrade, with the previous release.
    const restored = await start(previousRoot, backupDir, 'previous-on-backup', START_MS);
    const restoredStaff = await staff(restored.baseUrl);
    expect(await worklistSeen(restoredStaff.attending, searches)).toEqual(seenBefore);
    expect(await signedReport(restoredStaff.attending, signedId)).toEqual(signedBefore);
    await restored.stop();
    expect((await snapshot(backupDir)).pacsLedger).toEqual(before.pacsLedger);
    console.log(`upgrade drill: both ways back in ${Math.round((Date.now() - began) / 1000)} s`);
  }, 1_800_000);
});
