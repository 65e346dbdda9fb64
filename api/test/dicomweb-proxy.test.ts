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
  expect((await storeFiles(orthanc, [...a.files, ...b.files])).stored).toBe(4);
  await waitFor(
    async () => {
      await t.app.ingestion!.reconciler.runOnce();
      return (await t.app.db.models.Study.count({ where: { patientId: ['PROXY-A', 'PROXY-B'] } })) === 2;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'both studies ingested' },
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
