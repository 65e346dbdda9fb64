/**
 * One authorised WebSocket connection to one document (the y-websocket protocol binds a socket to
 * exactly one document, so "documents per connection" is 1 by construction: LIMIT-3).
 *
 * Limits after auth (LIMIT-1, LIMIT-2): frame size and a token bucket of messages per second.
 * A frame that does not decode closes this connection only, with CLOSE_CODES.protocolError
 * (PROTO-2); nothing it carried is applied.
 */
import { CLOSE_CODES } from '@pacs/shared';
import type { WebSocket } from 'ws';
import * as Y from 'yjs';
import type { SyncDocument } from './documents';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Peer } from './peer';
import { type ClientMessage, decodeClientMessage, encodeSyncStep1, encodeSyncStep2, ProtocolError } from './protocol';

export interface ConnectionLimits {
  maxMessageBytes: number;
  maxMessagesPerSecond: number;
  /** Messages queued while the document loads. */
  maxQueuedMessages: number;
  /** Close a peer whose unsent data exceeds this (slow consumer). */
  maxBufferedBytes: number;
}

export interface ConnectionInfo {
  userId: string;
  userName: string;
  role: string;
  mode: 'rw' | 'ro';
  document: string;
}

let nextId = 1;
const PING_INTERVAL_MS = 30_000;
/** PRES-4: query-awareness answers per connection: at most one per this interval, later ones coalesced. */
export const AWARENESS_QUERY_INTERVAL_MS = 1_000;

/** Token bucket: `rate` tokens per second, bursts up to 2 × rate. */
export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly rate: number) {
    this.tokens = rate * 2;
  }
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.rate * 2, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Connection implements Peer {
  readonly id = nextId++;
  readonly userId: string;
  readonly userName: string;
  readonly role: string;
  readonly document: string;
  mode: 'rw' | 'ro';
  private doc: SyncDocument | null = null;
  private queue: Uint8Array[] = [];
  private closed = false;
  private readonly limiter: RateLimiter;
  private alive = true;
  private readonly ping: NodeJS.Timeout;
  private lastAwarenessAnswer = 0;
  private awarenessAnswerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket,
    info: ConnectionInfo,
    private readonly limits: ConnectionLimits,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onClosed: (conn: Connection) => void,
  ) {
    this.userId = info.userId;
    this.userName = info.userName;
    this.role = info.role;
    this.document = info.document;
    this.mode = info.mode;
    this.limiter = new RateLimiter(limits.maxMessagesPerSecond);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => this.cleanup());
    ws.on('error', (err) => this.log.debug('socket error', { conn: this.id, err }));
    ws.on('pong', () => {
      this.alive = true;
    });
    this.ping = setInterval(() => {
      if (!this.alive) {
        this.ws.terminate();
        return;
      }
      this.alive = false;
      this.ws.ping();
    }, PING_INTERVAL_MS);
    this.ping.unref();
  }

  /** The document is loaded: start the handshake (server's sync step 1) and drain the queue. */
  attach(doc: SyncDocument): void {
    if (this.closed) return;
    this.doc = doc;
    doc.addPeer(this);
    this.send(encodeSyncStep1(Y.encodeStateVector(doc.doc)));
    const awareness = doc.awarenessMessage();
    if (awareness) this.send(awareness);
    if (doc.lock) doc.notify({ type: 'locked', reportId: doc.reportId, lockedAt: doc.lock.lockedAt.toISOString() }, this);
    const queued = this.queue;
    this.queue = [];
    for (const frame of queued) {
      if (this.closed) return;
      this.handle(frame);
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (data.byteLength > this.limits.maxMessageBytes) {
      this.reject('message-too-large', CLOSE_CODES.messageTooLarge, 'message too large');
      return;
    }
    if (!this.limiter.take()) {
      this.reject('rate-limited', CLOSE_CODES.rateLimited, 'too many messages');
      return;
    }
    if (!isBinary) {
      this.protocolError('text frame');
      return;
    }
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!this.doc) {
      if (this.queue.length >= this.limits.maxQueuedMessages) {
        this.reject('rate-limited', CLOSE_CODES.rateLimited, 'too many messages before the document loaded');
        return;
      }
      this.queue.push(frame);
      return;
    }
    this.handle(frame);
  }

  private handle(frame: Uint8Array): void {
    const doc = this.doc!;
    let message: ClientMessage;
    try {
      message = decodeClientMessage(frame);
    } catch (err) {
      this.protocolError(err instanceof Error ? err.message : 'malformed');
      return;
    }
    this.metrics.counts.messages[message.kind]++;
    try {
      switch (message.kind) {
        case 'sync-step1':
          this.send(encodeSyncStep2(doc.diffFor(message.stateVector)));
          break;
        case 'sync-update':
          // Fully decoded before anything is applied: a malformed update changes nothing.
          Y.decodeUpdate(message.update);
          doc.receiveUpdate(this, message.update);
          break;
        case 'awareness':
          doc.applyAwareness(this, message.update);
          break;
        case 'query-awareness':
          this.answerAwarenessQuery();
          break;
      }
    } catch (err) {
      this.protocolError(err instanceof ProtocolError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : 'invalid');
    }
  }

  /**
   * PRES-4: each answer carries every presence state of the document, so a flood of one-byte
   * queries was a bandwidth amplifier. One answer per interval; queries meanwhile share the next.
   */
  private answerAwarenessQuery(): void {
    if (this.awarenessAnswerTimer) {
      this.metrics.awarenessDropped.inc({ reason: 'query-coalesced' });
      return;
    }
    const send = () => {
      this.awarenessAnswerTimer = null;
      this.lastAwarenessAnswer = performance.now();
      const awareness = this.doc?.awarenessMessage();
      if (awareness) this.send(awareness);
    };
    const wait = this.lastAwarenessAnswer + AWARENESS_QUERY_INTERVAL_MS - performance.now();
    if (this.lastAwarenessAnswer === 0 || wait <= 0) send();
    else this.awarenessAnswerTimer = setTimeout(send, wait);
  }

  private protocolError(detail: string): void {
    this.metrics.protocolErrors.inc();
    this.log.warn('malformed message; closing the connection', { conn: this.id, user: this.userId, detail: detail.slice(0, 200) });
    this.close(CLOSE_CODES.protocolError, 'protocol error');
  }

  private reject(reason: string, code: number, message: string): void {
    this.metrics.connectionsRejected.inc({ reason });
    this.log.warn('connection limit exceeded; closing', { conn: this.id, user: this.userId, reason });
    this.close(code, message);
  }

  /** REVOKE-2: from now on nothing this connection sends is applied; it is told so. */
  makeReadOnly(): boolean {
    if (this.closed || this.mode === 'ro') return false;
    this.mode = 'ro';
    this.doc?.notify({ type: 'read-only', reportId: this.doc.reportId }, this);
    return true;
  }

  send(message: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.reject('slow-consumer', CLOSE_CODES.rateLimited, 'client too slow');
      return;
    }
    this.ws.send(message, this.afterSend);
  }

  /** One callback for every send, not a closure per message. */
  private readonly afterSend = (err?: Error | null): void => {
    if (err) this.cleanup();
  };

  close(code: number, reason: string): void {
    if (this.closed) return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    this.cleanup();
  }

  /** Immediate teardown without a close frame (simulated crash in tests). */
  terminate(): void {
    this.ws.terminate();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ping);
    if (this.awarenessAnswerTimer) clearTimeout(this.awarenessAnswerTimer);
    this.awarenessAnswerTimer = null;
    this.queue = [];
    this.doc?.removePeer(this);
    this.onClosed(this);
  }
}
