/**
 * Records sealed under the vault's data key: AES-GCM with a fresh 96-bit IV each time, and the
 * record's identity bound as additional data, so ciphertext moved to another record (or another
 * user's database) does not open.
 */

export interface Sealed {
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The same sealing, not just equal content: each sealing draws a fresh IV, so the IV identifies it. */
export function sameSealing(a: { iv: Uint8Array }, b: { iv: Uint8Array }): boolean {
  return a.iv.length === b.iv.length && a.iv.every((byte, i) => byte === b.iv[i]);
}

export async function sealBytes(key: CryptoKey, plain: Uint8Array<ArrayBuffer>, aad: string): Promise<Sealed> {
  const iv: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(12)));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(aad) }, key, plain);
  return { iv, data };
}

export async function openBytes(key: CryptoKey, sealed: Sealed, aad: string): Promise<Uint8Array<ArrayBuffer>> {
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.iv, additionalData: encoder.encode(aad) }, key, sealed.data);
  return new Uint8Array(plain);
}

export function sealJson(key: CryptoKey, value: unknown, aad: string): Promise<Sealed> {
  return sealBytes(key, encoder.encode(JSON.stringify(value)), aad);
}

export async function openJson<T>(key: CryptoKey, sealed: Sealed, aad: string): Promise<T> {
  return JSON.parse(decoder.decode(await openBytes(key, sealed, aad))) as T;
}
