/**
 * Rules no other file exercises on their own: the health answer (OPS-1), a connection outliving its
 * token (AUTH-6), the notice frame on the wire (PROTO-3), the log format (LOG-1) and the queue of
 * messages that arrive while a document loads (LIMIT-3).
 */
import { CLOSE_CODES, MESSAGE_TYPE_NOTICE } from '@pacs/shared';
import * as decoding from 'lib0/decoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SequelizeStore } from '../src/store';
import {
  b64,
  ControlledStore,
  client,
  internal,
  newDocName,
  rawSocket,
  serverDoc,
  startServer,
  tempDatabaseUrl,
  token,
  waitFor,
} from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(logs?: string[]) {
  const s = await startServer({ logs });
  cleanups.push(() => s.server.stop());
  return s;
}

const docPath = (name: string, action: string) => `/internal/documents/${encodeURIComponent(name)}/${action}`;

describe('operations and wire rules', () => {
  it('OPS-1: /health answers ok with the open connections and the documents in memory', async () => {
    const { port, url } = await setup();
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok', connections: 0, documents: 0 });
    const name = newDocName();
    const c = client(port, name, token(name));
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', connections: 1, documents: 1 });
  });

  it('AUTH-6: a connection outlives its token’s expiry; a new connection with that token is refused', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const iat = Math.floor(Date.now() / 1000);
    const shortLived = token(name, { iat, exp: iat + 2 });
    const c = client(port, name, shortLived);
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    await waitFor(() => Date.now() > (iat + 2) * 1000 + 100, 'the token to expire', 10_000);
    c.text.insert(0, 'typed after expiry');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString() === 'typed after expiry', 'the edit applied');
    expect(c.provider.wsconnected).toBe(true);
    const late = await rawSocket(port, name, shortLived);
    expect((await late.closed).code).toBe(CLOSE_CODES.unauthorized);
  });

  it('PROTO-3: a notice is varUint(100) · varString(JSON), sent to a connection on a locked document', async () => {
    const { port, url } = await setup();
    const name = newDocName();
    const locked = await internal(url, 'POST', docPath(name, 'lock'), {
      stateVector: b64(Y.encodeStateVector(new Y.Doc())),
      lockedBy: 'attending-1',
    });
    expect(locked.status).toBe(200);
    const s = await rawSocket(port, name, token(name));
    cleanups.push(() => s.ws.close());
    const notices = () =>
      s.messages.flatMap((frame) => {
        const decoder = decoding.createDecoder(new Uint8Array(frame));
        return decoding.readVarUint(decoder) === MESSAGE_TYPE_NOTICE ? [JSON.parse(decoding.readVarString(decoder)) as unknown] : [];
      });
    await waitFor(() => notices().length > 0, 'a notice');
    expect(notices()[0]).toEqual({ type: 'locked', reportId: name.slice('report:'.length), lockedAt: locked.json.lockedAt });
  });

  it('LOG-1: every log line is one JSON object with time, level and msg', async () => {
    const logs: string[] = [];
    const { port } = await setup(logs);
    const name = newDocName();
    const c = client(port, name, token(name));
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    await waitFor(() => logs.length > 0, 'log lines');
    for (const line of logs) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(typeof record.msg, line).toBe('string');
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal'], line).toContain(record.level);
      expect(Number.isNaN(Date.parse(String(record.time))), line).toBe(false);
    }
  });

  it('LIMIT-3: up to 64 messages wait while the document loads; one more closes the connection with 4429', async () => {
    const databaseUrl = tempDatabaseUrl();
    const store = new ControlledStore(await SequelizeStore.open(databaseUrl));
    const { server, port } = await startServer({ databaseUrl, store });
    cleanups.push(() => server.stop());
    const releaseLoad = store.hold('load');
    const name = newDocName();
    const queryAwareness = Uint8Array.of(3); // y-protocols' query-awareness message: harmless to repeat
    const withinLimit = await rawSocket(port, name, token(name));
    const overLimit = await rawSocket(port, name, token(name));
    cleanups.push(
      () => withinLimit.ws.close(),
      () => overLimit.ws.close(),
    );
    for (let i = 0; i < 64; i++) withinLimit.ws.send(queryAwareness);
    for (let i = 0; i < 65; i++) overLimit.ws.send(queryAwareness);
    expect((await overLimit.closed).code).toBe(CLOSE_CODES.rateLimited);
    releaseLoad();
    await waitFor(() => withinLimit.messages.length > 0, 'the handshake once the document loaded');
    expect(withinLimit.ws.readyState).toBe(withinLimit.ws.OPEN);
  });
});
