/**
 * Access taken away while connected (SPEC.md REVOKE-*). A document token is checked only when a
 * connection opens (AUTH-6), so the API tells the sync-server when a user is deactivated or changes
 * role (REVOKE-1: their connections close, their tokens issued so far are refused) and when a
 * report leaves a user's hands, e.g. the resident submitted it (REVOKE-2: their connections to that
 * document turn read-only, their tokens issued before connect read-only).
 *
 * Records are kept for the longest token lifetime plus clock skew: no token issued before them can
 * be valid longer. Each instance keeps its own; the API's call reaches one instance, which applies
 * it and tells the others over the scale-out bus.
 */
import { DOCUMENT_TOKEN_MAX_TTL_SECONDS, type DocumentTokenClaims } from '@pacs/shared';
import { CLOCK_SKEW_SECONDS } from './auth';

const KEEP_SECONDS = DOCUMENT_TOKEN_MAX_TTL_SECONDS + CLOCK_SKEW_SECONDS;

export type Revocation =
  | { kind: 'revoke-user'; userId: string; at: number }
  | { kind: 'read-only'; document: string; userId: string; at: number };

export class AccessRevocations {
  /** userId → seconds: tokens issued at or before are refused. */
  private readonly users = new Map<string, number>();
  /** document + userId → seconds: tokens issued before connect read-only. */
  private readonly readOnly = new Map<string, number>();

  record(revocation: Revocation): void {
    this.prune(revocation.at);
    if (revocation.kind === 'revoke-user') {
      this.users.set(revocation.userId, Math.max(revocation.at, this.users.get(revocation.userId) ?? 0));
    } else {
      const key = `${revocation.document}\n${revocation.userId}`;
      this.readOnly.set(key, Math.max(revocation.at, this.readOnly.get(key) ?? 0));
    }
  }

  /**
   * A token issued in the second of the deactivation or role change is refused too: the API issues
   * none to a deactivated user, and a changed user asks again a second later.
   */
  userRevoked(claims: Pick<DocumentTokenClaims, 'sub' | 'iat'>): boolean {
    const at = this.users.get(claims.sub);
    return at !== undefined && claims.iat <= at;
  }

  /**
   * Strictly before: a session the API issues in the same second after the hand-over (e.g. after a
   * return to the resident) must stay read-write; tokens carry whole seconds.
   */
  readOnlyFor(claims: Pick<DocumentTokenClaims, 'sub' | 'iat' | 'doc'>): boolean {
    const at = this.readOnly.get(`${claims.doc}\n${claims.sub}`);
    return at !== undefined && claims.iat < at;
  }

  private prune(now: number): void {
    for (const map of [this.users, this.readOnly]) {
      if (map.size < 1_000) continue;
      for (const [key, at] of map) if (now - at > KEEP_SECONDS) map.delete(key);
    }
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
