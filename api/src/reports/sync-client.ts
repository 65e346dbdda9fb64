/**
 * The sync-server's internal API (sync-server/SPEC.md API-*), service-authenticated. Every call
 * has a deadline; a sync-server that is down or slow becomes a 503 for the user, never a hang.
 */
import type { SyncLateEditsResponse, SyncLockResponse, SyncStateResponse } from '@pacs/shared';
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

  private async call<T>(method: 'GET' | 'POST', name: string, action: string, body?: unknown): Promise<T> {
    if (!this.serviceToken) {
      throw new HttpError(503, 'reporting is not configured: PACS_SYNC_SERVICE_TOKEN is not set', 'SYNC_NOT_CONFIGURED');
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/internal/documents/${encodeURIComponent(name)}/${action}`, {
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
}

/** A sync-server failure the user cannot fix: 503 without internals. */
export function unavailable(error: unknown): HttpError {
  const detail = error instanceof SyncServerError ? ` (${error.status || 'unreachable'})` : '';
  return new HttpError(503, `the document service is unavailable${detail}; try again`, 'SYNC_UNAVAILABLE');
}
