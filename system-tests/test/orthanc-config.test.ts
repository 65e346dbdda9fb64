/**
 * orthanc/config.ts (the generated Orthanc configuration) and the test kit's demo-studies generator.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  characterSetFor,
  DEMO_PATIENTS,
  demoStudySpecs,
  deterministicUid,
  generateStudy,
  type StudySpec,
} from '@pacs/test-kit/demo-studies';
import { transferSyntaxOf } from '@pacs/test-kit/dicom-files';
import { startOrthanc, storeFiles } from '@pacs/test-kit/orthanc';
import { describe, expect, it } from 'vitest';
import {
  ORTHANC_DEV_DEFAULTS,
  orthancConfig,
  postgresIndexFromUrl,
  settingsFromEnv,
  WEBHOOK_SCRIPT,
  writeOrthancConfig,
} from '../../orthanc/config';
import { startPostgres } from '../../scripts/postgres.mjs';

const run = promisify(execFile);

describe('orthanc/config.ts', () => {
  it('applies the documented defaults', () => {
    const s = settingsFromEnv({ PACS_DATA_DIR: '/srv/pacs' });
    expect(s).toMatchObject({
      httpPort: 8042,
      dicomPort: 4242,
      aet: 'ORTHANC',
      username: ORTHANC_DEV_DEFAULTS.username,
      password: ORTHANC_DEV_DEFAULTS.password,
      storageDir: '/srv/pacs/orthanc',
      stableAge: 2,
      webhookUrl: 'http://127.0.0.1:3000/api/ingest/orthanc',
      webhookSecret: ORTHANC_DEV_DEFAULTS.webhookSecret,
      remoteAccessAllowed: false,
    });
  });

  it('reads every PACS_* variable', () => {
    const s = settingsFromEnv({
      PACS_ORTHANC_HTTP_PORT: '18042',
      PACS_DICOM_PORT: '11112',
      PACS_DICOM_AET: 'PACS_MAIN',
      PACS_ORTHANC_USER: 'api',
      PACS_ORTHANC_PASSWORD: 'p"a\\ss',
      PACS_ORTHANC_STORAGE_DIR: '/data/o',
      PACS_STABLE_AGE: '30',
      PACS_WEBHOOK_URL: 'http://api:3000/api/ingest/orthanc',
      PACS_WEBHOOK_SECRET: 's3cret',
      PACS_ORTHANC_REMOTE_ACCESS: 'true',
      PACS_MWL_DIR: '/data/worklists',
    });
    const config = orthancConfig(s);
    expect(config).toMatchObject({
      HttpPort: 18042,
      DicomPort: 11112,
      DicomAet: 'PACS_MAIN',
      StorageDirectory: '/data/o',
      IndexDirectory: '/data/o',
      StableAge: 30,
      RemoteAccessAllowed: true,
      AuthenticationEnabled: true,
      RegisteredUsers: { api: 'p"a\\ss' },
      PythonScript: WEBHOOK_SCRIPT,
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      PacsWebhook: { Url: 'http://api:3000/api/ingest/orthanc', Secret: 's3cret', TimeoutSeconds: 2 },
      Worklists: { Enable: true, Database: '/data/worklists' },
      DicomAlwaysAllowFindWorklist: true,
    });
    expect(config.Plugins).toEqual([
      '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
      '/usr/share/orthanc/plugins/libOrthancPython.so',
      '/usr/share/orthanc/plugins/libOrthancGdcm.so',
      '/usr/share/orthanc/plugins/libModalityWorklists.so',
    ]);
    expect(existsSync(WEBHOOK_SCRIPT)).toBe(true);
  });

  it('rejects bad values with the variable name', () => {
    expect(() => settingsFromEnv({ PACS_DICOM_PORT: '42x' })).toThrow(/PACS_DICOM_PORT/);
    expect(() => settingsFromEnv({ PACS_ORTHANC_HTTP_PORT: '70000' })).toThrow(/PACS_ORTHANC_HTTP_PORT/);
    expect(() => settingsFromEnv({ PACS_DICOM_AET: 'THIS_AET_IS_WAY_TOO_LONG' })).toThrow(/PACS_DICOM_AET/);
    expect(() => settingsFromEnv({ PACS_STABLE_AGE: '0' })).toThrow(/PACS_STABLE_AGE/);
    expect(() => settingsFromEnv({ PACS_WEBHOOK_URL: 'ftp://x' })).toThrow(/PACS_WEBHOOK_URL/);
    expect(() => settingsFromEnv({ PACS_ORTHANC_REMOTE_ACCESS: 'maybe' })).toThrow(/PACS_ORTHANC_REMOTE_ACCESS/);
  });

  it('refuses development credentials in production', () => {
    expect(() => settingsFromEnv({ PACS_ENV: 'production' })).toThrow(/PACS_ORTHANC_PASSWORD/);
    expect(() => settingsFromEnv({ PACS_ENV: 'production', PACS_ORTHANC_PASSWORD: 'a-real-password' })).toThrow(/PACS_WEBHOOK_SECRET/);
    const s = settingsFromEnv({ PACS_ENV: 'production', PACS_ORTHANC_PASSWORD: 'a-real-password', PACS_WEBHOOK_SECRET: 'x'.repeat(40) });
    expect(s.stableAge).toBe(60);
  });

  it('writes a private file that a real Orthanc starts with, even with JSON-hostile credentials', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-config-'));
    try {
      const file = await writeOrthancConfig({ ...settingsFromEnv({ PACS_DATA_DIR: dir }) }, path.join(dir, 'conf', 'orthanc.json'));
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(file, 'utf8')).HttpPort).toBe(8042);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // A quote, a backslash or a literal "${" would break Orthanc's own ${VAR} text substitution.
    const hostile = ['p"a\\ss ', '$', '{HOME}'].join('');
    const orthanc = await startOrthanc({ password: hostile });
    try {
      expect(orthanc.password).toBe(hostile);
      expect((await orthanc.request('/system')).status).toBe(200);
    } finally {
      await orthanc.stop();
    }
  });
});

describe("Orthanc's index in PostgreSQL (PACS_ORTHANC_INDEX_URL)", () => {
  it('reads the URL into the plugin settings and loads the plugin', () => {
    const s = settingsFromEnv({ PACS_ORTHANC_INDEX_URL: 'postgresql://orthanc:p%40ss%3Aw0rd@db.internal:5433/orthanc_index' });
    expect(s.index).toEqual({ host: 'db.internal', port: 5433, database: 'orthanc_index', username: 'orthanc', password: 'p@ss:w0rd' });
    const config = orthancConfig(s);
    expect(config.Plugins).toContain('/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so');
    expect(config.PostgreSQL).toMatchObject({ EnableIndex: true, EnableStorage: false, Host: 'db.internal', Port: 5433, Lock: true });
    expect(settingsFromEnv({}).index).toBeUndefined();
    expect(orthancConfig(settingsFromEnv({})).Plugins).not.toContain('/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so');
  });

  it.each([
    ['not a URL', 'orthanc@db/orthanc', /not a URL/],
    ['another scheme', 'mysql://orthanc:secret-password@db/orthanc', /unsupported scheme/],
    ['no database', 'postgresql://orthanc:secret-password@db/', /required/],
    ['no user', 'postgresql://db:5432/orthanc', /required/],
    ['a database name with a path', 'postgresql://orthanc:secret-password@db/orthanc/../postgres', /one plain path segment/],
    ['an encoded dot segment', 'postgresql://orthanc:secret-password@db/orthanc/%2e%2e/postgres', /one plain path segment|required/],
    ['a NUL in the database name', 'postgresql://orthanc:secret-password@db/orth%00anc', /required/],
    ['options the plugin would not honour', 'postgresql://orthanc:secret-password@db/orthanc?sslmode=disable', /options/],
  ])('refuses %s, naming the variable', (_what, url, reason) => {
    expect(() => postgresIndexFromUrl(url, false)).toThrow(/PACS_ORTHANC_INDEX_URL/);
    expect(() => postgresIndexFromUrl(url, false)).toThrow(reason);
  });

  it('refuses a missing or short password in production', () => {
    expect(() => postgresIndexFromUrl('postgresql://orthanc@db/orthanc', true)).toThrow(/at least 12/);
    expect(() => postgresIndexFromUrl('postgresql://orthanc:short@db/orthanc', true)).toThrow(/at least 12/);
    expect(postgresIndexFromUrl('postgresql://orthanc:a-long-enough-password@db/orthanc', true)?.password).toBe('a-long-enough-password');
  });

  it('a real Orthanc keeps its index there: instances stored are rows in PostgreSQL, no SQLite index file', async () => {
    const postgres = await startPostgres();
    const admin = new URL(postgres.url);
    const psql = (sql: string, database = 'postgres') =>
      run('psql', ['-h', admin.hostname, '-p', admin.port, '-U', 'postgres', '-d', database, '-Atc', sql]);
    try {
      await psql('CREATE DATABASE orthanc_index');
      const dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-orthanc-pg-'));
      const orthanc = await startOrthanc({
        dir,
        index: { host: admin.hostname, port: Number(admin.port), database: 'orthanc_index', username: 'postgres', password: '' },
      });
      try {
        const study = generateStudy(
          {
            patient: { name: 'Index^Postgres', id: 'PGINDEX', birthDate: '19800101', sex: 'M' },
            studyDate: '20261205',
            studyTime: '090000',
            accessionNumber: 'PGINDEX1',
            description: 'Index test',
            priority: 'ROUTINE',
            series: [{ modality: 'CT', description: 'Axial', instances: 3, rows: 32 }],
          },
          3,
        );
        await storeFiles(orthanc, study.files);
        const { stdout } = await psql('SELECT count(*) FROM resources WHERE resourcetype = 3', 'orthanc_index');
        expect(Number(stdout.trim())).toBe(3);
        const statistics = (await (await orthanc.request('/statistics')).json()) as { CountInstances: number };
        expect(statistics.CountInstances).toBe(3);
        // Orthanc's own SQLite index would be a file named "index" in the storage folder.
        expect(existsSync(path.join(orthanc.storageDir, 'index'))).toBe(false);
      } finally {
        await orthanc.stop();
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      postgres.stop();
    }
  }, 120_000);
});

describe('the demo studies generator (test-kit)', () => {
  const spec: StudySpec = {
    patient: { name: 'Øster^Åse', id: 'GEN-1', birthDate: '20010318', sex: 'F', charset: 'ISO_IR 100' },
    studyDate: '20261102',
    studyTime: '091500',
    accessionNumber: 'GEN-ACC-1',
    description: 'Generator test',
    priority: 'STAT',
    series: [
      { modality: 'CT', description: 'Axial', instances: 2, rows: 32 },
      { modality: 'MR', description: 'T2 axial', instances: 1, rows: 32 },
      { modality: 'CR', description: 'PA', instances: 1, rows: 32, columns: 32 },
      { modality: 'DX', description: 'PA', instances: 1, rows: 32, columns: 32 },
      { modality: 'US', description: 'Cine', instances: 1, rows: 24, columns: 32, frames: 4 },
    ],
  };

  it('is deterministic for a seed and stable when a series is appended', () => {
    const a = generateStudy(spec, 5);
    const b = generateStudy(spec, 5);
    expect(a.files.map((f) => f.toString('base64'))).toEqual(b.files.map((f) => f.toString('base64')));
    const other = generateStudy(spec, 6);
    expect(other.studyInstanceUid).not.toBe(a.studyInstanceUid);
    const late = generateStudy({ ...spec, series: [...spec.series, { modality: 'CT', description: 'Late', instances: 1, rows: 32 }] }, 5);
    expect(late.studyInstanceUid).toBe(a.studyInstanceUid);
    expect(late.series.slice(0, -1).map((s) => s.seriesInstanceUid)).toEqual(a.series.map((s) => s.seriesInstanceUid));
    expect(late.files.slice(0, a.files.length)).toEqual(a.files);
  });

  it('makes valid UIDs and Part 10 files that dcmdump parses without errors', async () => {
    const study = generateStudy(spec, 5);
    const uids = [study.studyInstanceUid, ...study.series.flatMap((s) => [s.seriesInstanceUid, ...s.sopInstanceUids])];
    for (const uid of uids) expect(uid).toMatch(/^2\.25\.(0|[1-9]\d*)$/);
    expect(Math.max(...uids.map((u) => u.length))).toBeLessThanOrEqual(64);
    expect(new Set(uids).size).toBe(uids.length);
    expect(deterministicUid('x')).toBe(deterministicUid('x'));

    const dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-gen-'));
    try {
      for (const [i, file] of study.files.entries()) {
        expect(transferSyntaxOf(file)).toBe('1.2.840.10008.1.2.1');
        const target = path.join(dir, `${i}.dcm`);
        await writeFile(target, file);
        const { stdout, stderr } = await run('dcmdump', ['-M', target]);
        expect(stderr, `instance ${i}`).toBe('');
        expect(stdout).toContain('(0008,0005) CS [ISO_IR 100]');
        expect(stdout).toContain('(0040,1003) SH [STAT]');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('encodes ISO_IR 100 names in Latin-1 and others in UTF-8', () => {
    const latin = generateStudy(spec, 5).files[0]!;
    expect(latin.includes(Buffer.from('Øster^Åse', 'latin1'))).toBe(true);
    expect(latin.includes(Buffer.from('Øster^Åse', 'utf8'))).toBe(false);
    const utf8 = generateStudy({ ...spec, patient: { ...spec.patient, name: 'Kowalczyk^Łukasz', charset: 'ISO_IR 100' } }, 5);
    expect(utf8.specificCharacterSet).toBe('ISO_IR 192'); // Ł is not Latin-1
    expect(utf8.files[0]!.includes(Buffer.from('Kowalczyk^Łukasz', 'utf8'))).toBe(true);
    expect(characterSetFor(['Doe^Jane'])).toBe('');
  });

  it('varies patients, dates, priorities and modalities in the demo set', () => {
    const specs = demoStudySpecs(14, { seed: 1 });
    expect(new Set(specs.map((s) => s.patient.id)).size).toBe(DEMO_PATIENTS.length);
    expect(new Set(specs.map((s) => s.priority))).toEqual(new Set(['STAT', 'HIGH', 'ROUTINE']));
    expect(new Set(specs.map((s) => s.studyDate)).size).toBeGreaterThan(3);
    expect(new Set(specs.flatMap((s) => s.series.map((x) => x.modality)))).toEqual(new Set(['CT', 'MR', 'CR', 'US', 'DX']));
    expect(new Set(specs.map((s) => s.accessionNumber)).size).toBe(14);
    expect(demoStudySpecs(3, { seed: 1 })).toEqual(specs.slice(0, 3));
  });
});
