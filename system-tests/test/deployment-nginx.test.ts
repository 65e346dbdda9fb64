/**
 * The production nginx configuration (web/nginx/), run for real: `nginx -t`, then nginx in the
 * foreground in front of the real API (buildApp on a loopback port), the built PWA (web/dist) and
 * a WebSocket echo standing in for the sync-server. Only the upstream addresses, the listen port
 * and the file paths are rewritten; every location, header and cache rule is the shipped one.
 * Needs Debian's `nginx` (the test suite installs it with the other test packages).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, type TestApp } from '@pacs/api/testing';
import { type HostileContext, hostileTargets, rawRequest } from '@pacs/api/testing/dicomweb-hostile';
import { generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NGINX_DIR = path.join(ROOT, 'web', 'nginx');
const WEB_DIST = path.join(ROOT, 'web', 'dist');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replaces `from` by `to` and fails if `from` is not in the text (the config changed shape). */
function rewrite(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`web/nginx/nginx.conf no longer contains "${from}"`);
  return text.replaceAll(from, to);
}

let dir: string;
let testApp: TestApp;
let echo: WebSocketServer;
let nginx: ChildProcess | undefined;
let nginxLog = '';
let base: string;
let nginxPort: number;
let orthanc: OrthancInstance;
let hostile: HostileContext;
/** Every path the API sent to Orthanc's DICOMweb. */
const forwarded: string[] = [];
const upgrades: { url: string; forwardedFor: string | undefined }[] = [];

beforeAll(async () => {
  if (!NGINX) throw new Error('nginx is not installed: apt-get install -y nginx (Debian), or add it to the test packages');
  if (!existsSync(path.join(WEB_DIST, 'index.html'))) {
    execFileSync('pnpm', ['--filter', '@pacs/web', 'run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 240_000 });
  }
  // A real Orthanc behind the API, holding two patients' studies: the DICOMweb traversal cases must
  // show that nothing but DICOMweb is reachable through nginx.
  orthanc = await startOrthanc({ stableAge: 1 });
  testApp = await createTestApp({
    ...apiEnvFor(orthanc),
  });
  await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  hostile = await storeTwoStudies();
  const client = testApp.app.ingestion!.orthanc;
  const original = client.fetch.bind(client);
  client.fetch = (pathAndQuery, init, timeoutMs) => {
    if (pathAndQuery.startsWith('/dicom-web')) forwarded.push(pathAndQuery);
    return original(pathAndQuery, init, timeoutMs);
  };
  const apiPort = (testApp.app.server.address() as AddressInfo).port;

  echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  echo.on('connection', (socket, request) => {
    upgrades.push({ url: request.url ?? '', forwardedFor: request.headers['x-forwarded-for'] as string | undefined });
    socket.on('message', (data, binary) => socket.send(data, { binary }));
  });
  await new Promise((resolve) => echo.once('listening', resolve));
  const syncPort = (echo.address() as AddressInfo).port;

  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-nginx-'));
  const port = await freePort();
  nginxPort = port;
  let conf = readFileSync(path.join(NGINX_DIR, 'nginx.conf'), 'utf8');
  conf = rewrite(conf, 'pid /tmp/nginx.pid;', `pid ${dir}/nginx.pid;`);
  conf = rewrite(conf, ' /tmp/nginx-', ` ${dir}/nginx-`);
  conf = rewrite(conf, 'access_log /dev/stdout pacs;', `access_log ${dir}/access.log pacs;`);
  conf = rewrite(conf, 'error_log /dev/stderr warn;', `error_log ${dir}/error.log warn;`);
  conf = rewrite(conf, 'server api:3000;', `server 127.0.0.1:${apiPort};`);
  conf = rewrite(conf, 'server sync-server:1234;', `server 127.0.0.1:${syncPort};`);
  conf = rewrite(conf, 'listen 8080;', `listen 127.0.0.1:${port};`);
  conf = rewrite(conf, 'root /usr/share/nginx/html;', `root ${WEB_DIST};`);
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  for (const file of ['proxy-headers.conf', 'security-headers.conf']) copyFileSync(path.join(NGINX_DIR, file), path.join(dir, file));
  // The nginx image has the same file at the same relative place (/etc/nginx/mime.types).
  copyFileSync('/etc/nginx/mime.types', path.join(dir, 'mime.types'));

  const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);

  nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stderr?.on('data', (chunk) => {
    nginxLog += String(chunk);
  });
  base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`${base}/index.html`);
      break;
    } catch {
      if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start:\n${nginxLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 300_000);

afterAll(async () => {
  if (nginx?.pid && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx!.once('exit', resolve));
    nginx.kill('SIGQUIT'); // graceful stop of the master and its workers
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (nginx.exitCode === null) nginx.kill('SIGKILL');
  }
  await new Promise((resolve) => echo?.close(resolve));
  await testApp?.close();
  await orthanc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function storeTwoStudies(): Promise<HostileContext> {
  const spec = (name: string, id: string): StudySpec => ({
    patient: { name, id, birthDate: '19800214', sex: 'F' },
    studyDate: '20261105',
    studyTime: '101500',
    accessionNumber: `ACC-${id}`,
    description: 'CT HEAD',
    priority: 'ROUTINE',
    series: [{ modality: 'CT', description: 'Axial', instances: 1, rows: 64, columns: 64 }],
  });
  const a = generateStudy(spec('Proxy^Alice', 'PROXY-A'), 31);
  const b = generateStudy(spec('Proxy^Bob', 'PROXY-B'), 32);
  expect((await storeFiles(orthanc, [...a.files, ...b.files])).stored).toBe(2);
  await waitFor(
    async () => {
      await testApp.app.ingestion!.reconciler.runOnce();
      return (await testApp.app.db.models.Study.count()) === 2;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'both studies ingested' },
  );
  const find = async (level: string, value: string) =>
    (await orthanc.getJson<{ ID: string; MainDicomTags: Record<string, string> }[]>(`/${level}?expand`)).find((r) =>
      Object.values(r.MainDicomTags).includes(value),
    )!.ID;
  return {
    studyA: a.studyInstanceUid,
    studyB: b.studyInstanceUid,
    seriesB: b.series[0]!.seriesInstanceUid,
    orthancStudyA: await find('studies', a.studyInstanceUid),
    orthancPatientB: await find('patients', 'PROXY-B'),
  };
}

describe('nginx in front of the API, the PWA and the sync-server', () => {
  it('passes nginx -t with the shipped configuration', () => {
    const check = spawnSync(NGINX!, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toContain('syntax is ok');
  });

  it('serves the app shell at / with no-cache and the API’s security headers', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('server')).toBe('nginx'); // server_tokens off: no version
    expect(await response.text()).toContain('<div id="root">');
  });

  it('answers client-side routes with the shell, and the service worker with no-cache', async () => {
    const route = await fetch(`${base}/studies/1.2.3/report`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<div id="root">');
    expect(route.headers.get('cache-control')).toBe('no-cache');
    const sw = await fetch(`${base}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    expect(sw.headers.get('content-type')).toMatch(/javascript/);
    const manifest = await fetch(`${base}/manifest.webmanifest`);
    expect(manifest.headers.get('content-type')).toContain('application/manifest+json');
    expect(manifest.headers.get('cache-control')).toBe('no-cache');
  });

  it('caches hashed assets for a year as immutable; a missing asset is a 404, not the shell', async () => {
    const html = readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const response = await fetch(`${base}${asset}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(`${base}/assets/index-doesnotexist.js`);
    expect(missing.status).toBe(404);
  });

  it('proxies /api: login works through nginx, with the API’s headers passed once', async () => {
    const response = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { accessToken: string };
    expect(body.accessToken).toMatch(/^ey/);
    expect(response.headers.get('set-cookie')).toContain('pacs_refresh=');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp.split('default-src').length).toBe(2);
    const me = await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${body.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it('proxies /health to the API and keeps /metrics off the public origin', async () => {
    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });

  it('upgrades /sync to a WebSocket on the sync-server, with the client address forwarded', async () => {
    const socket = new WebSocket(`${base.replace('http', 'ws')}/sync/report:0000?token=abc`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('ping through nginx');
    expect(await reply).toBe('ping through nginx');
    socket.close();
    expect(upgrades.at(-1)).toEqual({ url: '/sync/report:0000?token=abc', forwardedFor: '127.0.0.1' });
  });
});

describe('DICOMweb through nginx reaches nothing but DICOMweb', () => {
  it('refuses every traversal spelling (or serves the app shell where nginx itself resolved the dots), forwards nothing, leaks nothing', async () => {
    const resident = await testApp.userWithToken('resident');
    const auth = { authorization: `Bearer ${resident.token}` };
    forwarded.length = 0;
    const failures: string[] = [];
    for (const target of hostileTargets(hostile)) {
      const reply = await rawRequest(nginxPort, `/dicom-web${target}`, auth);
      const shell = reply.status === 200 && reply.body.includes('<div id="root">');
      const refused = reply.status >= 400 && reply.status < 500;
      const leak = ['ApiVersion', 'DicomAet', 'PK\u0003\u0004', 'PROXY-B', 'Proxy^Bob', '"MainDicomTags"'].find((m) =>
        reply.body.includes(m),
      );
      if (!(refused || shell) || leak) failures.push(`${target.slice(0, 100)} → ${reply.status} ${leak ?? ''}`);
    }
    expect(failures).toEqual([]);
    expect(forwarded).toEqual([]);
    // nginx itself turns away encoded dots, slashes and backslashes below /dicom-web (defence in depth).
    const early = await rawRequest(nginxPort, '/dicom-web/..%5c..%5cpatients', auth);
    expect(early.status).toBe(400);
    expect(early.body).toContain('<center>nginx</center>');
    // And DICOMweb itself still works through nginx.
    const series = await rawRequest(nginxPort, `/dicom-web/studies/${hostile.studyA}/series`, {
      ...auth,
      accept: 'application/dicom+json',
    });
    expect(series.status).toBe(200);
    expect(series.body).toContain(hostile.studyA);
  });
});
