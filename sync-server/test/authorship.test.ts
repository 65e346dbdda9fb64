/**
 * Who wrote what (SPEC.md AUTHOR-*): client ids bound to the token's user, deletions per user, a
 * client id of another user refused, all of it kept through compaction and a restart. SQLite
 * always; PostgreSQL too when TEST_POSTGRES_URL is set.
 */
import { type Role, TEMPLATE_AUTHOR_ID } from '@pacs/shared';
import { decodeDeleteSet } from '@pacs/shared/report-document';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeUpdateMessage } from '../src/protocol';
import { SequelizeStore } from '../src/store';
import {
  b64,
  client,
  internal,
  newDocName,
  rawSocket,
  serverDoc,
  startServer,
  type TestClient,
  tempDatabaseUrl,
  token,
  unb64,
  waitFor,
} from './helpers';

const BACKENDS: [string, () => string][] = [['sqlite', tempDatabaseUrl]];
if (process.env.TEST_POSTGRES_URL) BACKENDS.push(['postgres', () => process.env.TEST_POSTGRES_URL!]);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const RESIDENT = { userId: 'b7d0c2a4-0000-4000-8000-00000000000a', name: 'Dr Resident', role: 'resident' as const };
const ATTENDING = { userId: 'b7d0c2a4-0000-4000-8000-00000000000b', name: 'Dr Attending', role: 'attending' as const };

interface Authorship {
  update: Uint8Array;
  clients: { clientId: number; userId: string; userName: string }[];
  ranges: { kind: 'deleted' | 'relayed'; userId: string; userName: string; ranges: Uint8Array }[];
}

async function authorshipOf(url: string, name: string): Promise<Authorship> {
  const r = await internal(url, 'GET', `/internal/documents/${encodeURIComponent(name)}/authorship`);
  expect(r.status).toBe(200);
  const json = r.json as unknown as {
    update: string;
    clients: Authorship['clients'];
    ranges: (Omit<Authorship['ranges'][number], 'ranges'> & { ranges: string })[];
  };
  return { update: unb64(json.update), clients: json.clients, ranges: json.ranges.map((d) => ({ ...d, ranges: unb64(d.ranges) })) };
}

/** First binding of each client id (what the API reads). */
const ownerOf = (a: Authorship, clientId: number) => a.clients.find((c) => c.clientId === clientId)?.userId;

/** Items of `clientId` that `userId` deleted, or delivered under that client id (relayed). */
function rangeOf(a: Authorship, kind: 'deleted' | 'relayed', userId: string, clientId: number): { clock: number; len: number }[] {
  const record = a.ranges.find((d) => d.kind === kind && d.userId === userId);
  return record ? (decodeDeleteSet(record.ranges).clients.get(clientId) ?? []).map(({ clock, len }) => ({ clock, len })) : [];
}
const deletedBy = (a: Authorship, userId: string, clientId: number) =>
  rangeOf(a, 'deleted', userId, clientId).reduce((n, r) => n + r.len, 0);

function open(port: number, name: string, who: { userId: string; name: string; role: Role }, doc?: Y.Doc): TestClient {
  const c = client(port, name, token(name, { userId: who.userId, name: who.name, role: who.role }), { doc });
  cleanups.push(() => c.destroy());
  return c;
}

const synced = (c: TestClient) => waitFor(() => c.provider.synced, 'provider synced');

/** An update written as `clientId` on top of `base` (what a forging client would send). */
function forgedUpdate(base: Uint8Array, clientId: number, text: string): Uint8Array {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, base);
  doc.clientID = clientId;
  const before = Y.encodeStateVector(doc);
  doc.getText('body').insert(0, text);
  const update = Y.encodeStateAsUpdate(doc, before);
  doc.destroy();
  return update;
}

describe.each(BACKENDS)('authorship on %s', (_backend, databaseUrlFor) => {
  async function server(databaseUrl = databaseUrlFor()) {
    const s = await startServer({ databaseUrl });
    cleanups.push(() => s.server.stop());
    return s;
  }

  it('AUTHOR-1, AUTHOR-3: each client id belongs to the user whose token sent it; deletions are kept per deleting user', async () => {
    const { port, url } = await server();
    const name = newDocName();
    const resident = open(port, name, RESIDENT);
    await synced(resident);
    resident.text.insert(0, 'small effusion right');
    const attending = open(port, name, ATTENDING);
    await waitFor(() => attending.text.toString() === 'small effusion right', 'attending sees the draft');
    // The attending replaces "small" with "moderate" and types a sentence.
    attending.text.delete(0, 5);
    attending.text.insert(0, 'moderate');
    attending.text.insert(attending.text.length, '. No pneumothorax.');
    await waitFor(() => resident.text.toString() === 'moderate effusion right. No pneumothorax.', 'resident sees the edit');

    const a = await authorshipOf(url, name);
    expect(ownerOf(a, resident.doc.clientID)).toBe(RESIDENT.userId);
    expect(ownerOf(a, attending.doc.clientID)).toBe(ATTENDING.userId);
    // The name comes from the token, whatever a client says about itself.
    expect(a.clients.find((c) => c.userId === ATTENDING.userId)?.userName).toBe('Dr Attending');
    expect(deletedBy(a, ATTENDING.userId, resident.doc.clientID)).toBe(5);
    expect(deletedBy(a, RESIDENT.userId, resident.doc.clientID)).toBe(0);
    // The state answered is the document's, and every client id in it is bound.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, a.update);
    expect(doc.getText('body').toString()).toBe('moderate effusion right. No pneumothorax.');
    for (const clientId of doc.store.clients.keys()) expect(ownerOf(a, clientId)).toBeDefined();
  });

  it('AUTHOR-4: what a template seeded belongs to the template', async () => {
    const { url } = await server();
    const name = newDocName();
    const seed = new Y.Doc();
    seed.getText('body').insert(0, 'FINDINGS: ');
    const r = await internal(url, 'POST', `/internal/documents/${encodeURIComponent(name)}/seed`, {
      update: b64(Y.encodeStateAsUpdate(seed)),
    });
    expect(r.status).toBe(200);
    const a = await authorshipOf(url, name);
    expect(a.clients).toEqual([{ clientId: seed.clientID, userId: TEMPLATE_AUTHOR_ID, userName: 'Template' }]);
  });

  // AUTHOR-2: what another user's connection sends under the resident's client id is applied (a
  // resend after a loss cannot be told from a forgery) but never becomes the sender's text.
  const FORGED = 'FORGED ';
  const HOSTILE: [string, (base: Uint8Array, resident: number) => Uint8Array, { relayed: boolean; boundToAttending: number[] }][] = [
    [
      'new text under the resident client id',
      (base, resident) => forgedUpdate(base, resident, FORGED),
      { relayed: true, boundToAttending: [] },
    ],
    [
      'own new text merged with text under the resident client id',
      (base, resident) => Y.mergeUpdates([forgedUpdate(base, 4242, 'mine '), forgedUpdate(base, resident, FORGED)]),
      { relayed: true, boundToAttending: [4242] },
    ],
    ['a replay of the resident text the server already holds', (base) => base, { relayed: false, boundToAttending: [] }],
    [
      'new text under a client id nobody used yet',
      (base) => forgedUpdate(base, 777_777, 'attending '),
      { relayed: false, boundToAttending: [777_777] },
    ],
  ];

  it.each(HOSTILE)('AUTHOR-2: %s from the attending', async (_name, make, expected) => {
    const { server: s, port, url } = await server();
    const name = newDocName();
    const resident = open(port, name, RESIDENT);
    await synced(resident);
    resident.text.insert(0, 'draft by resident');
    await waitFor(() => serverDoc(s, name)?.getText('body').toString() === 'draft by resident', 'draft on the server');
    const before = Y.encodeStateAsUpdate(serverDoc(s, name)!);
    const residentId = resident.doc.clientID;
    // The resident's editor goes away first: a live Yjs client seeing its id used elsewhere would pick a new one.
    resident.provider.disconnect();
    const residentClock = Y.getState(serverDoc(s, name)!.store, residentId);
    const sock = await rawSocket(port, name, token(name, { userId: ATTENDING.userId, name: ATTENDING.name, role: 'attending' }));
    cleanups.push(() => sock.ws.terminate());
    sock.ws.send(encodeUpdateMessage(make(before, residentId)));
    // A probe under a fresh client id shows the update before it was handled, and that the socket stays open.
    sock.ws.send(encodeUpdateMessage(forgedUpdate(before, 999_001, 'PROBE')));
    await waitFor(() => serverDoc(s, name)!.getText('body').toString().includes('PROBE'), 'probe applied');
    const a = await authorshipOf(url, name);
    expect(ownerOf(a, residentId)).toBe(RESIDENT.userId);
    expect(ownerOf(a, 999_001)).toBe(ATTENDING.userId);
    for (const clientId of expected.boundToAttending) expect(ownerOf(a, clientId)).toBe(ATTENDING.userId);
    const relayed = rangeOf(a, 'relayed', ATTENDING.userId, residentId);
    const metrics = await s.metrics.relayedUpdates.get();
    if (expected.relayed) {
      // Exactly the forged characters, and nothing the resident typed.
      expect(relayed).toEqual([{ clock: residentClock, len: FORGED.length }]);
      expect(metrics.values[0]?.value).toBe(1);
    } else {
      expect(relayed).toEqual([]);
      expect(metrics.values[0]?.value ?? 0).toBe(0);
    }
  });

  it('AUTHOR-2: text from before authorship was recorded belongs to no one, and continuing its client id does not claim it', async () => {
    const databaseUrl = databaseUrlFor();
    const name = newDocName();
    const legacy = new Y.Doc();
    legacy.getText('body').insert(0, 'written before authorship');
    const store = await SequelizeStore.open(databaseUrl);
    await store.append(name, Y.encodeStateAsUpdate(legacy));
    await store.close();
    const { server: s, port, url } = await server(databaseUrl);
    const sock = await rawSocket(port, name, token(name, { userId: ATTENDING.userId, name: ATTENDING.name, role: 'attending' }));
    cleanups.push(() => sock.ws.terminate());
    const base = Y.encodeStateAsUpdate(legacy);
    sock.ws.send(encodeUpdateMessage(forgedUpdate(base, legacy.clientID, 'CLAIMED ')));
    sock.ws.send(encodeUpdateMessage(forgedUpdate(base, 31_337, 'mine ')));
    await waitFor(
      () =>
        /CLAIMED/.test(serverDoc(s, name)?.getText('body').toString() ?? '') && /mine/.test(serverDoc(s, name)!.getText('body').toString()),
      'both applied',
    );
    const a = await authorshipOf(url, name);
    expect(ownerOf(a, legacy.clientID)).toBeUndefined();
    expect(ownerOf(a, 31_337)).toBe(ATTENDING.userId);
    expect(rangeOf(a, 'relayed', ATTENDING.userId, legacy.clientID)).toEqual([
      { clock: 'written before authorship'.length, len: 'CLAIMED '.length },
    ]);
  });

  it('AUTHOR-2: the same user on a second connection keeps writing under their client id', async () => {
    const { server: s, port } = await server();
    const name = newDocName();
    const first = open(port, name, RESIDENT);
    await synced(first);
    first.text.insert(0, 'one ');
    await waitFor(() => serverDoc(s, name)?.getText('body').toString() === 'one ', 'first text stored');
    first.provider.disconnect();
    // The same document (same client id) reconnects on a new socket, as after a network change.
    const again = open(port, name, RESIDENT, first.doc);
    first.text.insert(4, 'two');
    await waitFor(() => serverDoc(s, name)?.getText('body').toString() === 'one two', 'second text applied');
    expect(again.closes).toEqual([]);
  });

  it('AUTHOR-5: authorship survives compaction (one range row per user) and a restart; AUTHOR-2 still holds after it', async () => {
    const databaseUrl = databaseUrlFor();
    const first = await server(databaseUrl);
    const name = newDocName();
    const resident = open(first.port, name, RESIDENT);
    await synced(resident);
    const attending = open(first.port, name, ATTENDING);
    await synced(attending);
    for (const word of ['lungs ', 'clear ', 'bilaterally ']) resident.text.insert(resident.text.length, word);
    await waitFor(() => attending.text.length === 'lungs clear bilaterally '.length, 'attending has the text');
    attending.text.insert(0, 'Both ');
    await waitFor(() => resident.text.toString() === 'Both lungs clear bilaterally ', 'both have the text');
    // Three deletions in three separate writes (three deletion rows before compaction).
    for (let i = 1; i <= 3; i++) {
      attending.text.delete(0, 1);
      await waitFor(() => resident.text.length === 'Both lungs clear bilaterally '.length - i, 'the deletion arrived');
      await first.server.documents.docs.get(name)!.flush();
    }
    const before = await authorshipOf(first.url, name);
    // The attending deleted three characters of their own word.
    expect(deletedBy(before, ATTENDING.userId, attending.doc.clientID)).toBe(3);

    await first.server.documents.docs.get(name)!.compact();
    const store = await SequelizeStore.open(databaseUrl);
    cleanups.push(() => store.close());
    const count = async (table: string) =>
      Number(
        (
          (await store.sequelize.query(`SELECT COUNT(*) AS n FROM ${table} WHERE document = :name`, {
            replacements: { name },
            plain: true,
          })) as { n: number }
        ).n,
      );
    expect(await count('sync_updates')).toBe(0);
    expect(await count('sync_edit_ranges')).toBe(1);
    expect(await count('sync_authors')).toBe(2);

    resident.destroy();
    attending.destroy();
    await first.server.stop();
    const second = await server(databaseUrl);
    const after = await authorshipOf(second.url, name);
    expect(ownerOf(after, resident.doc.clientID)).toBe(RESIDENT.userId);
    expect(ownerOf(after, attending.doc.clientID)).toBe(ATTENDING.userId);
    expect(deletedBy(after, ATTENDING.userId, attending.doc.clientID)).toBe(3);

    // The bindings came back from the database: text under the resident's client id is still not the attending's.
    const sock = await rawSocket(second.port, name, token(name, { userId: ATTENDING.userId, name: ATTENDING.name, role: 'attending' }));
    cleanups.push(() => sock.ws.terminate());
    sock.ws.send(encodeUpdateMessage(forgedUpdate(after.update, resident.doc.clientID, 'FORGED ')));
    await waitFor(() => serverDoc(second.server, name)?.getText('body').toString().startsWith('FORGED') === true, 'forged text applied');
    const forged = await authorshipOf(second.url, name);
    expect(ownerOf(forged, resident.doc.clientID)).toBe(RESIDENT.userId);
    expect(rangeOf(forged, 'relayed', ATTENDING.userId, resident.doc.clientID)).toHaveLength(1);
  });

  it('AUTHOR-3: the authorship route is GET only and needs the service token', async () => {
    const { url } = await server();
    const path = `/internal/documents/${encodeURIComponent(newDocName())}/authorship`;
    expect((await internal(url, 'POST', path, {})).status).toBe(405);
    expect((await internal(url, 'GET', path, undefined, 'not-the-service-token')).status).toBe(401);
    expect((await internal(url, 'GET', '/internal/documents/report%3Anot-a-uuid/authorship')).status).toBe(404);
    const empty = await internal(url, 'GET', path);
    expect(empty).toMatchObject({ status: 200, json: { clients: [], ranges: [] } });
  });
});
