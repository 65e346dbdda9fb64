/**
 * The one way the project configures Orthanc (dev start, tests, Docker).
 *
 * `orthanc/orthanc.json` holds every static setting. This module overlays the values that come from
 * environment variables (ports, AE title, credentials, storage, StableAge, webhook) and writes the
 * result as the single JSON file Orthanc is started with.
 *
 * Why a generator and not Orthanc's own `${VAR}` expansion: Orthanc 1.10.1 does expand
 * `${VAR}` / `${VAR:-default}`, but as raw text substitution before JSON parsing. A quoted
 * `"HttpPort": "${PORT}"` fails ("must be an integer"); an unquoted `${PORT}` works but the template
 * is then not JSON, and a secret containing `"` or `\` breaks (or rewrites) the configuration.
 *
 * CLI: `tsx orthanc/config.ts --out data/orthanc/orthanc.json` (reads the PACS_* variables, prints the path).
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ORTHANC_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(ORTHANC_DIR, '..');
export const BASE_CONFIG_FILE = path.join(ORTHANC_DIR, 'orthanc.json');
export const WEBHOOK_SCRIPT = path.join(ORTHANC_DIR, 'webhook.py');

/** Development defaults (refused when PACS_ENV=production). */
export const ORTHANC_DEV_DEFAULTS = {
  username: 'pacs-api',
  password: 'pacs-orthanc-dev-password',
  webhookSecret: 'pacs-webhook-dev-secret-change-me',
} as const;

export interface OrthancSettings {
  /** Orthanc's REST port (internal: only the API talks to it). */
  httpPort: number;
  dicomPort: number;
  aet: string;
  username: string;
  password: string;
  /** DICOM files and the SQLite index. */
  storageDir: string;
  /** Seconds without a new instance before a study is "stable" (and the webhook fires). */
  stableAge: number;
  /** Full URL of the API's ingest route; empty disables the webhook (the reconciler still works). */
  webhookUrl: string;
  webhookSecret: string;
  /** Accept HTTP from other hosts (Docker network). Off: loopback only, since Orthanc binds 0.0.0.0. */
  remoteAccessAllowed: boolean;
  /** Folder holding libOrthancDicomWeb.so, libOrthancPython.so and libOrthancGdcm.so. */
  pluginsDir: string;
  /** Path of webhook.py as Orthanc sees it (differs in a container); default: this folder's webhook.py. */
  webhookScript?: string;
  /** Webhook delivery tuning (defaults from orthanc.json). */
  webhook?: Partial<WebhookTuning>;
  /** Also load Orthanc's Web Viewer plugin (default: PACS_ORTHANC_WEBVIEWER=1, else off). */
  webViewer?: boolean;
  /**
   * Folder of modality worklist items the API writes (PACS_MWL_DIR): Orthanc's worklist plugin answers
   * modalities' C-FIND from it. Unset: no modality worklist.
   */
  worklistsDir?: string;
  /**
   * Orthanc's index in PostgreSQL (Debian's orthanc-postgresql plugin) instead of its own SQLite file,
   * which slows down past tens of thousands of instances. The DICOM files stay in storageDir.
   */
  index?: PostgresIndex;
}

export interface PostgresIndex {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

export interface WebhookTuning {
  TimeoutSeconds: number;
  MaxAttempts: number;
  InitialBackoffSeconds: number;
  MaxBackoffSeconds: number;
  QueueSize: number;
}

export class OrthancConfigError extends Error {
  override name = 'OrthancConfigError';
}

/** Every variable read by settingsFromEnv (for docs and tests). */
export const ORTHANC_ENV_NAMES = [
  'PACS_ENV',
  'PACS_DATA_DIR',
  'PACS_ORTHANC_HTTP_PORT',
  'PACS_DICOM_PORT',
  'PACS_DICOM_AET',
  'PACS_ORTHANC_USER',
  'PACS_ORTHANC_PASSWORD',
  'PACS_ORTHANC_STORAGE_DIR',
  'PACS_MWL_DIR',
  'PACS_STABLE_AGE',
  'PACS_WEBHOOK_URL',
  'PACS_WEBHOOK_SECRET',
  'PACS_ORTHANC_REMOTE_ACCESS',
  'PACS_ORTHANC_PLUGINS_DIR',
  'PACS_ORTHANC_WEBHOOK_SCRIPT',
  'PACS_ORTHANC_INDEX_URL',
] as const;

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new OrthancConfigError(`${name}: expected an integer, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new OrthancConfigError(`${name}: must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolVar(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new OrthancConfigError(`${name}: expected true or false, got "${env[name]}"`);
}

/** `postgresql://user:password@host:port/database` (PACS_ORTHANC_INDEX_URL), or undefined when unset. */
export function postgresIndexFromUrl(raw: string | undefined, production: boolean): PostgresIndex | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const invalid = (why: string) =>
    new OrthancConfigError(`PACS_ORTHANC_INDEX_URL: ${why} (expected postgresql://user:password@host:port/database)`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalid('not a URL');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') throw invalid(`unsupported scheme "${url.protocol}"`);
  // URL parsing resolves dot segments: "/orthanc/../postgres" would quietly become another database.
  const rawPath = raw
    .trim()
    .replace(/^[a-z]+:\/\/[^/?#]*/i, '')
    .replace(/[?#].*$/s, '');
  if (rawPath !== url.pathname) throw invalid('the database name must be one plain path segment');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname || !url.username || !/^[A-Za-z0-9_-]{1,63}$/.test(database)) {
    throw invalid('host, user and database name are required');
  }
  if (url.search || url.hash) throw invalid('options are not supported');
  const password = decodeURIComponent(url.password);
  if (production && password.length < 12) throw invalid('a password of at least 12 characters is required in production');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    database,
    username: decodeURIComponent(url.username),
    password,
  };
}

/** Reads the PACS_* variables (see ORTHANC_ENV_NAMES), validates them and applies the defaults. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): OrthancSettings {
  const production = env.PACS_ENV === 'production';
  const dataDir = path.resolve(env.PACS_DATA_DIR || path.join(REPO_ROOT, 'data'));
  const aet = env.PACS_DICOM_AET || 'ORTHANC';
  if (!/^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(aet) || aet.trim() === '') {
    throw new OrthancConfigError('PACS_DICOM_AET: 1 to 16 printable ASCII characters, no backslash');
  }
  const username = env.PACS_ORTHANC_USER || ORTHANC_DEV_DEFAULTS.username;
  if (username.includes(':')) throw new OrthancConfigError('PACS_ORTHANC_USER: must not contain ":"');
  const password = env.PACS_ORTHANC_PASSWORD || ORTHANC_DEV_DEFAULTS.password;
  const webhookSecret = env.PACS_WEBHOOK_SECRET || ORTHANC_DEV_DEFAULTS.webhookSecret;
  if (production) {
    if (!env.PACS_ORTHANC_PASSWORD || password === ORTHANC_DEV_DEFAULTS.password) {
      throw new OrthancConfigError('PACS_ORTHANC_PASSWORD: required in production (the development default is refused)');
    }
    if (!env.PACS_WEBHOOK_SECRET || webhookSecret === ORTHANC_DEV_DEFAULTS.webhookSecret || webhookSecret.length < 32) {
      throw new OrthancConfigError('PACS_WEBHOOK_SECRET: required in production, at least 32 random characters');
    }
  }
  const webhookUrl = env.PACS_WEBHOOK_URL ?? 'http://127.0.0.1:3000/api/ingest/orthanc';
  if (webhookUrl !== '' && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) {
    throw new OrthancConfigError(`PACS_WEBHOOK_URL: expected an http(s) URL, got "${webhookUrl}"`);
  }
  return {
    httpPort: intVar(env, 'PACS_ORTHANC_HTTP_PORT', 8042, 1, 65535),
    dicomPort: intVar(env, 'PACS_DICOM_PORT', 4242, 1, 65535),
    aet,
    username,
    password,
    storageDir: path.resolve(env.PACS_ORTHANC_STORAGE_DIR || path.join(dataDir, 'orthanc')),
    stableAge: intVar(env, 'PACS_STABLE_AGE', production ? 60 : 2, 1, 86400),
    webhookUrl,
    webhookSecret,
    remoteAccessAllowed: boolVar(env, 'PACS_ORTHANC_REMOTE_ACCESS', false),
    pluginsDir: env.PACS_ORTHANC_PLUGINS_DIR || '/usr/share/orthanc/plugins',
    webhookScript: env.PACS_ORTHANC_WEBHOOK_SCRIPT || WEBHOOK_SCRIPT,
    worklistsDir: path.resolve(env.PACS_MWL_DIR || path.join(dataDir, 'worklists')),
    index: postgresIndexFromUrl(env.PACS_ORTHANC_INDEX_URL, production),
  };
}

type Json = Record<string, unknown>;

/**
 * Orthanc's Web Viewer plugin (package orthanc-webviewer) is loaded only on request: `webViewer: true`
 * in the settings, or PACS_ORTHANC_WEBVIEWER=1 in the environment (the viewer benchmark sets it).
 */
function webViewerEnabled(settings: OrthancSettings): boolean {
  return settings.webViewer ?? process.env.PACS_ORTHANC_WEBVIEWER === '1';
}

/** The complete Orthanc configuration object: orthanc.json with the settings applied. */
export function orthancConfig(settings: OrthancSettings): Json {
  const base = JSON.parse(readFileSync(BASE_CONFIG_FILE, 'utf8')) as Json;
  const webhookBase = (base.PacsWebhook ?? {}) as Json;
  const dicomWeb = (base.DicomWeb ?? {}) as Json;
  return {
    ...base,
    StorageDirectory: settings.storageDir,
    IndexDirectory: settings.storageDir,
    HttpPort: settings.httpPort,
    DicomPort: settings.dicomPort,
    DicomAet: settings.aet,
    RemoteAccessAllowed: settings.remoteAccessAllowed,
    AuthenticationEnabled: true,
    RegisteredUsers: { [settings.username]: settings.password },
    StableAge: settings.stableAge,
    Plugins: [
      path.join(settings.pluginsDir, 'libOrthancDicomWeb.so'),
      path.join(settings.pluginsDir, 'libOrthancPython.so'),
      // GDCM's codecs: Orthanc's own cannot decode JPEG 2000 (rendered frames, transcoding for
      // clients that ask for another transfer syntax) nor some palette RLE and RT Dose images.
      path.join(settings.pluginsDir, 'libOrthancGdcm.so'),
      // Opt-in, off by default: Orthanc's own Web Viewer (Debian orthanc-webviewer), the viewer benchmark's peer.
      ...(webViewerEnabled(settings) ? [path.join(settings.pluginsDir, 'libOrthancWebViewer.so')] : []),
      ...(settings.worklistsDir ? [path.join(settings.pluginsDir, 'libModalityWorklists.so')] : []),
      ...(settings.index ? [path.join(settings.pluginsDir, 'libOrthancPostgreSQLIndex.so')] : []),
    ],
    ...(settings.index ? { PostgreSQL: postgresSection(settings.index) } : {}),
    ...(settings.worklistsDir ? { Worklists: { Enable: true, Database: settings.worklistsDir, FilterIssuerAet: false } } : {}),
    PythonScript: settings.webhookScript ?? WEBHOOK_SCRIPT,
    DicomWeb: { ...dicomWeb, Enable: true, Root: '/dicom-web/' },
    PacsWebhook: { ...webhookBase, ...settings.webhook, Url: settings.webhookUrl, Secret: settings.webhookSecret },
  };
}

function postgresSection(index: PostgresIndex): Json {
  return {
    EnableIndex: true,
    // The DICOM files stay on the storage volume: one file per instance is what backups copy.
    EnableStorage: false,
    Host: index.host,
    Port: index.port,
    Database: index.database,
    Username: index.username,
    Password: index.password,
    // One Orthanc per index: a second one started by mistake on the same database refuses to run.
    Lock: true,
  };
}

/**
 * JSON text for Orthanc. Orthanc substitutes `${…}` in the raw text of its configuration before parsing
 * it, so a literal `${` in a value (a password, a path) would be replaced. Every `$` is therefore written
 * as the JSON escape `\u0024`: same value once parsed, invisible to the substitution.
 */
export function serializeConfig(config: Record<string, unknown>): string {
  return `${JSON.stringify(config, null, 2).replaceAll('$', '\\u0024')}\n`;
}

/** Writes the configuration (mode 0600: it holds the credentials) and creates the storage folder. */
export async function writeOrthancConfig(settings: OrthancSettings, file: string): Promise<string> {
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  await mkdir(settings.storageDir, { recursive: true });
  if (settings.worklistsDir) await mkdir(settings.worklistsDir, { recursive: true });
  await writeFile(target, serializeConfig(orthancConfig(settings)), { mode: 0o600 });
  await chmod(target, 0o600);
  return target;
}

async function main(argv: string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : undefined;
  if (!out) {
    process.stderr.write('usage: tsx orthanc/config.ts --out FILE   (reads PACS_* environment variables)\n');
    process.exitCode = 2;
    return;
  }
  try {
    process.stdout.write(`${await writeOrthancConfig(settingsFromEnv(), out)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
