/**
 * Orthanc → API → worklist with real parts: storescu into a real Orthanc, its signed webhook into
 * the API, the reconciler for what the webhook missed, and the DICOMweb proxy back out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { corpusDir, readManifest } from '@pacs/test-kit/corpus';
import { demoStudySet, type GeneratedStudy, generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, freePort, type OrthancInstance, startOrthanc, storeFiles, storeFilesRest, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudyMetadataCache } from '../src/dicomweb/metadata-cache';
import { signWebhook } from '../src/ingest/signature';
import { bearer, createTestApp, type TestApp } from './support/app';
import { generatedInvalidSamples } from './support/dicom';
import { seedStudy } from './support/studies';

const WEBHOOK_SECRET = 'ingest-test-webhook-secret-0123456789abcdef';
let orthanc: OrthancInstance;
let apiPort: number;
let t: TestApp;

let attending: { id: string; token: string };

async function startApi(databaseUrl?: string): Promise<TestApp> {
  const app = await createTestApp(
    {
      ...apiEnvFor(orthanc),
      PACS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      PACS_PUBLIC_URL: 'http://localhost:80',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    {},
  );
  await app.app.listen({ host: '127.0.0.1', port: apiPort });
  return app;
}

const spec = (name: string, id: string, series: StudySpec['series'], priority: StudySpec['priority'] = 'ROUTINE'): StudySpec => ({
  patient: { name, id, birthDate: '19800214', sex: 'F' },
  studyDate: '20261105',
  studyTime: '101500',
  accessionNumber: `ACC-${id}`,
  description: 'CT CHEST',
  priority,
  series,
});

async function worklistRow(studyUid: string, token = attending.token) {
  const all = await t.app.inject({ url: '/api/studies?limit=200', headers: bearer(token) });
  return (all.json().items as { studyInstanceUid: string; id: string; [k: string]: unknown }[]).find(
    (s) => s.studyInstanceUid === studyUid,
  );
}

beforeAll(async () => {
  apiPort = await freePort();
  orthanc = await startOrthanc({
    stableAge: 1,
    webhookUrl: `http://127.0.0.1:${apiPort}/api/ingest/orthanc`,
    webhookSecret: WEBHOOK_SECRET,
  });
  t = await startApi();
  attending = await t.userWithToken('attending');
}, 60_000);

afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
});

describe('from modality to worklist', () => {
  let study: GeneratedStudy;

  it('lists a C-STORE study with the right patient, series and instance counts within StableAge + 2 s', async () => {
    study = generateStudy(
      spec(
        'Müller^Zoë',
        'ING-1',
        [
          { modality: 'CT', description: 'Axial 5mm', instances: 4, rows: 64, columns: 64 },
          { modality: 'CT', description: 'Coronal', instances: 2, rows: 64, columns: 64 },
          { modality: 'CT', description: 'Scout', instances: 1, rows: 64, columns: 64 },
        ],
        'STAT',
      ),
      11,
    );
    expect((await storeFiles(orthanc, study.files)).stored).toBe(7);
    // The issue's bound is StableAge (1 s) + 2 s; the deadline adds 2 s for a loaded CI machine.
    const row = await waitFor(() => worklistRow(study.studyInstanceUid), { timeoutMs: 1000 + 2000 + 2000, what: 'worklist row' });
    expect(row).toMatchObject({
      patientName: 'Müller^Zoë',
      patientId: 'ING-1',
      accessionNumber: 'ACC-ING-1',
      studyDate: '20261105',
      modalities: ['CT'],
      numberOfSeries: 3,
      numberOfInstances: 7,
      priority: 'stat',
      status: 'unread',
      updatedAfterArrival: false,
    });
    const detail = (await t.app.inject({ url: `/api/studies/${row!.id}`, headers: bearer(attending.token) })).json();
    expect(detail.series.map((s: { numberOfInstances: number }) => s.numberOfInstances).sort()).toEqual([1, 2, 4]);
    const imports = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'Import', studyUid: study.studyInstanceUid }, raw: true });
    expect(imports.length).toBeGreaterThanOrEqual(1);
    expect(imports[0]).toMatchObject({ action: 'C', outcome: 0, patientId: 'ING-1' });
  });

  it('never duplicates a study sent twice', async () => {
    expect((await storeFiles(orthanc, study.files)).stored).toBe(7);
    await t.app.ingestion!.reconciler.runOnce();
    const { Study, Series, Instance } = t.app.db.models;
    expect(await Study.count({ where: { studyInstanceUid: study.studyInstanceUid } })).toBe(1);
    const row = await Study.findOne({ where: { studyInstanceUid: study.studyInstanceUid }, raw: true });
    expect(await Series.count({ where: { studyRef: row!.id } })).toBe(3);
    const seriesIds = (await Series.findAll({ where: { studyRef: row!.id }, raw: true })).map((s) => s.id);
    expect(await Instance.count({ where: { seriesRef: seriesIds } })).toBe(7);
  });

  it('adds a late series to the same row, updates counts and flags it updated', async () => {
    const before = await worklistRow(study.studyInstanceUid);
    const late = generateStudy(
      { ...study.spec, series: [...study.spec.series, { modality: 'CR', description: 'Late CR', instances: 1, rows: 64, columns: 64 }] },
      11,
    );
    expect(late.studyInstanceUid).toBe(study.studyInstanceUid);
    expect((await storeFilesRest(orthanc, [late.files.at(-1)!])).stored).toBe(1);
    const row = await waitFor(
      async () => {
        const current = await worklistRow(study.studyInstanceUid);
        return current && current.numberOfSeries === 4 ? current : undefined;
      },
      { timeoutMs: 10_000, what: 'late series' },
    );
    expect(row).toMatchObject({ numberOfSeries: 4, numberOfInstances: 8, modalities: ['CR', 'CT'], updatedAfterArrival: true });
    expect(row.version).toBeGreaterThan(before!.version as number);
  });

  it('turns a study deleted in Orthanc into a tombstone', async () => {
    const doomed = generateStudy(
      spec('Delete^Me', 'ING-DEL', [{ modality: 'CR', description: 'PA', instances: 1, rows: 64, columns: 64 }]),
      12,
    );
    await storeFiles(orthanc, doomed.files);
    const row = await waitFor(() => worklistRow(doomed.studyInstanceUid), { timeoutMs: 10_000, what: 'row to delete' });
    const feed = (await t.app.inject({ url: '/api/studies/changes', headers: bearer(attending.token) })).json();
    const studyId = (await t.app.db.models.Study.findByPk(row.id, { raw: true }))!.orthancId!;
    expect((await orthanc.request(`/studies/${studyId}`, { method: 'DELETE' })).status).toBe(200);
    await waitFor(async () => (await worklistRow(doomed.studyInstanceUid)) === undefined, { timeoutMs: 10_000, what: 'row gone' });
    const after = (await t.app.inject({ url: `/api/studies/changes?cursor=${feed.cursor}`, headers: bearer(attending.token) })).json();
    expect(after.changes).toContainEqual({ id: row.id, deleted: true });
  });
});

describe('the reconciler', () => {
  async function untilStableInOrthanc(studyInstanceUid: string): Promise<void> {
    const [found] = (await (await orthanc.request('/tools/lookup', { method: 'POST', body: studyInstanceUid })).json()) as { ID: string }[];
    await waitFor(async () => (await orthanc.getJson<{ IsStable: boolean }>(`/studies/${found!.ID}`)).IsStable, {
      timeoutMs: 10_000,
      what: 'stable study in Orthanc',
    });
  }

  it('brings in a study that arrived while the API was down', async () => {
    const databaseUrl = t.database.url;
    await t.app.close();
    const missed = generateStudy(
      spec('Offline^Arrival', 'ING-2', [{ modality: 'MR', description: 'T1', instances: 2, rows: 64, columns: 64 }]),
      13,
    );
    expect((await storeFiles(orthanc, missed.files)).stored).toBe(2);
    // Wait until Orthanc itself calls the study stable (its webhook fails: nobody listens).
    await untilStableInOrthanc(missed.studyInstanceUid);
    const database = t.database;
    t = await startApi(databaseUrl);
    t.database = database;
    const row = await waitFor(() => worklistRow(missed.studyInstanceUid), { timeoutMs: 10_000, what: 'reconciled row' });
    expect(row).toMatchObject({ patientName: 'Offline^Arrival', numberOfInstances: 2, modalities: ['MR'] });
    const status = await t.app.ingestion!.reconciler.status();
    expect(status.cursor).toBeGreaterThan(0);
    expect(status.lastError).toBeNull();
  });

  it("reads Orthanc's feed from the start when Orthanc's index restarted below the cursor (rebuilt or restored)", async () => {
    // What a restored database holds after Orthanc's index was rebuilt: a cursor far past Orthanc's last change.
    const { Last } = await orthanc.getJson<{ Last: number }>('/changes?limit=1&since=0&last');
    const ahead = Last + 100_000;
    const saved = await t.app.ingestion!.reconciler.status();
    await t.app.db.models.AppState.upsert({ key: 'orthanc.changes.cursor', value: String(ahead), updatedAt: new Date() });
    await t.app.db.models.AppState.upsert({
      key: 'orthanc.reconcile.status',
      value: JSON.stringify({ ...saved, cursor: ahead }),
      updatedAt: new Date(),
    });
    const late = generateStudy(
      spec('Rebuilt^Index', 'ING-3', [{ modality: 'CR', description: 'PA', instances: 1, rows: 64, columns: 64 }]),
      17,
    );
    expect((await storeFiles(orthanc, late.files)).stored).toBe(1);
    await untilStableInOrthanc(late.studyInstanceUid);
    // The webhook may have brought it already: remove the row so only the reconciler can.
    const { Study, Series, Instance } = t.app.db.models;
    const arrived = await Study.findOne({ where: { studyInstanceUid: late.studyInstanceUid }, raw: true });
    if (arrived) {
      const series = (await Series.findAll({ where: { studyRef: arrived.id }, raw: true })).map((row) => row.id);
      await Instance.destroy({ where: { seriesRef: series } });
      await Series.destroy({ where: { studyRef: arrived.id } });
      await Study.destroy({ where: { id: arrived.id }, force: true });
    }
    expect(await Study.findOne({ where: { studyInstanceUid: late.studyInstanceUid } })).toBeNull();
    const status = await t.app.ingestion!.reconciler.runOnce();
    expect(status.lastError).toBeNull();
    expect(status.cursor).toBeLessThan(ahead);
    expect(await Study.findOne({ where: { studyInstanceUid: late.studyInstanceUid }, raw: true })).toMatchObject({
      patientName: 'Rebuilt^Index',
      numberOfInstances: 1,
    });
  });
});

describe('deletion sweep', () => {
  it('tombstones worklist rows whose study Orthanc no longer has (its change feed forgets deletions)', async () => {
    const ghost = await seedStudy(t.app, { patientName: 'Ghost^Row' });
    await t.app.db.models.Study.update({ orthancId: 'ffffffff-ffffffff-ffffffff-ffffffff-ffffffff' }, { where: { id: ghost.id } });
    const kept = await t.app.db.models.Study.count();
    expect(await t.app.ingestion!.reconciler.sweepDeleted()).toBe(1);
    expect(await t.app.db.models.Study.count()).toBe(kept - 1);
    expect((await t.app.db.models.Study.findByPk(ghost.id, { paranoid: false, raw: true }))!.deletedAt).not.toBeNull();
  });
});

describe('real-world files', () => {
  /**
   * Every valid file of the DICOM corpus (PACS_DICOM_CORPUS), or on a fresh
   * clone without it the generated demo set: each study must reach the worklist with its patient
   * id, its number of distinct instances and, for an empty StudyDate, no date.
   */
  it('ingests each study with correct tags', async () => {
    const dir = corpusDir();
    const expected = new Map<string, { patientId: string; sops: Set<string>; studyDate: string | null }>();
    const files: Buffer[] = [];
    const withoutHierarchy: Buffer[] = [];
    if (dir) {
      for (const row of readManifest(dir)) {
        if (row.invalid || row.sopClassUid === '1.2.840.10008.1.3.10') continue; // DICOMDIRs are not instances
        const bytes = readFileSync(path.join(dir, row.path));
        // Codec samples without study/series UIDs decode fine but cannot be archived.
        if (!row.studyUid || !row.seriesUid) {
          withoutHierarchy.push(bytes);
          continue;
        }
        files.push(bytes);
        const entry = expected.get(row.studyUid) ?? { patientId: row.patientId, sops: new Set<string>(), studyDate: null };
        entry.sops.add(row.sopUid);
        expected.set(row.studyUid, entry);
      }
    } else {
      for (const generated of demoStudySet(4, { seed: 21 })) {
        files.push(...generated.files);
        expected.set(generated.studyInstanceUid, {
          patientId: generated.patient.id,
          sops: new Set(generated.series.flatMap((s) => s.sopInstanceUids)),
          studyDate: generated.spec.studyDate || null,
        });
      }
    }
    const stored = await storeFilesRest(orthanc, files);
    expect(stored.failed, stored.output).toBe(0);
    expect((await storeFilesRest(orthanc, withoutHierarchy)).stored).toBe(0);
    await t.app.ingestion!.reconciler.runOnce();
    for (const [studyUid, want] of expected) {
      const row = await waitFor(
        async () => {
          const current = await t.app.db.models.Study.findOne({ where: { studyInstanceUid: studyUid }, raw: true });
          return current && current.numberOfInstances === want.sops.size ? current : undefined;
        },
        { timeoutMs: 15_000, what: `study ${studyUid}` },
      );
      expect(row.patientId, studyUid).toBe(want.patientId);
      if (!dir) expect(row.studyDate, studyUid).toBe(want.studyDate);
    }
    if (dir) {
      // The GE CT series has an empty StudyDate: stored as no date, not as a bogus one.
      const ct = await t.app.db.models.Study.findOne({
        where: { studyInstanceUid: '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668' },
        raw: true,
      });
      expect(ct!.studyDate).toBeNull();
    }
  }, 120_000);
});

describe('webhook authenticity', () => {
  const post = (body: string, headers: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: '/api/ingest/orthanc',
      headers: { 'content-type': 'application/json', ...headers },
      payload: body,
    });
  const body = JSON.stringify({ event: 'STABLE_STUDY', orthancStudyId: '0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d-0a1b2c3d' });

  it('refuses a missing, forged, stale or replayed signature with 401, audited, nothing written', async () => {
    const before = await t.app.db.models.Study.count();
    const now = String(Math.floor(Date.now() / 1000));
    const stale = String(Math.floor(Date.now() / 1000) - 3600);
    const good = { 'x-pacs-timestamp': now, 'x-pacs-signature': signWebhook(WEBHOOK_SECRET, now, body) };
    const cases: Record<string, string>[] = [
      {},
      { 'x-pacs-timestamp': now, 'x-pacs-signature': signWebhook('another-secret-another-secret-0000', now, body) },
      { 'x-pacs-timestamp': stale, 'x-pacs-signature': signWebhook(WEBHOOK_SECRET, stale, body) },
    ];
    for (const headers of cases) {
      const response = await post(body, headers);
      expect(response.statusCode).toBe(401);
      const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
      expect(row).toMatchObject({ eventId: 'Import', outcome: 4 });
    }
    expect((await post(body, good)).statusCode).toBe(202);
    const replay = await post(body, good);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().message).toContain('replayed');
    expect(await t.app.db.models.Study.count()).toBe(before);
  });

  it('refuses a signed body that is not a webhook event with 400', async () => {
    const now = String(Math.floor(Date.now() / 1000));
    const bad = JSON.stringify({ event: 'DROP_TABLES', orthancStudyId: 'x' });
    expect((await post(bad, { 'x-pacs-timestamp': now, 'x-pacs-signature': signWebhook(WEBHOOK_SECRET, now, bad) })).statusCode).toBe(400);
  });
});

describe('DICOMweb through the API', () => {
  it('serves QIDO, metadata and frames to clinical roles only, audited once per session and study', async () => {
    const study = generateStudy(
      spec('Viewer^Case', 'ING-3', [{ modality: 'CT', description: 'Axial', instances: 2, rows: 64, columns: 64 }]),
      14,
    );
    await storeFiles(orthanc, study.files);
    await waitFor(() => worklistRow(study.studyInstanceUid), { timeoutMs: 10_000, what: 'row' });
    const login = await t.login(
      attending.id ? (await t.app.db.models.User.findByPk(attending.id, { raw: true }))!.email : '',
      'correct-horse-battery',
    );
    const token = login.json().accessToken as string;
    const base = `/dicom-web/studies/${study.studyInstanceUid}`;

    const series = await t.app.inject({ url: `${base}/series`, headers: { ...bearer(token), accept: 'application/dicom+json' } });
    expect(series.statusCode).toBe(200);
    expect(series.json()[0]['0020000E'].Value).toEqual([study.series[0]!.seriesInstanceUid]);
    const metadata = await t.app.inject({ url: `${base}/series/${study.series[0]!.seriesInstanceUid}/metadata`, headers: bearer(token) });
    expect(metadata.statusCode).toBe(200);
    expect(metadata.json()).toHaveLength(2);
    // A stated length must be the length of the body the browser receives.
    if (metadata.headers['content-length']) expect(Number(metadata.headers['content-length'])).toBe(metadata.rawPayload.length);
    // Bulk data links point at this origin's proxy, never at Orthanc's internal address.
    const bulk = JSON.stringify(metadata.json()).match(/"BulkDataURI":"([^"]+)"/)?.[1];
    expect(bulk).toMatch(/^http:\/\/localhost(:80)?\/dicom-web\/studies\//);
    expect(JSON.stringify(metadata.json())).not.toContain(orthanc.httpUrl);
    const frame = await t.app.inject({
      url: `${base}/series/${study.series[0]!.seriesInstanceUid}/instances/${study.series[0]!.sopInstanceUids[0]}/frames/1`,
      headers: { ...bearer(token), accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
    });
    expect(frame.statusCode).toBe(200);
    expect(frame.headers['content-type']).toMatch(/multipart\/related.*boundary=/);
    expect(frame.rawPayload.length).toBeGreaterThan(64 * 64 * 2);
    expect(frame.headers['cache-control']).toBe('private, no-cache');

    const audits = await t.app.db.models.AuditLog.findAll({
      where: { eventId: 'DICOMInstancesAccessed', studyUid: study.studyInstanceUid },
      raw: true,
    });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ userId: attending.id, patientId: 'ING-3', outcome: 0 });

    expect((await t.app.inject({ url: `${base}/series` })).statusCode).toBe(401);
    const admin = await t.userWithToken('admin');
    expect((await t.app.inject({ url: `${base}/series`, headers: bearer(admin.token) })).statusCode).toBe(403);
    const tech = await t.userWithToken('technologist');
    expect((await t.app.inject({ url: `${base}/series`, headers: bearer(tech.token) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'POST', url: `${base}/series`, headers: bearer(token) })).statusCode).toBe(404);
  });
});

describe('study metadata cache', () => {
  const base = { host: 'localhost', proto: 'http' };

  it('answers from a cache filled at ingest: the same JSON as Orthanc, gzip with its real length, ETag revalidation; a new series shows at once', async () => {
    const cache = t.app.ingestion!.metadataCache;
    // Warm-up writes links for the configured public origin, before or after any proxied request.
    expect((await t.app.inject({ url: '/dicom-web/studies', headers: bearer(attending.token) })).statusCode).toBe(200);
    const study = generateStudy(
      spec('Cache^Case', 'ING-4', [{ modality: 'CT', description: 'Axial', instances: 3, rows: 64, columns: 64 }]),
      15,
    );
    await storeFiles(orthanc, study.files);
    await waitFor(() => worklistRow(study.studyInstanceUid), { timeoutMs: 10_000, what: 'row' });
    await waitFor(async () => cache.holds(study.studyInstanceUid) || undefined, { timeoutMs: 10_000, what: 'warm-up' });

    const url = `/dicom-web/studies/${study.studyInstanceUid}/metadata`;
    const direct = await fetch(`${orthanc.httpUrl}${url}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`,
        accept: 'application/dicom+json',
        forwarded: 'host=localhost;proto=http',
      },
    });
    const expected = await direct.json();
    const zipped = await t.app.inject({ url, headers: { ...bearer(attending.token), 'accept-encoding': 'gzip, deflate, br' } });
    expect(zipped.statusCode).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.rawPayload.length);
    expect(zipped.headers['cache-control']).toBe('private, no-cache');
    expect(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8'))).toEqual(expected);
    const etag = zipped.headers.etag as string;
    expect(etag).toMatch(/^W\/"md-/);

    const revalidated = await t.app.inject({ url, headers: { ...bearer(attending.token), 'if-none-match': etag } });
    expect(revalidated.statusCode).toBe(304);
    expect(revalidated.rawPayload.length).toBe(0);
    const plain = await t.app.inject({ url, headers: { ...bearer(attending.token), 'accept-encoding': 'gzip;q=0, identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.json()).toEqual(expected);

    // A series arriving later: Orthanc's LastUpdate moves, so the very next request sees it.
    const late = generateStudy(
      { ...study.spec, series: [...study.spec.series, { modality: 'CR', description: 'Late CR', instances: 1, rows: 64, columns: 64 }] },
      15,
    );
    expect((await storeFilesRest(orthanc, [late.files.at(-1)!])).stored).toBe(1);
    const after = await t.app.inject({ url, headers: bearer(attending.token) });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toHaveLength(4);
    const stale = await t.app.inject({ url, headers: { ...bearer(attending.token), 'if-none-match': etag } });
    expect(stale.statusCode).toBe(200);

    // One instance deleted in Orthanc: neither LastUpdate nor the series change, the count does.
    const auth = { authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}` };
    const orthancId = (await t.app.db.models.Study.findOne({ where: { studyInstanceUid: study.studyInstanceUid }, raw: true }))!.orthancId!;
    await waitFor(
      async () =>
        ((await (await fetch(`${orthanc.httpUrl}/studies/${orthancId}`, { headers: auth })).json()) as { IsStable: boolean }).IsStable ||
        undefined,
      {
        timeoutMs: 10_000,
        what: 'stable again',
      },
    );
    expect((await t.app.inject({ url, headers: bearer(attending.token) })).json()).toHaveLength(4);
    // (From the three-image CT series: deleting the late series' only image would change the series list.)
    const instances = (await (await fetch(`${orthanc.httpUrl}/studies/${orthancId}/instances`, { headers: auth })).json()) as {
      ID: string;
      ParentSeries: string;
    }[];
    const first = instances.find((i) => instances.filter((j) => j.ParentSeries === i.ParentSeries).length > 1);
    expect((await fetch(`${orthanc.httpUrl}/instances/${first!.ID}`, { method: 'DELETE', headers: auth })).ok).toBe(true);
    expect((await t.app.inject({ url, headers: bearer(attending.token) })).json()).toHaveLength(3);

    // Still one audit row for this session and study, cached or not.
    const audits = await t.app.db.models.AuditLog.count({ where: { eventId: 'DICOMInstancesAccessed', studyUid: study.studyInstanceUid } });
    expect(audits).toBe(1);
  });

  it('a restarted API warms studies ingested before anyone opens the viewer (links for the configured public origin)', async () => {
    const row = (await t.app.db.models.Study.findOne({ where: { patientId: 'ING-4' }, raw: true }))!;
    const { orthanc: client } = t.app.ingestion!;
    const restarted = new StudyMetadataCache(client, 2 ** 20, t.app.log, base);
    // (Warmed once Orthanc calls the study stable again after the previous test's late series.)
    await waitFor(
      async () => {
        restarted.warm(row.studyInstanceUid, row.orthancId!);
        await restarted.settled();
        return restarted.holds(row.studyInstanceUid) || undefined;
      },
      { timeoutMs: 10_000, what: 'warm-up after restart' },
    );
  });
});

describe('bad input and failures', () => {
  it('keeps invalid files out of the worklist and stays healthy', async () => {
    const before = await t.app.db.models.Study.count();
    const result = await storeFilesRest(
      orthanc,
      generatedInvalidSamples().map((s) => s.bytes),
    );
    expect(result.stored).toBe(0);
    await t.app.ingestion!.reconciler.runOnce();
    expect(await t.app.db.models.Study.count()).toBe(before);
    expect((await t.app.inject({ url: '/health/ready' })).json().checks.orthanc.status).toBe('ok');
  });

  it('with Orthanc unreachable: the worklist keeps serving, health says degraded, the reconciler records the error', async () => {
    await orthanc.stop();
    const ready = await t.app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'degraded', checks: { database: { status: 'ok' }, orthanc: { status: 'down' } } });
    expect((await t.app.inject({ url: '/api/studies', headers: bearer(attending.token) })).statusCode).toBe(200);
    const status = await t.app.ingestion!.reconciler.runOnce();
    expect(status.lastError).toMatch(/unreachable/i);
    const proxied = await t.app.inject({ url: '/dicom-web/studies', headers: bearer(attending.token) });
    expect(proxied.statusCode).toBe(502);
    // A study whose metadata is cached: the freshness check fails, so 502 too, never stale data or a 500.
    const cachedStudy = await t.app.db.models.Study.findOne({ where: { patientId: 'ING-4' }, raw: true });
    const metadata = await t.app.inject({
      url: `/dicom-web/studies/${cachedStudy!.studyInstanceUid}/metadata`,
      headers: bearer(attending.token),
    });
    expect(metadata.statusCode).toBe(502);
  });
});
