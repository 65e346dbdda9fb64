/**
 * The bus message format (SCALE-7): every message type survives the trip byte for byte, type
 * numbers are fixed, and anything an instance cannot read — another version, an unknown type,
 * truncated, trailing bytes — is refused whole; on a real Redis it is dropped, logged and counted
 * while the messages after it still arrive.
 */
import { Redis } from 'ioredis';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log';
import { createMetrics } from '../src/metrics';
import { BUS_MESSAGE_TYPES, BUS_PROTOCOL_VERSION, type BusMessage, decodeBusMessage, encodeBusMessage } from '../src/scale-out/bus';
import { RedisBus } from '../src/scale-out/redis-bus';
import { waitFor } from './helpers';
import { startRedis } from './redis';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const bytes = (...values: number[]) => new Uint8Array(values);

/** One message of every type, with values that exercise the encodings (multi-byte varints, non-ASCII, zero-length). */
const EVERY_TYPE: BusMessage[] = [
  { t: 'update', from: 'instance-a', seq: 300, update: bytes(1, 2, 3), author: { userId: 'u-1', userName: 'Dr Müller' } },
  { t: 'update', from: 'instance-a', seq: 1, update: bytes(1), author: null },
  { t: 'awareness', from: 'instance-a', update: bytes(0) },
  { t: 'sync1', from: 'instance-a', stateVector: bytes(1, 200, 1), askBack: true },
  { t: 'sync1', from: 'instance-a', stateVector: bytes(0), askBack: false },
  { t: 'sync2', from: 'instance-b', to: 'instance-a', seq: Number.MAX_SAFE_INTEGER, update: bytes(0, 0) },
  { t: 'stored', from: 'instance-b', seq: 0 },
  { t: 'freeze', from: 'instance-a', lockId: 'lock-é', stateVector: bytes(1, 5, 9) },
  { t: 'ack', from: 'instance-b', to: 'instance-a', lockId: 'lock-é', update: new Uint8Array(0) },
  { t: 'locked', from: 'instance-a', lockId: 'lock-é', lockedBy: 'Dr Müller', lockedAt: 1_765_000_000_123, stateVector: bytes(1, 5, 9) },
  { t: 'release', from: 'instance-a', lockId: 'lock-é' },
  { t: 'unlocked', from: 'instance-a' },
  { t: 'late', from: 'instance-b', update: bytes(7, 7) },
];

describe('bus message format (SCALE-7)', () => {
  it.each(EVERY_TYPE.map((m) => [m.t, m] as const))('SCALE-7: %s survives encoding and decoding unchanged', (_t, message) => {
    const encoded = encodeBusMessage(message);
    expect(encoded[0]).toBe(BUS_PROTOCOL_VERSION);
    expect(encoded[1]).toBe(BUS_MESSAGE_TYPES[message.t]);
    expect(decodeBusMessage(encoded)).toEqual(message);
  });

  it('SCALE-7: type numbers are the published ones (renumbering would make instances misread each other)', () => {
    expect(BUS_PROTOCOL_VERSION).toBe(2);
    expect(BUS_MESSAGE_TYPES).toEqual({
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
    });
    expect(new Set(Object.values(BUS_MESSAGE_TYPES)).size).toBe(Object.keys(BUS_MESSAGE_TYPES).length);
  });

  const valid = encodeBusMessage({
    t: 'update',
    from: 'instance-a',
    seq: 1,
    update: bytes(1, 2, 3),
    author: { userId: 'u', userName: 'n' },
  });
  const frame = (write: (e: encoding.Encoder) => void) => {
    const e = encoding.createEncoder();
    write(e);
    return encoding.toUint8Array(e);
  };
  const HOSTILE: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /./],
    ['another version', Uint8Array.from([BUS_PROTOCOL_VERSION + 1, ...valid.subarray(1)]), /version 3/],
    ['version 1 (updates without their author)', Uint8Array.from([1, ...valid.subarray(1)]), /version 1/],
    ['version 0 (before versions existed: the first byte was the type)', Uint8Array.from([0, ...valid.subarray(1)]), /version 0/],
    [
      'unknown type',
      frame((e) => {
        encoding.writeUint8(e, BUS_PROTOCOL_VERSION);
        encoding.writeVarUint(e, 99);
        encoding.writeVarString(e, 'x');
      }),
      /unknown bus message type/,
    ],
    ['truncated in the payload', valid.subarray(0, valid.length - 2), /./],
    ['truncated varint', bytes(BUS_PROTOCOL_VERSION, 0x80), /./],
    ['trailing bytes', Uint8Array.from([...valid, 0]), /trailing bytes/],
    [
      'length beyond the frame',
      frame((e) => {
        encoding.writeUint8(e, BUS_PROTOCOL_VERSION);
        encoding.writeVarUint(e, BUS_MESSAGE_TYPES.late);
        encoding.writeVarString(e, 'x');
        encoding.writeVarUint(e, 0xffffffff);
      }),
      /./,
    ],
  ];
  it.each(HOSTILE)('SCALE-7: %s is refused whole', (_name, input, reason) => {
    expect(() => decodeBusMessage(input)).toThrow(reason);
  });

  it('SCALE-7: on Redis, a message of another version is dropped, logged and counted; the next one arrives', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.kill());
    const lines: string[] = [];
    const metrics = createMetrics();
    const bus = new RedisBus(
      redis.url,
      createLogger('warn', (line) => lines.push(line)),
      metrics,
    );
    cleanups.push(() => bus.close());
    await waitFor(() => bus.connected, 'bus connected');
    const received: BusMessage[] = [];
    await bus.join('report:format-test', (m) => received.push(m));
    const raw = new Redis(redis.url);
    cleanups.push(() => void raw.disconnect());
    const channel = 'pacs:sync:doc:report:format-test';
    const future = Uint8Array.from([BUS_PROTOCOL_VERSION + 1, ...valid.subarray(1)]);
    await raw.publish(channel, Buffer.from(future));
    await raw.publish(channel, Buffer.from(valid));
    await waitFor(() => received.length === 1, 'the valid message after the dropped one');
    expect(received[0]).toEqual(decodeBusMessage(valid));
    const dropped = (await metrics.busMessages.get()).values.find((v) => v.labels.direction === 'dropped');
    expect(dropped?.value).toBe(1);
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'malformed bus message dropped');
    expect(warning?.err?.message).toMatch(new RegExp(`version ${BUS_PROTOCOL_VERSION + 1}`));
  });
});
