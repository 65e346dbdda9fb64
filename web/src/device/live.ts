/**
 * The worklist change stream (`GET /api/studies/events`, server-sent events read through fetch so
 * the access token goes in the Authorization header). Each `changed` event carries only the new
 * change sequence; the engine pulls the delta feed when it is ahead of the device's cursor.
 *
 * Reconnects by itself: at once when the server ends the stream because the token expired (the
 * client refreshes it first), after a growing pause (1 s … 30 s) on network trouble, and when no
 * byte arrived for `staleMs` (the server sends a heartbeat every 15 s, so a silent stream is dead).
 */
import { ApiError, type Client } from '../api/client';

export interface LiveOptions {
  staleMs?: number;
  maxBackoffMs?: number;
}

export interface ServerEvent {
  event: string;
  data: string;
}

/** Splits SSE text into events; returns the events and the unfinished rest. Comments are dropped. */
export function parseEvents(buffer: string): { events: ServerEvent[]; rest: string } {
  const events: ServerEvent[] = [];
  const normalised = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalised.split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0 || event !== 'message') events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

export class LiveStream {
  private abort: AbortController | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  private readonly staleMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly client: Pick<Client, 'stream'>,
    private readonly handlers: { onSequence(sequence: number): void; onConnected(connected: boolean): void },
    options: LiveOptions = {},
  ) {
    this.staleMs = options.staleMs ?? 45_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  /** Try again now (network came back, page became visible) instead of waiting out the pause. */
  retryNow(): void {
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = null;
    });
  }

  private async loop(): Promise<void> {
    let backoff = 1000;
    while (!this.stopped) {
      if (typeof navigator !== 'undefined' && !navigator.onLine) {
        await this.pause(this.maxBackoffMs);
        continue;
      }
      let reason = 'ended';
      try {
        reason = await this.once();
        backoff = 1000;
      } catch (error) {
        reason = error instanceof ApiError && (error.status === 401 || error.status === 403) ? 'refused' : 'error';
      } finally {
        this.handlers.onConnected(false);
      }
      if (this.stopped) break;
      // An expired token is routine (every 15 min): reconnect at once with a fresh one.
      if (reason === 'expired') continue;
      await this.pause(reason === 'refused' ? this.maxBackoffMs : Math.min(backoff, this.maxBackoffMs));
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
    }
  }

  /** One connection: resolves with why it ended (`expired`, `revoked`, `shutdown`, `stale`, `ended`). */
  private async once(): Promise<string> {
    const abort = new AbortController();
    this.abort = abort;
    const response = await this.client.stream('/api/studies/events', abort.signal);
    this.handlers.onConnected(true);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let stale: ReturnType<typeof setTimeout> | null = null;
    let wentStale = false;
    const arm = () => {
      if (stale) clearTimeout(stale);
      stale = setTimeout(() => {
        wentStale = true;
        abort.abort();
      }, this.staleMs);
    };
    arm();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'ended';
        arm();
        const parsed = parseEvents(buffer + value);
        buffer = parsed.rest;
        for (const event of parsed.events) {
          if (event.event === 'changed') {
            const sequence = Number((JSON.parse(event.data) as { sequence?: unknown }).sequence);
            if (Number.isFinite(sequence)) this.handlers.onSequence(sequence);
          } else if (event.event === 'expired' || event.event === 'revoked' || event.event === 'shutdown') {
            return event.event;
          }
        }
      }
    } catch (error) {
      if (wentStale) return 'stale';
      if (abort.signal.aborted) return 'ended';
      throw error;
    } finally {
      if (stale) clearTimeout(stale);
      reader.cancel().catch(() => undefined);
    }
  }
}
