/**
 * The MLLP server: TCP connections from the hospital's interface engine, each a stream of framed
 * HL7 messages answered one by one, in order (a sender waits for each ACK; one that does not is
 * read no further while answers are owed). MLLP has no authentication, so a connection is taken
 * only from an allowed address; framing faults, oversize messages and silent connections end the
 * connection. Each such refusal is reported (for the audit trail); one connection's fault never
 * touches another's.
 */
import net, { type BlockList } from 'node:net';
import { isListed, normaliseAddress } from '@pacs/server-kit/address-list';
import { MllpFramer, MllpFramingError, mllpFrame } from './mllp-framer';

export interface MllpListenerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  /** A connection that sends nothing (no byte) for this long is closed. */
  idleTimeoutMs: number;
  allowedSenders: BlockList;
  maxConnections: number;
}

export type ConnectionRefusal = 'sender-not-allowed' | 'too-many-connections' | 'idle' | MllpFramingError['problem'];

export interface MllpEvents {
  /** One message's bytes → the answer's bytes (unframed). Must not throw: it answers errors itself. */
  message(frame: Buffer, peer: string): Promise<Buffer>;
  refused(peer: string, refusal: ConnectionRefusal): void;
}

/** Frames waiting for their answer before the connection is read no further. */
const MAX_QUEUED = 32;

export class MllpListener {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly options: MllpListenerOptions,
    private readonly events: MllpEvents,
  ) {}

  /** Listens; resolves with the port (useful with port 0). */
  start(): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting, lets answers in progress finish for up to `graceMs`, then closes the rest. */
  async stop(graceMs = 5_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private accept(socket: net.Socket): void {
    const peer = normaliseAddress(socket.remoteAddress ?? '');
    if (!isListed(this.options.allowedSenders, peer)) {
      this.events.refused(peer, 'sender-not-allowed');
      socket.destroy();
      return;
    }
    if (this.sockets.size >= this.options.maxConnections) {
      this.events.refused(peer, 'too-many-connections');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs);
    const framer = new MllpFramer(this.options.maxMessageBytes);
    const queue: Buffer[] = [];
    let answering = false;

    const answerAll = async () => {
      if (answering) return;
      answering = true;
      while (queue.length > 0 && !socket.destroyed) {
        const frame = queue.shift()!;
        const answer = await this.events.message(frame, peer);
        if (!socket.destroyed) socket.write(mllpFrame(answer));
        if (queue.length < MAX_QUEUED / 2 && socket.isPaused()) socket.resume();
      }
      answering = false;
    };

    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = framer.push(chunk);
      } catch (error) {
        if (!(error instanceof MllpFramingError)) throw error;
        this.events.refused(peer, error.problem);
        socket.destroy();
        return;
      }
      if (frames.length === 0) return;
      queue.push(...frames);
      if (queue.length >= MAX_QUEUED) socket.pause();
      void answerAll();
    });
    socket.on('timeout', () => {
      this.events.refused(peer, 'idle');
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }
}
