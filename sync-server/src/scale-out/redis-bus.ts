/**
 * DocumentBus over Redis pub/sub (ioredis): one connection subscribes, one publishes. Redis holds
 * nothing durable: documents live in the database, Redis only carries messages between the
 * instances that hold a document in memory (SCALE-1) and a short-lived freeze marker per lock
 * (SCALE-4).
 *
 * Redis down (SCALE-6): publishes fail at once (no offline queue, nothing piles up), every instance
 * keeps serving its own clients, ioredis reconnects with back-off, and on reconnect the channels
 * are subscribed again and `onReconnect` listeners resync every loaded document.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Revocation } from '../revocations';
import { type BusHandler, type BusMessage, type DocumentBus, decodeBusMessage, encodeBusMessage } from './bus';

const PREFIX = 'pacs:sync:';
const channelOf = (document: string) => `${PREFIX}doc:${document}`;
const freezeKeyOf = (document: string) => `${PREFIX}freeze:${document}`;
/** Instance-wide messages (REVOKE-*), not tied to a loaded document. */
const CONTROL_CHANNEL = `${PREFIX}control`;

/** Parses a control message; null for anything malformed. */
function parseRevocation(raw: Buffer): (Revocation & { from: string }) | null {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof m !== 'object' || m === null || typeof m.from !== 'string' || typeof m.userId !== 'string' || !Number.isSafeInteger(m.at)) {
    return null;
  }
  const at = m.at as number;
  if (m.kind === 'revoke-user') return { from: m.from, kind: 'revoke-user', userId: m.userId, at };
  if (m.kind === 'read-only' && typeof m.document === 'string') {
    return { from: m.from, kind: 'read-only', document: m.document, userId: m.userId, at };
  }
  return null;
}

export class RedisBus implements DocumentBus {
  readonly instanceId = randomUUID();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, { document: string; handler: BusHandler }>();
  private readonly reconnectListeners: (() => void)[] = [];
  private revocationHandler: ((revocation: Revocation) => void) | null = null;
  private wasConnected = false;
  private closed = false;
  private lastErrorLog = 0;

  constructor(
    url: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    const options = {
      // Reconnect for ever, 50 ms growing to 2 s between attempts.
      retryStrategy: (times: number) => Math.min(times * 50, 2000),
      maxRetriesPerRequest: 1,
      connectionName: `pacs-sync-${this.instanceId.slice(0, 8)}`,
    };
    this.pub = new Redis(url, { ...options, enableOfflineQueue: false });
    // The subscriber queues SUBSCRIBE while down; ioredis re-subscribes on reconnect.
    this.sub = new Redis(url, { ...options, autoResubscribe: true });
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    this.sub.subscribe(CONTROL_CHANNEL).catch((err: Error) => this.logError('redis subscribe failed', err));
    for (const [role, client] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      client.on('ready', () => void this.onReady());
      client.on('error', (err: Error) => this.logError(`redis ${role} error`, err));
      client.on('end', () => this.updateConnected());
      client.on('close', () => {
        if (this.closed) return;
        if (this.wasConnected) this.log.warn('redis connection lost; serving local clients, reconnecting', { role });
        this.updateConnected();
      });
    }
  }

  get connected(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  private updateConnected(): void {
    const connected = this.connected;
    this.metrics.busConnected.set(connected ? 1 : 0);
    if (!connected) this.wasConnected = false;
  }

  private logError(msg: string, err: Error): void {
    // ioredis emits an error per failed reconnect attempt: one line every 10 s is enough.
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.log.error(msg, { err });
  }

  private async onReady(): Promise<void> {
    if (!this.connected || this.wasConnected || this.closed) return;
    this.wasConnected = true;
    this.metrics.busConnected.set(1);
    // Make sure every channel of a loaded document is subscribed before resyncing.
    const channels = [...this.handlers.keys()];
    try {
      if (channels.length > 0) await this.sub.subscribe(...channels);
    } catch (err) {
      this.logError('redis re-subscribe failed', err as Error);
    }
    this.log.info('redis connected', { instance: this.instanceId, documents: channels.length });
    for (const fn of this.reconnectListeners) {
      try {
        fn();
      } catch (err) {
        this.log.error('resync after redis reconnect failed', { err });
      }
    }
  }

  onReconnect(fn: () => void): void {
    this.reconnectListeners.push(fn);
  }

  /** Resolves once Redis answered (tests and start-up logs); does not fail the caller. */
  async waitConnected(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.connected;
  }

  /** REVOKE-*: called with every revocation another instance applied. */
  onRevocation(handler: (revocation: Revocation) => void): void {
    this.revocationHandler = handler;
  }

  /** Tells every other instance; false when Redis is down (they then never learn it). */
  async publishRevocation(revocation: Revocation): Promise<boolean> {
    if (this.pub.status !== 'ready') return false;
    try {
      await this.pub.publish(CONTROL_CHANNEL, JSON.stringify({ from: this.instanceId, ...revocation }));
      this.metrics.busMessages.inc({ direction: 'out' });
      return true;
    } catch (err) {
      this.metrics.busMessages.inc({ direction: 'dropped' });
      this.logError('redis publish failed', err as Error);
      return false;
    }
  }

  private onMessage(channel: string, raw: Buffer): void {
    this.metrics.busMessages.inc({ direction: 'in' });
    if (channel === CONTROL_CHANNEL) {
      const revocation = parseRevocation(raw);
      if (!revocation) {
        this.metrics.busMessages.inc({ direction: 'dropped' });
        this.log.warn('malformed control message dropped', { bytes: raw.byteLength });
      } else if (revocation.from !== this.instanceId) {
        const { from: _from, ...rest } = revocation;
        this.revocationHandler?.(rest);
      }
      return;
    }
    let message: BusMessage;
    try {
      message = decodeBusMessage(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    } catch (err) {
      // SCALE-7: another version (a rolling upgrade) or garbage: dropped whole, never half-applied.
      this.metrics.busMessages.inc({ direction: 'dropped' });
      this.log.warn('malformed bus message dropped', { bytes: raw.byteLength, err });
      return;
    }
    const entry = this.handlers.get(channel);
    if (entry) {
      entry.handler(message);
      return;
    }
    // A document this instance just left: a freeze still counts this subscriber, so answer it
    // (with nothing: an instance without the document holds nothing unstored of it).
    if (message.t === 'freeze' && message.from !== this.instanceId) {
      const document = channel.slice(`${PREFIX}doc:`.length);
      this.send(document, { t: 'ack', from: this.instanceId, to: message.from, lockId: message.lockId, update: new Uint8Array([0, 0]) });
    }
  }

  async join(document: string, handler: BusHandler): Promise<void> {
    const channel = channelOf(document);
    this.handlers.set(channel, { document, handler });
    const subscribed = this.sub.subscribe(channel).catch((err: Error) => this.logError('redis subscribe failed', err));
    // While Redis is down the SUBSCRIBE waits in ioredis's queue; the document loads anyway.
    if (this.sub.status === 'ready') await subscribed;
  }

  leave(document: string): void {
    const channel = channelOf(document);
    this.handlers.delete(channel);
    if (this.sub.status === 'ready') this.sub.unsubscribe(channel).catch((err: Error) => this.logError('redis unsubscribe failed', err));
  }

  async publish(document: string, message: BusMessage): Promise<number | null> {
    if (this.pub.status !== 'ready') {
      this.metrics.busMessages.inc({ direction: 'dropped' });
      return null;
    }
    try {
      const bytes = encodeBusMessage(message);
      const receivers = await this.pub.publish(channelOf(document), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      this.metrics.busMessages.inc({ direction: 'out' });
      return receivers;
    } catch (err) {
      this.metrics.busMessages.inc({ direction: 'dropped' });
      this.logError('redis publish failed', err as Error);
      return null;
    }
  }

  send(document: string, message: BusMessage): void {
    void this.publish(document, message);
  }

  async acquireFreeze(document: string, lockId: string, ttlMs: number): Promise<boolean> {
    if (this.pub.status !== 'ready') return false;
    try {
      return (await this.pub.set(freezeKeyOf(document), lockId, 'PX', ttlMs, 'NX')) === 'OK';
    } catch (err) {
      this.logError('redis SET failed', err as Error);
      return false;
    }
  }

  releaseFreeze(document: string, lockId: string): void {
    if (this.pub.status !== 'ready') return; // it expires by itself
    // Delete only our own marker (compare-and-delete in one step).
    this.pub
      .eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        freezeKeyOf(document),
        lockId,
      )
      .catch((err: Error) => this.logError('redis freeze release failed', err));
  }

  async freezeInProgress(document: string): Promise<string | null> {
    if (this.pub.status !== 'ready') return null;
    try {
      return await this.pub.get(freezeKeyOf(document));
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    this.metrics.busConnected.set(0);
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
