/**
 * Sealing done synchronously (pure-JS AES-GCM from @noble/ciphers), for a write that must be
 * queued in the same task as the change it records: WebCrypto answers in a later task, and a page
 * reloaded or killed right after a keystroke never got there. The output is what `sealBytes` makes
 * (ciphertext then tag, fresh 96-bit IV, additional data bound), so `openBytes` opens it under the
 * same key imported into WebCrypto.
 */
import { gcm } from '@noble/ciphers/aes.js';
import type { Sealed } from './sealed';

const encoder = new TextEncoder();

export function sealBytesNow(rawKey: Uint8Array, plain: Uint8Array, aad: string): Sealed {
  const iv: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(12)));
  const sealed = gcm(rawKey, iv, encoder.encode(aad)).encrypt(plain);
  return { iv, data: sealed.buffer.slice(sealed.byteOffset, sealed.byteOffset + sealed.byteLength) as ArrayBuffer };
}
