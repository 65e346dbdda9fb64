/**
 * The compose stack run here with podman-compose, as DEPLOYMENT.md's "Proven here" describes: the
 * shipped docker-compose.yml with three changes a site without SQL Server would make too —
 * PostgreSQL (already in the stack for Orthanc's index) holds the PACS database instead of SQL
 * Server, the images are the ones `scripts/containers.mjs build` made on local bases, and published
 * ports bind to 127.0.0.1 on free ports. Everything else (services, networks, users, health checks,
 * secrets, volumes) is the file as shipped.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { LOCAL_BASES, podmanEnv, STACK_IMAGES } from '../../scripts/containers.mjs';

export const ROOT = path.resolve(import.meta.dirname, '../..');

type Json = Record<string, unknown>;
interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  [key: string]: unknown;
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
  [key: string]: unknown;
}

const SQL_SERVER_SERVICES = ['mssql', 'mssql-init'];
// Compose interpolation, written as escaped template text.
const DB_USER = `\${PACS_DB_USER:-pacs}`;
const DB_PASSWORD = `\${PACS_DB_PASSWORD:?set PACS_DB_PASSWORD in .env}`;
const POSTGRES_DATABASE_URL = `postgres://${DB_USER}:${DB_PASSWORD}@postgres:5432/\${PACS_DB_NAME:-pacs}`;

/** A published port `HOST:CONTAINER` → `127.0.0.1:<free port>:CONTAINER`, the free port chosen by the caller. */
export type PortChoice = (containerPort: number, service: string) => number;

/** docker-compose.yml as this host runs it (see the module comment); returns the YAML text. */
export function localStackCompose(composeText: string, ports: PortChoice, secretsDir: string): string {
  const compose = parse(composeText) as Compose;
  for (const name of SQL_SERVER_SERVICES) delete compose.services[name];
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.depends_on) {
      for (const gone of SQL_SERVER_SERVICES) delete service.depends_on[gone];
    }
    const image = STACK_IMAGES[name as keyof typeof STACK_IMAGES];
    if (image) {
      delete service.build;
      service.image = image.tag;
    }
    if (service.environment?.DATABASE_URL !== undefined) {
      service.environment.DATABASE_URL = POSTGRES_DATABASE_URL;
      delete service.environment.PACS_MSSQL_TRUST_CERT;
      service.depends_on = { ...service.depends_on, postgres: { condition: 'service_healthy' } };
    }
    if (service.ports) {
      service.ports = service.ports.map((spec) => {
        const containerPort = Number(spec.split(':').at(-1));
        return `127.0.0.1:${ports(containerPort, name)}:${containerPort}`;
      });
    }
    if (service.volumes) {
      // Bind mounts are relative to the shipped file's folder, not to where this copy is written.
      service.volumes = service.volumes.map((v) => (v.startsWith('./') ? path.join(ROOT, v) : v));
    }
  }
  const postgres = compose.services.postgres;
  if (!postgres?.environment) throw new Error('docker-compose.yml has no postgres service');
  postgres.environment.PACS_DB_USER = DB_USER;
  postgres.environment.PACS_DB_PASSWORD = DB_PASSWORD;
  for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
    secret.file = path.join(secretsDir, path.basename(secret.file));
    if (!secret.file) throw new Error(`secret ${name} has no file`);
  }
  // podman-compose reads YAML 1.1, where a bare `no` is false: quote such strings as 1.1 needs.
  return stringify(compose as Json, { lineWidth: 0, version: '1.1' });
}

/** Fresh secrets of the strength production mode asks for (URL-safe: some go into database URLs). */
export function stackEnv(overrides: Record<string, string>): Record<string, string> {
  const secret = () => randomBytes(24).toString('hex');
  return {
    PACS_DB_PASSWORD: secret(),
    PACS_POSTGRES_PASSWORD: secret(),
    PACS_ORTHANC_INDEX_PASSWORD: secret(),
    PACS_JWT_SECRET: secret(),
    PACS_ADMIN_EMAIL: 'admin@pacs.local',
    PACS_ADMIN_PASSWORD: `Adm-${secret()}`,
    PACS_METRICS_TOKEN: secret(),
    PACS_MFA_SECRET_KEY: randomBytes(48).toString('base64'),
    PACS_SYNC_SERVICE_TOKEN: secret(),
    PACS_DOCUMENT_TOKEN_SECRET: secret(),
    PACS_ORTHANC_PASSWORD: secret(),
    PACS_WEBHOOK_SECRET: secret(),
    PACS_REDIS_IMAGE: LOCAL_BASES.redis,
    PACS_POSTGRES_IMAGE: LOCAL_BASES.postgres,
    ...overrides,
  };
}

/** `.env.example` as an operator fills it in: each given value replaces the example's, the rest stay. */
export function filledEnvExample(example: string, values: Record<string, string>): string {
  const left = new Map(Object.entries(values));
  const lines = example.split('\n').map((line) => {
    const name = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
    if (!name || !left.has(name)) return line;
    const value = left.get(name)!;
    left.delete(name);
    return `${name}=${value}`;
  });
  return [...lines, ...[...left].map(([name, value]) => `${name}=${value}`), ''].join('\n');
}

/** The report-signing key pair the compose file mounts as secrets (DEPLOYMENT.md, First start). */
export function writeSigningSecrets(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(path.join(dir, 'report-signing.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o644 });
  writeFileSync(path.join(dir, 'report-signing-retired.pem'), '', { mode: 0o644 });
}

export interface StackHandle {
  project: string;
  dir: string;
  composeFile: string;
  /** podman-compose with the stack's file and project name. */
  compose(args: string[], timeoutMs?: number): SpawnSyncReturns<string>;
  /** Names of the stack's containers (running or not). */
  containers(): string[];
  /** Removes every container, volume and network of the project, whatever file created them. */
  purge(): void;
}

export function stackHandle(project: string, dir: string): StackHandle {
  const composeFile = path.join(dir, 'docker-compose.yml');
  const compose = (args: string[], timeoutMs = 600_000) =>
    spawnSync('podman-compose', ['-p', project, '-f', composeFile, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: podmanEnv(),
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
  const containers = () => {
    const listed = spawnSync('podman', ['ps', '-a', '--filter', `label=io.podman.compose.project=${project}`, '--format', '{{.Names}}'], {
      encoding: 'utf8',
      env: podmanEnv(),
    });
    return listed.stdout.split('\n').filter(Boolean);
  };
  const purge = () => {
    const label = `label=io.podman.compose.project=${project}`;
    const ids = (kind: string) =>
      spawnSync('podman', [kind, 'ls', ...(kind === 'container' ? ['-a'] : []), '--filter', label, '--quiet'], {
        encoding: 'utf8',
        env: podmanEnv(),
      })
        .stdout.split('\n')
        .filter(Boolean);
    for (const kind of ['container', 'volume', 'network']) {
      const found = ids(kind);
      if (found.length > 0) spawnSync('podman', [kind, 'rm', '--force', ...found], { env: podmanEnv() });
    }
  };
  return { project, dir, composeFile, compose, containers, purge };
}

export function writeStack(dir: string, env: Record<string, string>, ports: PortChoice): void {
  mkdirSync(dir, { recursive: true });
  writeSigningSecrets(path.join(dir, 'secrets'));
  const shipped = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  writeFileSync(path.join(dir, 'docker-compose.yml'), localStackCompose(shipped, ports, path.join(dir, 'secrets')));
  writeFileSync(path.join(dir, '.env'), filledEnvExample(readFileSync(path.join(ROOT, '.env.example'), 'utf8'), env), { mode: 0o600 });
}
