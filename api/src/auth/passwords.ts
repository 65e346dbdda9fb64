import { randomBytes } from 'node:crypto';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH } from '@pacs/shared';
import bcrypt from 'bcrypt';
import { badRequest } from '../http-errors';
import { type PasswordOwner, passwordProblem } from './password-policy';

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

/**
 * Length rules the schema cannot express in bytes (bcrypt ignores everything past 72 bytes), then
 * the content rules of password-policy.ts; `owner` is the account the password is for.
 */
export function assertAcceptablePassword(password: string, owner?: PasswordOwner): void {
  if ([...password].length < PASSWORD_MIN_LENGTH) {
    throw badRequest(`password must be at least ${PASSWORD_MIN_LENGTH} characters`, 'WEAK_PASSWORD');
  }
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw badRequest(`password must be at most ${PASSWORD_MAX_BYTES} bytes in UTF-8`, 'PASSWORD_TOO_LONG');
  }
  const problem = passwordProblem(password, owner);
  if (problem === 'COMMON_PASSWORD') {
    throw badRequest('password is too common or too easy to guess; choose a longer, less predictable one', problem);
  }
  if (problem === 'PASSWORD_MATCHES_ACCOUNT') throw badRequest("password must not contain the account's e-mail or name", problem);
}
