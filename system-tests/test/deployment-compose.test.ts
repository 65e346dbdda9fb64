/**
 * docker-compose.yml, checked without a Docker engine (none runs on the development machines):
 * - valid against the Compose Specification JSON schema, as shipped by the `dclint` package
 *   (schemas/compose.schema.json, the compose-spec project's schema);
 * - every service, Dockerfile, port, volume, network and variable it names exists: variables in the
 *   services' own ENV_NAMES (api, sync-server, orthanc/config.ts), and the values compose would give
 *   each service, with .env.example filled in, pass that service's real configuration loader;
 * - the cross-references agree: nginx upstreams, service URLs, ports, health-check routes;
 * - .env.example lists every variable compose reads, and commits no secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ENV_NAMES as API_ENV_NAMES, loadConfig as loadApiConfig } from '@pacs/api/config';
import { loadConfig as loadSyncConfig, ENV_NAMES as SYNC_ENV_NAMES } from '@pacs/sync-server/config';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ORTHANC_ENV_NAMES, settingsFromEnv } from '../../orthanc/config';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

type Json = Record<string, unknown>;
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  networks?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  entrypoint?: string[];
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes: Record<string, unknown>;
}

/** Variables read with process.env.NAME outside the typed schemas (e.g. the tedious certificate switch). */
function directlyRead(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of ['db/connect.ts']) {
    for (const m of readFileSync(path.join(ROOT, dir, file), 'utf8').matchAll(/process\.env\.([A-Z_]+)/g)) names.add(m[1]!);
  }
  return names;
}

/** Parses .env syntax (NAME=value, # comments). */
function parseDotEnv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) values.set(m[1]!, m[2]!);
  }
  return values;
}

const VARIABLE = /\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}/g;

/** Compose interpolation: ${V}, ${V:-default}, ${V-default}, ${V:?error}, and $$ for a literal $. */
function interpolate(value: string, env: Map<string, string>): string {
  return value
    .split('$$')
    .map((part) =>
      part.replace(VARIABLE, (_all, name: string, op: string | undefined, arg: string | undefined) => {
        const v = env.get(name);
        if (op === ':-') return v ? v : (arg ?? '');
        if (op === '-') return v ?? arg ?? '';
        if (op === ':?' && !v) throw new Error(`${name}: ${arg}`);
        return v ?? '';
      }),
    )
    .join('$');
}

function interpolateDeep<T>(value: T, env: Map<string, string>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)])) as T;
  }
  return value;
}

const rawText = read('docker-compose.yml');
const raw = parse(rawText) as Compose;
const example = parseDotEnv(read('.env.example'));
/** What compose refuses to start without (`${NAME:?…}`): the secrets the operator must fill in. */
const requiredByCompose = new Set([...rawText.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!));
/** .env.example as an operator fills it: every required value random-looking and policy-compliant, optional ones left as they are. */
const filled = new Map(
  [...example].map(([k, v]) => [
    k,
    v !== '' || !requiredByCompose.has(k) ? v : `P${Buffer.from(k).toString('hex').slice(0, 40)}-Zx9q${k.length}abcdefghijklmnop`,
  ]),
);
let compose: Compose;

beforeAll(() => {
  compose = interpolateDeep(raw, filled);
});

describe('docker-compose.yml against the Compose Specification', () => {
  const schema = JSON.parse(read('system-tests/node_modules/dclint/schemas/compose.schema.json')) as Json;
  // Its $schema is draft-07 spelled with https and no '#', which Ajv does not map to the draft-07
  // meta-schema it bundles; the schema body is plain draft-07, so compile it without that line.
  const { $schema: _metaSchema, ...body } = schema;
  const validate = new Ajv({ strict: false, allErrors: true }).compile(body);

  it('uses the compose-spec schema', () => {
    expect(schema.title).toBe('Compose Specification');
    expect(schema.$id).toBe('compose_spec.json');
  });

  it('validates', () => {
    const ok = validate(raw);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects a broken copy (the schema really checks)', () => {
    const broken = structuredClone(raw) as unknown as { services: Record<string, Json> };
    broken.services.api!.depends_on = { orthanc: { condition: 'service_ready' } };
    expect(validate(broken)).toBe(false);
    const unknownKey = structuredClone(raw) as unknown as { services: Record<string, Json> };
    unknownKey.services.web!.exposes = ['8080'];
    expect(validate(unknownKey)).toBe(false);
  });
});

describe('services, images and Dockerfiles', () => {
  it('has the services of the deployment', () => {
    expect(Object.keys(raw.services).sort()).toEqual(['api', 'mssql', 'mssql-init', 'orthanc', 'postgres', 'redis', 'sync-server', 'web']);
    expect(raw.services.mssql!.image).toBe('mcr.microsoft.com/mssql/server:2022-latest');
  });

  it('builds each project service from a multi-stage Dockerfile with a non-root user and a health check', () => {
    const built = Object.entries(raw.services).filter(([, s]) => s.build);
    expect(built.map(([n]) => n).sort()).toEqual(['api', 'orthanc', 'sync-server', 'web']);
    for (const [name, service] of built) {
      expect(service.build!.context).toBe('.');
      const file = path.join(ROOT, service.build!.dockerfile);
      expect(existsSync(file), file).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text.match(/^FROM /gm)!.length, name).toBeGreaterThanOrEqual(2);
      const user = text.match(/^USER (\S+)/gm)?.at(-1);
      expect(user, `${name} runs as`).toBeDefined();
      expect(user).not.toMatch(/USER (root|0)$/);
      expect(text, name).toMatch(/^HEALTHCHECK /m);
      // Every COPY source from the build context exists.
      for (const m of text.matchAll(/^COPY (?!--from)([^\n]+)$/gm)) {
        const parts = m[1]!.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const source of parts.slice(0, -1)) expect(existsSync(path.join(ROOT, source)), `${name}: COPY ${source}`).toBe(true);
      }
    }
    for (const name of ['api', 'sync-server']) expect(read(`${name}/Dockerfile`)).toMatch(/pnpm --filter @pacs\/[\w-]+ deploy --prod/);
  });

  it('health checks call routes that exist', () => {
    expect(read('api/Dockerfile')).toContain("'http://127.0.0.1:3000/health/live'");
    expect(read('api/src/health/routes.ts')).toContain("'/health/live'");
    expect(read('sync-server/Dockerfile')).toContain("'http://127.0.0.1:1234/health'");
    expect(read('sync-server/src/server.ts')).toContain("path === '/health'");
    expect(read('web/Dockerfile')).toContain('http://127.0.0.1:8080/index.html');
  });

  it('waits on health: every service_healthy target has a health check, one-shot targets do not restart', () => {
    for (const [name, service] of Object.entries(raw.services)) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dependency = raw.services[target];
        expect(dependency, `${name} depends on ${target}`).toBeDefined();
        if (condition === 'service_healthy') {
          const dockerfile = dependency!.build ? read(dependency!.build.dockerfile) : '';
          expect(Boolean(dependency!.healthcheck) || /^HEALTHCHECK /m.test(dockerfile), `${target} has a health check`).toBe(true);
        } else {
          expect(condition).toBe('service_completed_successfully');
          expect(dependency!.restart).toBe('no');
        }
      }
    }
    expect(raw.services.api!.depends_on).toEqual({
      'mssql-init': { condition: 'service_completed_successfully' },
      orthanc: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    expect(raw.services.web!.depends_on).toEqual({
      api: { condition: 'service_healthy' },
      'sync-server': { condition: 'service_healthy' },
    });
    expect(raw.services.mssql!.healthcheck!.test.join(' ')).toContain('/opt/mssql-tools18/bin/sqlcmd');
  });
});

describe('ports, networks and volumes', () => {
  it('publishes only nginx, the DICOM port and the HL7 port', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
    expect(published).toEqual([
      `orthanc ${filled.get('PACS_DICOM_PUBLISHED_PORT')}:4242`,
      `api ${filled.get('PACS_HL7_PUBLISHED_PORT')}:2575`,
      `web ${filled.get('PACS_HTTP_PUBLISHED_PORT')}:8080`,
    ]);
    expect(compose.services.orthanc!.environment!.PACS_DICOM_PORT).toBe('4242');
    expect(read('web/nginx/nginx.conf')).toMatch(/^\s*listen 8080;$/m);
  });

  it('keeps everything else on an internal network', () => {
    expect(raw.networks.backend).toEqual({ internal: true });
    for (const [name, service] of Object.entries(raw.services)) {
      expect(service.networks, name).toContain('backend');
      const outside = (service.networks ?? []).filter((n) => !raw.networks[n]?.internal);
      expect(outside.length > 0, `${name} reachable from outside`).toBe(Boolean(service.ports));
    }
  });

  it('declares every named volume it mounts, and mounts each where the service keeps its data', () => {
    const used = new Set<string>();
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const [source, , mode] = volume.split(':');
        if (source!.startsWith('./')) {
          // A file of the repository (PostgreSQL's first-start script), read-only; data lives in named volumes.
          expect(mode, `${volume}: repository files are mounted read-only`).toBe('ro');
          expect(existsSync(path.join(ROOT, source!)), `${volume}: no such file`).toBe(true);
          continue;
        }
        expect(source!.startsWith('.') || source!.startsWith('/'), `${volume}: named volumes only`).toBe(false);
        used.add(source!);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(raw.volumes).sort());
    expect(compose.services.mssql!.volumes).toEqual(['mssql-data:/var/opt/mssql']);
    expect(compose.services.postgres!.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    // Orthanc's index lives in that server, in the database its first-start script creates.
    expect(compose.services.orthanc!.environment!.PACS_ORTHANC_INDEX_URL).toMatch(/^postgresql:\/\/orthanc:.+@postgres:5432\/orthanc$/);
    const orthanc = compose.services.orthanc!;
    const api = compose.services.api!;
    expect(orthanc.volumes).toEqual([
      `orthanc-storage:${orthanc.environment!.PACS_ORTHANC_STORAGE_DIR}`,
      `worklists:${orthanc.environment!.PACS_MWL_DIR}`,
    ]);
    // The modality worklist: the API writes the items where Orthanc's worklist plugin reads them.
    expect(api.volumes).toEqual([`worklists:${api.environment!.PACS_MWL_DIR}`]);
    expect(api.environment!.PACS_HL7_PORT).toBe('2575');
  });
});

describe('variables', () => {
  it('gives each service only variables its code reads', () => {
    const api = new Set([...API_ENV_NAMES, ...directlyRead('api/src')]);
    const sync = new Set([...SYNC_ENV_NAMES, ...directlyRead('sync-server/src')]);
    const orthanc = new Set<string>(ORTHANC_ENV_NAMES);
    const check = (service: string, known: Set<string>) => {
      const unknown = Object.keys(raw.services[service]!.environment!).filter((name) => !known.has(name));
      expect(unknown, `${service}: variables its code does not read`).toEqual([]);
    };
    check('api', api);
    check('sync-server', sync);
    check('orthanc', orthanc);
    expect(api.has('PACS_MSSQL_TRUST_CERT')).toBe(true);
  });

  it('hands each service a configuration its own loader accepts, in production mode', () => {
    const env = (service: string) => compose.services[service]!.environment!;
    const api = loadApiConfig(env('api'));
    expect(api).toMatchObject({ production: true, host: '0.0.0.0', port: 3000, trustProxy: 'loopback,uniquelocal', cookieSecure: true });
    expect(api.databaseUrl).toMatch(/^mssql:\/\/pacs:[^@]+@mssql:1433\/pacs$/);
    expect(new URL(api.databaseUrl).password).toBe(filled.get('PACS_DB_PASSWORD'));
    const sync = loadSyncConfig(env('sync-server'));
    expect(sync).toMatchObject({ production: true, host: '0.0.0.0', port: 1234 });
    expect(sync.databaseUrl).toBe(api.databaseUrl);
    const orthanc = settingsFromEnv(env('orthanc'));
    expect(orthanc).toMatchObject({ httpPort: 8042, dicomPort: 4242, remoteAccessAllowed: true, storageDir: '/var/lib/orthanc/db' });

    // The shared secrets are the same on both ends.
    expect(api.orthancPassword).toBe(orthanc.password);
    expect(api.orthancUser).toBe(orthanc.username);
    expect(api.webhookSecret).toBe(orthanc.webhookSecret);
    expect(api.documentTokenSecret).toBe(sync.tokenSecret);
    expect(api.syncServiceToken).toBe(sync.serviceToken);
  });

  it('points every service URL at a service and port that exist', () => {
    const env = (service: string) => compose.services[service]!.environment!;
    const orthancUrl = new URL(env('api').PACS_ORTHANC_URL!);
    expect(orthancUrl.hostname).toBe('orthanc');
    expect(orthancUrl.port).toBe(env('orthanc').PACS_ORTHANC_HTTP_PORT);
    const syncUrl = new URL(env('api').PACS_SYNC_URL!);
    expect(syncUrl.hostname).toBe('sync-server');
    expect(syncUrl.port).toBe(env('sync-server').PACS_SYNC_PORT);
    const webhook = new URL(env('orthanc').PACS_WEBHOOK_URL!);
    expect(webhook.hostname).toBe('api');
    expect(webhook.port).toBe(env('api').PACS_API_PORT);
    expect(read('api/src/ingest/routes.ts')).toContain(`'${webhook.pathname}'`);
    const nginx = read('web/nginx/nginx.conf');
    expect(nginx).toContain(`server api:${env('api').PACS_API_PORT};`);
    expect(nginx).toContain(`server sync-server:${env('sync-server').PACS_SYNC_PORT};`);
    expect(new URL(env('api').DATABASE_URL!).host).toBe('mssql:1433');
  });

  it('creates the database and login the services connect with (sqlcmd variables all provided)', () => {
    const init = compose.services['mssql-init']!;
    const script = init.entrypoint!.at(-1)!;
    const variables = new Set([...script.matchAll(/\$\(([A-Z_]+)\)/g)].map((m) => m[1]!));
    expect([...variables].sort()).toEqual(['PACS_DB_NAME', 'PACS_DB_PASSWORD', 'PACS_DB_USER']);
    for (const name of variables) expect(init.environment![name], name).toBeDefined();
    const url = new URL(compose.services.api!.environment!.DATABASE_URL!);
    expect(url.username).toBe(init.environment!.PACS_DB_USER);
    expect(decodeURIComponent(url.password)).toBe(init.environment!.PACS_DB_PASSWORD);
    expect(url.pathname).toBe(`/${init.environment!.PACS_DB_NAME}`);
    expect(init.environment!.SQLCMDPASSWORD).toBe(compose.services.mssql!.environment!.MSSQL_SA_PASSWORD);
  });

  it('.env.example lists every variable compose reads, and holds no secret', () => {
    const interpolated = new Set([...rawText.replaceAll('$$', '').matchAll(VARIABLE)].map((m) => m[1]!));
    expect([...interpolated].sort()).toEqual([...example.keys()].sort());
    for (const [name, value] of example) {
      if (/PASSWORD|SECRET|TOKEN/.test(name)) expect(value, `${name} must be empty in .env.example`).toBe('');
    }
    const required = new Set([...rawText.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!));
    for (const name of required) expect(example.get(name), `${name} is required, so left for the operator`).toBe('');
    expect(read('.gitignore').split('\n')).toContain('.env');
    // Without the secrets compose refuses to start rather than run with empty ones.
    expect(() => interpolateDeep(raw, example)).toThrow(/set .* in \.env/);
  });

  it('writes no empty default (VAR:- then the closing brace): podman-compose 1.0.3 leaves it unreplaced', () => {
    expect(rawText).not.toMatch(/\$\{[A-Z0-9_]+:?-\}/);
  });

  it('documents every .env.example, sync-server and Orthanc variable in DEPLOYMENT.md', () => {
    const doc = read('DEPLOYMENT.md');
    const missing = [...example.keys(), ...SYNC_ENV_NAMES, ...ORTHANC_ENV_NAMES].filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
