import { CLOSE_CODES } from '@pacs/shared';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  allEqual,
  b64,
  client,
  internal,
  newDocName,
  rawSocket,
  SERVICE_TOKEN,
  serverDoc,
  startServer,
  token,
  unb64,
  waitFor,
} from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(env: Record<string, string> = {}, databaseUrl?: string) {
  const s = await startServer({ env, databaseUrl });
  cleanups.push(() => s.server.stop());
  return s;
}

const docPath = (name: string, action: string) => `/internal/documents/${encodeURIComponent(name)}/${action}`;

describe('internal API access (API-1)', () => {
  it('API-1: only the service bearer opens the internal API; user document tokens are refused', async () => {
    const { url } = await setup();
    const name = newDocName();
    expect((await internal(url, 'GET', docPath(name, 'state'))).status).toBe(200);
    expect((await internal(url, 'GET', docPath(name, 'state'), undefined, token(name, { role: 'attending' }))).status).toBe(401);
    expect((await internal(url, 'GET', docPath(name, 'state'), undefined, `${SERVICE_TOKEN}x`)).status).toBe(401);
    const none = await fetch(`${url}${docPath(name, 'state')}`);
    expect(none.status).toBe(401);
    expect((await internal(url, 'GET', docPath('report:nope', 'state'))).status).toBe(404);
    expect((await internal(url, 'GET', docPath(name, 'lock'))).status).toBe(405);
    expect((await internal(url, 'POST', docPath(name, 'lock'), { stateVector: 42 })).status).toBe(400);
    expect((await internal(url, 'POST', docPath(name, 'lock'), { stateVector: 'AA==', lockedBy: 'u', extra: 1 })).status).toBe(400);
  });

  it.each([
    ['a length no base64 has', 'lock', { stateVector: 'AAAAA', lockedBy: 'u' }],
    ['a snapshot of a length no base64 has', 'lock', { stateVector: 'AA==', snapshot: 'A', lockedBy: 'u' }],
    ['an update of a length no base64 has', 'seed', { update: 'AAAAA' }],
  ])('API-1: binary fields with %s are a 400 naming the field, and change nothing', async (_what, action, body) => {
    const { url } = await setup();
    const name = newDocName();
    const answer = await internal(url, 'POST', docPath(name, action), body);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      code: 'bad-request',
      message: expect.stringMatching(/^(stateVector|snapshot|update) is not valid base64$/),
    });
    const state = await internal(url, 'GET', docPath(name, 'state'));
    expect(state.json.locked).toBe(false);
    expect(unb64(state.json.update)).toEqual(new Uint8Array([0, 0]));
  });

  it('API-1: without PACS_SYNC_SERVICE_TOKEN the internal API answers 503', async () => {
    const { url } = await setup({ PACS_SYNC_SERVICE_TOKEN: '' });
    expect((await internal(url, 'GET', docPath(newDocName(), 'state'))).status).toBe(503);
  });
});

describe('finalization lock (LOCK-*)', () => {
  it('LOCK-1: a lock with a state vector that misses updates is refused with 409 and nothing is locked', async () => {
    const { server, port, url } = await setup();
    const name = newDocName();
    const resident = client(port, name, token(name, { role: 'resident' }));
    cleanups.push(() => resident.destroy());
    await waitFor(() => resident.provider.synced, 'synced');
    resident.text.insert(0, 'Impression: ');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 12, 'server has it');
    const seen = Y.encodeStateVector(serverDoc(server, name)!);
    resident.text.insert(12, 'unseen words');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 24, 'server has the unseen edit');
    const refused = await internal(url, 'POST', docPath(name, 'lock'), { stateVector: b64(seen), lockedBy: 'attending-1' });
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('unseen-updates');
    expect(typeof refused.json.stateVector).toBe('string');
    const state = await internal(url, 'GET', docPath(name, 'state'));
    expect(state.json.locked).toBe(false);
    resident.text.insert(0, 'still editable ');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString().startsWith('still editable') === true, 'still editable');
  });

  it('LOCK-1: with a snapshot, a deletion the reviewer has not seen is refused too', async () => {
    const { server, port, url } = await setup();
    const name = newDocName();
    const resident = client(port, name, token(name));
    cleanups.push(() => resident.destroy());
    await waitFor(() => resident.provider.synced, 'synced');
    resident.text.insert(0, 'no acute findings');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 17, 'server has it');
    const reviewed = new Y.Doc();
    Y.applyUpdate(reviewed, Y.encodeStateAsUpdate(serverDoc(server, name)!));
    resident.text.delete(0, 3); // "acute findings": a deletion adds nothing to the state vector
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 14, 'server has the deletion');
    const withSnapshot = await internal(url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(reviewed)),
      snapshot: b64(Y.encodeSnapshot(Y.snapshot(reviewed))),
      lockedBy: 'att',
    });
    expect(withSnapshot.status).toBe(409);
    Y.applyUpdate(reviewed, Y.encodeStateAsUpdate(serverDoc(server, name)!));
    const ok = await internal(url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(reviewed)),
      snapshot: b64(Y.encodeSnapshot(Y.snapshot(reviewed))),
      lockedBy: 'att',
    });
    expect(ok.status).toBe(200);
  });

  it('LOCK-2/3/5: lock returns the final state, open connections are told and become read-only, later updates are stored as late edits', async () => {
    const { server, port, url } = await setup();
    const name = newDocName();
    const resident = client(port, name, token(name, { role: 'resident', userId: 'resident-1', name: 'Dr Resident' }));
    const attending = client(port, name, token(name, { role: 'attending', userId: 'attending-1' }));
    cleanups.push(
      () => resident.destroy(),
      () => attending.destroy(),
    );
    await waitFor(() => resident.provider.synced && attending.provider.synced, 'synced');
    resident.text.insert(0, 'Final text.');
    await waitFor(() => allEqual([resident.doc, attending.doc, serverDoc(server, name)!]) && attending.text.length === 11, 'converged');

    const lock = await internal(url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(attending.doc)),
      lockedBy: 'attending-1',
    });
    expect(lock.status).toBe(200);
    expect(lock.json.alreadyLocked).toBe(false);
    expect(lock.json.lockedBy).toBe('attending-1');
    const final = new Y.Doc();
    Y.applyUpdate(final, unb64(lock.json.update));
    expect(final.getText('body').toString()).toBe('Final text.');
    expect(b64(Y.encodeStateVector(final))).toBe(lock.json.stateVector);

    // LOCK-3: the open connections receive the notice and stay open.
    await waitFor(
      () => resident.notices.some((n) => n.type === 'locked') && attending.notices.some((n) => n.type === 'locked'),
      'locked notices',
    );
    expect(resident.provider.wsconnected).toBe(true);

    // LOCK-5: the resident keeps typing: not applied, stored as a late edit with user and time.
    resident.text.insert(11, ' Addendum typed after the lock.');
    await waitFor(() => resident.notices.some((n) => n.type === 'late-edit-stored'), 'late edit stored');
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('Final text.');
    expect(attending.text.toString()).toBe('Final text.');
    const late = await internal(url, 'GET', docPath(name, 'late-edits'));
    expect(late.status).toBe(200);
    const edits = late.json.lateEdits as { userId: string; userName: string; receivedAt: string; update: string }[];
    expect(edits).toHaveLength(1);
    expect(edits[0]!.userId).toBe('resident-1');
    expect(edits[0]!.userName).toBe('Dr Resident');
    expect(Date.parse(edits[0]!.receivedAt)).not.toBeNaN();
    const replay = new Y.Doc();
    Y.applyUpdate(replay, unb64(lock.json.update));
    Y.applyUpdate(replay, unb64(edits[0]!.update));
    expect(replay.getText('body').toString()).toBe('Final text. Addendum typed after the lock.');

    // LOCK-8: locking again is idempotent.
    const again = await internal(url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(attending.doc)),
      lockedBy: 'attending-1',
    });
    expect(again.status).toBe(200);
    expect(again.json.alreadyLocked).toBe(true);
    expect(again.json.lockedAt).toBe(lock.json.lockedAt);

    // Seeding a locked document is refused.
    expect((await internal(url, 'POST', docPath(name, 'seed'), { update: b64(Y.encodeStateAsUpdate(new Y.Doc())) })).status).toBe(409);
    const state = await internal(url, 'GET', docPath(name, 'state'));
    expect(state.json).toMatchObject({ locked: true, lockedBy: 'attending-1', lockedAt: lock.json.lockedAt });
  });

  it('LOCK-4/5/6: a new connection to a locked document (after a restart) is read-only; replayed offline edits are stored once', async () => {
    const first = await startServer();
    const name = newDocName();
    const resident = client(first.port, name, token(name, { userId: 'res' }));
    await waitFor(() => resident.provider.synced, 'synced');
    resident.text.insert(0, 'signed content');
    await waitFor(() => serverDoc(first.server, name)?.getText('body').length === 14, 'server has it');
    resident.provider.disconnect();
    resident.text.insert(0, 'OFFLINE ');
    const lock = await internal(first.url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(serverDoc(first.server, name)!)),
      lockedBy: 'att',
    });
    expect(lock.status).toBe(200);
    await first.server.stop();

    const { server, port, url } = await setup({}, first.databaseUrl);
    // The resident comes back hours later with an (API-issued) ro token: sync step 2 carries the offline edit.
    resident.provider.params = { token: token(name, { userId: 'res', mode: 'ro' }) };
    resident.provider.serverUrl = `ws://127.0.0.1:${port}/sync`;
    cleanups.push(() => resident.destroy());
    resident.provider.connect();
    await waitFor(() => resident.notices.some((n) => n.type === 'locked'), 'locked notice on connect');
    await waitFor(() => resident.notices.some((n) => n.type === 'late-edit-stored'), 'late edit stored');
    // Reconnect twice more: the same offline edit is replayed in sync step 2 but not stored again.
    for (let i = 0; i < 2; i++) {
      resident.provider.disconnect();
      const before = resident.notices.filter((n) => n.type === 'locked').length;
      resident.provider.connect();
      await waitFor(() => resident.provider.synced && resident.notices.filter((n) => n.type === 'locked').length > before, 'resynced');
    }
    const late = await internal(url, 'GET', docPath(name, 'late-edits'));
    expect((late.json.lateEdits as unknown[]).length).toBe(1);
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('signed content');
    const state = await internal(url, 'GET', docPath(name, 'state'));
    expect(state.json.locked).toBe(true);
    // A rw token does not help either: still not applied.
    const other = client(port, name, token(name, { mode: 'rw' }));
    cleanups.push(() => other.destroy());
    await waitFor(() => other.provider.synced, 'other synced');
    other.text.insert(0, 'X');
    await waitFor(
      async () => ((await internal(url, 'GET', docPath(name, 'late-edits'))).json.lateEdits as unknown[]).length === 2,
      'second late edit',
    );
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('signed content');
  });

  it('LOCK-7: unlock (return to resident) makes the document editable again and tells the connections', async () => {
    const { server, port, url } = await setup();
    const name = newDocName();
    const resident = client(port, name, token(name));
    cleanups.push(() => resident.destroy());
    await waitFor(() => resident.provider.synced, 'synced');
    resident.text.insert(0, 'draft');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 5, 'server has it');
    expect(
      (await internal(url, 'POST', docPath(name, 'lock'), { stateVector: b64(Y.encodeStateVector(resident.doc)), lockedBy: 'att' })).status,
    ).toBe(200);
    const unlock = await internal(url, 'POST', docPath(name, 'unlock'));
    expect(unlock.status).toBe(200);
    expect(unlock.json.wasLocked).toBe(true);
    await waitFor(() => resident.notices.some((n) => n.type === 'unlocked'), 'unlocked notice');
    resident.text.insert(5, ' revised');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString() === 'draft revised', 'editable again');
    expect((await internal(url, 'GET', docPath(name, 'state'))).json.locked).toBe(false);
    expect((await internal(url, 'POST', docPath(name, 'unlock'))).json.wasLocked).toBe(false);
  });

  it('SEED-1: seed initialises an empty document once; connections then receive it', async () => {
    const { port, url } = await setup();
    const name = newDocName();
    const template = new Y.Doc();
    template.getText('body').insert(0, 'TECHNIQUE:\nFINDINGS:\nIMPRESSION:');
    const seeded = await internal(url, 'POST', docPath(name, 'seed'), { update: b64(Y.encodeStateAsUpdate(template)) });
    expect(seeded.status).toBe(200);
    expect((await internal(url, 'POST', docPath(name, 'seed'), { update: b64(Y.encodeStateAsUpdate(template)) })).json.code).toBe(
      'not-empty',
    );
    expect((await internal(url, 'POST', docPath(newDocName(), 'seed'), { update: b64(new Uint8Array([9, 9, 9])) })).status).toBe(400);
    const c = client(port, name, token(name));
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced && c.text.toString().startsWith('TECHNIQUE'), 'seeded content reaches the client');
  });

  it('LOCK-2: updates arriving while the lock is being stored are not applied; they become late edits', async () => {
    const { server, port, url } = await setup({ PACS_SYNC_MAX_MESSAGES_PER_SECOND: '10000' });
    const name = newDocName();
    const resident = client(port, name, token(name));
    cleanups.push(() => resident.destroy());
    await waitFor(() => resident.provider.synced, 'synced');
    resident.text.insert(0, 'base');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 4, 'server has base');
    const sv = b64(Y.encodeStateVector(serverDoc(server, name)!));
    const locking = internal(url, 'POST', docPath(name, 'lock'), { stateVector: sv, lockedBy: 'att' });
    // A raw rw socket fires an update right after the request went out.
    const raw = await rawSocket(port, name, token(name));
    const extra = new Y.Doc();
    Y.applyUpdate(extra, Y.encodeStateAsUpdate(resident.doc));
    extra.getText('body').insert(4, ' racing');
    const { encodeUpdateMessage } = await import('../src/protocol');
    raw.ws.send(encodeUpdateMessage(Y.encodeStateAsUpdate(extra, unb64(sv))));
    const result = await locking;
    if (result.status === 200) {
      const final = new Y.Doc();
      Y.applyUpdate(final, unb64(result.json.update));
      const text = final.getText('body').toString();
      // Either the update made it in before the check (then the lock would be 409) or it is a late edit.
      expect(text).toBe('base');
      await waitFor(async () => {
        const body = serverDoc(server, name)?.getText('body').toString();
        const late = (await internal(url, 'GET', docPath(name, 'late-edits'))).json.lateEdits as unknown[];
        return body === 'base' && late.length === 1;
      }, 'racing update stored as late edit');
    } else {
      expect(result.status).toBe(409);
    }
    raw.ws.close();
    expect(CLOSE_CODES.documentLocked).toBe(4423);
  });
});
