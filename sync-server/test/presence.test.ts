/**
 * Presence (awareness) cannot be forged or amplified (SPEC.md PRES-1..PRES-4). Victims and
 * observers are stock y-websocket providers (BroadcastChannel off); the attacker is a raw socket
 * speaking the same protocol with crafted awareness entries.
 */
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { MAX_AWARENESS_IDS_PER_CONNECTION, MAX_AWARENESS_STATE_BYTES } from '../src/awareness-policy';
import type { SyncServer } from '../src/server';
import { client, newDocName, rawSocket, startServer, type TestClient, token, waitFor } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

type Entry = { clientId: number; clock: number; state: unknown };

function awarenessFrame(entries: Entry[]): Buffer {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 1);
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(inner, entry.clientId);
    encoding.writeVarUint(inner, entry.clock);
    encoding.writeVarString(inner, JSON.stringify(entry.state));
  }
  encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  return Buffer.from(encoding.toUint8Array(e));
}

const QUERY_AWARENESS = Buffer.from([3]);
const SYNC_STEP1_EMPTY = Buffer.from([0, 0, 1, 0]);

async function dropped(server: SyncServer, reason: string): Promise<number> {
  const m = await server.metrics.awarenessDropped.get();
  return m.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

function userOf(c: TestClient, clientId: number): { name?: string; role?: string; color?: string } | undefined {
  return (c.provider.awareness.getStates().get(clientId) as { user?: { name?: string; role?: string; color?: string } } | undefined)?.user;
}

async function scene() {
  const { server, port } = await startServer({ env: { PACS_SYNC_MAX_MESSAGES_PER_SECOND: '10000' } });
  cleanups.push(() => server.stop());
  const doc = newDocName();
  const victim = client(port, doc, token(doc, { name: 'Dr Victim', role: 'resident' }));
  const observer = client(port, doc, token(doc, { name: 'Dr Observer', role: 'attending', mode: 'ro' }));
  cleanups.push(
    () => victim.destroy(),
    () => observer.destroy(),
  );
  victim.provider.awareness.setLocalStateField('user', { name: 'Dr Victim', role: 'resident', color: '#30bced' });
  const victimId = victim.doc.clientID;
  await waitFor(() => userOf(observer, victimId)?.name === 'Dr Victim', 'observer sees the victim');
  const attacker = await rawSocket(port, doc, token(doc, { name: 'Mallory', role: 'resident' }));
  cleanups.push(() => attacker.ws.close());
  await waitFor(() => attacker.messages.length >= 2, 'attacker handshake');
  return { server, port, doc, victim, observer, victimId, attacker };
}

/** Waits until the server has handled everything the socket sent so far (its answer to a sync step 1). */
async function roundTrip(ws: WebSocket, messages: Buffer[]): Promise<void> {
  const before = messages.length;
  ws.send(SYNC_STEP1_EMPTY);
  await waitFor(() => messages.slice(before).some((m) => m[0] === 0 && m[1] === 1), 'sync step 2 answer');
}

describe('presence cannot be forged (PRES-1, PRES-2)', () => {
  const HIGH_CLOCK = 1_000_000;
  it.each<{ what: string; entries: (victimId: number) => Entry[]; reason: string }>([
    {
      what: "PRES-1: rewriting another client's presence",
      entries: (id) => [{ clientId: id, clock: HIGH_CLOCK, state: { user: { name: 'Evil', role: 'attending', color: '#000' } } }],
      reason: 'foreign-client',
    },
    {
      what: "PRES-1: removing another client's presence",
      entries: (id) => [{ clientId: id, clock: HIGH_CLOCK, state: null }],
      reason: 'foreign-client',
    },
    {
      what: 'PRES-1: a foreign entry hidden behind a legitimate one',
      entries: (id) => [
        { clientId: 424242, clock: 1, state: { user: { name: 'x' } } },
        { clientId: id, clock: HIGH_CLOCK, state: null },
      ],
      reason: 'foreign-client',
    },
    {
      what: "PRES-3: the victim's id with a huge state",
      entries: (id) => [{ clientId: id, clock: HIGH_CLOCK, state: { pad: 'x'.repeat(20_000) } }],
      reason: 'too-large',
    },
  ])('$what leaves the victim as it was', async ({ entries, reason }) => {
    const { server, observer, victim, victimId, attacker } = await scene();
    attacker.ws.send(awarenessFrame(entries(victimId)));
    await roundTrip(attacker.ws, attacker.messages);
    await waitFor(async () => (await dropped(server, reason)) >= 1, `dropped as ${reason}`);
    // A later change of the victim's own still arrives: the observer is not stuck behind a forged clock.
    victim.provider.awareness.setLocalStateField('cursor', { anchor: 1 });
    await waitFor(
      () => (observer.provider.awareness.getStates().get(victimId) as { cursor?: unknown } | undefined)?.cursor !== undefined,
      'victim update',
    );
    expect(userOf(observer, victimId)).toEqual({ name: 'Dr Victim', role: 'resident', color: '#30bced' });
    expect(observer.provider.awareness.getStates().has(victimId)).toBe(true);
  });

  it.each<{ what: string; state: unknown; expected: Record<string, unknown> }>([
    {
      what: 'a forged name and role',
      state: { user: { name: 'Dr Real Attending', role: 'attending', color: '#ff0000' } },
      expected: { name: 'Mallory', role: 'resident', color: '#ff0000' },
    },
    {
      what: 'a user that is not an object',
      state: { user: 'Dr Real Attending · attending' },
      expected: { name: 'Mallory', role: 'resident' },
    },
    {
      what: 'a colour that is not a colour',
      state: { user: { name: 'x', color: 'red; background: url(https://evil.example/)' } },
      expected: { name: 'Mallory', role: 'resident' },
    },
  ])('PRES-2: $what is shown with the name and role of the token', async ({ state, expected }) => {
    const { observer, attacker } = await scene();
    attacker.ws.send(awarenessFrame([{ clientId: 777, clock: 1, state }]));
    await waitFor(() => userOf(observer, 777) !== undefined, 'attacker presence relayed');
    expect(userOf(observer, 777)).toEqual(expected);
  });

  it('PRES-1: the same user reconnecting takes its id over from a socket not yet known dead', async () => {
    const { port, doc, observer } = await scene();
    const userId = 'same-user-0001';
    const first = client(port, doc, token(doc, { userId, name: 'Dr Same' }));
    cleanups.push(() => first.destroy());
    first.provider.awareness.setLocalStateField('user', { name: 'x', color: '#123456' });
    const id = first.doc.clientID;
    await waitFor(() => userOf(observer, id)?.name === 'Dr Same', 'first connection shown');
    const second = await rawSocket(port, doc, token(doc, { userId, name: 'Dr Same' }));
    cleanups.push(() => second.ws.close());
    second.ws.send(awarenessFrame([{ clientId: id, clock: 1_000, state: { user: { name: 'x', color: '#654321' } } }]));
    await waitFor(() => userOf(observer, id)?.color === '#654321', 'taken over by the same user');
    // And keeps it after the old socket is gone.
    first.provider.disconnect();
    await roundTrip(second.ws, second.messages);
    second.ws.send(awarenessFrame([{ clientId: id, clock: 1_001, state: { user: { name: 'x', color: '#abcdef' } } }]));
    await waitFor(() => userOf(observer, id)?.color === '#abcdef', 'still owned by the new connection');
  });

  it('PRES-1: the owner removes its own presence; it leaves with its connection', async () => {
    const { observer, attacker } = await scene();
    attacker.ws.send(awarenessFrame([{ clientId: 778, clock: 1, state: { user: { name: 'x' } } }]));
    await waitFor(() => observer.provider.awareness.getStates().has(778), 'relayed');
    attacker.ws.send(awarenessFrame([{ clientId: 778, clock: 2, state: null }]));
    await waitFor(() => !observer.provider.awareness.getStates().has(778), 'removed by its owner');
    attacker.ws.send(awarenessFrame([{ clientId: 778, clock: 3, state: { user: { name: 'y' } } }]));
    await waitFor(() => observer.provider.awareness.getStates().has(778), 'back');
    attacker.ws.close();
    await waitFor(() => !observer.provider.awareness.getStates().has(778), 'gone with the connection');
  });
});

describe('presence cannot be amplified (PRES-3, PRES-4)', () => {
  it('PRES-3: a state above the cap is dropped, not relayed, and counted', async () => {
    const { server, observer, attacker } = await scene();
    attacker.ws.send(awarenessFrame([{ clientId: 901, clock: 1, state: { user: { name: 'x' }, pad: 'x'.repeat(900 * 1024) } }]));
    attacker.ws.send(
      awarenessFrame([{ clientId: 902, clock: 1, state: { user: { name: 'x' }, pad: 'x'.repeat(MAX_AWARENESS_STATE_BYTES - 100) } }]),
    );
    await waitFor(() => observer.provider.awareness.getStates().has(902), 'the state under the cap is relayed');
    expect(observer.provider.awareness.getStates().has(901)).toBe(false);
    expect(await dropped(server, 'too-large')).toBe(1);
  });

  it('PRES-3: one connection introduces at most a few client ids', async () => {
    const { server, observer, attacker } = await scene();
    const entries = Array.from({ length: 50 }, (_, i) => ({ clientId: 5000 + i, clock: 1, state: { user: { name: 'x' } } }));
    attacker.ws.send(awarenessFrame(entries));
    await waitFor(async () => (await dropped(server, 'too-many-clients')) === 50 - MAX_AWARENESS_IDS_PER_CONNECTION, 'extra ids dropped');
    await waitFor(() => observer.provider.awareness.getStates().has(5000 + MAX_AWARENESS_IDS_PER_CONNECTION - 1), 'allowed ids relayed');
    const shown = [...observer.provider.awareness.getStates().keys()].filter((id) => id >= 5000 && id < 5050);
    expect(shown.length).toBe(MAX_AWARENESS_IDS_PER_CONNECTION);
  });

  it('PRES-4: a flood of query-awareness frames gets at most one answer per second', async () => {
    const { attacker } = await scene();
    const isAwareness = (m: Buffer) => m[0] === 1;
    const before = attacker.messages.filter(isAwareness).length;
    const started = Date.now();
    for (let i = 0; i < 150; i++) attacker.ws.send(QUERY_AWARENESS);
    await roundTrip(attacker.ws, attacker.messages);
    // One answer at once, the rest share one more after the interval.
    await waitFor(() => attacker.messages.filter(isAwareness).length - before >= 2, 'the coalesced answer');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await roundTrip(attacker.ws, attacker.messages);
    expect(attacker.messages.filter(isAwareness).length - before).toBe(2);
  });
});
