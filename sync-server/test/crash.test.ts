import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { spawnServer } from './child';
import {
  allEqual,
  bytesEqual,
  client,
  internal,
  newDocName,
  retarget,
  storedDoc,
  type TestClient,
  tempDatabaseUrl,
  token,
  unb64,
  waitFor,
} from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('crash (DUR-8)', () => {
  it('DUR-8: kill -9 mid-editing then restart on the same database: no content lost', async () => {
    const databaseUrl = tempDatabaseUrl();
    // A long debounce so that the kill surely lands on updates that were applied but not stored.
    const first = await spawnServer(databaseUrl, { PACS_SYNC_DEBOUNCE_MS: '1000' });
    cleanups.push(() => {
      first.proc.kill('SIGKILL');
    });
    const name = newDocName();
    const clients: TestClient[] = [0, 1, 2].map(() => client(first.port, name, token(name)));
    cleanups.push(() => {
      for (const c of clients) c.destroy();
    });
    await waitFor(() => clients.every((c) => c.provider.synced), 'synced');

    let typed = 0;
    const typing = setInterval(() => {
      clients.forEach((c, i) => {
        c.text.insert(c.text.length, `c${i}-${typed} `);
      });
      typed++;
    }, 15);
    cleanups.push(() => clearInterval(typing));

    await waitFor(async () => {
      const s = await internal(first.url, 'GET', `/internal/documents/${encodeURIComponent(name)}/state`);
      const d = new Y.Doc();
      Y.applyUpdate(d, unb64(s.json.update));
      return d.getText('body').length > 2000;
    }, 'a good amount of edits on the server');
    first.proc.kill('SIGKILL');
    await first.exited;
    const typedAtKill = typed;
    const clientTextAtKill = clients[0]!.text.toString();
    const storedAtKill = (await storedDoc(databaseUrl, name)).getText('body').toString();
    // The database misses the last debounced window: only the clients hold it now.
    expect(storedAtKill.length).toBeLessThan(clientTextAtKill.length);

    // Clients keep typing offline for a while.
    await waitFor(() => typed > typedAtKill + 10, 'offline typing');
    const second = await spawnServer(databaseUrl);
    cleanups.push(async () => {
      second.proc.kill('SIGTERM');
      await second.exited;
    });
    for (const c of clients) retarget(c, second.port);
    await waitFor(() => clients.every((c) => c.provider.synced), 'reconnected', 20_000);
    clearInterval(typing);
    await waitFor(() => allEqual(clients.map((c) => c.doc)), 'clients converge');
    const final = clients[0]!.text.toString();
    for (let i = 0; i < typed; i++) for (const k of [0, 1, 2]) expect(final).toContain(`c${k}-${i} `);

    // The restarted server holds exactly the clients' state (byte-equal) ...
    await waitFor(async () => {
      const s = await internal(second.url, 'GET', `/internal/documents/${encodeURIComponent(name)}/state`);
      return bytesEqual(unb64(s.json.update), Y.encodeStateAsUpdate(clients[0]!.doc));
    }, 'server equals clients');
    // ... and after a graceful stop so does the database.
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const stored = await storedDoc(databaseUrl, name);
    expect(stored.getText('body').toString()).toBe(final);
  });
});
