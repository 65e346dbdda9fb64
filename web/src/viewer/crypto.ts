/**
 * Encryption at rest for offline studies (design in web/README.md, "Offline studies").
 *
 * One random AES-GCM 256 data key per user and device, created non-extractable (JavaScript can use it
 * but never read its bytes) and kept in the user's worklist database next to the data it protects,
 * with an end of life (`notAfter`) tied to the session: every online confirmation extends it to the
 * offline limit; past it the key and every offline study are deleted. Logout deletes the database, key
 * included. Every record gets its own random 96-bit IV; the record's id is bound as additional data,
 * so ciphertext moved to another record does not decrypt.
 */
import type { OfflineKeyRow, WorklistDb } from '../device/db';

const KEY_ID = 'offline-data-key';

export class OfflineKeyExpired extends Error {
  override name = 'OfflineKeyExpired';
}

export async function createDataKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/**
 * The data key, created on first use. `notAfter` is when this device must forget it if the server has
 * not confirmed the session again; `now` is injectable for tests. An expired key is deleted with every
 * offline study (they could never be read again) and OfflineKeyExpired is thrown.
 */
export async function dataKey(db: WorklistDb, notAfter: number, now = Date.now()): Promise<CryptoKey> {
  const row = await db.offlineKeys.get(KEY_ID);
  if (row && row.notAfter <= now) {
    await wipeOffline(db);
    throw new OfflineKeyExpired('The offline key expired: sign in again to download studies again.');
  }
  if (row) {
    if (notAfter > row.notAfter) await db.offlineKeys.update(KEY_ID, { notAfter });
    return row.key;
  }
  const created: OfflineKeyRow = { id: KEY_ID, key: await createDataKey(), notAfter };
  await db.offlineKeys.put(created);
  return created.key;
}

/** Deletes the key and every offline study (logout wipes the whole database anyway). */
export async function wipeOffline(db: WorklistDb): Promise<void> {
  await db.transaction('rw', db.offlineKeys, db.offlineStudies, db.offlineFrames, async () => {
    await db.offlineFrames.clear();
    await db.offlineStudies.clear();
    await db.offlineKeys.clear();
  });
}

export async function encrypt(
  key: CryptoKey,
  plain: Uint8Array<ArrayBuffer>,
  aad: string,
): Promise<{ iv: Uint8Array<ArrayBuffer>; data: ArrayBuffer }> {
  const iv: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(12)));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(aad) }, key, plain);
  return { iv, data };
}

export async function decrypt(key: CryptoKey, iv: Uint8Array<ArrayBuffer>, data: ArrayBuffer, aad: string): Promise<Uint8Array> {
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(aad) }, key, data);
  return new Uint8Array(plain);
}

export async function encryptJson(key: CryptoKey, value: unknown, aad: string) {
  return encrypt(key, new TextEncoder().encode(JSON.stringify(value)), aad);
}

export async function decryptJson<T>(key: CryptoKey, iv: Uint8Array<ArrayBuffer>, data: ArrayBuffer, aad: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await decrypt(key, iv, data, aad))) as T;
}
