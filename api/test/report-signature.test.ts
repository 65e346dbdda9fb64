/**
 * The installation's signature of signed reports (Ed25519 over the content hash) and the seal of
 * their PDFs: stored, shown, verified on every read, surviving a key rotation; a database writer who
 * recomputes the hash, or anyone who changes one byte of a PDF, is caught. PDFs are PDF/A-2b,
 * checked with qpdf, pdfinfo and pdffonts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PdfVerification, Report, ReportVerification } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { SEAL_PLACEHOLDER, sealPdf, verifyPdfSeal } from '../src/reports/signature/pdf-seal';
import { keyIdOf, loadSigningKeyring, signingConfigOf } from '../src/reports/signature/signing-keys';
import { contentHash } from '../src/reports/signing';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import {
  appendToSection,
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  startSyncServer,
  syncEnv,
  untilServerHolds,
  waitFor,
} from './support/sync-server';

type User = { id: string; email: string; token: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-signature-test-'));
const keyFile = (name: string) => {
  const file = path.join(tmp, `${name}.pem`);
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return file;
};
const publicPemOf = (privateFile: string) => createPublicKey(readFileSync(privateFile)).export({ type: 'spki', format: 'pem' }).toString();

const firstKey = keyFile('first');
let syncPort: number;
let t: TestApp;
let sync: SyncProcess;
let resident: User;
let attending: User;
let technologist: User;
let referrer: User;
const clients: EditorClient[] = [];
const others: FastifyInstance[] = [];

beforeAll(async () => {
  syncPort = await freePort();
  t = await createTestApp({
    ...syncEnv(syncPort),
    PACS_REPORT_SIGNING_KEY_FILE: firstKey,
  });
  sync = await startSyncServer(t.database.url, syncPort);
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  technologist = await t.userWithToken('technologist');
  referrer = await t.userWithToken('referrer');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  for (const app of others) await app.close();
  await sync?.stop();
  await t?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const call = (app: FastifyInstance, token: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const api = (token: string, method: 'GET' | 'POST', url: string, payload?: unknown) => call(t.app, token, method, url, payload);
const postPdf = (app: FastifyInstance, token: string, pdf: Buffer, contentType = 'application/pdf') =>
  app.inject({
    method: 'POST',
    url: '/api/reports/pdf-verification',
    headers: { ...bearer(token), 'content-type': contentType },
    payload: pdf,
  });

/** Another API instance on the same database with other signing settings (a rotation, a lost key). */
async function instanceWith(env: Record<string, string>): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ ...baseEnv(), ...env }));
  others.push(app);
  return app;
}
const baseEnv = () => ({
  PACS_ENV: 'test',
  PACS_LOG_LEVEL: 'silent',
  PACS_JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
  PACS_DATA_DIR: tmp,
  DATABASE_URL: t.database.url,
  PACS_MFA_REQUIRED_ROLES: 'none',
  ...syncEnv(syncPort),
});

/** A report the resident drafted and the attending signed, with a text of its own. */
async function signedReport(text: string): Promise<Report> {
  const study = await seedStudy(t.app, { patientName: 'Signed^Sara' });
  const created = await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {});
  expect(created.statusCode, created.body).toBe(201);
  const reportId = (created.json() as Report).id;
  const session = (await api(attending.token, 'POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const c = editorClient(syncPort, session.document, session.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  appendToSection(c.doc, 'Impression', text);
  await untilServerHolds(`http://127.0.0.1:${syncPort}`, session.document, c.doc);
  const signed = await api(attending.token, 'POST', `/api/reports/${reportId}/finalize`, reviewed(c.doc));
  expect(signed.statusCode, signed.body).toBe(200);
  return signed.json() as Report;
}

const row = async (id: string) => (await t.app.db.models.Report.findByPk(id, { raw: true }))!;
const securityAlerts = async (reportId: string) =>
  t.app.db.models.AuditLog.count({ where: { eventId: 'SecurityAlert', objectId: reportId, outcome: 12 } });

describe('the signature of a signed report', () => {
  it('is stored with the key id, shown with the report, and verifies with the current key', async () => {
    const report = await signedReport('Signed with the installation key.');
    const stored = await row(report.id);
    expect(stored.signatureKeyId).toBe(keyIdOf(createPublicKey(readFileSync(firstKey))));
    expect(stored.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const shown = (await api(attending.token, 'GET', `/api/reports/${report.id}`)).json() as Report;
    expect(shown.integrity).toEqual({
      verified: true,
      signature: { algorithm: 'Ed25519', keyId: stored.signatureKeyId, value: stored.signature, status: 'valid', key: 'current' },
    });
    const verification = await api(resident.token, 'GET', `/api/reports/${report.id}/verification`);
    expect(verification.statusCode, verification.body).toBe(200);
    const fhir = (await api(attending.token, 'GET', `/fhir/DiagnosticReport/${report.id}`)).json() as { meta?: unknown };
    expect(fhir.meta).toBeUndefined();
    expect(verification.json()).toMatchObject({
      reportId: report.id,
      verified: true,
      parts: [{ reportId: report.id, kind: 'report', contentHash: stored.contentHash, integrity: { verified: true } }],
    });
  });

  it.each([
    [
      'content changed and the hash recomputed with the published recipe',
      async (r: Awaited<ReturnType<typeof row>>) => {
        const contentText = 'Tampered: no findings.';
        const hash = contentHash({
          reportId: r.id,
          contentJson: r.contentJson ?? '',
          contentText,
          finalUpdate: r.finalUpdate ?? '',
          signerId: r.finalSignerId!,
          signerName: r.finalSignerName ?? '',
          signedAt: new Date(r.finalSignedAt!),
          attestation: r.finalAttestation ?? '',
        });
        return { contentText, contentHash: hash };
      },
      'invalid',
    ],
    ['signature removed', async () => ({ signature: null, signatureKeyId: null }), null],
    ['signature of another report put in its place', async () => ({ signature: (await row(donor.id)).signature }), 'invalid'],
    ['key id changed to a key nobody trusts', async () => ({ signatureKeyId: 'f'.repeat(32) }), 'unknown-key'],
    ['signature bytes altered', async (r: Awaited<ReturnType<typeof row>>) => ({ signature: `A${r.signature!.slice(1)}` }), 'invalid'],
  ] as const)('%s: every read says so and raises the alarm', async (_label, tamper, status) => {
    const report = await signedReport(`Will be tampered: ${_label}.`);
    await t.app.db.models.Report.update(await tamper(await row(report.id)), { where: { id: report.id } });
    const before = await securityAlerts(report.id);
    const shown = (await api(attending.token, 'GET', `/api/reports/${report.id}`)).json() as Report;
    expect(shown.integrity.verified).toBe(false);
    expect(shown.integrity.signature?.status ?? null).toBe(status);
    const verification = (await api(attending.token, 'GET', `/api/reports/${report.id}/verification`)).json() as ReportVerification;
    expect(verification.verified).toBe(false);
    const pdf = await api(attending.token, 'GET', `/api/reports/${report.id}/pdf`);
    expect(pdf.headers['x-report-integrity']).toBe('mismatch');
    const fhir = await api(attending.token, 'GET', `/fhir/DiagnosticReport/${report.id}`);
    expect(fhir.statusCode, fhir.body).toBe(200);
    expect(fhir.json()).toMatchObject({ meta: { security: [{ code: 'UNRELIABLE' }] } });
    expect(await securityAlerts(report.id)).toBeGreaterThanOrEqual(before + 4);
  });

  let donor: Report;
  beforeAll(async () => {
    donor = await signedReport('The donor of a signature.');
  }, 60_000);

  it('a report that is not signed has nothing to verify (409); roles without report:read are refused', async () => {
    const study = await seedStudy(t.app);
    const created = (await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {})).json() as Report;
    expect(created.integrity).toEqual({ verified: null, signature: null });
    const draft = await api(attending.token, 'GET', `/api/reports/${created.id}/verification`);
    expect(draft.statusCode).toBe(409);
    expect(draft.json()).toMatchObject({ code: 'NOT_SIGNED' });
    for (const user of [technologist, referrer]) {
      expect((await api(user.token, 'GET', `/api/reports/${donor.id}/verification`)).statusCode).toBe(403);
    }
  });
});

describe('reports signed before the installation signed reports', () => {
  it('the operator signs those whose hash still matches, once; a mismatched one keeps its alarm and is named', async () => {
    const intact = await signedReport('Signed before the upgrade.');
    const altered = await signedReport('Signed before the upgrade, altered since.');
    const unsigned = { signature: null, signatureKeyId: null };
    await t.app.db.models.Report.update(unsigned, { where: { id: intact.id } });
    await t.app.db.models.Report.update({ ...unsigned, contentText: 'Altered since.' }, { where: { id: altered.id } });
    const run = spawnSync(path.resolve(import.meta.dirname, '../../node_modules/.bin/tsx'), ['src/tools/sign-earlier-reports.ts'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, ...baseEnv(), PACS_REPORT_SIGNING_KEY_FILE: firstKey },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/^signed [1-9]\d* report\(s\) with key [0-9a-f]{32}$/m);
    expect(run.stderr).toContain(altered.id);
    expect(run.stderr).not.toContain(intact.id);
    const shown = (id: string) => api(attending.token, 'GET', `/api/reports/${id}`).then((r) => (r.json() as Report).integrity);
    expect(await shown(intact.id)).toMatchObject({ verified: true, signature: { status: 'valid', key: 'current' } });
    expect(await shown(altered.id)).toEqual({ verified: false, signature: null });
  }, 90_000);
});

describe('key rotation', () => {
  it('an earlier key listed as retired keeps its reports verifiable; without it they raise the alarm', async () => {
    const report = await signedReport('Signed before the rotation.');
    const pdf = (await api(attending.token, 'GET', `/api/reports/${report.id}/pdf`)).rawPayload;
    const secondKey = keyFile('second');
    const retired = path.join(tmp, 'retired.pem');
    writeFileSync(retired, publicPemOf(firstKey));
    const rotated = await instanceWith({ PACS_REPORT_SIGNING_KEY_FILE: secondKey, PACS_REPORT_RETIRED_KEYS_FILE: retired });
    expect(rotated.reportKeys.current.keyId).not.toBe(t.app.reportKeys.current.keyId);
    const afterRotation = (await call(rotated, attending.token, 'GET', `/api/reports/${report.id}`)).json() as Report;
    expect(afterRotation.integrity).toMatchObject({ verified: true, signature: { status: 'valid', key: 'retired' } });
    expect((await postPdf(rotated, referrer.token, pdf)).json()).toMatchObject({ authentic: true, key: 'retired', reportId: report.id });

    const forgetful = await instanceWith({ PACS_REPORT_SIGNING_KEY_FILE: secondKey });
    const lost = (await call(forgetful, attending.token, 'GET', `/api/reports/${report.id}`)).json() as Report;
    expect(lost.integrity).toMatchObject({ verified: false, signature: { status: 'unknown-key', key: null } });
    expect((await postPdf(forgetful, referrer.token, pdf)).json()).toMatchObject({
      authentic: false,
      reason: expect.stringMatching(/does not trust/),
    });
  });
});

describe('the signing key settings', () => {
  it('development makes a key readable by its owner only, once; production refuses to start without one', () => {
    const dataDir = mkdtempSync(path.join(tmp, 'data-'));
    const config = signingConfigOf({}, false, dataDir);
    const made = loadSigningKeyring(config);
    expect(statSync(config.keyFile).mode & 0o777).toBe(0o600);
    expect(loadSigningKeyring(config).current.keyId).toBe(made.current.keyId);
    expect(() => signingConfigOf({}, true, dataDir)).toThrow(/PACS_REPORT_SIGNING_KEY_FILE: required in production/);
  });

  it.each([
    ['a missing key file', () => ({ keyFile: path.join(tmp, 'absent.pem') }), /cannot read a private key/],
    [
      'an RSA key',
      () => {
        const file = path.join(tmp, 'rsa.pem');
        writeFileSync(file, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
        return { keyFile: file };
      },
      /holds a rsa key/,
    ],
    [
      'a private key among the retired public keys',
      () => {
        const file = path.join(tmp, 'retired-private.pem');
        writeFileSync(file, readFileSync(firstKey));
        return { keyFile: firstKey, retiredKeysFile: file };
      },
      /keep only the public keys/,
    ],
  ])('%s stops the start with the reason', (_label, settings, reason) => {
    expect(() => loadSigningKeyring({ retiredKeysFile: null, createKeyIfMissing: false, ...settings() })).toThrow(reason);
  });
});

describe('the report PDF', () => {
  let report: Report;
  let pdf: Buffer;
  const file = path.join(tmp, 'final.pdf');
  beforeAll(async () => {
    report = await signedReport('PDF/A with a seal.');
    const response = await api(attending.token, 'GET', `/api/reports/${report.id}/pdf`);
    expect(response.statusCode).toBe(200);
    pdf = response.rawPayload;
    writeFileSync(file, pdf);
  }, 60_000);

  it('is PDF/A-2b: qpdf finds no fault, version 1.7, XMP identification, every font embedded, the signature printed', () => {
    const check = spawnSync('qpdf', ['--check', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/No syntax or stream encoding errors found/);
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(info).toMatch(/PDF version:\s+1\.7/);
    const xmp = execFileSync('pdfinfo', ['-meta', file], { encoding: 'utf8' });
    expect(xmp).toMatch(/<pdfaid:part>2<\/pdfaid:part>/);
    expect(xmp).toMatch(/<pdfaid:conformance>B<\/pdfaid:conformance>/);
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(fonts.length).toBeGreaterThan(0);
    for (const line of fonts) expect(line, line).toMatch(/\s+yes\s+yes\s+(yes|no)\s+\d+\s+\d+$/);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    const stored = t.app.reportKeys.current.keyId;
    expect(text).toContain(`Ed25519 signature (key ${stored})`);
  });

  it('verifies as authentic, naming the report and its status, for every role', async () => {
    for (const user of [attending, resident, technologist, referrer]) {
      const response = await postPdf(t.app, user.token, pdf);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({
        authentic: true,
        keyId: t.app.reportKeys.current.keyId,
        key: 'current',
        reportId: report.id,
        status: 'final',
      } satisfies PdfVerification);
    }
  });

  const flip = (at: (pdf: Buffer) => number) => (original: Buffer) => {
    const copy = Buffer.from(original);
    const i = at(copy);
    copy[i] = copy[i]! ^ 0x01;
    return copy;
  };
  const sealAt = (p: Buffer) => p.indexOf('pacs-seal:v1:', 0, 'latin1');
  const foreign = loadSigningKeyring({ keyFile: keyFile('foreign'), retiredKeysFile: null, createKeyIfMissing: false });

  it.each([
    ['one byte of the header', flip(() => 7), /changed after it was sealed/],
    ['one byte a third in', flip((p) => Math.floor(p.length / 3)), /changed|malformed|not a PDF/],
    ['one byte in the middle', flip((p) => Math.floor(p.length / 2)), /changed/],
    ['one byte of the report mark', flip((p) => p.indexOf('pacs-report:v1:', 0, 'latin1') + 20), /changed/],
    ['one byte of the signature', flip((p) => sealAt(p) + 13 + 32 + 1 + 10), /changed|malformed/],
    ['one byte of the key id', flip((p) => sealAt(p) + 20), /does not trust|malformed/],
    ['the last byte', flip((p) => p.length - 2), /changed/],
    ['truncated', (p: Buffer) => p.subarray(0, p.length - 100), /changed/],
    ['an incremental update appended', (p: Buffer) => Buffer.concat([p, Buffer.from('\n1 0 obj\n(x)\nendobj\n%%EOF\n')]), /changed/],
    [
      'a second seal appended',
      (p: Buffer) => Buffer.concat([p, p.subarray(sealAt(p), sealAt(p) + SEAL_PLACEHOLDER.length)]),
      /more than one seal/,
    ],
    ['the seal removed', (p: Buffer) => Buffer.concat([p.subarray(0, sealAt(p)), p.subarray(sealAt(p) + 13)]), /no seal/],
    [
      'resealed by another installation',
      (p: Buffer) => {
        const unsealed = Buffer.from(p);
        unsealed.write(SEAL_PLACEHOLDER, sealAt(p), 'latin1');
        return sealPdf(unsealed, foreign);
      },
      /does not trust/,
    ],
    ['not a PDF', () => Buffer.from('GIF89a this is not a report'), /not a PDF/],
    ['NUL bytes', () => Buffer.alloc(4096), /not a PDF/],
    ['a PDF header and nothing else', () => Buffer.from('%PDF-1.7\n%%EOF\n'), /no seal/],
  ])('%s: not authentic, with the reason', async (_label, alter, reason) => {
    const response = await postPdf(t.app, referrer.token, alter(pdf));
    expect(response.statusCode, response.body).toBe(200);
    const verdict = response.json() as PdfVerification;
    expect(verdict.authentic).toBe(false);
    expect(verdict.reason).toMatch(reason);
  });

  it('the seal of one report transplanted into another PDF does not verify', async () => {
    const other = await signedReport('Another report for the transplant.');
    const otherPdf = (await api(attending.token, 'GET', `/api/reports/${other.id}/pdf`)).rawPayload;
    const transplanted = Buffer.from(otherPdf);
    transplanted.write(pdf.subarray(sealAt(pdf), sealAt(pdf) + SEAL_PLACEHOLDER.length).toString('latin1'), sealAt(otherPdf), 'latin1');
    expect(verifyPdfSeal(transplanted, t.app.reportKeys)).toMatchObject({ authentic: false, reason: expect.stringMatching(/changed/) });
  });

  it('refuses what is not a PDF upload: empty (400), another media type (415), oversize (413)', async () => {
    const empty = await postPdf(t.app, referrer.token, Buffer.alloc(0));
    expect(empty.statusCode).toBe(400);
    const json = await postPdf(t.app, referrer.token, Buffer.from('{"pdf":"x"}'), 'application/json');
    expect(json.statusCode).toBe(400);
    const other = await postPdf(t.app, referrer.token, pdf, 'application/octet-stream');
    expect(other.statusCode).toBe(415);
    const huge = await postPdf(t.app, referrer.token, Buffer.concat([pdf, Buffer.alloc(21 * 2 ** 20)]));
    expect(huge.statusCode).toBe(413);
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/reports/pdf-verification',
      headers: { 'content-type': 'application/pdf' },
      payload: pdf,
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('a preliminary PDF is sealed too and says it is preliminary', async () => {
    const study = await seedStudy(t.app);
    const created = (await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {})).json() as Report;
    const draftPdf = (await api(resident.token, 'GET', `/api/reports/${created.id}/pdf`)).rawPayload;
    expect((await postPdf(t.app, resident.token, draftPdf)).json()).toMatchObject({
      authentic: true,
      reportId: created.id,
      status: 'draft',
    });
  });
});
