/**
 * orthanc/webhook.py against a real Orthanc: signed notifications on stable and deleted studies,
 * retries with back-off when the API fails, no retry on a permanent refusal.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { type OrthancInstance, startOrthanc, storeFiles, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'test-webhook-secret-0123456789abcdef';
const STABLE_AGE = 1;
/** Stable age + scan period + delivery, with room for a loaded CI machine. */
const DELIVERY_DEADLINE_MS = STABLE_AGE * 1000 + 15_000;

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  body: { event: string; orthancStudyId: string; sentAt: string };
  status: number;
}

type Responder = (body: Received['body']) => number;

/** Local receiver on 127.0.0.1:<port 0>: records every request and answers with the responder's status. */
async function startReceiver() {
  const received: Received[] = [];
  let responder: Responder = () => 200;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: Received['body'];
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = { event: 'UNPARSEABLE', orthancStudyId: '', sentAt: '' };
      }
      const status = responder(body);
      received.push({ headers: req.headers, raw, body, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/ingest/orthanc`,
    received,
    respond(fn: Responder) {
      responder = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function expectValidSignature(r: Received) {
  const timestamp = String(r.headers['x-pacs-timestamp']);
  expect(timestamp).toMatch(/^\d{10}$/);
  // The signer's clock is this machine's clock: a fresh timestamp, not a replay window test.
  expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
  const signature = String(r.headers['x-pacs-signature']);
  expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
  const expected = createHmac('sha256', SECRET).update(`${timestamp}.`).update(r.raw).digest();
  expect(timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), expected)).toBe(true);
  // A signature from another secret does not match (the check above is not vacuous).
  const forged = createHmac('sha256', 'another-secret').update(`${timestamp}.`).update(r.raw).digest();
  expect(timingSafeEqual(Buffer.from(signature.slice(7), 'hex'), forged)).toBe(false);
  expect(r.headers['content-type']).toBe('application/json');
  expect(Object.keys(r.body).sort()).toEqual(['event', 'orthancStudyId', 'sentAt']);
  expect(new Date(r.body.sentAt).toISOString()).toBe(r.body.sentAt);
}

function spec(accession: string, patientName: string, series: StudySpec['series']): StudySpec {
  return {
    patient: { name: patientName, id: `WEBHOOK-${accession}`, birthDate: '19800101', sex: 'F', charset: 'ISO_IR 192' },
    studyDate: '20261115',
    studyTime: '101500',
    accessionNumber: accession,
    description: 'Webhook test study',
    priority: 'HIGH',
    series,
  };
}

describe('orthanc webhook script', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let orthanc: OrthancInstance;

  beforeAll(async () => {
    receiver = await startReceiver();
    orthanc = await startOrthanc({
      stableAge: STABLE_AGE,
      webhookUrl: receiver.url,
      webhookSecret: SECRET,
      webhook: { InitialBackoffSeconds: 0.2, MaxBackoffSeconds: 1, MaxAttempts: 5 },
    });
  });

  afterAll(async () => {
    await orthanc?.stop();
    await receiver?.close();
  });

  const forStudy = (id: string) => receiver.received.filter((r) => r.body.orthancStudyId === id);

  it('posts a signed STABLE_STUDY after a multi-series C-STORE', async () => {
    const study = generateStudy(
      spec('WH-0001', 'Müller^Zoë', [
        { modality: 'CT', description: 'Axial', instances: 4, rows: 64 },
        { modality: 'CT', description: 'Coronal', instances: 3, rows: 64 },
        { modality: 'CR', description: 'Scout', instances: 1, rows: 64, columns: 64 },
      ]),
      11,
    );
    const result = await storeFiles(orthanc, study.files);
    expect(result.stored, result.output).toBe(8);
    const studies = await orthanc.getJson<Array<{ ID: string; MainDicomTags: { StudyInstanceUID: string } }>>('/studies?expand');
    const orthancStudy = studies.find((s) => s.MainDicomTags.StudyInstanceUID === study.studyInstanceUid);
    expect(orthancStudy).toBeDefined();

    const delivered = await waitFor(() => forStudy(orthancStudy!.ID).find((r) => r.body.event === 'STABLE_STUDY'), {
      timeoutMs: DELIVERY_DEADLINE_MS,
      what: 'the STABLE_STUDY webhook',
    });
    expectValidSignature(delivered);
    expect(delivered.body).toMatchObject({ event: 'STABLE_STUDY', orthancStudyId: orthancStudy!.ID });
    // No patient data in the notification.
    expect(delivered.raw.toString('utf8')).not.toMatch(/Müller|WH-0001|WEBHOOK-/);
    const log = await orthanc.log();
    expect(log).toContain('PACS webhook: notifying http://127.0.0.1');
    expect(log).not.toContain('Müller');
  });

  it('retries with back-off when the API fails, each attempt freshly signed', async () => {
    let failuresLeft = 2;
    receiver.respond((body) => (body.event === 'STABLE_STUDY' && failuresLeft-- > 0 ? 503 : 200));
    try {
      const study = generateStudy(
        spec('WH-0002', 'García^José', [{ modality: 'MR', description: 'T1 axial', instances: 3, rows: 64 }]),
        12,
      );
      expect((await storeFiles(orthanc, study.files)).stored).toBe(3);
      const id = await waitFor(
        async () =>
          (await orthanc.getJson<Array<{ ID: string; MainDicomTags: { AccessionNumber: string } }>>('/studies?expand')).find(
            (s) => s.MainDicomTags.AccessionNumber === 'WH-0002',
          )?.ID,
        { what: 'the study in Orthanc' },
      );
      const attempts = await waitFor(
        () => {
          const all = forStudy(id);
          return all.some((r) => r.status === 200) ? all : undefined;
        },
        { timeoutMs: DELIVERY_DEADLINE_MS + 10_000, what: 'a successful delivery after 2 failures' },
      );
      expect(attempts.map((a) => a.status)).toEqual([503, 503, 200]);
      for (const attempt of attempts) {
        expectValidSignature(attempt);
        expect(attempt.body.event).toBe('STABLE_STUDY');
      }
    } finally {
      receiver.respond(() => 200);
    }
  });

  it('does not retry a permanent refusal (401) and keeps delivering later events in order', async () => {
    const refusedIds = new Set<string>();
    receiver.respond((body) => (refusedIds.has(body.orthancStudyId) ? 401 : 200));
    try {
      const first = generateStudy(
        spec('WH-0003', 'Dubois^Amélie', [{ modality: 'DX', description: 'PA', instances: 1, rows: 64, columns: 64 }]),
        13,
      );
      const second = generateStudy(
        spec('WH-0004', 'Øster^Åse', [{ modality: 'DX', description: 'PA', instances: 1, rows: 64, columns: 64 }]),
        14,
      );
      const firstResponse = await orthanc.request('/instances', { method: 'POST', body: first.files[0] });
      const firstId = ((await firstResponse.json()) as { ParentStudy: string }).ParentStudy;
      refusedIds.add(firstId);
      await waitFor(() => forStudy(firstId).length > 0, { timeoutMs: DELIVERY_DEADLINE_MS, what: 'the refused delivery' });
      const secondResponse = await orthanc.request('/instances', { method: 'POST', body: second.files[0] });
      const secondId = ((await secondResponse.json()) as { ParentStudy: string }).ParentStudy;
      await waitFor(() => forStudy(secondId).find((r) => r.status === 200), { timeoutMs: DELIVERY_DEADLINE_MS, what: 'the next delivery' });
      // One worker delivers in order: any retry of the first would have arrived before the second.
      expect(forStudy(firstId).map((r) => r.status)).toEqual([401]);
    } finally {
      receiver.respond(() => 200);
    }
  });

  it('posts a signed DELETED_STUDY when a study is deleted', async () => {
    const study = generateStudy(
      spec('WH-0005', 'Kowalczyk^Łukasz', [{ modality: 'US', description: 'Cine', instances: 1, rows: 48, columns: 64, frames: 3 }]),
      15,
    );
    const response = await orthanc.request('/instances', { method: 'POST', body: study.files[0] });
    const id = ((await response.json()) as { ParentStudy: string }).ParentStudy;
    await waitFor(() => forStudy(id).find((r) => r.body.event === 'STABLE_STUDY'), {
      timeoutMs: DELIVERY_DEADLINE_MS,
      what: 'STABLE_STUDY',
    });
    expect((await orthanc.request(`/studies/${id}`, { method: 'DELETE' })).status).toBe(200);
    const deleted = await waitFor(() => forStudy(id).find((r) => r.body.event === 'DELETED_STUDY'), {
      timeoutMs: 10_000,
      what: 'DELETED_STUDY',
    });
    expectValidSignature(deleted);
    expect(orthanc.running()).toBe(true);
  });
});
