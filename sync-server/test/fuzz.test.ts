/**
 * Seeded fuzz (FUZZ-1): random edits, disconnects, partial flushes, store failures and server
 * restarts (graceful and crash), ending in identical state on all clients, the server and the
 * database. A failing seed is printed; add it to REGRESSION_SEEDS with a note so it stays tested.
 * More seeds: FUZZ_SEEDS=50 npx vitest run test/fuzz.test.ts
 */
import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { SyncServer } from '../src/server';
import { SequelizeStore } from '../src/store';
import {
  allEqual,
  ControlledStore,
  client,
  newDocName,
  retarget,
  serverDoc,
  startServer,
  storedDoc,
  type TestClient,
  tempDatabaseUrl,
  token,
  waitFor,
} from './helpers';

/** Seeds that once failed, with what they exposed. */
const REGRESSION_SEEDS: { seed: number; note: string }[] = [];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const STEPS = 160;
const CLIENTS = 3;

async function run(seed: number): Promise<void> {
  const gen = prng.create(seed);
  const databaseUrl = tempDatabaseUrl();
  const name = newDocName();
  const env = {
    PACS_SYNC_DEBOUNCE_MS: String(prng.int32(gen, 0, 50)),
    PACS_SYNC_COMPACT_AFTER_UPDATES: String(prng.int32(gen, 2, 20)),
    PACS_SYNC_MAX_MESSAGES_PER_SECOND: '10000',
    PACS_SYNC_SHUTDOWN_TIMEOUT_MS: '300',
  };
  let store = new ControlledStore(await SequelizeStore.open(databaseUrl));
  let { server, port } = await startServer({ databaseUrl, store, env });
  let current: SyncServer = server;
  cleanups.push(() => current.stop());
  const clients: TestClient[] = Array.from({ length: CLIENTS }, () => client(port, name, token(name)));
  cleanups.push(() => {
    for (const c of clients) c.destroy();
  });
  const online = clients.map(() => true);
  const log: string[] = [];

  for (let step = 0; step < STEPS; step++) {
    const roll = prng.int32(gen, 0, 99);
    const i = prng.int32(gen, 0, CLIENTS - 1);
    const c = clients[i]!;
    if (roll < 60) {
      const text = c.text;
      if (text.length > 0 && prng.bool(gen) && prng.int32(gen, 0, 3) === 0) {
        const at = prng.int32(gen, 0, text.length - 1);
        text.delete(at, Math.min(prng.int32(gen, 1, 5), text.length - at));
        log.push(`${step}: c${i} delete`);
      } else if (prng.int32(gen, 0, 9) === 0) {
        c.doc.getMap('meta').set(prng.word(gen, 1, 4), prng.int32(gen, 0, 1000));
        log.push(`${step}: c${i} map set`);
      } else {
        text.insert(prng.int32(gen, 0, text.length), prng.word(gen, 1, 6));
        log.push(`${step}: c${i} insert`);
      }
    } else if (roll < 70) {
      if (online[i]) c.provider.disconnect();
      else c.provider.connect();
      online[i] = !online[i];
      log.push(`${step}: c${i} ${online[i] ? 'connect' : 'disconnect'}`);
    } else if (roll < 78) {
      const doc = current.documents.docs.get(name);
      if (doc) await doc.flush();
      log.push(`${step}: flush`);
    } else if (roll < 83) {
      if (store.failing.has('append')) store.failing.delete('append');
      else store.failing.add('append');
      log.push(`${step}: store ${store.failing.has('append') ? 'fails' : 'recovers'}`);
    } else if (roll < 87) {
      const crash = prng.bool(gen);
      log.push(`${step}: server ${crash ? 'crash' : 'restart'}`);
      if (crash) await current.crash();
      else await current.stop();
      store = new ControlledStore(await SequelizeStore.open(databaseUrl));
      ({ server, port } = await startServer({ databaseUrl, store, env }));
      current = server;
      for (const cl of clients) retarget(cl, port);
    } else {
      const ticks = prng.int32(gen, 1, 20);
      for (let k = 0; k < ticks; k++) await new Promise((r) => setImmediate(r));
    }
  }

  store.failing.clear();
  clients.forEach((c, i) => {
    if (!online[i]) c.provider.connect();
  });
  try {
    await waitFor(() => clients.every((c) => c.provider.synced), 'all clients synced', 20_000);
    await waitFor(
      () => {
        const s = serverDoc(current, name);
        return s !== undefined && allEqual([...clients.map((c) => c.doc), s]);
      },
      'clients and server identical',
      20_000,
    );
  } catch (err) {
    throw new Error(`fuzz seed ${seed} failed: ${(err as Error).message}\n${log.slice(-30).join('\n')}`);
  }
  const expected = clients[0]!.text.toString();
  await current.stop();
  const stored = await storedDoc(databaseUrl, name);
  expect(stored.getText('body').toString(), `seed ${seed}: database`).toBe(expected);
  expect(Y.encodeStateVector(stored)).toEqual(Y.encodeStateVector(clients[0]!.doc));
}

const count = Number(process.env.FUZZ_SEEDS ?? 6);
const seeds = Array.from({ length: count }, (_, k) => 1000 + k);

describe('fuzz (FUZZ-1)', () => {
  it.each(seeds)('FUZZ-1: seed %i converges on clients, server and database', async (seed) => {
    await run(seed);
  });
  for (const { seed, note } of REGRESSION_SEEDS) {
    it(`FUZZ-1 regression: seed ${seed} (${note})`, async () => {
      await run(seed);
    });
  }
});
