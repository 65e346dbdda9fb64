/**
 * Access taken away while connected (SPEC.md REVOKE-*): deactivation and role change close the
 * user's sockets at once and their old tokens stay refused; a hand-over (the resident submitted)
 * turns the user's socket to that document read-only at once. With Redis the instruction reaches
 * every instance. Stock y-websocket providers, BroadcastChannel off.
 */
import { randomUUID } from 'node:crypto';
import { CLOSE_CODES } from '@pacs/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { SyncServer } from '../src/server';
import {
  client,
  internal,
  newDocName,
  rawSocket,
  serverDoc,
  startServer,
  type TestClient,
  tempDatabaseUrl,
  token,
  waitFor,
} from './helpers';
import { startRedis } from './redis';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const now = () => Math.floor(Date.now() / 1000);
const revokePath = (userId: string) => `/internal/users/${encodeURIComponent(userId)}/revoke`;
const readOnlyPath = (doc: string) => `/internal/documents/${encodeURIComponent(doc)}/read-only`;

function tracked(c: TestClient): TestClient {
  cleanups.push(() => c.destroy());
  return c;
}

async function refused(server: SyncServer, reason: string): Promise<number> {
  const m = await server.metrics.refusedUpdates.get();
  return m.values.filter((v) => v.labels.reason === reason).reduce((n, v) => n + v.value, 0);
}

/** Two instances on one database and a real Redis, or one instance alone. */
async function instances(scaleOut: boolean) {
  const databaseUrl = tempDatabaseUrl();
  let env: Record<string, string> = {};
  if (scaleOut) {
    const redis = await startRedis();
    cleanups.push(() => redis.kill());
    env = { PACS_SYNC_REDIS_URL: redis.url };
  }
  const a = await startServer({ databaseUrl, env });
  cleanups.push(() => a.server.stop());
  if (!scaleOut) return { api: a, users: a };
  const b = await startServer({ databaseUrl, env });
  cleanups.push(() => b.server.stop());
  // The API calls one instance; the users sit on the other.
  return { api: a, users: b };
}

describe.each([
  ['one instance', false],
  ['two instances and Redis', true],
])('%s', (_label, scaleOut) => {
  it.each(['deactivated', 'role-changed'])(
    'REVOKE-1: %s: the user’s sockets close with 4410 and their old tokens are refused',
    async (reason) => {
      const { api, users } = await instances(scaleOut);
      const userId = randomUUID();
      const [doc1, doc2] = [newDocName(), newDocName()];
      const tok1 = token(doc1, { userId });
      const mine = [tracked(client(users.port, doc1, tok1)), tracked(client(users.port, doc2, token(doc2, { userId })))];
      const other = tracked(client(users.port, doc1, token(doc1)));
      await waitFor(() => [...mine, other].every((c) => c.provider.synced), 'all synced');

      const response = await internal(api.url, 'POST', revokePath(userId), { reason });
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ propagated: true });
      for (const c of mine) await waitFor(() => c.closes.some((e) => e.code === CLOSE_CODES.accessRevoked), 'closed with accessRevoked');
      expect(other.closes).toEqual([]);
      expect(other.provider.wsconnected).toBe(true);

      // The old token does not open a new connection on any instance.
      for (const port of new Set([api.port, users.port])) {
        const again = await rawSocket(port, doc1, tok1);
        expect((await again.closed).code).toBe(CLOSE_CODES.accessRevoked);
      }
      // A token the API issues later (a changed role) does.
      const fresh = await rawSocket(users.port, doc1, token(doc1, { userId, iat: now() + 2 }));
      await waitFor(() => fresh.messages.length > 0, 'fresh token served');
      fresh.ws.close();
    },
  );

  it('REVOKE-2: the submitting resident’s socket turns read-only at once; others keep editing', async () => {
    const { api, users } = await instances(scaleOut);
    const residentId = randomUUID();
    const doc = newDocName();
    // Issued a while before the submit (tokens carry whole seconds; REVOKE-2 covers those issued before).
    const residentToken = token(doc, { userId: residentId, role: 'resident', iat: now() - 10, exp: now() + 290 });
    const resident = tracked(client(users.port, doc, residentToken));
    const attending = tracked(client(users.port, doc, token(doc, { role: 'attending' })));
    await waitFor(() => resident.provider.synced && attending.provider.synced, 'synced');
    resident.text.insert(0, 'draft ');
    await waitFor(() => serverDoc(users.server, doc)?.getText('body').toString() === 'draft ', 'draft stored');

    const response = await internal(api.url, 'POST', readOnlyPath(doc), { userIds: [residentId] });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ propagated: true, ...(scaleOut ? {} : { connections: 1 }) });
    await waitFor(() => resident.notices.some((n) => n.type === 'read-only'), 'read-only notice');

    const refusedBefore = await refused(users.server, 'read-only');
    resident.text.insert(0, 'after submit ');
    await waitFor(async () => (await refused(users.server, 'read-only')) > refusedBefore, 'update refused');
    attending.text.insert(attending.text.length, 'reviewed');
    await waitFor(() => serverDoc(users.server, doc)?.getText('body').toString() === 'draft reviewed', 'attending edit applied');
    expect(resident.provider.wsconnected).toBe(true);

    // Reconnecting with the token from before the submit is read-only too.
    resident.destroy();
    const again = tracked(client(users.port, doc, residentToken));
    await waitFor(() => again.provider.synced, 'reconnected');
    const refusedAgain = await refused(users.server, 'read-only');
    again.text.insert(0, 'sneaky ');
    await waitFor(async () => (await refused(users.server, 'read-only')) > refusedAgain, 'update refused after reconnect');
    expect(serverDoc(users.server, doc)?.getText('body').toString()).toBe('draft reviewed');
  });
});

describe('REVOKE-* internal API input (API-1, API-2)', () => {
  it.each<{ what: string; method: string; path: string; body?: unknown; bearer?: string; status: number }>([
    {
      what: 'no service token',
      method: 'POST',
      path: revokePath(randomUUID()),
      body: { reason: 'deactivated' },
      bearer: 'x'.repeat(40),
      status: 401,
    },
    { what: 'unknown reason', method: 'POST', path: revokePath(randomUUID()), body: { reason: 'bored' }, status: 400 },
    { what: 'extra field', method: 'POST', path: revokePath(randomUUID()), body: { reason: 'deactivated', all: true }, status: 400 },
    { what: 'user id with a slash', method: 'POST', path: '/internal/users/a%2Fb/revoke', body: { reason: 'deactivated' }, status: 404 },
    { what: 'user id with NUL', method: 'POST', path: '/internal/users/a%00b/revoke', body: { reason: 'deactivated' }, status: 404 },
    {
      what: 'broken percent-encoding',
      method: 'POST',
      path: '/internal/users/%E0%A4%A/revoke',
      body: { reason: 'deactivated' },
      status: 404,
    },
    { what: 'GET', method: 'GET', path: revokePath(randomUUID()), status: 405 },
    { what: 'read-only without users', method: 'POST', path: readOnlyPath(newDocName()), body: { userIds: [] }, status: 400 },
    { what: 'read-only for a bad document', method: 'POST', path: readOnlyPath('report:../x'), body: { userIds: ['u'] }, status: 404 },
  ])('$what → $status', async ({ method, path, body, bearer, status }) => {
    const { server, url } = await startServer();
    cleanups.push(() => server.stop());
    const response = await internal(url, method, path, body, bearer);
    expect(response.status).toBe(status);
  });
});
