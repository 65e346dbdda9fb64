/**
 * The installation's report-signing keys: one Ed25519 private key that signs (a PKCS#8 PEM file named
 * by the settings, never the database) and the public keys of earlier ones, so reports they signed
 * still verify after a rotation. A key is known by its id: the first 16 bytes of the SHA-256 of its
 * public key (SPKI DER), in hex.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@pacs/server-kit/config';
import { type Static, Type } from 'typebox';

export const SIGNING_ENV_SCHEMA = Type.Object({
  PACS_REPORT_SIGNING_KEY_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "the installation's Ed25519 private key (PKCS#8 PEM) that signs reports; required in production; development: <data dir>/keys/report-signing.pem, made at first start",
    }),
  ),
  PACS_REPORT_RETIRED_KEYS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'public keys (PEM, one after another) of earlier signing keys, so the reports they signed still verify',
    }),
  ),
});
type SigningEnv = Static<typeof SIGNING_ENV_SCHEMA>;

export interface SigningConfig {
  keyFile: string;
  retiredKeysFile: string | null;
  /** Development: a missing key file is made (mode 0600) instead of refusing to start. */
  createKeyIfMissing: boolean;
}

export function signingConfigOf(env: SigningEnv, production: boolean, dataDir: string): SigningConfig {
  if (production && !env.PACS_REPORT_SIGNING_KEY_FILE) {
    throw new ConfigError('PACS_REPORT_SIGNING_KEY_FILE: required in production (an Ed25519 private key, PKCS#8 PEM)');
  }
  const keysDir = path.join(dataDir, 'keys');
  const retiredDefault = path.join(keysDir, 'report-signing-retired.pem');
  return {
    keyFile: path.resolve(env.PACS_REPORT_SIGNING_KEY_FILE ?? path.join(keysDir, 'report-signing.pem')),
    retiredKeysFile: env.PACS_REPORT_RETIRED_KEYS_FILE
      ? path.resolve(env.PACS_REPORT_RETIRED_KEYS_FILE)
      : production || !existsSync(retiredDefault)
        ? null
        : retiredDefault,
    createKeyIfMissing: !production && !env.PACS_REPORT_SIGNING_KEY_FILE,
  };
}

export type KeyStatus = 'current' | 'retired';

export interface SigningKeyring {
  readonly current: { readonly keyId: string; readonly privateKey: KeyObject };
  /** A key whose signatures are trusted, by id; null: not a key of this installation. */
  trusted(keyId: string): { key: KeyObject; status: KeyStatus } | null;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 32);
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function readPrivateKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (error) {
    throw new ConfigError(`PACS_REPORT_SIGNING_KEY_FILE: cannot read a private key from ${file} (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(`PACS_REPORT_SIGNING_KEY_FILE: ${file} holds a ${key.asymmetricKeyType} key; reports are signed with Ed25519`);
  }
  return key;
}

function readRetiredKeys(file: string): KeyObject[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`PACS_REPORT_RETIRED_KEYS_FILE: cannot read ${file} (${(error as Error).message})`);
  }
  const keys: KeyObject[] = [];
  for (const [block, label] of text.matchAll(PEM_BLOCK)) {
    if (label !== 'PUBLIC KEY') {
      throw new ConfigError(`PACS_REPORT_RETIRED_KEYS_FILE: ${file} holds a ${label}; keep only the public keys of retired signing keys`);
    }
    const key = createPublicKey(block);
    if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`PACS_REPORT_RETIRED_KEYS_FILE: ${file} holds a non-Ed25519 key`);
    keys.push(key);
  }
  return keys;
}

/**
 * Development's first start: a fresh key, readable by this user only. Written aside and linked into
 * place, so an instance starting beside this one never reads half a key.
 */
function createKeyFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const aside = `${file}.${process.pid}.${randomUUID()}`;
  writeFileSync(aside, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  try {
    linkSync(aside, file);
  } finally {
    rmSync(aside, { force: true });
  }
}

export function loadSigningKeyring(config: SigningConfig): SigningKeyring {
  if (config.createKeyIfMissing && !existsSync(config.keyFile)) {
    try {
      createKeyFile(config.keyFile);
    } catch (error) {
      // Another instance sharing the data directory made it first.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const privateKey = readPrivateKey(config.keyFile);
  const currentPublic = createPublicKey(privateKey);
  const current = { keyId: keyIdOf(currentPublic), privateKey };
  const trusted = new Map<string, { key: KeyObject; status: KeyStatus }>();
  for (const key of config.retiredKeysFile ? readRetiredKeys(config.retiredKeysFile) : []) {
    trusted.set(keyIdOf(key), { key, status: 'retired' });
  }
  trusted.set(current.keyId, { key: currentPublic, status: 'current' });
  return { current, trusted: (keyId) => trusted.get(keyId) ?? null };
}
