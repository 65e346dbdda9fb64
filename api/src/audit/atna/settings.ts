/** Settings of the audit export to an ATNA audit repository (spread into the API's settings schema). */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ConfigError } from '@pacs/server-kit/config';
import { type Static, Type } from 'typebox';

export const ATNA_ENV_SCHEMA = Type.Object({
  PACS_ATNA_URL: Type.Optional(
    Type.String({
      pattern: '^(tls|tcp)://',
      description:
        'the audit repository: tls://host:6514 (RFC 5425) or tcp://host:601 (RFC 6587); unset = the audit trail stays in the database',
    }),
  ),
  PACS_ATNA_CA_FILE: Type.Optional(
    Type.String({ minLength: 1, description: "PEM file of the CA that signed the repository's certificate" }),
  ),
  PACS_ATNA_CERT_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'PEM certificate this node presents (ATNA node authentication)' }),
  ),
  PACS_ATNA_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of PACS_ATNA_CERT_FILE' })),
  PACS_ATNA_SOURCE_ID: Type.String({
    minLength: 1,
    maxLength: 255,
    default: os.hostname(),
    description: 'AuditSourceID and syslog HOSTNAME',
  }),
  PACS_ATNA_SITE_ID: Type.String({ maxLength: 255, default: '', description: 'AuditEnterpriseSiteID' }),
});
type AtnaEnv = Static<typeof ATNA_ENV_SCHEMA>;

export interface AtnaConfig {
  transport: 'tls' | 'tcp';
  host: string;
  port: number;
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  sourceId: string;
  siteId: string;
}

function pem(name: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Undefined when no repository is configured. */
export function atnaConfigOf(env: AtnaEnv): AtnaConfig | undefined {
  if (!env.PACS_ATNA_URL) return undefined;
  let url: URL;
  try {
    url = new URL(env.PACS_ATNA_URL);
  } catch {
    throw new ConfigError('PACS_ATNA_URL: not a URL');
  }
  const port = Number(url.port);
  if (!url.hostname || !port || url.pathname.replace(/^\/$/, '') !== '' || url.username) {
    throw new ConfigError('PACS_ATNA_URL: expected tls://host:port or tcp://host:port');
  }
  if ((env.PACS_ATNA_CERT_FILE === undefined) !== (env.PACS_ATNA_KEY_FILE === undefined)) {
    throw new ConfigError('PACS_ATNA_CERT_FILE and PACS_ATNA_KEY_FILE: set both or neither');
  }
  return {
    transport: url.protocol === 'tls:' ? 'tls' : 'tcp',
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    ca: pem('PACS_ATNA_CA_FILE', env.PACS_ATNA_CA_FILE),
    cert: pem('PACS_ATNA_CERT_FILE', env.PACS_ATNA_CERT_FILE),
    key: pem('PACS_ATNA_KEY_FILE', env.PACS_ATNA_KEY_FILE),
    sourceId: env.PACS_ATNA_SOURCE_ID,
    siteId: env.PACS_ATNA_SITE_ID,
  };
}
