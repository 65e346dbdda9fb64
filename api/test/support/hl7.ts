/**
 * HL7 samples and an independent MLLP peer for tests: messages are sent with @medplum/hl7's client
 * (its own framing and encoding, not ours), or as raw bytes over a socket for framing faults.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'hl7');

export interface SampleValues {
  CONTROL: string;
  MRN: string;
  PLACER: string;
  FILLER: string;
  ACCESSION: string;
  STUDY_UID: string;
  [placeholder: string]: string;
}

/** Values unique to one test, for a sample's placeholders. */
export function uniqueOrderValues(): SampleValues {
  const tag = randomBytes(4).toString('hex').toUpperCase();
  return {
    CONTROL: `C${tag}`,
    MRN: `MRN${tag}`,
    PLACER: `P${tag}`,
    FILLER: `F${tag}`,
    ACCESSION: `A${tag}`,
    STUDY_UID: `1.2.826.0.1.3680043.10.1234.${Number.parseInt(tag, 16)}`,
  };
}

/** A sample's text, segments joined with CR, placeholders filled. Throws on a placeholder left unfilled. */
export function sample(name: string, values: Record<string, string>): string {
  const text = readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .join('\r')
    .replace(/\{\{(\w+)\}\}/g, (_whole, key: string) => {
      const value = values[key];
      if (value === undefined) throw new Error(`${name}: no value for {{${key}}}`);
      return value;
    });
  return `${text}\r`;
}

/** Sends one message with the independent client and returns the acknowledgement it received. */
export async function sendWithClient(port: number, text: string, encoding = 'utf-8'): Promise<Hl7Message> {
  const client = new Hl7Client({ host: '127.0.0.1', port, encoding, connectTimeout: 10_000 });
  try {
    return await client.sendAndWait(Hl7Message.parse(text), { timeoutMs: 20_000 });
  } finally {
    await client.close();
  }
}

/** MSA-1, MSA-3 and ERR-3.1 of an acknowledgement. */
export function ackOf(ack: Hl7Message): { code: string; text: string; errorCode: string; controlId: string } {
  const msa = ack.getSegment('MSA');
  return {
    code: msa?.getField(1)?.toString() ?? '',
    controlId: msa?.getField(2)?.toString() ?? '',
    text: msa?.getField(3)?.toString() ?? '',
    errorCode: ack.getSegment('ERR')?.getField(3)?.getComponent(1) ?? '',
  };
}

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export function framed(payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([Buffer.from([VT]), bytes, Buffer.from([FS, CR])]);
}

export interface RawExchange {
  /** Everything the server sent. */
  received: Buffer;
  /** The server closed the connection (within the wait). */
  closedByServer: boolean;
}

/**
 * Writes `chunks` over one connection (one write each), then waits until the server has sent
 * `expectFrames` framed answers, or closed the connection, or `waitMs` passed.
 */
export function rawExchange(
  port: number,
  chunks: Buffer[],
  options: { expectFrames?: number; waitMs?: number } = {},
): Promise<RawExchange> {
  const { expectFrames = 0, waitMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(parts), closedByServer });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    socket.on('data', (data) => {
      parts.push(data);
      const frames = Buffer.concat(parts).filter((byte) => byte === FS).length;
      if (expectFrames > 0 && frames >= expectFrames) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET') finish(true);
      else if (!done) reject(error);
    });
  });
}

/** The framed answers in what a server sent, as text. */
export function answersIn(received: Buffer, encoding: BufferEncoding = 'utf8'): string[] {
  const answers: string[] = [];
  let start = received.indexOf(VT);
  while (start !== -1) {
    const end = received.indexOf(FS, start);
    if (end === -1) break;
    answers.push(received.subarray(start + 1, end).toString(encoding));
    start = received.indexOf(VT, end);
  }
  return answers;
}
