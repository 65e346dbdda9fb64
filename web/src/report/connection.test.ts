import { CLOSE_CODES, MESSAGE_TYPE_NOTICE } from '@pacs/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDataKey } from '../test/data-key';
import { eventually } from '../test/eventually';
import { ACCESS_REVOKED_PROBLEM, READ_ONLY_REASON, ReportConnection } from './connection';
import type { ReportSession } from './report-api';

/** A socket that never opens: these tests are about tokens, not the wire. */
class IdleSocket {
  static created: IdleSocket[] = [];
  static readonly OPEN = 1;
  readonly OPEN = 1;
  readyState = 0;
  binaryType = 'arraybuffer';
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    IdleSocket.created.push(this);
  }
  send(): void {}
  close(): void {}
}

const realWebSocket = globalThis.WebSocket;
beforeEach(() => {
  IdleSocket.created = [];
  globalThis.WebSocket = IdleSocket as unknown as typeof WebSocket;
});
afterEach(() => {
  globalThis.WebSocket = realWebSocket;
  vi.useRealTimers();
});

function sessions() {
  let n = 0;
  return vi.fn(async (): Promise<ReportSession> => {
    n += 1;
    return { token: `token-${n}`, document: 'report:x', mode: 'rw', expiresAt: new Date(Date.now() + 300_000).toISOString() };
  });
}

const options = (openSession: ReturnType<typeof sessions>, reportId: string) => ({
  reportId,
  userId: 'u1',
  user: { name: 'Dr R', role: 'resident' as const, color: '#c00' },
  openSession,
  syncUrl: 'ws://sync.invalid/sync',
  dataKey: testDataKey(),
});

describe('ReportConnection document token', () => {
  it('renews the token before it expires, without a new connection or a reload', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const openSession = sessions();
    const connection = new ReportConnection(options(openSession, '00000000-0000-4000-8000-000000000001'));
    await connection.start();
    const provider = connection.provider!;
    expect(provider.params).toEqual({ token: 'token-1' });
    expect(connection.get().mode).toBe('rw');
    expect(IdleSocket.created).toHaveLength(1);
    expect(IdleSocket.created[0]!.url).toContain('token=token-1');

    // 300 s token: renewed 60 s before expiry.
    await vi.advanceTimersByTimeAsync(239_000);
    expect(openSession).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(openSession).toHaveBeenCalledTimes(2);
    expect(connection.provider).toBe(provider);
    expect(provider.params).toEqual({ token: 'token-2' });
    expect(IdleSocket.created).toHaveLength(1);
    connection.destroy();
  });

  it('asks for the document token while the device copy is still opening, not after', async () => {
    const openSession = sessions();
    const connection = new ReportConnection(options(openSession, '00000000-0000-4000-8000-000000000003'));
    let loaded = false;
    void connection.whenLoaded.then(() => {
      loaded = true;
    });
    const started = connection.start();
    expect(openSession).toHaveBeenCalledTimes(1);
    expect(loaded).toBe(false);
    await started;
    // One request serves the first connection.
    expect(openSession).toHaveBeenCalledTimes(1);
    expect(connection.provider!.params).toEqual({ token: 'token-1' });
    connection.destroy();
  });

  it('after an unauthorized close (4401) fetches a new token and reconnects', async () => {
    const openSession = sessions();
    const connection = new ReportConnection(options(openSession, '00000000-0000-4000-8000-000000000002'));
    await connection.start();
    const provider = connection.provider!;
    // What the stock provider does on a close code its shouldReconnect refuses.
    expect(provider.shouldReconnect({ code: 4401 } as CloseEvent, provider)).toBe(false);
    expect(provider.shouldReconnect({ code: 4429 } as CloseEvent, provider)).toBe(true);
    expect(provider.shouldReconnect({ code: 4503 } as CloseEvent, provider)).toBe(true);
    provider.shouldConnect = false;
    provider.emit('closed', [{ code: 4401, reason: 'unauthorized' }, provider]);
    await eventually(() => expect(openSession).toHaveBeenCalledTimes(2));
    await eventually(() => expect(provider.shouldConnect).toBe(true));
    expect(provider.params).toEqual({ token: 'token-2' });
    connection.destroy();
  });
});

describe('ReportConnection access changes while open', () => {
  it('a read-only notice makes the connection read-only at once, with the reason', async () => {
    const openSession = sessions();
    const connection = new ReportConnection(options(openSession, '00000000-0000-4000-8000-000000000004'));
    await connection.start();
    expect(connection.get().mode).toBe('rw');
    const provider = connection.provider!;
    const notice = JSON.stringify({ type: 'read-only', reportId: '00000000-0000-4000-8000-000000000004' });
    // lib0 varString: a one-byte length (under 128) then UTF-8; the handler reads a lib0 decoder's `arr`/`pos`.
    const bytes = new TextEncoder().encode(notice);
    const decoder = { arr: Uint8Array.of(bytes.length, ...bytes), pos: 0 };
    type Handler = (typeof provider.messageHandlers)[number];
    const handle = provider.messageHandlers[MESSAGE_TYPE_NOTICE] as Handler;
    handle(null as never, decoder as never, provider, false, MESSAGE_TYPE_NOTICE);
    expect(connection.get().mode).toBe('ro');
    expect(connection.get().readOnlyReason).toBe(READ_ONLY_REASON);
    connection.destroy();
  });

  it('after an access-revoked close (4410) stops, says why and asks for the session to be checked', async () => {
    const openSession = sessions();
    const onAccessRevoked = vi.fn();
    const connection = new ReportConnection({ ...options(openSession, '00000000-0000-4000-8000-000000000005'), onAccessRevoked });
    await connection.start();
    const provider = connection.provider!;
    expect(provider.shouldReconnect({ code: CLOSE_CODES.accessRevoked } as CloseEvent, provider)).toBe(false);
    provider.shouldConnect = false;
    provider.emit('closed', [{ code: CLOSE_CODES.accessRevoked, reason: 'access revoked' }, provider]);
    expect(connection.get().mode).toBe('ro');
    expect(connection.get().problem).toBe(ACCESS_REVOKED_PROBLEM);
    expect(onAccessRevoked).toHaveBeenCalledTimes(1);
    // No new token, no reconnection loop.
    expect(openSession).toHaveBeenCalledTimes(1);
    expect(provider.shouldConnect).toBe(false);
    connection.destroy();
  });
});
