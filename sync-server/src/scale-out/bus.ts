/**
 * The scale-out seam (SPEC.md SCALE-*): what the document layer needs from a message bus shared by
 * every sync-server instance. `RedisBus` (redis-bus.ts) implements it over Redis pub/sub; without
 * `PACS_SYNC_REDIS_URL` no bus exists and the server is the single instance it always was.
 *
 * One channel per document. Messages of one publisher on one channel arrive in order (Redis
 * pub/sub guarantees it per connection), which the lock protocol relies on: an instance's updates
 * reach every peer before its answer to a freeze.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export type BusMessage =
  /**
   * An update a client of `from` sent; `seq` numbers `from`'s own updates of this document;
   * `author` is the user whose token sent it (AUTHOR-1), null for none (a seed has the template's).
   */
  | { t: 'update'; from: string; seq: number; update: Uint8Array; author: { userId: string; userName: string } | null }
  | { t: 'awareness'; from: string; update: Uint8Array }
  /**
   * "Here is my state vector": every peer answers with `sync2` (and its awareness), and with its
   * own `sync1` (not asking back again) when `askBack`: after Redis returns, the instance that
   * resubscribed last may have missed the other's first `sync1`.
   */
  | { t: 'sync1'; from: string; stateVector: Uint8Array; askBack: boolean }
  /** The difference asked for; `seq` is the sender's own sequence number then (informational). */
  | { t: 'sync2'; from: string; to: string; seq: number; update: Uint8Array }
  /** `from` has stored all of its own updates up to `seq` in the database. */
  | { t: 'stored'; from: string; seq: number }
  /** Lock protocol: stop applying client updates and answer with what I lack. */
  | { t: 'freeze'; from: string; lockId: string; stateVector: Uint8Array }
  | { t: 'ack'; from: string; to: string; lockId: string; update: Uint8Array }
  | { t: 'locked'; from: string; lockId: string; lockedBy: string; lockedAt: number; stateVector: Uint8Array }
  | { t: 'release'; from: string; lockId: string }
  | { t: 'unlocked'; from: string }
  /** A late edit stored by `from` (so every instance dedupes replays, LOCK-6). */
  | { t: 'late'; from: string; update: Uint8Array };

export type BusHandler = (message: BusMessage) => void;

export interface DocumentBus {
  /** Unique per process; messages carry it so an instance recognises its own. */
  readonly instanceId: string;
  /** True while both Redis connections are up. */
  readonly connected: boolean;
  /**
   * Subscribes to a document's channel; `handler` gets every message, in order, including this
   * instance's own. Resolves once subscribed (at once when the bus is down: the subscription is
   * made on reconnect, followed by a resync).
   */
  join(document: string, handler: BusHandler): Promise<void>;
  leave(document: string): void;
  /** Resolves with the number of subscribers that received it (self included), null when the bus is down. */
  publish(document: string, message: BusMessage): Promise<number | null>;
  /** Fire and forget (errors are counted and logged by the bus). */
  send(document: string, message: BusMessage): void;
  /** Takes the document's freeze marker (SET NX PX); false when another instance holds it or the bus is down. */
  acquireFreeze(document: string, lockId: string, ttlMs: number): Promise<boolean>;
  releaseFreeze(document: string, lockId: string): void;
  /** The lock id of a freeze in progress, or null (also when the bus is down). */
  freezeInProgress(document: string): Promise<string | null>;
  /** Called after every (re)connection, once both connections are ready and channels re-subscribed. */
  onReconnect(fn: () => void): void;
  close(): Promise<void>;
}

/**
 * Version of the encoding below, the first byte of every message. Instances of different versions
 * (a rolling upgrade) drop each other's messages instead of misreading them; the database still
 * holds everything each stores, and clients resend what they hold when they reconnect.
 */
export const BUS_PROTOCOL_VERSION = 2;

/** The number each message type travels as. Numbers are never reused or renumbered within a version. */
export const BUS_MESSAGE_TYPES = {
  update: 0,
  awareness: 1,
  sync1: 2,
  sync2: 3,
  stored: 4,
  freeze: 5,
  ack: 6,
  locked: 7,
  release: 8,
  unlocked: 9,
  late: 10,
} as const satisfies Record<BusMessage['t'], number>;

const TYPE_BY_NUMBER = new Map<number, BusMessage['t']>(
  Object.entries(BUS_MESSAGE_TYPES).map(([name, number]) => [number, name as BusMessage['t']]),
);

export function encodeBusMessage(m: BusMessage): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeUint8(e, BUS_PROTOCOL_VERSION);
  encoding.writeVarUint(e, BUS_MESSAGE_TYPES[m.t]);
  encoding.writeVarString(e, m.from);
  switch (m.t) {
    case 'update':
      encoding.writeVarUint(e, m.seq);
      encoding.writeVarUint8Array(e, m.update);
      encoding.writeUint8(e, m.author ? 1 : 0);
      if (m.author) {
        encoding.writeVarString(e, m.author.userId);
        encoding.writeVarString(e, m.author.userName);
      }
      break;
    case 'awareness':
    case 'late':
      encoding.writeVarUint8Array(e, m.update);
      break;
    case 'sync1':
      encoding.writeVarUint8Array(e, m.stateVector);
      encoding.writeUint8(e, m.askBack ? 1 : 0);
      break;
    case 'sync2':
      encoding.writeVarString(e, m.to);
      encoding.writeVarUint(e, m.seq);
      encoding.writeVarUint8Array(e, m.update);
      break;
    case 'stored':
      encoding.writeVarUint(e, m.seq);
      break;
    case 'freeze':
      encoding.writeVarString(e, m.lockId);
      encoding.writeVarUint8Array(e, m.stateVector);
      break;
    case 'ack':
      encoding.writeVarString(e, m.to);
      encoding.writeVarString(e, m.lockId);
      encoding.writeVarUint8Array(e, m.update);
      break;
    case 'locked':
      encoding.writeVarString(e, m.lockId);
      encoding.writeVarString(e, m.lockedBy);
      encoding.writeFloat64(e, m.lockedAt);
      encoding.writeVarUint8Array(e, m.stateVector);
      break;
    case 'release':
      encoding.writeVarString(e, m.lockId);
      break;
    case 'unlocked':
      break;
  }
  return encoding.toUint8Array(e);
}

/** Throws on anything malformed (the bus logs and drops it). */
export function decodeBusMessage(bytes: Uint8Array): BusMessage {
  const d = decoding.createDecoder(bytes);
  const version = decoding.readUint8(d);
  if (version !== BUS_PROTOCOL_VERSION) throw new Error(`bus message version ${version}, this instance speaks ${BUS_PROTOCOL_VERSION}`);
  const t = TYPE_BY_NUMBER.get(decoding.readVarUint(d));
  const from = decoding.readVarString(d);
  let m: BusMessage;
  switch (t) {
    case 'update': {
      const seq = decoding.readVarUint(d);
      const update = decoding.readVarUint8Array(d);
      const author = decoding.readUint8(d) === 1 ? { userId: decoding.readVarString(d), userName: decoding.readVarString(d) } : null;
      m = { t, from, seq, update, author };
      break;
    }
    case 'awareness':
    case 'late':
      m = { t, from, update: decoding.readVarUint8Array(d) };
      break;
    case 'sync1':
      m = { t, from, stateVector: decoding.readVarUint8Array(d), askBack: decoding.readUint8(d) === 1 };
      break;
    case 'sync2':
      m = { t, from, to: decoding.readVarString(d), seq: decoding.readVarUint(d), update: decoding.readVarUint8Array(d) };
      break;
    case 'stored':
      m = { t, from, seq: decoding.readVarUint(d) };
      break;
    case 'freeze':
      m = { t, from, lockId: decoding.readVarString(d), stateVector: decoding.readVarUint8Array(d) };
      break;
    case 'ack':
      m = { t, from, to: decoding.readVarString(d), lockId: decoding.readVarString(d), update: decoding.readVarUint8Array(d) };
      break;
    case 'locked':
      m = {
        t,
        from,
        lockId: decoding.readVarString(d),
        lockedBy: decoding.readVarString(d),
        lockedAt: decoding.readFloat64(d),
        stateVector: decoding.readVarUint8Array(d),
      };
      break;
    case 'release':
      m = { t, from, lockId: decoding.readVarString(d) };
      break;
    case 'unlocked':
      m = { t, from };
      break;
    default:
      throw new Error('unknown bus message type');
  }
  if (decoding.hasContent(d)) throw new Error('trailing bytes in bus message');
  return m;
}
