/**
 * `npm start`: the whole system on one origin (http://localhost:8080 unless PACS_HTTP_PORT),
 * all data under PACS_DATA_DIR (default ./data). Development secrets are generated once into
 * the data directory and handed to the services through their environment.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePnpm, fail, installNodeModules, log, ROOT } from './bootstrap.mjs';
import { startGateway } from './gateway.mjs';

const httpPort = Number(process.env.PACS_HTTP_PORT ?? 8080);
const httpHost = process.env.PACS_HTTP_HOST ?? '127.0.0.1';
const apiPort = Number(process.env.PACS_API_PORT ?? 3000);
const dataDir = path.resolve(process.env.PACS_DATA_DIR ?? path.join(ROOT, 'data'));

function developmentSecrets() {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const secret = () => randomBytes(36).toString('base64url');
  const secrets = { jwtSecret: secret() };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const children = [];
function startService(name, args, env, cwd) {
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 5000).unref();
  Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve() : c.once('exit', resolve))))).then(() =>
    process.exit(code),
  );
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function waitForHealth(url, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  fail(`${url} did not become ready in ${deadlineMs / 1000} s`);
}

export async function start() {
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  mkdirSync(dataDir, { recursive: true });
  const secrets = developmentSecrets();

  startService(
    'api',
    ['src/server.ts'],
    {
      PACS_DATA_DIR: dataDir,
      PACS_API_HOST: '127.0.0.1',
      PACS_API_PORT: String(apiPort),
      PACS_JWT_SECRET: process.env.PACS_JWT_SECRET ?? secrets.jwtSecret,
      PACS_TRUST_PROXY: 'true',
    },
    path.join(ROOT, 'api'),
  );
  await waitForHealth(`http://127.0.0.1:${apiPort}/health/ready`, 60_000);

  const api = { host: '127.0.0.1', port: apiPort };
  await startGateway({
    port: httpPort,
    host: httpHost,
    webRoot: path.join(ROOT, 'web', 'dist'),
    upstreams: [
      ['/api', api],
      ['/health', api],
      ['/dicom-web', api],
    ],
  });
  const shown = httpHost === '0.0.0.0' || httpHost === '127.0.0.1' ? 'localhost' : httpHost;
  log(`PACS is up at http://${shown}:${httpPort}  (API docs: http://${shown}:${httpPort}/api/docs/)`);
  log('development logins: admin@pacs.local / pacs-admin-dev-password, radiologist@pacs.local / pacs-radiologist-dev-password');
  log(`data: ${dataDir}   stop with Ctrl-C`);
}
