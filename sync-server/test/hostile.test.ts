import { CLOSE_CODES } from '@pacs/shared';
import * as encoding from 'lib0/encoding';
import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { allEqual, b64, client, internal, newDocName, rawSocket, serverDoc, startServer, type TestClient, token, waitFor } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

const validUpdate = (() => {
  const d = new Y.Doc();
  d.getText('body').insert(0, 'hello');
  return Y.encodeStateAsUpdate(d);
})();

/** Crafted frames, each of which must close its connection with 4400. */
const CRAFTED: [string, Uint8Array | string][] = [
  ['empty frame', new Uint8Array(0)],
  ['truncated varint (type)', new Uint8Array([0x80, 0x80, 0x80])],
  ['truncated varint (sync step)', new Uint8Array([0x00, 0xff])],
  [
    'huge length, no data',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 0xffffffff);
    }),
  ],
  [
    'huge length, some data',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint(e, 2 ** 40);
      encoding.writeUint8Array(e, new Uint8Array(16));
    }),
  ],
  [
    'unknown sync step',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 9);
      encoding.writeVarUint8Array(e, new Uint8Array(2));
    }),
  ],
  [
    'unknown message type',
    frame((e) => {
      encoding.writeVarUint(e, 42);
    }),
  ],
  [
    'auth message from client',
    frame((e) => {
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint(e, 0);
      encoding.writeVarString(e, 'x');
    }),
  ],
  [
    'update with garbage body',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, new Uint8Array([1, 200, 3, 7, 7, 7]));
    }),
  ],
  [
    'truncated update',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, validUpdate.slice(0, validUpdate.length - 3));
    }),
  ],
  [
    'update with a huge struct count',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(
        e,
        frame((u) => {
          encoding.writeVarUint(u, 1);
          encoding.writeVarUint(u, 0xfffffff);
          encoding.writeVarUint(u, 1);
          encoding.writeVarUint(u, 0);
        }),
      );
    }),
  ],
  [
    'garbage state vector (step 1)',
    frame((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint8Array(e, new Uint8Array([5, 0x80]));
    }),
  ],
  [
    'garbage awareness',
    frame((e) => {
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, new Uint8Array([3, 1, 1, 0xff, 0xff]));
    }),
  ],
  [
    'trailing bytes',
    frame((e) => {
      encoding.writeVarUint(e, 3);
      encoding.writeUint8(e, 0);
    }),
  ],
  ['text frame', 'hello'],
];

describe('hostile frames (PROTO-2)', () => {
  it('PROTO-2: every crafted malformed frame closes only its own connection with 4400; other clients carry on', async () => {
    const { server, port } = await startServer();
    cleanups.push(() => server.stop());
    const name = newDocName();
    const a = client(port, name, token(name));
    const b = client(port, name, token(name));
    cleanups.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    await waitFor(() => a.provider.synced && b.provider.synced, 'synced');
    let i = 0;
    for (const [label, bytes] of CRAFTED) {
      const s = await rawSocket(port, name, token(name));
      s.ws.send(bytes);
      const closed = await s.closed;
      expect(closed.code, label).toBe(CLOSE_CODES.protocolError);
      a.text.insert(a.text.length, `${i++},`);
    }
    await waitFor(() => allEqual([a.doc, b.doc, serverDoc(server, name)!]) && b.text.length === a.text.length, 'clients still sync');
    expect(b.text.toString().split(',').length).toBe(CRAFTED.length + 1);
    expect(serverDoc(server, name)!.getText('body').toString()).not.toContain('hello');
    const metric = await server.metrics.protocolErrors.get();
    expect(metric.values[0]!.value).toBe(CRAFTED.length);
  });

  it('PROTO-2: 300 seeded random frames never crash the server (seed 4242)', async () => {
    const { server, port } = await startServer({ env: { PACS_SYNC_MAX_MESSAGES_PER_SECOND: '10000' } });
    cleanups.push(() => server.stop());
    const name = newDocName();
    const a = client(port, name, token(name));
    const b = client(port, name, token(name));
    cleanups.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    await waitFor(() => a.provider.synced && b.provider.synced, 'synced');
    const gen = prng.create(4242);
    const codes = new Map<number, number>();
    for (let round = 0; round < 30; round++) {
      const s = await rawSocket(port, name, token(name));
      for (let k = 0; k < 10; k++) {
        const len = prng.int32(gen, 0, 64);
        const bytes = prng.uint8Array(gen, len);
        // Half the frames look like sync messages, so the decoder gets past the first byte.
        if (k % 2 === 0 && len > 2) {
          bytes[0] = 0;
          bytes[1] = prng.int32(gen, 0, 2);
        }
        if (s.ws.readyState === s.ws.OPEN) s.ws.send(bytes);
      }
      s.ws.close();
      const closed = await s.closed;
      codes.set(closed.code, (codes.get(closed.code) ?? 0) + 1);
      a.text.insert(0, 'x');
    }
    expect([...codes.keys()].every((c) => c === CLOSE_CODES.protocolError || c === 1000 || c === 1005)).toBe(true);
    expect(codes.get(CLOSE_CODES.protocolError) ?? 0).toBeGreaterThan(20);
    await waitFor(() => b.text.length === 30 && allEqual([a.doc, b.doc, serverDoc(server, name)!]), 'clients still converge');
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
  });

  it('PROTO-2/LOCK-1: a valid update with missing dependencies disturbs neither other clients nor finalization', async () => {
    const { server, port, url } = await startServer();
    cleanups.push(() => server.stop());
    const name = newDocName();
    const a: TestClient = client(port, name, token(name));
    cleanups.push(() => a.destroy());
    await waitFor(() => a.provider.synced, 'synced');
    // An update from a doc whose first edits were never sent: the server keeps it pending.
    const ghost = new Y.Doc();
    ghost.getText('body').insert(0, 'first');
    const sv = Y.encodeStateVector(ghost);
    ghost.getText('body').insert(5, ' second');
    const tail = Y.encodeStateAsUpdate(ghost, sv);
    const s = await rawSocket(port, name, token(name));
    s.ws.send(
      frame((e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, tail);
      }),
    );
    a.text.insert(0, 'still fine');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString() === 'still fine', 'server applied a');
    // The pending structs are not part of the visible document: they do not block the lock.
    const lock = await internal(url, 'POST', `/internal/documents/${encodeURIComponent(name)}/lock`, {
      stateVector: b64(Y.encodeStateVector(a.doc)),
      lockedBy: 'att',
    });
    expect(lock.status).toBe(200);
    s.ws.close();
  });
});
