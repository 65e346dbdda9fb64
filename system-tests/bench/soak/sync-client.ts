/**
 * A lean y-websocket client (the protocol of the stock provider: sync step 1 on open, step 2 in
 * answer, each local Yjs update sent; the sync-server's own encoding), as in sync-server/bench/workload.ts. A typist keeps a real
 * Y.Doc (it needs the document's state vector and snapshot to finalize); a watcher only scans the
 * updates it receives for the typist's markers, so the load generator stays light.
 */
import { decodeClientMessage, encodeSyncStep1, encodeSyncStep2, encodeUpdateMessage, MESSAGE_SYNC } from '@pacs/sync-server/protocol';
import WebSocket from 'ws';
import * as Y from 'yjs';

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
      this.ws.on('open', () => this.send(encodeSyncStep1(this.doc ? Y.encodeStateVector(this.doc) : new Uint8Array([0]))));
      this.ws.on('message', (data: Buffer) => {
        const now = performance.now();
        // Sync frames only (awareness and notices are not looked at); the server's are framed as a client's.
        if (data[0] !== MESSAGE_SYNC) return;
        const message = decodeClientMessage(data);
        if (message.kind === 'sync-step1') {
          this.send(encodeSyncStep2(Y.encodeStateAsUpdate(this.doc ?? new Y.Doc(), message.stateVector)));
          return;
        }
        if (message.kind !== 'sync-update') return;
        if (this.doc) Y.applyUpdate(this.doc, message.update, 'remote');
        if (message.step === 'step2' && !this.synced) {
          this.synced = true;
          resolve();
        }
        if (onMarker && message.step === 'update') {
          const text = Buffer.from(message.update.buffer, message.update.byteOffset, message.update.byteLength).toString('latin1');
          for (const m of text.matchAll(/#(\d+\.\d+);/g)) onMarker(m[1]!, now);
        }
      });
    });
    this.ready.catch(() => undefined);
    this.doc?.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'remote') this.send(encodeUpdateMessage(update));
    });
  }

  whenSynced(timeoutMs = 10_000): Promise<void> {
    return Promise.race([
      this.ready,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error('sync timeout')), timeoutMs).unref()),
    ]);
  }

  private send(frame: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
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
