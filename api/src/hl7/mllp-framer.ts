/**
 * MLLP framing (HL7 v2 over TCP): each message is `<VT> bytes <FS><CR>`. Bytes arrive in chunks
 * that may hold part of a message, several messages, or a frame's end split from its start; the
 * framer hands out whole frames and refuses what no well-behaved sender writes: bytes outside a
 * frame (other than line ends some senders put between frames), an end marker without its CR, or
 * a frame larger than the limit (refused as soon as it grows past it, not after it was buffered).
 */

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;
const LF = 0x0a;

export type MllpFramingProblem = 'bytes-outside-frame' | 'broken-end-marker' | 'oversize';

export class MllpFramingError extends Error {
  override name = 'MllpFramingError';
  constructor(
    readonly problem: MllpFramingProblem,
    message: string,
  ) {
    super(message);
  }
}

export class MllpFramer {
  private inFrame = false;
  private parts: Buffer[] = [];
  private size = 0;
  /** The previous chunk ended on FS: its CR is the first byte of the next chunk. */
  private endPending = false;

  constructor(private readonly maxFrameBytes: number) {}

  /** Frames completed by this chunk, in order. Throws MllpFramingError; the connection should then close. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.endPending) {
        if (chunk[at] !== CR) throw new MllpFramingError('broken-end-marker', 'end of frame (FS) not followed by CR');
        this.endPending = false;
        this.inFrame = false;
        frames.push(this.take());
        at += 1;
        continue;
      }
      if (!this.inFrame) {
        const byte = chunk[at]!;
        if (byte === CR || byte === LF) {
          at += 1;
          continue;
        }
        if (byte !== VT) throw new MllpFramingError('bytes-outside-frame', 'data outside an MLLP frame (expected VT)');
        this.inFrame = true;
        at += 1;
        continue;
      }
      const end = chunk.indexOf(FS, at);
      const stop = end === -1 ? chunk.length : end;
      this.append(chunk.subarray(at, stop));
      if (end === -1) break;
      this.endPending = true;
      at = end + 1;
    }
    return frames;
  }

  /** Bytes of an unfinished frame (0 between frames). */
  get pendingBytes(): number {
    return this.size;
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.size += bytes.length;
    if (this.size > this.maxFrameBytes) {
      throw new MllpFramingError('oversize', `message larger than ${this.maxFrameBytes} bytes`);
    }
    this.parts.push(bytes);
  }

  private take(): Buffer {
    const frame = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return frame;
  }
}

/** One message in an MLLP frame, as a sender writes it. */
export function mllpFrame(payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(payload.length + 3);
  framed[0] = VT;
  payload.copy(framed, 1);
  framed[payload.length + 1] = FS;
  framed[payload.length + 2] = CR;
  return framed;
}
