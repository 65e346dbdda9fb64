/**
 * A lean y-websocket client (the protocol of the stock provider: sync step 1 on open, step 2 in
 * answer, each local Yjs update sent), as in sync-server/bench/workload.ts. A typist keeps a real
 * Y.Doc (it needs the document's state vector and snapshot to finalize); a watcher only scans the
 * updates it receives for the typist's markers, so the load generator stays light.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';

function writeVarUint(out: number[], value: number): void {
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function readVarUint(bytes: Uint8Array, at: { pos: number }): number {
  let value = 0;
  let factor = 1;
  for (;;) {
    const byte = bytes[at.pos++]!;
    value += (byte & 0x7f) * factor;
    if (byte < 0x80) return value;
    factor *= 128;
  }
}

/** A y-websocket sync message: [0 = sync][step][length-prefixed payload]. */
function syncMessage(step: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [];
  writeVarUint(head, 0);
  writeVarUint(head, step);
  writeVarUint(head, payload.length);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

export type OnMarker = (key: string, at: number) => void;

export class SyncClient {
  readonly ws: WebSocket;
  readonly doc: Y.Doc | null;
  private synced = false;
  private readonly ready: Promise<void>;
  constructor(url: string, document: string, token: string, full: boolean, onMarker?: OnMarker) {
    this.doc = full ? new Y.Doc() : null;
    this.ws = new WebSocket(`${url}/sync/${encodeURIComponent(document)}?token=${encodeURIComponent(token)}`, {
      perMessageDeflate: false,
    });
    this.ws.binaryType = 'nodebuffer';
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('close', (code) => {
        if (!this.synced) reject(new Error(`closed ${code} before sync`));
      });
      this.ws.once('error', (error) => reject(error));
      this.ws.on('open', () => this.send(0, this.doc ? Y.encodeStateVector(this.doc) : new Uint8Array([0])));
      this.ws.on('message', (data: Buffer) => {
        const now = performance.now();
        const at = { pos: 0 };
        if (readVarUint(data, at) !== 0) return;
        const step = readVarUint(data, at);
        const length = readVarUint(data, at);
        const payload = data.subarray(at.pos, at.pos + length);
        if (step === 0) {
          this.send(1, this.doc ? Y.encodeStateAsUpdate(this.doc, payload) : Y.encodeStateAsUpdate(new Y.Doc()));
          return;
        }
        if (this.doc) Y.applyUpdate(this.doc, payload, 'remote');
        if (step === 1 && !this.synced) {
          this.synced = true;
          resolve();
        }
        if (onMarker && step === 2) {
          for (const m of payload.toString('latin1').matchAll(/#(\d+\.\d+);/g)) onMarker(m[1]!, now);
        }
      });
    });
    this.ready.catch(() => undefined);
    this.doc?.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') this.send(2, update);
    });
  }

  whenSynced(timeoutMs = 10_000): Promise<void> {
    return Promise.race([
      this.ready,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('sync timeout')), timeoutMs).unref()),
    ]);
  }

  private send(step: number, payload: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(syncMessage(step, payload));
  }

  /** A paragraph of its own at the end of the report, which the typist's keystrokes go into. */
  startParagraph(): Y.XmlText {
    const paragraph = new Y.XmlElement('paragraph');
    const text = new Y.XmlText();
    paragraph.insert(0, [text]);
    this.doc!.getXmlFragment('default').push([paragraph]);
    return text;
  }

  /** What finalize sends: the reviewed document's state vector and snapshot. */
  reviewed(): { stateVector: string; snapshot: string } {
    return {
      stateVector: Buffer.from(Y.encodeStateVector(this.doc!)).toString('base64'),
      snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(this.doc!))).toString('base64'),
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
      setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000).unref();
      this.doc?.destroy();
    });
  }
}
