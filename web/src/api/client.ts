/**
 * The one way the app talks to the API. The access token lives in memory only; the refresh token
 * is an httpOnly cookie the app never sees. Refreshes are single-flight in a page and serialised
 * across tabs (a replayed refresh token revokes the whole session family): a Web Lock when the
 * browser has them, and the winner broadcasts the new access token so other tabs need not refresh
 * at all. Only the server refusing the refresh (401) ends the session; a refresh lost to the
 * network (even after the server rotated the cookie, which its reuse grace forgives) leaves it.
 */
import type { WipeReportRequest } from '@pacs/shared';
import { adoptDeviceId, deviceIdentity } from '../device/identity';
import type { ErrorResponse, LogoutResponse, MfaChallenge, SessionResponse, SignInMethods } from './types';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: ErrorResponse & Record<string, unknown>,
  ) {
    super(body.message || `HTTP ${status}`);
  }
  get code(): ErrorResponse['code'] {
    return this.body.code;
  }
}

/** The network is unreachable (or answered with something that is not the API). */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/** The server refused the session itself: the only failure that signs the user out. */
export function sessionRejected(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

interface TokenState {
  accessToken: string;
  expiresAt: number;
}

type SessionListener = (session: SessionResponse | null, reason?: 'expired' | 'logout' | 'device-revoked') => void;

/** The second-factor steps that end a sign-in, and so name the device like the login does. */
const SIGN_IN_STEPS = new Set(['/api/auth/mfa/verify', '/api/auth/mfa/enrol/confirm']);

const REFRESH_LOCK = 'pacs-auth-refresh';
const CHANNEL = 'pacs-auth';

class Client {
  private token: TokenState | null = null;
  private refreshing: Promise<SessionResponse> | null = null;
  private readonly listeners = new Set<SessionListener>();
  private readonly refreshedListeners = new Set<(session: SessionResponse) => void>();
  private readonly channel: BroadcastChannel | null = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
  /** Overridable for tests. */
  fetchImpl: typeof fetch = (...args) => fetch(...args);
  baseUrl = '';
  /**
   * A refresh without an answer by then counts as lost: on flaky Wi-Fi a request can hang for
   * minutes while every tab waits on the lock. Well inside the server's reuse grace (30 s by
   * default), so the retry still presents a token it forgives.
   */
  refreshTimeoutMs = 15_000;
  /**
   * Any other request without an answer by then counts as lost (NetworkError): a connection left
   * half-open by a server restart or a Wi-Fi handover must not hold the worklist's sync, or a save,
   * for ever. Generous: the slowest answers (a report's signature, a big page) take seconds.
   */
  requestTimeoutMs = 60_000;

  constructor() {
    this.channel?.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as { type: string; session?: SessionResponse; expiresAt?: number };
      if (data.type === 'session' && data.session && data.expiresAt) {
        this.token = { accessToken: data.session.accessToken, expiresAt: data.expiresAt };
        for (const listener of this.refreshedListeners) listener(data.session);
      } else if (data.type === 'logout') {
        this.token = null;
        for (const listener of this.listeners) listener(null, 'logout');
      }
    });
  }

  onSessionEnd(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every time the server confirms the session (login, refresh in this tab or another). */
  onConfirmed(listener: (session: SessionResponse) => void): () => void {
    this.refreshedListeners.add(listener);
    return () => this.refreshedListeners.delete(listener);
  }

  hasToken(): boolean {
    return this.token !== null;
  }

  /** The access token held in memory if it stays valid for `marginMs` more, else null (no request made). */
  heldAccessToken(marginMs = 0): string | null {
    return this.token && this.token.expiresAt - Date.now() >= marginMs ? this.token.accessToken : null;
  }

  adopt(session: SessionResponse, broadcast = true): void {
    if (session.device) adoptDeviceId(session.device.id);
    const expiresAt = Date.now() + session.expiresIn * 1000;
    this.token = { accessToken: session.accessToken, expiresAt };
    for (const listener of this.refreshedListeners) listener(session);
    if (broadcast) this.channel?.postMessage({ type: 'session', session, expiresAt });
  }

  clear(broadcastLogout: boolean): void {
    this.token = null;
    if (broadcastLogout) this.channel?.postMessage({ type: 'logout' });
  }

  /** A session, or the second-factor step the account needs first. */
  async login(email: string, password: string): Promise<SessionResponse | MfaChallenge> {
    const answer = await this.raw<SessionResponse | MfaChallenge>(
      'POST',
      '/api/auth/login',
      { email, password, device: deviceIdentity() },
      false,
    );
    if ('accessToken' in answer) this.adopt(answer);
    return answer;
  }

  /** A step of the second factor at login (`/api/auth/mfa/…`), without an access token. */
  secondFactorStep<T>(path: string, body: object): Promise<T> {
    return this.raw<T>('POST', path, SIGN_IN_STEPS.has(path) ? { ...body, device: deviceIdentity() } : body, false);
  }

  /** A revoked device's report of its wipe; it proves itself with its identity, having no session. */
  reportWipe(body: WipeReportRequest): Promise<{ wipedAt: string }> {
    return this.raw('POST', '/api/auth/device/wipe-report', body, false);
  }

  /** Exchanges the refresh cookie for a new access token, one refresh at a time across tabs. */
  refresh(): Promise<SessionResponse> {
    if (this.refreshing) return this.refreshing;
    const run = async (): Promise<SessionResponse> => {
      // Inside the lock the cookie jar holds the newest refresh token: a tab that refreshed
      // before us has already rotated it, so we never present a token that was used.
      // The device names itself, so a revoked one learns it must wipe (DEVICE_REVOKED).
      const body = { device: deviceIdentity() };
      const session = await this.raw<SessionResponse>('POST', '/api/auth/refresh', body, false, {}, this.refreshTimeoutMs);
      this.adopt(session);
      return session;
    };
    const locked = async (): Promise<SessionResponse> => {
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      if (!locks) return run();
      return (await locks.request(REFRESH_LOCK, { mode: 'exclusive' }, run)) as SessionResponse;
    };
    this.refreshing = locked().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Ends the session; after a single sign-on, answers the provider's page that ends its session too. */
  async logout(): Promise<string | null> {
    try {
      const answer = await this.request<LogoutResponse | null>('POST', '/api/auth/logout');
      return answer?.endSessionUrl ?? null;
    } finally {
      this.clear(true);
    }
  }

  /** The ways of signing in the server offers (public: asked before anyone is signed in). */
  signInMethods(): Promise<SignInMethods> {
    return this.raw<SignInMethods>('GET', '/api/auth/methods', undefined, false);
  }

  /** An authenticated JSON request; refreshes once on an expired or missing token. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    if (!this.token || this.token.expiresAt - Date.now() < 10_000) {
      await this.refreshOrEnd();
    }
    try {
      return await this.raw<T>(method, path, body, true, headers, this.requestTimeoutMs);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && !String(error.code ?? '').startsWith('REFRESH')) {
        await this.refreshOrEnd();
        return this.raw<T>(method, path, body, true, headers, this.requestTimeoutMs);
      }
      throw error;
    }
  }

  /** An authenticated binary download (e.g. a report PDF); refreshes once like `request`. */
  async blob(path: string): Promise<Blob> {
    if (!this.token || this.token.expiresAt - Date.now() < 10_000) await this.refreshOrEnd();
    const get = async () => {
      let response: Response;
      try {
        response = await this.fetchImpl(`${this.baseUrl}${path}`, {
          credentials: 'same-origin',
          cache: 'no-store',
          headers: this.token ? { authorization: `Bearer ${this.token.accessToken}` } : {},
        });
      } catch (error) {
        throw new NetworkError((error as Error).message || 'network unreachable');
      }
      return response;
    };
    let response = await get();
    if (response.status === 401) {
      await this.refreshOrEnd();
      response = await get();
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => ({ message: `HTTP ${response.status}` }))) as ErrorResponse & Record<string, unknown>;
      throw new ApiError(response.status, body);
    }
    return response.blob();
  }

  /**
   * Opens a streaming GET (server-sent events) with the access token in the Authorization header
   * (EventSource cannot send headers, and a token in the URL would end up in logs). Refreshes once
   * on 401 like `request`. Resolves with the open response; the caller reads and cancels it.
   */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    if (!this.token || this.token.expiresAt - Date.now() < 10_000) await this.refreshOrEnd();
    const open = async (): Promise<Response> => {
      try {
        return await this.fetchImpl(`${this.baseUrl}${path}`, {
          method: 'GET',
          credentials: 'same-origin',
          cache: 'no-store',
          signal,
          headers: { accept: 'text/event-stream', ...(this.token ? { authorization: `Bearer ${this.token.accessToken}` } : {}) },
        });
      } catch (error) {
        if (signal.aborted) throw error;
        throw new NetworkError((error as Error).message || 'network unreachable');
      }
    };
    let response = await open();
    if (response.status === 401) {
      await response.body?.cancel();
      await this.refreshOrEnd();
      response = await open();
    }
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.includes('text/event-stream') && response.body) return response;
    if (type.includes('application/json') && response.status >= 400 && response.status < 500) {
      const body = (await response.json().catch(() => ({}))) as Partial<ErrorResponse>;
      throw new ApiError(response.status, { statusCode: response.status, error: '', message: `HTTP ${response.status}`, ...body });
    }
    await response.body?.cancel().catch(() => undefined);
    throw new NetworkError(`event stream unavailable (HTTP ${response.status})`);
  }

  private async refreshOrEnd(): Promise<void> {
    try {
      await this.refresh();
    } catch (error) {
      if (sessionRejected(error)) {
        this.token = null;
        const reason = (error as ApiError).code === 'DEVICE_REVOKED' ? 'device-revoked' : 'expired';
        for (const listener of this.listeners) listener(null, reason);
      }
      throw error;
    }
  }

  private async raw<T>(
    method: string,
    path: string,
    body: unknown,
    auth: boolean,
    headers: Record<string, string> = {},
    timeoutMs?: number,
  ): Promise<T> {
    const timeout = timeoutMs ? new AbortController() : null;
    const timer = timeout ? setTimeout(() => timeout.abort(), timeoutMs) : null;
    try {
      return await this.exchange<T>(method, path, body, auth, headers, timeout?.signal);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async exchange<T>(
    method: string,
    path: string,
    body: unknown,
    auth: boolean,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    // A file (a PDF to verify) goes as it is; everything else as JSON.
    const file = body instanceof Blob ? body : null;
    const init: RequestInit = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {
        accept: 'application/json',
        ...(file
          ? { 'content-type': file.type || 'application/octet-stream' }
          : body !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
        ...(auth && this.token ? { authorization: `Bearer ${this.token.accessToken}` } : {}),
        ...headers,
      },
      body: file ?? (body !== undefined ? JSON.stringify(body) : undefined),
      ...(signal ? { signal } : {}),
    };
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    } catch (error) {
      throw new NetworkError(signal?.aborted ? 'no answer in time' : (error as Error).message || 'network unreachable');
    }
    const type = response.headers.get('content-type') ?? '';
    if (response.status === 204) return undefined as T;
    // Anything but JSON (a proxy's HTML error page, a captive portal) is not an API answer.
    if (!type.includes('application/json')) {
      if (response.status >= 500 || response.status === 0) throw new NetworkError(`HTTP ${response.status} without JSON`);
      throw new NetworkError(`unexpected ${type || 'empty'} answer (HTTP ${response.status})`);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      // The connection dropped (or the timeout fired) mid-body: lost, not refused.
      throw new NetworkError(signal?.aborted ? 'no answer in time' : (error as Error).message || 'answer cut off');
    }
    if (!response.ok) {
      if (response.status === 502 || response.status === 503 || response.status === 504) {
        throw new NetworkError(`HTTP ${response.status}`);
      }
      throw new ApiError(response.status, json as ErrorResponse & Record<string, unknown>);
    }
    return json as T;
  }
}

export const api = new Client();
export type { Client };
