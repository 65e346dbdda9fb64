/** Seeded randomness and UIDs: the same spec and seed give the same bytes and the same UIDs. */
import { createHash } from 'node:crypto';

/** mulberry32: small, fast, good enough for image noise and choices. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashSeed(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

/** A 2.25 UID (ISO/IEC 9834-8 UUID-derived form) from a hash of the parts: deterministic, ≤ 44 chars. */
export function deterministicUid(...parts: Array<string | number>): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}
