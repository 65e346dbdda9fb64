/**
 * The compose stack, built and run here with podman-compose (local-stack.ts says what differs from
 * the shipped file), used the way a department would: a modality sends a study, a resident and an
 * attending read it and co-edit its report, the attending signs, the PDF is downloaded — all
 * through nginx — then the stack is taken down and brought up again and everything is still there.
 * Run by `npm run test:deployment` after `scripts/containers.mjs build` (DEPLOYMENT.md).
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podman } from '../../scripts/containers.mjs';
import { freePort } from '../../scripts/redis.mjs';
import { coEditAndSign, createTemplate, signIn, startReport, storeStudy, waitFor } from './client';
import { type StackHandle, stackEnv, stackHandle, writeStack } from './local-stack';

const PROJECT = 'pacs-deploy-test';
const STACK_UP_MS = 300_000;

let stack: StackHandle;
let dir: string;
let env: Record<string, string>;
const published = new Map<string, number>();
let baseUrl: string;

function composeOrThrow(args: string[]): string {
  const result = stack.compose(args);
  if (result.status !== 0) throw new Error(`podman-compose ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-4000)}`);
  return result.stdout;
}

async function stackReady(): Promise<void> {
  await waitFor('the API ready behind nginx', async () => ((await fetch(`${baseUrl}/health/ready`)).ok ? true : undefined), STACK_UP_MS);
}

function inspect(container: string, format: string): string {
  return podman(['inspect', '--format', format, container]).stdout.trim();
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-deploy-'));
  stack = stackHandle(PROJECT, dir);
  stack.purge();
  const ports = new Map<string, number>();
  for (const [service, port] of [
    ['web', 8080],
    ['orthanc', 4242],
    ['api', 2575],
  ] as const) {
    ports.set(`${service}:${port}`, await freePort());
  }
  const choose = (containerPort: number, service: string) => {
    const port = ports.get(`${service}:${containerPort}`);
    if (!port) throw new Error(`unexpected published port ${service}:${containerPort}`);
    published.set(`${service}:${containerPort}`, port);
    return port;
  };
  baseUrl = `http://127.0.0.1:${ports.get('web:8080')}`;
  env = stackEnv({ PACS_PUBLIC_URL: baseUrl, PACS_STABLE_AGE: '2', PACS_LOG_LEVEL: 'warn' });
  writeStack(dir, env, choose);
  composeOrThrow(['up', '-d', '--no-build']);
  await stackReady();
}, STACK_UP_MS + 120_000);

afterAll(() => {
  if (!stack) return;
  if (process.env.PACS_DEPLOY_KEEP !== '1') {
    stack.compose(['down', '-v'], 180_000);
    // podman-compose 1.0.3 leaves the project's networks behind.
    stack.purge();
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);

describe('the stack as shipped', () => {
  it('publishes only nginx, the DICOM port and the HL7 listener, on the addresses asked for', () => {
    const seen: string[] = [];
    for (const container of stack.containers()) {
      const ports = podman(['port', container]).stdout.split('\n').filter(Boolean);
      for (const line of ports) seen.push(`${container.split('_')[1]} ${line}`);
    }
    expect(seen.sort()).toEqual(
      [
        `api 2575/tcp -> 127.0.0.1:${published.get('api:2575')}`,
        `orthanc 4242/tcp -> 127.0.0.1:${published.get('orthanc:4242')}`,
        `web 8080/tcp -> 127.0.0.1:${published.get('web:8080')}`,
      ].sort(),
    );
  });

  it('runs every container as a user other than root, each with a health check that passes', async () => {
    const containers = stack.containers();
    expect(containers.map((c) => c.split('_')[1]).sort()).toEqual(['api', 'orthanc', 'postgres', 'redis', 'sync-server', 'web']);
    for (const container of containers) {
      const uid = podman(['exec', container, 'id', '-u']).stdout.trim();
      expect(uid, container).toMatch(/^\d+$/);
      expect(uid, `${container} runs as root`).not.toBe('0');
      expect(inspect(container, '{{json .Config.Healthcheck}}'), `${container} has no health check`).toContain('Test');
      // No systemd timers here to run health checks on their own: run each, as `podman ps` would show it.
      await waitFor(
        `${container} healthy`,
        async () => (podman(['healthcheck', 'run', container]).status === 0 ? true : undefined),
        120_000,
      );
    }
  }, 300_000);

  it("keeps Orthanc's index in PostgreSQL", () => {
    const postgres = stack.containers().find((c) => c.includes('_postgres_'))!;
    const tables = podman([
      'exec',
      postgres,
      'psql',
      '-U',
      'postgres',
      '-d',
      'orthanc',
      '-Atc',
      "select count(*) from pg_tables where schemaname='public'",
    ]);
    expect(Number(tables.stdout.trim())).toBeGreaterThan(5);
  });
});

describe('a service given a missing, weak or development secret refuses to start, naming the variable', () => {
  /** The environment compose gave the running service, with one change, in the same image, with no network. */
  function startWith(service: string, change: Record<string, string | null>): { status: number | null; output: string } {
    const container = stack.containers().find((c) => c.split('_')[1] === service)!;
    const image = inspect(container, '{{.ImageName}}');
    const env = (JSON.parse(inspect(container, '{{json .Config.Env}}')) as string[]).filter((line) => !line.startsWith('PATH='));
    const values = new Map(env.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    for (const [name, value] of Object.entries(change)) {
      if (value === null) values.delete(name);
      else values.set(name, value);
    }
    const envFile = path.join(dir, `refusal-${service}.env`);
    writeFileSync(envFile, [...values].map(([k, v]) => `${k}=${v}`).join('\n'), { mode: 0o600 });
    const secrets = ['report-signing-key', 'report-signing-retired'].flatMap((name, i) => [
      '-v',
      `${path.join(dir, 'secrets', i === 0 ? 'report-signing.pem' : 'report-signing-retired.pem')}:/run/secrets/${name}:ro`,
    ]);
    const run = podman(['run', '--rm', '--network', 'none', '--env-file', envFile, ...secrets, image], { timeout: 120_000 });
    rmSync(envFile, { force: true });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it.each([
    ['api', { PACS_JWT_SECRET: null }, 'PACS_JWT_SECRET'],
    ['api', { PACS_JWT_SECRET: 'x'.repeat(40) }, 'PACS_JWT_SECRET'],
    ['api', { PACS_ADMIN_PASSWORD: 'pacs-admin-dev-password' }, 'PACS_ADMIN_PASSWORD'],
    ['api', { PACS_METRICS_TOKEN: null }, 'PACS_METRICS_TOKEN'],
    ['sync-server', { PACS_DOCUMENT_TOKEN_SECRET: null }, 'PACS_DOCUMENT_TOKEN_SECRET'],
    ['sync-server', { PACS_SYNC_SERVICE_TOKEN: 'short' }, 'PACS_SYNC_SERVICE_TOKEN'],
    ['orthanc', { PACS_ORTHANC_PASSWORD: 'pacs-orthanc-dev-password' }, 'PACS_ORTHANC_PASSWORD'],
    ['orthanc', { PACS_WEBHOOK_SECRET: 'too-short' }, 'PACS_WEBHOOK_SECRET'],
    ['orthanc', { PACS_ORTHANC_INDEX_URL: 'postgresql://orthanc:short@postgres:5432/orthanc' }, 'PACS_ORTHANC_INDEX_URL'],
  ] as const)(
    '%s with %o',
    (service, change, variable) => {
      const { status, output } = startWith(service, change);
      expect(status, output).not.toBe(0);
      expect(output).toContain(variable);
      // The refusal names the variable, never a secret's value.
      for (const secret of [env.PACS_JWT_SECRET!, env.PACS_DOCUMENT_TOKEN_SECRET!, env.PACS_ORTHANC_PASSWORD!]) {
        expect(output).not.toContain(secret);
      }
    },
    150_000,
  );
});

describe('a study from the modality to a signed PDF, through nginx', () => {
  it('is stored, listed, viewed, co-reported, signed and downloaded, and all of it survives a restart', async () => {
    const admin = await signIn(baseUrl, env.PACS_ADMIN_EMAIL!, env.PACS_ADMIN_PASSWORD!);
    expect(admin.mfaSecret, 'the first administrator enrols a second factor').toBeTruthy();
    const password = `Rad-${createHash('sha256').update(dir).digest('hex').slice(0, 20)}`;
    for (const [role, email] of [
      ['attending', 'attending@deploy.test'],
      ['resident', 'resident@deploy.test'],
    ] as const) {
      await admin.session.json('POST', '/api/users', { email, name: `Dr ${role}`, role, password });
    }
    const templateId = await createTemplate(admin.session, 'Deployment CT');
    const attending = (await signIn(baseUrl, 'attending@deploy.test', password)).session;
    const resident = (await signIn(baseUrl, 'resident@deploy.test', password)).session;

    // A modality sends a study to Orthanc's published DICOM port.
    const studyUid = await storeStudy(
      published.get('orthanc:4242')!,
      'ORTHANC',
      {
        patient: { name: 'Deploy^Test', id: 'DEPLOY-1', birthDate: '19700101', sex: 'F' },
        studyDate: '20261205',
        studyTime: '080000',
        accessionNumber: 'DEPLOY0001',
        description: 'CT CHEST',
        priority: 'ROUTINE',
        series: [{ modality: 'CT', description: 'Axial', instances: 3, rows: 64, columns: 64 }],
      },
      7,
    );

    // It reaches the worklist through Orthanc's stable-study webhook.
    const study = await waitFor(
      'the study in the worklist',
      async () => {
        const page = await resident.json<{ items: { id: string; studyInstanceUid: string }[] }>('GET', '/api/studies?q=DEPLOY0001');
        return page.items.find((s) => s.studyInstanceUid === studyUid);
      },
      120_000,
    );

    // The viewer's requests: metadata and a frame through /dicom-web.
    const metadata = await resident.json<Record<string, { Value?: unknown[] }>[]>('GET', `/dicom-web/studies/${studyUid}/metadata`);
    expect(metadata).toHaveLength(3);
    const series = metadata[0]!['0020000E']!.Value![0] as string;
    const instance = metadata[0]!['00080018']!.Value![0] as string;
    const frame = await resident.call('GET', `/dicom-web/studies/${studyUid}/series/${series}/instances/${instance}/frames/1`);
    expect(frame.status).toBe(200);
    expect(frame.headers.get('content-type')).toContain('multipart/related');
    expect((await frame.arrayBuffer()).byteLength).toBeGreaterThan(64 * 64 * 2);

    // The resident takes the study and starts the report; both co-edit it through /sync, the
    // attending signs what their editor shows.
    const reportId = await startReport(resident, study.id, templateId);
    const lines = { findings: 'No focal consolidation. ', impression: 'Normal chest CT.' };
    expect(await coEditAndSign(baseUrl, resident, attending, reportId, lines)).toBe('final');
    const pdf = await attending.call('GET', `/api/reports/${reportId}/pdf`);
    expect(pdf.status).toBe(200);
    const pdfBytes = Buffer.from(await pdf.arrayBuffer());
    expect(pdfBytes.subarray(0, 5).toString()).toBe('%PDF-');
    const text = spawnSync('pdftotext', ['-', '-'], { input: pdfBytes, encoding: 'utf8' }).stdout;
    expect(text).toContain('No focal consolidation.');
    expect(text).toContain('Normal chest CT.');
    const before = await attending.json<{ status: string; contentHash?: string }>('GET', `/api/reports/${reportId}`);
    // The signed report goes back into its study as an Encapsulated PDF (results out to the archive).
    const ENCAPSULATED_PDF = '1.2.840.10008.5.1.4.1.1.104.1';
    const instancesOf = (items: Record<string, { Value?: unknown[] }>[]) =>
      items.map((item) => `${item['00080016']?.Value?.[0]} ${item['00080018']?.Value?.[0]}`).sort();
    const archived = await waitFor(
      'the signed report archived in its study',
      async () => {
        const items = await resident.json<Record<string, { Value?: unknown[] }>[]>('GET', `/dicom-web/studies/${studyUid}/metadata`);
        return items.length === 4 ? instancesOf(items) : undefined;
      },
      120_000,
    );
    expect(archived.filter((i) => i.startsWith(`${ENCAPSULATED_PDF} `))).toHaveLength(1);

    // Down (containers removed, volumes kept) and up again.
    composeOrThrow(['down']);
    composeOrThrow(['up', '-d', '--no-build']);
    await stackReady();

    const again = (await signIn(baseUrl, 'attending@deploy.test', password)).session;
    const listed = await again.json<{ items: { studyInstanceUid: string }[] }>('GET', '/api/studies?q=DEPLOY0001');
    expect(listed.items.map((s) => s.studyInstanceUid)).toEqual([studyUid]);
    expect(await again.json('GET', `/api/reports/${reportId}`)).toEqual(before);
    const metadataAgain = await again.json<Record<string, { Value?: unknown[] }>[]>('GET', `/dicom-web/studies/${studyUid}/metadata`);
    expect(instancesOf(metadataAgain)).toEqual(archived);
    const pdfAgain = await again.call('GET', `/api/reports/${reportId}/pdf`);
    expect(pdfAgain.status).toBe(200);
    const textAgain = spawnSync('pdftotext', ['-', '-'], { input: Buffer.from(await pdfAgain.arrayBuffer()), encoding: 'utf8' }).stdout;
    expect(textAgain).toContain('Normal chest CT.');
    // The administrator's second factor survived too: a sign-in asks for it, and a code is accepted.
    const adminAgain = await signIn(baseUrl, env.PACS_ADMIN_EMAIL!, env.PACS_ADMIN_PASSWORD!, { secret: admin.mfaSecret, window: 1 });
    expect(adminAgain.mfaSecret).toBe(admin.mfaSecret);
  }, 900_000);
});
