/**
 * Scale-out through Redis (SPEC.md SCALE-*): a real `redis-server` and two sync-server processes
 * (the real entry point, test/child.ts) on loopback sharing one database, with stock y-websocket
 * providers (BroadcastChannel off, so every byte crosses the servers and Redis).
 * Database: a SQLite file (WAL) always; PostgreSQL too when TEST_POSTGRES_URL is set. One test runs
 * both instances in this process instead, to hold the lock's database write at a gate.
 * More fuzz seeds: FUZZ_SEEDS=10 npx vitest run test/scale-out.test.ts
 */
import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { loadConfig } from '../src/config';
import { encodeUpdateMessage } from '../src/protocol';
import { SequelizeStore } from '../src/store';
import { type ChildServer, spawnServer } from './child';
import {
  allEqual,
  b64,
  bytesEqual,
  ControlledStore,
  client,
  internal,
  newDocName,
  rawSocket,
  retarget,
  serverDoc,
  startServer,
  storedDoc,
  type TestClient,
  tempDatabaseUrl,
  token,
  unb64,
  updatesReceived,
  waitFor,
} from './helpers';
import { freePort, type RedisServer, startRedis } from './redis';

const BACKENDS: [string, () => string][] = [['sqlite', () => tempDatabaseUrl()]];
if (process.env.TEST_POSTGRES_URL) BACKENDS.push(['postgres', () => process.env.TEST_POSTGRES_URL!]);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const docPath = (name: string, action: string) => `/internal/documents/${encodeURIComponent(name)}/${action}`;

async function health(s: ChildServer): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.url}/health`);
  return (await res.json()) as Record<string, unknown>;
}

async function stopGracefully(s: ChildServer): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  expect(await s.exited).toBe(0);
}

function track(s: ChildServer): ChildServer {
  cleanups.push(async () => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    await s.exited;
  });
  return s;
}

/** Redis plus two instances on one database. */
async function cluster(databaseUrl: string, envA: Record<string, string> = {}, envB: Record<string, string> = {}) {
  const redis = await startRedis();
  cleanups.push(() => redis.kill());
  const env = { PACS_SYNC_REDIS_URL: redis.url };
  const [a, b] = await Promise.all([
    spawnServer(databaseUrl, { ...env, ...envA }).then(track),
    spawnServer(databaseUrl, { ...env, ...envB }).then(track),
  ]);
  for (const s of [a, b]) expect((await health(s)).redis).toBe('connected');
  return { redis, a, b };
}

function clients(list: TestClient[]): TestClient[] {
  cleanups.push(() => {
    for (const c of list) c.destroy();
  });
  return list;
}

async function serverState(s: ChildServer, name: string): Promise<{ update: Uint8Array; locked: boolean }> {
  const r = await internal(s.url, 'GET', docPath(name, 'state'));
  expect(r.status).toBe(200);
  return { update: unb64(r.json.update), locked: r.json.locked === true };
}

const textOf = (update: Uint8Array): string => {
  const d = new Y.Doc();
  Y.applyUpdate(d, update);
  const text = d.getText('body').toString();
  d.destroy();
  return text;
};

async function serversEqualClients(servers: ChildServer[], name: string, reference: Y.Doc): Promise<void> {
  await waitFor(async () => {
    for (const s of servers) if (!bytesEqual((await serverState(s, name)).update, Y.encodeStateAsUpdate(reference))) return false;
    return true;
  }, 'every instance holds the clients state byte-equal');
}

describe('scale-out configuration (SCALE-5, CONF-1)', () => {
  it('SCALE-5: PACS_SYNC_REDIS_URL unset means one instance without Redis; a bad value stops start-up naming it', async () => {
    expect(loadConfig({}).redisUrl).toBeUndefined();
    expect(loadConfig({ PACS_SYNC_REDIS_URL: '' }).redisUrl).toBeUndefined();
    expect(loadConfig({ PACS_SYNC_REDIS_URL: 'redis://redis:6379' }).redisUrl).toBe('redis://redis:6379');
    expect(() => loadConfig({ PACS_SYNC_REDIS_URL: 'http://redis:6379' })).toThrow(/PACS_SYNC_REDIS_URL/);
    const { server, url } = await startServer();
    cleanups.push(() => server.stop());
    expect(server.bus).toBeNull();
    expect(await (await fetch(`${url}/health`)).json()).not.toHaveProperty('redis');
  });
});

describe.each(BACKENDS)('scale-out through Redis (%s)', (_backend, databaseUrlFor) => {
  it('SCALE-1: clients on different instances converge byte-equal; both instances and the database agree', async () => {
    const databaseUrl = databaseUrlFor();
    const { a, b } = await cluster(databaseUrl);
    const name = newDocName();
    const cs = clients([client(a.port, name, token(name)), client(b.port, name, token(name)), client(a.port, name, token(name))]);
    await waitFor(() => cs.every((c) => c.provider.synced), 'synced');
    for (let round = 0; round < 20; round++) {
      cs.forEach((c, i) => {
        c.text.insert(c.text.length, `c${i}r${round} `);
        const notes = c.doc.getText('notes');
        notes.insert(Math.floor(notes.length / 2), `n${i}.${round}`);
      });
      const notes = cs[1]!.doc.getText('notes');
      if (round % 5 === 4) notes.delete(0, Math.min(3, notes.length));
      cs[round % 3]!.doc.getMap('meta').set(`k${round}`, round);
    }
    await waitFor(() => allEqual(cs.map((c) => c.doc)), 'clients converge across instances');
    for (let round = 0; round < 20; round++) for (const i of [0, 1, 2]) expect(cs[0]!.text.toString()).toContain(`c${i}r${round} `);
    await serversEqualClients([a, b], name, cs[0]!.doc);
    const final = cs[0]!.text.toString();
    for (const c of cs) c.provider.disconnect();
    await Promise.all([stopGracefully(a), stopGracefully(b)]);
    expect((await storedDoc(databaseUrl, name)).getText('body').toString()).toBe(final);
  });

  it('AUTHOR-2, AUTHOR-5 across instances: text sent to B under the client id of a user on A is recorded as relayed; both instances answer the same authorship', async () => {
    const { a, b } = await cluster(databaseUrlFor());
    const name = newDocName();
    const residentId = 'b7d0c2a4-0000-4000-8000-00000000000a';
    const attendingId = 'b7d0c2a4-0000-4000-8000-00000000000b';
    const [resident] = clients([client(a.port, name, token(name, { userId: residentId, name: 'Dr Resident' }))]);
    await waitFor(() => resident!.provider.synced, 'synced');
    resident!.text.insert(0, 'draft on A');
    const residentClient = resident!.doc.clientID;
    await waitFor(async () => textOf((await serverState(b, name)).update) === 'draft on A', 'B has the draft');
    // Under the resident's client id, sent to B by the attending: B already knows whose id that is.
    resident!.provider.disconnect();
    const base = (await serverState(b, name)).update;
    const forged = new Y.Doc();
    Y.applyUpdate(forged, base);
    forged.clientID = residentClient;
    const before = Y.encodeStateVector(forged);
    forged.getText('body').insert(0, 'FORGED ');
    const sock = await rawSocket(b.port, name, token(name, { userId: attendingId, name: 'Dr Attending', role: 'attending' }));
    cleanups.push(() => sock.ws.terminate());
    sock.ws.send(encodeUpdateMessage(Y.encodeStateAsUpdate(forged, before)));
    await waitFor(async () => textOf((await serverState(a, name)).update) === 'FORGED draft on A', 'A has the forged text');
    // Each instance answers from the database (B's write may land a moment later) plus what it knows itself.
    for (const s of [a, b]) {
      type Answer = { clients: { clientId: number; userId: string }[]; ranges: { kind: string; userId: string }[] };
      let json: Answer = { clients: [], ranges: [] };
      await waitFor(async () => {
        json = (await internal(s.url, 'GET', docPath(name, 'authorship'))).json as Answer;
        return json.ranges.length > 0;
      }, 'the relayed range stored');
      expect(json.clients.find((c) => c.clientId === residentClient)?.userId).toBe(residentId);
      expect(json.ranges.map((x) => [x.kind, x.userId])).toEqual([['relayed', attendingId]]);
    }
  });

  it('SCALE-1: awareness crosses instances, and a departure is seen on the other instance', async () => {
    const { a, b } = await cluster(databaseUrlFor());
    const name = newDocName();
    // PRES-2: the names shown are the tokens'.
    const [onA, onB] = clients([
      client(a.port, name, token(name, { name: 'resident on A' })),
      client(b.port, name, token(name, { name: 'attending on B', role: 'attending' })),
    ]);
    await waitFor(() => onA!.provider.synced && onB!.provider.synced, 'synced');
    onA!.provider.awareness.setLocalStateField('user', { name: 'A' });
    onB!.provider.awareness.setLocalStateField('user', { name: 'B' });
    const names = (c: TestClient) =>
      [...c.provider.awareness.getStates().values()].map((s) => (s as { user?: { name: string } }).user?.name).filter(Boolean);
    await waitFor(() => names(onB!).includes('resident on A'), 'B sees A');
    await waitFor(() => names(onA!).includes('attending on B'), 'A sees B');
    onA!.provider.disconnect();
    await waitFor(() => !names(onB!).includes('resident on A'), 'B sees A leave');
  });

  it('SCALE-2: an instance that loads a document later gets what the other holds but has not stored yet', async () => {
    const databaseUrl = databaseUrlFor();
    // A stores at most once a second, so the database lags; B must get the rest through Redis.
    const { a, b } = await cluster(databaseUrl, { PACS_SYNC_DEBOUNCE_MS: '1000' });
    const name = newDocName();
    const [onA] = clients([client(a.port, name, token(name))]);
    await waitFor(() => onA!.provider.synced, 'synced');
    for (let i = 0; i < 50; i++) onA!.text.insert(onA!.text.length, `a${i} `);
    await waitFor(async () => textOf((await serverState(a, name)).update) === onA!.text.toString(), 'A has everything');
    // A loads documents lazily: B has not loaded this one; its database copy is behind.
    const [onB] = clients([client(b.port, name, token(name))]);
    await waitFor(() => onB!.provider.synced && allEqual([onA!.doc, onB!.doc]), 'the late loader converges');
    onB!.text.insert(0, 'from B ');
    await waitFor(() => allEqual([onA!.doc, onB!.doc]), 'and stays in sync');
    await serversEqualClients([a, b], name, onA!.doc);
  });

  it('SCALE-4: locked through instance A, the document is locked on B too; edits on B become late edits (LOCK-5), not applied', async () => {
    const { a, b } = await cluster(databaseUrlFor());
    const name = newDocName();
    const [resident, attending] = clients([
      client(b.port, name, token(name, { role: 'resident', name: 'Dr Resident' })),
      client(a.port, name, token(name, { role: 'attending', name: 'Dr Attending' })),
    ]);
    await waitFor(() => resident!.provider.synced && attending!.provider.synced, 'synced');
    resident!.text.insert(0, 'Findings: normal. ');
    attending!.text.insert(0, 'Impression: ');
    await waitFor(() => allEqual([resident!.doc, attending!.doc]), 'converged');
    const reviewed = attending!.doc;
    const locked = await internal(a.url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(reviewed)),
      snapshot: b64(Y.encodeSnapshot(Y.snapshot(reviewed))),
      lockedBy: 'attending-1',
    });
    expect(locked.status).toBe(200);
    expect(locked.json.alreadyLocked).toBe(false);
    expect(bytesEqual(unb64(locked.json.update), Y.encodeStateAsUpdate(reviewed))).toBe(true);
    await waitFor(() => resident!.notices.some((n) => n.type === 'locked'), 'the client on B gets the locked notice');
    expect((await serverState(b, name)).locked).toBe(true);

    // The resident on B keeps typing: stored as a late edit on B, applied nowhere.
    resident!.text.insert(resident!.text.length, 'late words');
    await waitFor(() => resident!.notices.some((n) => n.type === 'late-edit-stored'), 'late edit stored on B');
    for (const s of [a, b]) {
      const late = await internal(s.url, 'GET', docPath(name, 'late-edits'));
      expect(late.status).toBe(200);
      const edits = late.json.lateEdits as { userName: string; update: string }[];
      expect(edits).toHaveLength(1);
      expect(edits[0]!.userName).toBe('Dr Resident');
      const merged = new Y.Doc();
      Y.applyUpdate(merged, unb64(locked.json.update));
      Y.applyUpdate(merged, unb64(edits[0]!.update));
      expect(merged.getText('body').toString()).toContain('late words');
      expect(bytesEqual((await serverState(s, name)).update, unb64(locked.json.update))).toBe(true);
    }
    expect(attending!.text.toString()).not.toContain('late words');

    // A second lock through B answers with the existing lock (LOCK-8).
    const again = await internal(b.url, 'POST', docPath(name, 'lock'), { stateVector: b64(Y.encodeStateVector(reviewed)), lockedBy: 'x' });
    expect(again.status).toBe(200);
    expect(again.json.alreadyLocked).toBe(true);

    // Unlock through B (LOCK-7): the client on A can edit again, and B gets it.
    expect((await internal(b.url, 'POST', docPath(name, 'unlock'))).json.wasLocked).toBe(true);
    await waitFor(() => attending!.notices.some((n) => n.type === 'unlocked'), 'unlocked notice on A');
    attending!.text.insert(0, 'Addendum: ');
    await waitFor(async () => textOf((await serverState(b, name)).update).startsWith('Addendum: '), 'edits flow again');
  });

  it('SCALE-4: a lock through A is refused (LOCK-1) when only B holds edits the reviewer has not seen', async () => {
    const { a, b } = await cluster(databaseUrlFor(), {}, { PACS_SYNC_DEBOUNCE_MS: '1000' });
    const name = newDocName();
    const [onB] = clients([client(b.port, name, token(name))]);
    await waitFor(() => onB!.provider.synced, 'synced');
    const seen = Y.encodeStateVector(onB!.doc);
    onB!.text.insert(0, 'an edit only instance B has');
    await waitFor(async () => textOf((await serverState(b, name)).update).length > 0, 'B has it');
    const refused = await internal(a.url, 'POST', docPath(name, 'lock'), { stateVector: b64(seen), lockedBy: 'attending-1' });
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('unseen-updates');
    // Nothing is locked anywhere and B was released: its client edits on.
    for (const s of [a, b]) expect((await serverState(s, name)).locked).toBe(false);
    onB!.text.insert(0, 'still editable ');
    await waitFor(async () => textOf((await serverState(a, name)).update).startsWith('still editable'), 'B released');
  });

  it('SCALE-3: SIGKILL of one instance mid-session loses nothing; its clients reconnect to the other and converge', async () => {
    const databaseUrl = databaseUrlFor();
    // A writes at most once a second, so the kill lands on updates A applied but never stored.
    const { a, b } = await cluster(databaseUrl, { PACS_SYNC_DEBOUNCE_MS: '1000' });
    const name = newDocName();
    const cs = clients([
      client(a.port, name, token(name)), // gone with A: never reconnects
      client(a.port, name, token(name)), // reconnects to B
      client(b.port, name, token(name)),
    ]);
    const [leaver, mover, stayer] = cs as [TestClient, TestClient, TestClient];
    await waitFor(() => cs.every((c) => c.provider.synced), 'synced');
    let typed = 0;
    const typing = setInterval(() => {
      cs.forEach((c, i) => {
        if (c !== leaver || typed < 60) c.text.insert(c.text.length, `c${i}-${typed} `);
      });
      typed++;
    }, 15);
    cleanups.push(() => clearInterval(typing));
    await waitFor(() => typed > 60, 'typing');
    const leaverMarkers = Array.from({ length: 60 }, (_, i) => `c0-${i} `);
    // B has seen everything the leaver typed ...
    await waitFor(async () => {
      const text = textOf((await serverState(b, name)).update);
      return leaverMarkers.every((m) => text.includes(m));
    }, 'B saw the leaver');
    // ... and A still holds some of it unstored when it dies.
    await waitFor(async () => {
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      return Number(/^pacs_sync_unpersisted_updates (\d+)/m.exec(metrics)?.[1] ?? 0) > 0;
    }, 'A holds unstored updates');
    a.proc.kill('SIGKILL');
    await a.exited;
    leaver.destroy();
    retarget(mover, b.port);
    await waitFor(() => typed > 100, 'typing on');
    clearInterval(typing);
    await waitFor(() => mover.provider.synced && allEqual([mover.doc, stayer.doc]), 'the moved client converges on B');
    const final = stayer.text.toString();
    for (const m of leaverMarkers) expect(final).toContain(m);
    expect(final).not.toContain('c0-60 ');
    await serversEqualClients([b], name, stayer.doc);
    // Everything, including what only the dead instance and Redis carried, reaches the database.
    await waitFor(async () => (await storedDoc(databaseUrl, name)).getText('body').toString() === final, 'database holds everything');
    for (const c of [mover, stayer]) c.provider.disconnect();
    await stopGracefully(b);
    expect((await storedDoc(databaseUrl, name)).getText('body').toString()).toBe(final);
  });

  it('SCALE-5: instances started together on a fresh database both come up; one whose Redis is unreachable still serves, then joins', async () => {
    const databaseUrl = databaseUrlFor();
    const redisPort = await freePort(); // nothing listens yet
    const [a, b] = await Promise.all(
      [0, 1].map(async () => track(await spawnServer(databaseUrl, { PACS_SYNC_REDIS_URL: `redis://127.0.0.1:${redisPort}` }))),
    );
    const name = newDocName();
    const [onA1, onA2, onB] = clients([
      client(a!.port, name, token(name)),
      client(a!.port, name, token(name)),
      client(b!.port, name, token(name)),
    ]);
    await waitFor(() => onA1!.provider.synced && onA2!.provider.synced && onB!.provider.synced, 'synced without Redis');
    expect((await health(a!)).redis).toBe('disconnected');
    onA1!.text.insert(0, 'served by A alone. ');
    onB!.text.insert(0, 'served by B alone. ');
    await waitFor(() => onA2!.text.toString().includes('served by A alone'), 'A serves its clients');
    const redis = await startRedis(redisPort);
    cleanups.push(() => redis.kill());
    await waitFor(async () => (await health(a!)).redis === 'connected' && (await health(b!)).redis === 'connected', 'both join', 20_000);
    await waitFor(() => allEqual([onA1!.doc, onA2!.doc, onB!.doc]), 'and converge', 20_000);
  });

  it('SCALE-6: Redis lost mid-session: each instance serves its own clients, then both resync after Redis returns', async () => {
    const databaseUrl = databaseUrlFor();
    const { redis, a, b } = await cluster(databaseUrl);
    const name = newDocName();
    const cs = clients([client(a.port, name, token(name)), client(a.port, name, token(name)), client(b.port, name, token(name))]);
    const [a1, a2, b1] = cs as [TestClient, TestClient, TestClient];
    await waitFor(() => cs.every((c) => c.provider.synced), 'synced');
    b1.text.insert(0, 'before. ');
    await waitFor(() => allEqual(cs.map((c) => c.doc)), 'converged');

    await redis.kill();
    await waitFor(
      async () => (await health(a)).redis === 'disconnected' && (await health(b)).redis === 'disconnected',
      'both see Redis gone',
    );
    // Without Redis no instance can freeze the others: a lock is refused, nothing is locked.
    const refused = await internal(a.url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(a1.doc)),
      lockedBy: 'att',
    });
    expect(refused.status).toBe(503);
    expect((await serverState(a, name)).locked).toBe(false);
    a1.text.insert(a1.text.length, 'typed on A while Redis was down. ');
    b1.text.insert(b1.text.length, 'typed on B while Redis was down. ');
    // A keeps serving its own clients.
    await waitFor(() => a2.text.toString().includes('typed on A'), 'local clients still sync');
    expect(a2.text.toString()).not.toContain('typed on B');

    const back: RedisServer = await startRedis(redis.port);
    cleanups.push(() => back.kill());
    await waitFor(async () => (await health(a)).redis === 'connected' && (await health(b)).redis === 'connected', 'both reconnect', 20_000);
    await waitFor(() => allEqual(cs.map((c) => c.doc)), 'clients converge after the resync', 20_000);
    for (const c of cs) {
      expect(c.text.toString()).toContain('typed on A');
      expect(c.text.toString()).toContain('typed on B');
    }
    await serversEqualClients([a, b], name, a1.doc);
    // And the bus works again for new edits.
    b1.text.insert(0, 'after. ');
    await waitFor(() => a2.text.toString().startsWith('after. '), 'live again');
  });
});

describe('scale-out lock, two instances in this process (SCALE-4)', () => {
  it('SCALE-4: while the lock is stored through A, edits arriving at B wait; a failed lock applies them, a stored one makes them late edits', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.kill());
    const databaseUrl = tempDatabaseUrl();
    const env = { PACS_SYNC_REDIS_URL: redis.url };
    const store = new ControlledStore(await SequelizeStore.open(databaseUrl));
    const a = await startServer({ databaseUrl, store, env });
    cleanups.push(() => a.server.stop());
    const b = await startServer({ databaseUrl, env });
    cleanups.push(() => b.server.stop());
    const name = newDocName();
    const lockPath = docPath(name, 'lock');
    const [onB] = clients([client(b.port, name, token(name, { name: 'Dr B' }))]);
    await waitFor(() => onB!.provider.synced, 'synced');
    onB!.text.insert(0, 'base');
    const textOn = (s: typeof a) => serverDoc(s.server, name)?.getText('body').toString();
    await waitFor(() => textOn(b) === 'base', 'B has base');

    // 1) The lock row cannot be written: B's held update is applied afterwards, everywhere.
    store.failing.add('setLock');
    let release = store.hold('setLock');
    let lock = internal(a.url, 'POST', lockPath, { stateVector: b64(Y.encodeStateVector(onB!.doc)), lockedBy: 'att' });
    await waitFor(() => (store.calls.setLock ?? 0) === 1, 'lock write started on A');
    expect(textOn(a)).toBe('base'); // A loaded the document and has B's edit (load sync or freeze answer)
    let received = await updatesReceived(b.server);
    onB!.text.insert(4, ' held-1');
    await waitFor(async () => (await updatesReceived(b.server)) > received, 'held update arrived at B');
    expect(textOn(b)).toBe('base');
    release();
    expect((await lock).status).toBe(503);
    await waitFor(() => textOn(b) === 'base held-1' && textOn(a) === 'base held-1', 'applied on both after the failed lock');

    // 2) The lock is stored: what waited on B becomes B's late edit, applied nowhere.
    store.failing.delete('setLock');
    release = store.hold('setLock');
    lock = internal(a.url, 'POST', lockPath, { stateVector: b64(Y.encodeStateVector(onB!.doc)), lockedBy: 'att' });
    await waitFor(() => (store.calls.setLock ?? 0) === 2, 'second lock write started');
    received = await updatesReceived(b.server);
    onB!.text.insert(onB!.text.length, ' held-2');
    await waitFor(async () => (await updatesReceived(b.server)) > received, 'second held update arrived at B');
    release();
    const done = await lock;
    expect(done.status).toBe(200);
    expect(textOf(unb64(done.json.update))).toBe('base held-1');
    await waitFor(() => onB!.notices.some((n) => n.type === 'late-edit-stored'), 'late edit stored by B');
    const late = await internal(a.url, 'GET', docPath(name, 'late-edits'));
    expect((late.json.lateEdits as { userName: string }[]).map((e) => e.userName)).toEqual(['Dr B']);
    expect(textOn(a)).toBe('base held-1');
    expect(textOn(b)).toBe('base held-1');
  });
});

describe('scale-out fuzz (SCALE-1, FUZZ-1)', () => {
  const seeds = Array.from({ length: Number(process.env.FUZZ_SEEDS ?? 2) }, (_, i) => 7001 + i);
  it.each(seeds)(
    'SCALE-1/SCALE-3: seed %i: random edits, disconnects, moves and a kill -9 over two instances end byte-equal everywhere',
    async (seed) => {
      const gen = prng.create(seed);
      const databaseUrl = tempDatabaseUrl();
      const envA = { PACS_SYNC_DEBOUNCE_MS: String(prng.int32(gen, 0, 300)) };
      const { redis, a, b } = await cluster(databaseUrl, envA);
      const servers = [a, b];
      const crashStep = prng.int32(gen, 30, 120);
      const name = newDocName();
      const at = Array.from({ length: 4 }, () => prng.int32(gen, 0, 1));
      const cs = clients(at.map((s) => client(servers[s]!.port, name, token(name))));
      const online = cs.map(() => true);
      await waitFor(() => cs.every((c) => c.provider.synced), 'synced');
      for (let step = 0; step < 150; step++) {
        const i = prng.int32(gen, 0, cs.length - 1);
        const c = cs[i]!;
        const roll = prng.int32(gen, 0, 99);
        if (step === crashStep) {
          // kill -9 one instance; a fresh one takes its place on another port (as a restarted container).
          const k = prng.int32(gen, 0, 1);
          servers[k]!.proc.kill('SIGKILL');
          await servers[k]!.exited;
          servers[k] = track(await spawnServer(databaseUrl, { PACS_SYNC_REDIS_URL: redis.url, ...(k === 0 ? envA : {}) }));
          for (const [j, cl] of cs.entries()) if (at[j] === k) retarget(cl, servers[k]!.port);
        } else if (roll < 70) {
          if (c.text.length > 0 && prng.int32(gen, 0, 4) === 0) {
            const from = prng.int32(gen, 0, c.text.length - 1);
            c.text.delete(from, Math.min(prng.int32(gen, 1, 4), c.text.length - from));
          } else {
            c.text.insert(prng.int32(gen, 0, c.text.length), prng.word(gen, 1, 5));
          }
        } else if (roll < 85) {
          if (online[i]) c.provider.disconnect();
          else c.provider.connect();
          online[i] = !online[i];
        } else if (roll < 95) {
          // Move to the other instance (as a reconnect through nginx might).
          at[i] = 1 - at[i]!;
          retarget(c, servers[at[i]!]!.port);
          c.provider.disconnect();
          if (online[i]) c.provider.connect();
        } else {
          await new Promise((r) => setTimeout(r, prng.int32(gen, 1, 30)));
        }
        if (step % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      for (const [i, c] of cs.entries()) if (!online[i]) c.provider.connect();
      await waitFor(() => cs.every((c) => c.provider.synced) && allEqual(cs.map((c) => c.doc)), `seed ${seed}: clients converge`, 20_000);
      await serversEqualClients(servers, name, cs[0]!.doc);
      for (const c of cs) c.provider.disconnect();
      await Promise.all(servers.map(stopGracefully));
      const stored = await storedDoc(databaseUrl, name);
      expect(stored.getText('body').toString(), `seed ${seed}: database text`).toBe(cs[0]!.text.toString());
      expect(bytesEqual(Y.encodeStateAsUpdate(stored), Y.encodeStateAsUpdate(cs[0]!.doc)), `seed ${seed}: database`).toBe(true);
    },
  );
});
