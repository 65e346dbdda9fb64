/**
 * The API client's refresh: one in flight per page, and only the server refusing it (401) ends
 * the session; a refresh lost to the network (no answer, cut-off answer, no answer in time, 5xx)
 * leaves the session as it was so the next attempt can still succeed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventually } from '../test/eventually';
import { jsonResponse, TEST_USER } from '../test/fake-server';
import { ApiError, api, NetworkError } from './client';
import type { SessionResponse } from './types';

const session = (n: number, expiresIn = 900): SessionResponse => ({
  accessToken: `access-${n}`,
  tokenType: 'Bearer',
  expiresIn,
  user: TEST_USER,
});
const json = jsonResponse;

/** The refresh endpoint answers with `onRefresh`; every other path echoes its Authorization. */
function serve(onRefresh: (init: RequestInit) => Promise<Response>) {
  const seen = { refreshes: 0 };
  api.fetchImpl = async (input, init = {}) => {
    if (String(input).endsWith('/api/auth/refresh')) {
      seen.refreshes += 1;
      return onRefresh(init);
    }
    return json(200, { authorization: (init.headers as Record<string, string>).authorization ?? null });
  };
  return seen;
}

const ended = vi.fn();
let unsubscribe: () => void;
const originalFetch = api.fetchImpl;
const originalTimeout = api.refreshTimeoutMs;
const originalRequestTimeout = api.requestTimeoutMs;
beforeEach(() => {
  api.clear(false);
  ended.mockReset();
  unsubscribe = api.onSessionEnd(ended);
});
afterEach(() => {
  unsubscribe();
  api.fetchImpl = originalFetch;
  api.refreshTimeoutMs = originalTimeout;
  api.requestTimeoutMs = originalRequestTimeout;
});

describe('refresh is single-flight in a page', () => {
  it('sends one refresh for concurrent refreshes and requests, and all of them use its token', async () => {
    let answer!: () => void;
    const seen = serve(() => new Promise((resolve) => (answer = () => resolve(json(200, session(1))))));
    const all = Promise.all([
      api.refresh(),
      api.refresh(),
      api.request<{ authorization: string }>('GET', '/api/a'),
      api.request<{ authorization: string }>('GET', '/api/b'),
    ]);
    await eventually(() => expect(answer).toBeTypeOf('function'));
    answer();
    const [first, second, a, b] = await all;
    expect(seen.refreshes).toBe(1);
    expect(second).toBe(first);
    expect([a.authorization, b.authorization]).toEqual(['Bearer access-1', 'Bearer access-1']);
    // The next refresh is a new one.
    serve(async () => json(200, session(2)));
    expect((await api.refresh()).accessToken).toBe('access-2');
  });
});

describe('a refresh lost to the network keeps the session', () => {
  /** A session whose access token is about to expire, so the next request refreshes first. */
  const expiring = () => api.adopt(session(1, 5), false);

  it('keeps it when the request fails outright, and the retry carries on', async () => {
    expiring();
    serve(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(api.request('GET', '/api/a')).rejects.toBeInstanceOf(NetworkError);
    expect(ended).not.toHaveBeenCalled();
    expect(api.hasToken()).toBe(true);

    serve(async () => json(200, session(2)));
    expect(await api.request('GET', '/api/a')).toEqual({ authorization: 'Bearer access-2' });
  });

  it('keeps it when the answer is cut off after its headers (the cookie may have changed)', async () => {
    expiring();
    serve(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"accessToken":"acc'));
          controller.error(new TypeError('network error'));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    });
    await expect(api.request('GET', '/api/a')).rejects.toBeInstanceOf(NetworkError);
    expect(ended).not.toHaveBeenCalled();
    expect(api.hasToken()).toBe(true);
  });

  it('gives up on a refresh without an answer in time, so the next one is not stuck behind it', async () => {
    expiring();
    api.refreshTimeoutMs = 50;
    const seen = serve(
      (init) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(new DOMException('The operation was aborted.', 'AbortError')));
        }),
    );
    const error = await api.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe('no answer in time');
    expect(ended).not.toHaveBeenCalled();
    await expect(api.refresh()).rejects.toBeInstanceOf(NetworkError);
    expect(seen.refreshes).toBe(2);
  });

  it('keeps it on a server error, and ends it only when the server refuses the refresh', async () => {
    expiring();
    serve(async () => json(500, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' }));
    await expect(api.request('GET', '/api/a')).rejects.toBeInstanceOf(ApiError);
    expect(ended).not.toHaveBeenCalled();
    expect(api.hasToken()).toBe(true);

    serve(async () => json(401, { statusCode: 401, error: 'Unauthorized', message: 'refresh token reused', code: 'REFRESH_REUSED' }));
    await expect(api.request('GET', '/api/a')).rejects.toMatchObject({ status: 401, code: 'REFRESH_REUSED' });
    expect(ended).toHaveBeenCalledWith(null, 'expired');
    expect(api.hasToken()).toBe(false);
  });
});

describe('the token held in memory', () => {
  it('is handed to late readers (the viewer chunk) without another refresh, and not when it is about to expire', async () => {
    const seen = serve(async () => json(200, session(7, 600)));
    await api.refresh();
    expect(api.heldAccessToken(15_000)).toBe('access-7');
    expect(seen.refreshes).toBe(1);
    api.adopt(session(8, 10), false);
    expect(api.heldAccessToken(15_000)).toBeNull();
    expect(api.heldAccessToken()).toBe('access-8');
    api.clear(false);
    expect(api.heldAccessToken()).toBeNull();
  });
});

describe('request bodies', () => {
  it('sends a file as it is, with its own type, and everything else as JSON', async () => {
    const sent: { type: string | undefined; body: unknown }[] = [];
    api.fetchImpl = async (input, init = {}) => {
      if (String(input).endsWith('/api/auth/refresh')) return json(200, session(1));
      sent.push({ type: (init.headers as Record<string, string>)['content-type'], body: init.body });
      return json(200, {});
    };
    const pdf = new Blob(['%PDF-1.7 …'], { type: 'application/pdf' });
    await api.request('POST', '/api/reports/pdf-verification', pdf);
    await api.request('POST', '/api/anything', { a: 1 });
    expect(sent[0]).toEqual({ type: 'application/pdf', body: pdf });
    expect(sent[1]).toEqual({ type: 'application/json', body: '{"a":1}' });
  });
});

describe('a request without an answer', () => {
  it('fails as a network error once its time is up (a half-open connection does not hold the caller for ever)', async () => {
    api.adopt(session(7), false);
    api.requestTimeoutMs = 50;
    api.fetchImpl = (_input, init = {}) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('The operation was aborted.', 'AbortError')));
      });
    const error = await api.request('GET', '/api/studies/changes?cursor=0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toBe('no answer in time');
    expect(ended).not.toHaveBeenCalled();
    expect(api.hasToken()).toBe(true);
  });
});
