/**
 * The WebCrypto steps of the device vault. The data key (AES-GCM 256) exists in the clear only as
 * a non-extractable CryptoKey in memory; on the device it is stored wrapped, under the server's
 * vault key (sign-in and every refresh hand it out) and, if the user set one, under a key derived
 * from their PIN (PBKDF2-SHA-256). Wrapping needs an extractable key, so that handle lives only
 * inside `wrapUnder` and the re-wrap for a new PIN.
 */

export interface Wrapped {
  iv: Uint8Array<ArrayBuffer>;
  wrapped: ArrayBuffer;
}

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA-256. */
export const PIN_ITERATIONS = 600_000;

const AES = { name: 'AES-GCM', length: 256 } as const;
const DATA_USAGES: KeyUsage[] = ['encrypt', 'decrypt'];

function bytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(new ArrayBuffer(length)));
}

export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The server's vault key as a wrapping key (it cannot be read back out of the CryptoKey). */
export function importServerKey(base64url: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', fromBase64Url(base64url), AES, false, ['wrapKey', 'unwrapKey']);
}

export function newSalt(): Uint8Array<ArrayBuffer> {
  return bytes(16);
}

export async function pinKey(pin: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material, AES, false, ['wrapKey', 'unwrapKey']);
}

/** A new data key, returned wrapped under `kek` and as the non-extractable key to use. */
export async function createDataKey(kek: CryptoKey, aad: string): Promise<{ key: CryptoKey; wrapped: Wrapped }> {
  const extractable = await crypto.subtle.generateKey(AES, true, DATA_USAGES);
  const wrapped = await wrapUnder(extractable, kek, aad);
  return { key: await unwrapFrom(wrapped, kek, aad), wrapped };
}

async function wrapUnder(key: CryptoKey, kek: CryptoKey, aad: string): Promise<Wrapped> {
  const iv = bytes(12);
  const wrapped = await crypto.subtle.wrapKey('raw', key, kek, { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(aad) });
  return { iv, wrapped };
}

/** The data key, non-extractable. Throws (OperationError) under the wrong key or if the record was altered. */
export function unwrapFrom(record: Wrapped, kek: CryptoKey, aad: string, extractable = false): Promise<CryptoKey> {
  return crypto.subtle.unwrapKey(
    'raw',
    record.wrapped,
    kek,
    { name: 'AES-GCM', iv: record.iv, additionalData: new TextEncoder().encode(aad) },
    AES,
    extractable,
    DATA_USAGES,
  );
}

/** The data key wrapped under `to`, taken from its copy under `from` (the extractable handle never leaves). */
export async function rewrap(record: Wrapped, from: CryptoKey, fromAad: string, to: CryptoKey, toAad: string): Promise<Wrapped> {
  return wrapUnder(await unwrapFrom(record, from, fromAad, true), to, toAad);
}
