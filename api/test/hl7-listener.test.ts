/**
 * The MLLP edge: framing faults, oversize and silent connections end that connection (audited,
 * repeats folded) and never another; senders outside the allow-list are refused at connect; frames
 * split or packed any way across TCP writes are read exactly.
 */
import net from 'node:net';
import { Hl7Message } from '@medplum/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MllpFramer, MllpFramingError, mllpFrame } from '../src/hl7/mllp-framer';
import { createTestApp, type TestApp } from './support/app';
import { ackOf, answersIn, FS, framed, rawExchange, sample, uniqueOrderValues, VT } from './support/hl7';

/** A small deterministic generator (mulberry32), so a failing split can be replayed from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MLLP framer', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('reads frames back exactly however the stream is cut (seed %i)', (seed) => {
    const random = seeded(seed);
    const payloads = Array.from({ length: 20 }, (_, i) => Buffer.from(`MSH|^~\\&|${'x'.repeat(Math.floor(random() * 500))}|${i}`));
    const stream = Buffer.concat(
      payloads.map((p, i) => Buffer.concat([i % 3 === 0 ? Buffer.from('\r\n') : Buffer.alloc(0), mllpFrame(p)])),
    );
    const framer = new MllpFramer(4096);
    const out: Buffer[] = [];
    for (let at = 0; at < stream.length; ) {
      const size = 1 + Math.floor(random() * 64);
      out.push(...framer.push(stream.subarray(at, at + size)));
      at += size;
    }
    expect(out.map(String)).toEqual(payloads.map(String));
    expect(framer.pendingBytes).toBe(0);
  });

  it.each([
    ['bytes before the start byte', [Buffer.from('MSH|x')], 'bytes-outside-frame'],
    ['FS followed by something else than CR', [Buffer.from([VT, 0x41, FS, 0x41])], 'broken-end-marker'],
    ['FS at a chunk end, then no CR', [Buffer.from([VT, 0x41, FS]), Buffer.from([VT])], 'broken-end-marker'],
    [
      'a frame that grows past the limit without ending',
      [Buffer.concat([Buffer.from([VT]), Buffer.alloc(600, 0x41)]), Buffer.alloc(600, 0x41)],
      'oversize',
    ],
  ])('refuses %s', (_label, chunks, problem) => {
    const framer = new MllpFramer(1024);
    const push = () => {
      for (const chunk of chunks) framer.push(chunk);
    };
    expect(push).toThrow(MllpFramingError);
    try {
      push();
    } catch (error) {
      expect((error as MllpFramingError).problem).toBe(problem);
    }
  });
});

describe('MLLP listener', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({
      PACS_HL7_PORT: '0',
      PACS_HL7_MAX_MESSAGE_BYTES: '2048',
      PACS_HL7_IDLE_TIMEOUT_SECONDS: '1',
      PACS_HL7_MAX_CONNECTIONS: '4',
      PACS_AUDIT_FOLD_SECONDS: '1',
    });
    port = await t.app.hl7.listen();
  });
  afterAll(async () => {
    await t?.close();
  });

  const validOrder = () => {
    const v = uniqueOrderValues();
    return { v, text: sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' }) };
  };

  async function refusalsOf(refusal: string): Promise<number> {
    const rows = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', objectType: 'HL7Connection' }, raw: true });
    return rows
      .map((row) => JSON.parse(row.details ?? '{}') as { refusal?: string; count?: number })
      .filter((details) => details.refusal === refusal)
      .reduce((sum, details) => sum + (details.count ?? 1), 0);
  }

  it.each([
    ['text outside a frame', () => [Buffer.from('GET / HTTP/1.1\r\n\r\n')], 'bytes-outside-frame'],
    ['a broken end marker', () => [Buffer.from([VT, 0x4d, 0x53, 0x48, FS, 0x41])], 'broken-end-marker'],
    ['a message over PACS_HL7_MAX_MESSAGE_BYTES', () => [framed(`${validOrder().text}${'Z'.repeat(4000)}`)], 'oversize'],
    ['a frame that never ends', () => [Buffer.concat([Buffer.from([VT]), Buffer.alloc(3000, 0x41)])], 'oversize'],
    ['a connection that sends nothing', () => [], 'idle'],
    ['half a message, then silence', () => [Buffer.from([VT, 0x4d, 0x53, 0x48])], 'idle'],
  ])('%s: the connection is closed without an answer, audited, and the next sender is served', async (_label, chunks, refusal) => {
    const before = await refusalsOf(refusal);
    const broken = await rawExchange(port, chunks(), { waitMs: 15_000 });
    expect(broken.closedByServer).toBe(true);
    expect(answersIn(broken.received)).toEqual([]);
    await expect.poll(() => refusalsOf(refusal), { timeout: 15_000 }).toBe(before + 1);
    const { v, text } = validOrder();
    const next = await rawExchange(port, [framed(text)], { expectFrames: 1 });
    expect(ackOf(Hl7Message.parse(answersIn(next.received)[0]!))).toMatchObject({ code: 'AA', controlId: v.CONTROL });
  });

  it('answers messages packed into one write, and one written a byte at a time, in order', async () => {
    const first = validOrder();
    const second = validOrder();
    const packed = await rawExchange(port, [Buffer.concat([framed(first.text), framed(second.text)])], { expectFrames: 2 });
    expect(answersIn(packed.received).map((a) => ackOf(Hl7Message.parse(a)).controlId)).toEqual([first.v.CONTROL, second.v.CONTROL]);
    const third = validOrder();
    const bytes = framed(third.text);
    const trickle = await rawExchange(
      port,
      Array.from(bytes, (byte) => Buffer.from([byte])),
      { expectFrames: 1 },
    );
    expect(ackOf(Hl7Message.parse(answersIn(trickle.received)[0]!))).toMatchObject({ code: 'AA', controlId: third.v.CONTROL });
  });

  it('refuses connections past PACS_HL7_MAX_CONNECTIONS while others are open, and serves again when they close', async () => {
    const before = await refusalsOf('too-many-connections');
    const open = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
          }),
      ),
    );
    await expect.poll(() => t.app.hl7.connections, { timeout: 10_000 }).toBe(4);
    const refused = await rawExchange(port, [framed(validOrder().text)], { waitMs: 10_000 });
    expect(refused.closedByServer).toBe(true);
    expect(answersIn(refused.received)).toEqual([]);
    for (const socket of open) socket.destroy();
    await expect.poll(() => t.app.hl7.connections, { timeout: 10_000 }).toBe(0);
    const { v, text } = validOrder();
    const served = await rawExchange(port, [framed(text)], { expectFrames: 1 });
    expect(ackOf(Hl7Message.parse(answersIn(served.received)[0]!)).controlId).toBe(v.CONTROL);
    await expect.poll(() => refusalsOf('too-many-connections'), { timeout: 10_000 }).toBe(before + 1);
  });
});

describe('MLLP sender allow-list', () => {
  it('refuses a sender outside PACS_HL7_ALLOWED_SENDERS at connect; a flood of them folds into a few audit rows that count every one', async () => {
    const t = await createTestApp({ PACS_HL7_PORT: '0', PACS_HL7_ALLOWED_SENDERS: '192.0.2.0/24', PACS_AUDIT_FOLD_SECONDS: '1' });
    try {
      const port = await t.app.hl7.listen();
      const attempts = 40;
      for (let i = 0; i < attempts; i++) {
        const attempt = await rawExchange(
          port,
          [framed(sample('orm-o01-control.hl7', { ...uniqueOrderValues(), ORDER_CONTROL: 'NW', PRIORITY: 'R' }))],
          {
            waitMs: 10_000,
          },
        );
        expect(attempt.closedByServer).toBe(true);
        expect(attempt.received.length).toBe(0);
      }
      const rows = async () =>
        t.app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', objectType: 'HL7Connection' }, raw: true });
      const counted = async () =>
        (await rows()).reduce((sum, row) => sum + ((JSON.parse(row.details!) as { count: number }).count ?? 0), 0);
      await expect.poll(counted, { timeout: 15_000 }).toBe(attempts);
      expect((await rows()).length).toBeLessThanOrEqual(4);
      expect(await t.app.db.models.Order.count()).toBe(0);
      expect(await t.app.db.models.Hl7Message.count()).toBe(0);
    } finally {
      await t.close();
    }
  });
});
