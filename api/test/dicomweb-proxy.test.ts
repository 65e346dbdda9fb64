/**
 * The DICOMweb proxy in front of a real Orthanc, reached on the API's port and through the
 * development gateway (scripts/gateway.mjs): only DICOMweb routes reach Orthanc (no spelling of a
 * dot segment opens its REST API), the audit row names the study forwarded and a search's criteria
 * and results, BulkDataURIs use the configured public origin whatever Host a client sends, HEAD
 * answers like GET without a body, and OHIF's encoded includefield lists work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type GeneratedStudy, generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, freePort, type OrthancInstance, startOrthanc, storeFiles, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../scripts/gateway.mjs';
import { writePart10 } from '../src/dicom/part10';
import { bearer, createTestApp, type TestApp } from './support/app';
import { hostileTargets, rawRequest } from './support/dicomweb-hostile';

const PUBLIC_URL = 'https://pacs.example.org:8443';
let orthanc: OrthancInstance;
let t: TestApp;
let gateway: http.Server;
let apiPort: number;
let gatewayPort: number;
let token: string;
let userId: string;
let webRoot: string;
let a: GeneratedStudy;
let b: GeneratedStudy;
/** Study C holds an image and an Encapsulated PDF (no pixel data) in a series of its own. */
let c: GeneratedStudy;
const PDF_SERIES = '1.2.826.0.1.3680043.10.1337.1';
const PDF_INSTANCE = '1.2.826.0.1.3680043.10.1337.1.1';
const forwarded: string[] = [];

const spec = (name: string, id: string, description: string): StudySpec => ({
  patient: { name, id, birthDate: '19800214', sex: 'F' },
  studyDate: '20261105',
  studyTime: '101500',
  accessionNumber: `ACC-${id}`,
  description,
  priority: 'ROUTINE',
  series: [{ modality: 'CT', description: 'Axial', instances: 2, rows: 64, columns: 64 }],
});

async function orthancId(level: 'studies' | 'patients', match: string): Promise<string> {
  const all = await orthanc.getJson<{ ID: string; MainDicomTags: Record<string, string> }[]>(`/${level}?expand`);
  return all.find((r) => Object.values(r.MainDicomTags).includes(match))!.ID;
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  t = await createTestApp({
    ...apiEnvFor(orthanc),
    PACS_TRUST_PROXY: 'true',
    PACS_PUBLIC_URL: PUBLIC_URL,
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  apiPort = (t.app.server.address() as AddressInfo).port;
  // Every path the proxy sends to Orthanc (the real client still does the work).
  const client = t.app.ingestion!.orthanc;
  const original = client.fetch.bind(client);
  client.fetch = (pathAndQuery, init, timeoutMs) => {
    if (pathAndQuery.startsWith('/dicom-web')) forwarded.push(pathAndQuery);
    return original(pathAndQuery, init, timeoutMs);
  };
  webRoot = mkdtempSync(path.join(os.tmpdir(), 'pacs-dw-web-'));
  gatewayPort = await freePort();
  const api = { host: '127.0.0.1', port: apiPort };
  gateway = (await startGateway({
    port: gatewayPort,
    host: '127.0.0.1',
    webRoot,
    upstreams: [
      ['/api', api],
      ['/dicom-web', api],
    ],
  })) as http.Server;

  a = generateStudy(spec('Proxy^Alice', 'PROXY-A', 'CT HEAD'), 21);
  b = generateStudy(spec('Proxy^Bob', 'PROXY-B', 'CT CHEST'), 22);
  c = generateStudy(spec('Proxy^Carol', 'PROXY-C', 'CT ABDOMEN'), 23);
  expect((await storeFiles(orthanc, [...a.files, ...b.files, ...c.files, encapsulatedPdf(c)])).stored).toBe(7);
  await waitFor(
    async () => {
      await t.app.ingestion!.reconciler.runOnce();
      return (await t.app.db.models.Study.count({ where: { patientId: ['PROXY-A', 'PROXY-B', 'PROXY-C'] } })) === 3;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'the three studies ingested' },
  );
  const resident = await t.userWithToken('resident');
  token = resident.token;
  userId = resident.id;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => (gateway ? gateway.close(resolve) : resolve(undefined)));
  await t?.close();
  await orthanc?.stop();
  if (webRoot) rmSync(webRoot, { recursive: true, force: true });
});

function encapsulatedPdf(study: GeneratedStudy): Buffer {
  const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
  const sopClass = '1.2.840.10008.5.1.4.1.1.104.1';
  return writePart10(sopClass, PDF_INSTANCE, {
    SOPClassUID: sopClass,
    SOPInstanceUID: PDF_INSTANCE,
    StudyInstanceUID: study.studyInstanceUid,
    PatientID: study.patient.id,
    PatientName: study.patient.name,
    Modality: 'DOC',
    SeriesInstanceUID: PDF_SERIES,
    SeriesNumber: 9901,
    InstanceNumber: 1,
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocument: pdf.buffer.slice(pdf.byteOffset, pdf.byteOffset + pdf.length),
  });
}

/** Anything only Orthanc's other routes would answer: /system, patient lists, a zip archive, another patient. */
function leaked(body: string): string | undefined {
  for (const marker of ['ApiVersion', 'DicomAet', 'PK\u0003\u0004', 'PROXY-B', 'Proxy^Bob', '"ParentPatient"', '"MainDicomTags"']) {
    if (body.includes(marker)) return marker;
  }
  return undefined;
}

describe('only DICOMweb reaches Orthanc', () => {
  it.each([
    ['the API port', () => apiPort],
    ['the development gateway', () => gatewayPort],
  ])('every traversal spelling through %s is refused with a 4xx, nothing forwarded, nothing leaked', async (_via, port) => {
    const targets = hostileTargets({
      studyA: a.studyInstanceUid,
      studyB: b.studyInstanceUid,
      seriesB: b.series[0]!.seriesInstanceUid,
      orthancStudyA: await orthancId('studies', a.studyInstanceUid),
      orthancPatientB: await orthancId('patients', 'PROXY-B'),
    });
    forwarded.length = 0;
    const failures: string[] = [];
    for (const target of targets) {
      const reply = await rawRequest(port(), `/dicom-web${target}`, { authorization: `Bearer ${token}` });
      const leak = leaked(reply.body);
      if (reply.status < 400 || reply.status >= 500 || leak) failures.push(`${target.slice(0, 100)} → ${reply.status} ${leak ?? ''}`);
    }
    expect(failures).toEqual([]);
    expect(forwarded).toEqual([]);
    const studyBRows = await t.app.db.models.AuditLog.count({
      where: { eventId: 'DICOMInstancesAccessed', studyUid: b.studyInstanceUid, userId },
    });
    expect(studyBRows).toBe(0);
    // Orthanc is still there, and a plain request still works through the same entry point.
    const ok = await rawRequest(port(), `/dicom-web/studies/${a.studyInstanceUid}/series`, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
  });

  it('refuses with a stable code and a reason', async () => {
    // (Raw requests: light-my-request's URL parsing would resolve the dot segments first.)
    const auth = { authorization: `Bearer ${token}` };
    const reply = await rawRequest(apiPort, '/dicom-web/%2e%2e/system', auth);
    expect(reply.status).toBe(404);
    expect(reply.body).toContain('"code":"DICOMWEB_ROUTE_UNKNOWN"');
    const traversal = await rawRequest(apiPort, `/dicom-web/studies/${a.studyInstanceUid}/..%2f${b.studyInstanceUid}/metadata`, auth);
    expect(traversal.status).toBe(404);
    expect(traversal.body).toContain('"code":"DICOMWEB_ROUTE_UNKNOWN"');
    const bad = await rawRequest(apiPort, `/dicom-web/studies/${b.studyInstanceUid}%2f..%2f..%2fsystem/metadata`, auth);
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('"code":"DICOMWEB_BAD_UID"');
    const frames = await rawRequest(apiPort, `/dicom-web/studies/${a.studyInstanceUid}/series/1.2/instances/1.2.3/frames/1,,2`, auth);
    expect(frames.status).toBe(400);
    expect(frames.body).toContain('"code":"DICOMWEB_BAD_FRAME_LIST"');
  });

  it('audits the study it forwards: another study’s series under study A is asked of study A', async () => {
    const other = await t.userWithToken('resident');
    const url = `/dicom-web/studies/${a.studyInstanceUid}/series/${b.series[0]!.seriesInstanceUid}/metadata`;
    const reply = await t.app.inject({ url, headers: bearer(other.token) });
    // Orthanc checks the series belongs to the study it is asked under.
    expect(reply.statusCode).toBe(404);
    expect(reply.body).not.toContain('PROXY-B');
    const rows = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'DICOMInstancesAccessed', userId: other.id }, raw: true });
    expect(rows.map((r) => [r.studyUid, r.patientId])).toEqual([[a.studyInstanceUid, 'PROXY-A']]);
  });
});

describe('search audit and interoperability', () => {
  it('audits a QIDO search with its criteria and the studies and patients it returned; encoded includefield lists are honoured', async () => {
    const searcher = await t.userWithToken('attending');
    const reply = await t.app.inject({
      url: '/dicom-web/studies?PatientID=PROXY-A&includefield=StudyDescription%2CModalitiesInStudy&limit=10',
      headers: { ...bearer(searcher.token), accept: 'application/dicom+json' },
    });
    expect(reply.statusCode).toBe(200);
    const [study] = reply.json() as Record<string, { Value?: unknown[] }>[];
    expect(study?.['0020000D']?.Value).toEqual([a.studyInstanceUid]);
    expect(study?.['00081030']?.Value).toEqual(['CT HEAD']);
    expect(study?.['00080061']?.Value).toEqual(['CT']);
    const rows = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'Query', userId: searcher.id }, raw: true });
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({
      via: 'dicom-web',
      level: 'studies',
      criteria: { PatientID: 'PROXY-A', includefield: ['StudyDescription', 'ModalitiesInStudy'], limit: '10' },
      studies: [a.studyInstanceUid],
      patientIds: ['PROXY-A'],
      resultCount: 1,
    });
  });

  it('answers HEAD with the status and headers of GET and no body', async () => {
    const instance = `/dicom-web/studies/${a.studyInstanceUid}/series/${a.series[0]!.seriesInstanceUid}/instances/${a.series[0]!.sopInstanceUids[0]}`;
    for (const [url, accept] of [
      [`/dicom-web/studies/${a.studyInstanceUid}/metadata`, 'application/dicom+json'],
      [`/dicom-web/studies/${a.studyInstanceUid}/series/${a.series[0]!.seriesInstanceUid}/metadata`, 'application/dicom+json'],
      [`${instance}/frames/1`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*'],
      ['/dicom-web/studies?PatientID=PROXY-A', 'application/dicom+json'],
    ] as const) {
      const headers = { authorization: `Bearer ${token}`, accept, 'accept-encoding': 'identity' };
      const get = await fetch(`http://127.0.0.1:${apiPort}${url}`, { headers });
      const body = Buffer.from(await get.arrayBuffer());
      const head = await fetch(`http://127.0.0.1:${apiPort}${url}`, { method: 'HEAD', headers });
      expect(head.status, url).toBe(get.status);
      expect(get.status, url).toBe(200);
      expect(head.headers.get('content-type')?.split(';')[0], url).toBe(get.headers.get('content-type')?.split(';')[0]);
      if (head.headers.get('content-length')) expect(Number(head.headers.get('content-length')), url).toBe(body.length);
      expect((await head.arrayBuffer()).byteLength, url).toBe(0);
    }
  });
});

describe('BulkDataURIs and RetrieveURLs', () => {
  it('use the configured public origin, never a forged Host, X-Forwarded-Host or Forwarded header', async () => {
    const forged = {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example:666',
      'x-forwarded-proto': 'http',
      forwarded: 'host=evil.example;proto=http',
      accept: 'application/dicom+json',
    };
    for (const url of [
      `/dicom-web/studies/${a.studyInstanceUid}/metadata`,
      `/dicom-web/studies/${a.studyInstanceUid}/series/${a.series[0]!.seriesInstanceUid}/metadata`,
      `/dicom-web/studies?PatientID=PROXY-A`,
    ]) {
      const reply = await t.app.inject({ url, headers: { ...bearer(token), ...forged } });
      expect(reply.statusCode, url).toBe(200);
      const text = reply.body;
      expect(text, url).not.toContain('evil');
      expect(text, url).not.toContain(orthanc.httpUrl);
      const links = text.match(/https?:\/\/[^"]+/g) ?? [];
      expect(links.length, url).toBeGreaterThan(0);
      for (const link of links) expect(link.startsWith(`${PUBLIC_URL}/dicom-web/studies/${a.studyInstanceUid}`), link).toBe(true);
    }
    const metadata = await t.app.inject({ url: `/dicom-web/studies/${a.studyInstanceUid}/metadata`, headers: bearer(token) });
    const bulk = JSON.stringify(metadata.json()).match(/"BulkDataURI":"([^"]+)"/)?.[1];
    expect(bulk).toMatch(new RegExp(`^${PUBLIC_URL}/dicom-web/studies/[0-9.]+/series/[0-9.]+/instances/[0-9.]+/bulk/7fe00010$`));
    // The link itself is a route the proxy serves.
    const fetched = await t.app.inject({ url: bulk!.slice(PUBLIC_URL.length), headers: bearer(token) });
    expect(fetched.statusCode).toBe(200);
  });
});

describe("Orthanc's errors", () => {
  it.each([
    ['the API port', () => apiPort],
    ['the development gateway', () => gatewayPort],
  ])('through %s: never its 500 or its error body; frames of a document are a 404 that says why', async (_via, port) => {
    const viewer = await t.userWithToken('attending');
    const study = `/dicom-web/studies/${c.studyInstanceUid}`;
    const image = `${study}/series/${c.series[0]!.seriesInstanceUid}/instances/${c.series[0]!.sopInstanceUids[0]}`;
    const pdf = `${study}/series/${PDF_SERIES}/instances/${PDF_INSTANCE}`;
    const frames = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
    const cases: [method: string, url: string, accept: string, status: number, code: string][] = [
      // Orthanc answers 500 "Not implemented yet" for these.
      ['GET', `${pdf}/frames/1`, frames, 404, 'DICOMWEB_NO_PIXEL_DATA'],
      ['GET', `${pdf}/frames/1,2`, frames, 404, 'DICOMWEB_NO_PIXEL_DATA'],
      ['HEAD', `${pdf}/frames/1`, frames, 404, 'DICOMWEB_NO_PIXEL_DATA'],
      // Orthanc answers 400 "Parameter out of range" for these.
      ['GET', `${pdf}/frames/1/rendered`, 'image/jpeg', 404, 'DICOMWEB_NO_PIXEL_DATA'],
      ['GET', `${pdf}/rendered`, 'image/png', 404, 'DICOMWEB_NO_PIXEL_DATA'],
      ['GET', `${image}/frames/2`, frames, 400, 'DICOMWEB_ARCHIVE_REFUSED'],
      ['GET', `${image}/frames/1000`, frames, 400, 'DICOMWEB_ARCHIVE_REFUSED'],
      ['GET', `${study}/series/${PDF_SERIES}/rendered`, 'image/jpeg', 400, 'DICOMWEB_ARCHIVE_REFUSED'],
      // Orthanc answers 404 for these.
      ['GET', `${pdf}/bulk/7FE00010`, 'multipart/related; type="application/octet-stream"', 404, 'DICOMWEB_ARCHIVE_REFUSED'],
      ['GET', `${study}/series/1.2.3.4/metadata`, 'application/dicom+json', 404, 'DICOMWEB_ARCHIVE_REFUSED'],
      ['GET', `${study}/series/${PDF_SERIES}/instances/9.9.9/frames/1`, frames, 404, 'DICOMWEB_ARCHIVE_REFUSED'],
    ];
    const failures: string[] = [];
    for (const [method, url, accept, status, code] of cases) {
      const reply = await fetch(`http://127.0.0.1:${port()}${url}`, {
        method,
        headers: { authorization: `Bearer ${viewer.token}`, accept },
      });
      const body = await reply.text();
      const said = method === 'HEAD' ? '' : (JSON.parse(body) as { code?: string }).code;
      const wrong =
        reply.status !== status ||
        (method === 'HEAD' ? body !== '' : said !== code) ||
        /OrthancError|HttpError|"Uri"|127\.0\.0\.1|PROXY-C|Carol/.test(body);
      if (wrong) failures.push(`${method} ${url.slice(study.length)} → ${reply.status} ${body.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
    // The image itself still comes through, and the document's own bytes are still there to fetch.
    const ok = await fetch(`http://127.0.0.1:${port()}${image}/frames/1`, {
      headers: { authorization: `Bearer ${viewer.token}`, accept: frames },
    });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBeGreaterThan(64 * 64);
    const document = await fetch(`http://127.0.0.1:${port()}${pdf}/bulk/00420011`, {
      headers: { authorization: `Bearer ${viewer.token}`, accept: 'multipart/related; type="application/octet-stream"' },
    });
    expect(document.status).toBe(200);
    expect(await document.text()).toContain('%PDF-1.4');
  });

  it("says why in words: the 404 names the missing pixel data, a refusal carries the archive's short reason", async () => {
    const viewer = await t.userWithToken('attending');
    const study = `/dicom-web/studies/${c.studyInstanceUid}`;
    const pdfFrames = await t.app.inject({
      url: `${study}/series/${PDF_SERIES}/instances/${PDF_INSTANCE}/frames/1`,
      headers: bearer(viewer.token),
    });
    expect(pdfFrames.json()).toMatchObject({
      statusCode: 404,
      code: 'DICOMWEB_NO_PIXEL_DATA',
      message: expect.stringContaining('no pixel data'),
    });
    const past = await t.app.inject({
      url: `${study}/series/${c.series[0]!.seriesInstanceUid}/instances/${c.series[0]!.sopInstanceUids[0]}/frames/7`,
      headers: bearer(viewer.token),
    });
    expect(past.json()).toMatchObject({ statusCode: 400, message: 'the image archive refused the request: Parameter out of range' });
  });
});
