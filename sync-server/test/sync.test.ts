import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { allEqual, client, newDocName, serverDoc, startServer, type TestClient, token, waitFor } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup() {
  const s = await startServer();
  cleanups.push(() => s.server.stop());
  return s;
}

function clients(port: number, name: string, n: number): TestClient[] {
  const list = Array.from({ length: n }, () => client(port, name, token(name)));
  cleanups.push(() => {
    for (const c of list) c.destroy();
  });
  return list;
}

describe('convergence (PROTO-1)', () => {
  it('PROTO-1: two stock providers converge byte-equal with the server', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const [a, b] = clients(port, name, 2) as [TestClient, TestClient];
    await waitFor(() => a.provider.synced && b.provider.synced, 'both synced');
    a.text.insert(0, 'Findings: ');
    b.text.insert(0, 'Impression: normal. ');
    a.doc.getMap('meta').set('laterality', 'left');
    await waitFor(() => {
      const s = serverDoc(server, name);
      return s !== undefined && a.text.length === b.text.length && a.text.length === 30 && allEqual([a.doc, b.doc, s]);
    }, 'convergence');
    expect(b.doc.getMap('meta').get('laterality')).toBe('left');
    expect(a.text.toString()).toBe(b.text.toString());
  });

  it('PROTO-1: five clients typing concurrently converge byte-equal with the server', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const list = clients(port, name, 5);
    await waitFor(() => list.every((c) => c.provider.synced), 'all synced');
    for (let round = 0; round < 20; round++) {
      list.forEach((c, i) => {
        const pos = Math.floor((c.text.length * ((round * 7 + i * 13) % 10)) / 10);
        c.text.insert(pos, `${i}${round} `);
        if (round % 5 === 4 && c.text.length > 4) c.text.delete(1, 2);
      });
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => {
      const s = serverDoc(server, name);
      return s !== undefined && allEqual([...list.map((c) => c.doc), s]);
    }, 'convergence of 5 clients');
    expect(list[0]!.text.length).toBeGreaterThan(100);
  });

  it('PROTO-1: offline edits merge after reconnect', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const [a, b] = clients(port, name, 2) as [TestClient, TestClient];
    await waitFor(() => a.provider.synced && b.provider.synced, 'both synced');
    a.text.insert(0, 'shared base. ');
    await waitFor(() => b.text.toString() === 'shared base. ', 'base reaches b');
    b.provider.disconnect();
    b.text.insert(b.text.length, 'offline edit by b. ');
    a.text.insert(0, 'online edit by a. ');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString().includes('online edit by a') === true, 'server has a');
    expect(a.text.toString()).not.toContain('offline edit by b');
    b.provider.connect();
    await waitFor(() => {
      const s = serverDoc(server, name);
      return s !== undefined && allEqual([a.doc, b.doc, s]) && a.text.toString().includes('offline edit by b');
    }, 'merge after reconnect');
    expect(a.text.toString()).toContain('online edit by a');
  });

  it('PROTO-1: a late joiner receives the full document from the server', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const [a] = clients(port, name, 1) as [TestClient];
    await waitFor(() => a.provider.synced, 'synced');
    a.text.insert(0, 'written before b joined');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 23, 'server has it');
    const [b] = clients(port, name, 1) as [TestClient];
    await waitFor(() => b.provider.synced && b.text.toString() === 'written before b joined', 'late joiner');
    expect(allEqual([a.doc, b.doc, serverDoc(server, name)!])).toBe(true);
  });

  it('PROTO-1: awareness (presence) reaches other clients (PRES-2: under the name in the token)', async () => {
    const { port } = await setup();
    const name = newDocName();
    const a = client(port, name, token(name, { name: 'Dr A' }));
    const b = client(port, name, token(name));
    cleanups.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    await waitFor(() => a.provider.synced && b.provider.synced, 'both synced');
    a.provider.awareness.setLocalStateField('user', { name: 'whatever the client says' });
    await waitFor(() => {
      const state = b.provider.awareness.getStates().get(a.doc.clientID) as { user?: { name: string } } | undefined;
      return state?.user?.name === 'Dr A';
    }, 'awareness at b');
    expect(Y.encodeStateVector(a.doc)).toBeDefined();
  });
});
