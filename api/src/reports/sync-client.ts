/**
 * The sync-server's internal API (sync-server/SPEC.md API-*), service-authenticated. Every call
 * has a deadline; a sync-server that is down or slow becomes a 503 for the user, never a hang.
 */
import type {
  SyncAuthorshipResponse,
  SyncLateEditsResponse,
  SyncLockResponse,
  SyncRevocationResponse,
  SyncStateResponse,
} from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import { HttpError } from '../http-errors';

export class SyncServerError extends Error {
  override name = 'SyncServerError';
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
  get code(): string | undefined {
    return typeof this.body.code === 'string' ? this.body.code : undefined;
  }
}

export class SyncClient {
  constructor(
    private readonly baseUrl: string,
    private readonly serviceToken: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  private call<T>(method: 'GET' | 'POST', name: string, action: string, body?: unknown): Promise<T> {
    return this.request(method, `/internal/documents/${encodeURIComponent(name)}/${action}`, body);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    if (!this.serviceToken) {
      throw new HttpError(503, 'reporting is not configured: PACS_SYNC_SERVICE_TOKEN is not set', 'SYNC_NOT_CONFIGURED');
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.serviceToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new SyncServerError(0, `sync-server unreachable: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // leave empty: reported by status
    }
    if (!response.ok)
      throw new SyncServerError(response.status, String(parsed.message ?? `sync-server answered ${response.status}`), parsed);
    return parsed as T;
  }

  lock(name: string, body: { stateVector: string; snapshot?: string; lockedBy: string }): Promise<SyncLockResponse> {
    return this.call('POST', name, 'lock', body);
  }
  unlock(name: string): Promise<{ unlocked: true; wasLocked: boolean }> {
    return this.call('POST', name, 'unlock', {});
  }
  seed(name: string, update: string): Promise<{ seeded: true; stateVector: string }> {
    return this.call('POST', name, 'seed', { update });
  }
  state(name: string): Promise<SyncStateResponse> {
    return this.call('GET', name, 'state');
  }
  lateEdits(name: string): Promise<SyncLateEditsResponse> {
    return this.call('GET', name, 'late-edits');
  }
  /** AUTHOR-3: the document's state with which user each client id belongs to, and each user's deletions. */
  authorship(name: string): Promise<SyncAuthorshipResponse> {
    return this.call('GET', name, 'authorship');
  }
  /** REVOKE-2: these users' open connections to the document turn read-only at once. */
  readOnly(name: string, userIds: string[]): Promise<SyncRevocationResponse> {
    return this.call('POST', name, 'read-only', { userIds });
  }
  /** REVOKE-1: the user's open connections close, their document tokens issued so far are refused. */
  revokeUser(userId: string, reason: 'deactivated' | 'role-changed'): Promise<SyncRevocationResponse> {
    return this.request('POST', `/internal/users/${encodeURIComponent(userId)}/revoke`, { reason });
  }
}

/** A sync-server failure the user cannot fix: 503 without internals. */
export function unavailable(error: unknown): HttpError {
  const detail = error instanceof SyncServerError ? ` (${error.status || 'unreachable'})` : '';
  return new HttpError(503, `the document service is unavailable${detail}; try again`, 'SYNC_UNAVAILABLE');
}

/** A sync-server call's failure as the user sees it: our own refusals (not configured) as they are, anything else 503. */
export const syncFailure = (error: unknown): HttpError => (error instanceof HttpError ? error : unavailable(error));

/**
 * Tells the sync-server that a user lost access (deactivated, role changed), so their open report
 * sockets close now rather than when they disconnect. Never fails the caller: the change is already
 * committed; a sync-server that cannot be told is logged (its sockets then live until they close).
 */
export async function revokeDocumentSessions(
  config: { syncUrl: string; syncServiceToken: string | undefined; syncTimeoutMs: number },
  log: FastifyBaseLogger,
  userId: string,
  reason: 'deactivated' | 'role-changed',
): Promise<void> {
  if (!config.syncServiceToken) return; // reporting is off: there are no report sockets
  try {
    const result = await new SyncClient(config.syncUrl, config.syncServiceToken, config.syncTimeoutMs).revokeUser(userId, reason);
    if (!result.propagated) log.error({ userId, reason }, 'document sessions revoked on one sync-server instance only');
  } catch (error) {
    log.error({ err: error, userId, reason }, 'document sessions could not be revoked');
  }
}
