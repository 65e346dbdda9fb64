import { randomBytes } from 'node:crypto';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from '@pacs/shared';
import bcrypt from 'bcrypt';
import { badRequest } from '../http-errors';

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

/** A hash of a random string, compared against for unknown users so timing reveals nothing. */
let dummyHash: Promise<string> | undefined;
let dummyCost = 0;

/** Made at start, so the first unknown account is not the one answered slower. */
export function warmDummyHash(cost: number): Promise<string> {
  if (!dummyHash || dummyCost !== cost) {
    dummyCost = cost;
    dummyHash = bcrypt.hash(randomBytes(16).toString('hex'), cost);
  }
  return dummyHash;
}

/** Always false: the comparison only spends the time a real one would. */
export async function burnPasswordCheck(password: string, cost: number): Promise<false> {
  await bcrypt.compare(password, await warmDummyHash(cost));
  return false;
}

/** Length rules the schema cannot express in bytes; bcrypt ignores everything past 72 bytes. */
export function assertAcceptablePassword(password: string): void {
  if ([...password].length < PASSWORD_MIN_LENGTH) {
    throw badRequest(`password must be at least ${PASSWORD_MIN_LENGTH} characters`, 'WEAK_PASSWORD');
  }
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw badRequest(`password must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8`, 'PASSWORD_TOO_LONG');
  }
}
