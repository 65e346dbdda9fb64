import { createHmac, randomUUID } from 'node:crypto';
import { CLOSE_CODES, reportDocumentName } from '@pacs/shared';
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { signDocumentToken, verifyDocumentToken } from '../src/auth';
import { ConfigError, ENV_NAMES, loadConfig } from '../src/config';
import { encodeUpdateMessage } from '../src/protocol';
import { client, newDocName, rawSocket, SECRET, serverDoc, startServer, token, waitFor } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(env: Record<string, string> = {}, logs?: string[]) {
  const s = await startServer({ env, logs });
  cleanups.push(() => s.server.stop());
  return s;
}

function jwtWith(header: object, payload: object, secret = SECRET): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('document tokens (AUTH-2)', () => {
  const doc = newDocName();
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: randomUUID(),
    role: 'resident',
    name: 'R',
    doc,
    mode: 'rw',
    aud: 'pacs-sync',
    iss: 'pacs-api',
    iat: now,
    exp: now + 300,
  };

  it('AUTH-2: accepts the documented format and rejects every deviation', () => {
    expect(verifyDocumentToken(signDocumentToken({ sub: 'u1', role: 'attending', name: 'A', doc, mode: 'ro' }, SECRET), SECRET).ok).toBe(
      true,
    );
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256', typ: 'JWT' }, claims), SECRET)).toMatchObject({ ok: true });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, claims), SECRET)).toMatchObject({ ok: true });
    expect(verifyDocumentToken(jwtWith({ alg: 'none', typ: 'JWT' }, claims), SECRET)).toEqual({ ok: false, reason: 'algorithm' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS512', typ: 'JWT' }, claims), SECRET)).toEqual({ ok: false, reason: 'algorithm' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, claims, `${SECRET}x`), SECRET)).toEqual({ ok: false, reason: 'signature' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, aud: 'pacs-api' }), SECRET)).toEqual({
      ok: false,
      reason: 'audience',
    });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, iss: 'someone' }), SECRET)).toEqual({ ok: false, reason: 'issuer' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, exp: now - 1 }), SECRET)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, iat: now + 600, exp: now + 900 }), SECRET)).toEqual({
      ok: false,
      reason: 'not-yet-valid',
    });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, exp: now + 7200 }), SECRET)).toEqual({ ok: false, reason: 'claims' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, role: 'root' }), SECRET)).toEqual({ ok: false, reason: 'claims' });
    expect(verifyDocumentToken(jwtWith({ alg: 'HS256' }, { ...claims, mode: 'admin' }), SECRET)).toEqual({ ok: false, reason: 'claims' });
    expect(verifyDocumentToken('a.b', SECRET)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyDocumentToken('', SECRET)).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('access (AUTH-*)', () => {
  it('AUTH-1: no token, a forged token and an expired token are closed with 4401 before any document data', async () => {
    const { port } = await setup();
    const name = newDocName();
    const past = Math.floor(Date.now() / 1000) - 600;
    for (const tok of [
      null,
      'not-a-jwt',
      token(name, { secret: 'another-secret-another-secret-another-secret' }),
      token(name, { iat: past, exp: past + 300 }),
    ]) {
      const s = await rawSocket(port, name, tok);
      const closed = await s.closed;
      expect(closed.code).toBe(CLOSE_CODES.unauthorized);
      expect(s.messages).toHaveLength(0);
    }
  });

  it('AUTH-3: a token for another document is refused with 4403; AUTH-4: an invalid name gets 4404', async () => {
    const { port } = await setup();
    const a = newDocName();
    const b = newDocName();
    const other = await rawSocket(port, b, token(a));
    expect((await other.closed).code).toBe(CLOSE_CODES.forbidden);
    expect(other.messages).toHaveLength(0);
    const bad = await rawSocket(port, 'report:not-a-uuid', token('report:not-a-uuid'));
    expect((await bad.closed).code).toBe(CLOSE_CODES.notFound);
    const unknownKind = await rawSocket(port, 'template:x', token('template:x'));
    expect((await unknownKind.closed).code).toBe(CLOSE_CODES.notFound);
  });

  it('AUTH-5: roles without report:read are refused; rw needs report:edit', async () => {
    const { port } = await setup();
    const name = newDocName();
    for (const role of ['admin', 'technologist'] as const) {
      const s = await rawSocket(port, name, token(name, { role, mode: 'ro' }));
      expect((await s.closed).code).toBe(CLOSE_CODES.forbidden);
    }
    const ok = client(port, name, token(name, { role: 'attending', mode: 'ro' }));
    cleanups.push(() => ok.destroy());
    await waitFor(() => ok.provider.synced, 'attending ro syncs');
  });

  it('AUTH-7: the token never appears in logs; the path is logged without the query', async () => {
    const logs: string[] = [];
    const { port } = await setup({}, logs);
    const name = newDocName();
    const tok = token(name, { secret: 'forged-forged-forged-forged-forged-forged' });
    const s = await rawSocket(port, name, tok);
    await s.closed;
    const good = token(name);
    const c = client(port, name, good);
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    c.text.insert(0, 'PATIENT CONTENT SECRET');
    await waitFor(() => logs.some((l) => l.includes('connection refused')), 'refusal logged');
    const all = logs.join('\n');
    expect(all).toContain(`/sync/${name}`);
    expect(all).not.toContain(tok);
    expect(all).not.toContain(good);
    expect(all).not.toContain('token=');
    expect(all).not.toContain('PATIENT CONTENT SECRET');
  });

  it('RO-1: a read-only connection syncs but its updates are never applied, and are counted as refused', async () => {
    const { server, port } = await setup();
    const name = newDocName();
    const writer = client(port, name, token(name));
    const reader = client(port, name, token(name, { mode: 'ro', role: 'attending' }));
    cleanups.push(
      () => writer.destroy(),
      () => reader.destroy(),
    );
    await waitFor(() => writer.provider.synced && reader.provider.synced, 'synced');
    writer.text.insert(0, 'from writer');
    await waitFor(() => reader.text.toString() === 'from writer', 'reader receives');
    reader.text.insert(0, 'SHOULD NOT APPLY ');
    await waitFor(async () => (await server.metrics.refusedUpdates.get()).values.some((v) => v.value >= 1), 'refusal counted');
    writer.text.insert(writer.text.length, '!');
    await waitFor(() => serverDoc(server, name)?.getText('body').toString() === 'from writer!', 'server has writer text only');
    expect(writer.text.toString()).toBe('from writer!');
  });
});

describe('limits (LIMIT-*)', () => {
  it('LIMIT-1: a message above PACS_SYNC_MAX_MESSAGE_BYTES closes with 4413', async () => {
    const { port } = await setup({ PACS_SYNC_MAX_MESSAGE_BYTES: '2048' });
    const name = newDocName();
    const s = await rawSocket(port, name, token(name));
    const big = new Y.Doc();
    big.getText('body').insert(0, 'x'.repeat(4000));
    s.ws.send(encodeUpdateMessage(Y.encodeStateAsUpdate(big)));
    expect((await s.closed).code).toBe(CLOSE_CODES.messageTooLarge);
    // Far above the limit, ws stops reading the frame itself (1009, "message too big").
    const huge = await rawSocket(port, name, token(name));
    huge.ws.send(new Uint8Array(2048 * 4 + 10));
    expect((await huge.closed).code).toBe(1009);
  });

  it('LIMIT-2: more messages per second than allowed closes with 4429', async () => {
    const { port } = await setup({ PACS_SYNC_MAX_MESSAGES_PER_SECOND: '5' });
    const name = newDocName();
    const s = await rawSocket(port, name, token(name));
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 3); // query awareness: harmless, tiny
    const frame = encoding.toUint8Array(encoder);
    for (let i = 0; i < 50; i++) s.ws.send(frame);
    expect((await s.closed).code).toBe(CLOSE_CODES.rateLimited);
  });

  it('LIMIT-4: connections per user above the limit close with 4429', async () => {
    const { server, port } = await setup({ PACS_SYNC_MAX_CONNECTIONS_PER_USER: '2' });
    const name = newDocName();
    const userId = randomUUID();
    const first = await rawSocket(port, name, token(name, { userId }));
    const second = await rawSocket(port, name, token(name, { userId }));
    const third = await rawSocket(port, name, token(name, { userId }));
    expect((await third.closed).code).toBe(CLOSE_CODES.rateLimited);
    const otherUser = await rawSocket(port, name, token(name));
    await waitFor(() => otherUser.messages.length > 0, 'other user is served');
    first.ws.close();
    await first.closed;
    await waitFor(() => server.connectionCount === 2, 'slot freed');
    const again = await rawSocket(port, name, token(name, { userId }));
    await waitFor(() => again.messages.length > 0, 'served again');
    again.ws.close();
    second.ws.close();
    otherUser.ws.close();
  });

  it('LIMIT-5: an address with too many failed authentications is refused before token checks', async () => {
    const { port } = await setup({ PACS_SYNC_AUTH_FAILURES_PER_MINUTE: '3' });
    const name = newDocName();
    for (let i = 0; i < 3; i++) {
      const s = await rawSocket(port, name, 'garbage');
      expect((await s.closed).code).toBe(CLOSE_CODES.unauthorized);
    }
    await expect(rawSocket(port, name, token(name))).rejects.toThrow('HTTP 429');
  });

  it('LIMIT-6: the global connection cap refuses the upgrade with HTTP 503', async () => {
    const { port } = await setup({ PACS_SYNC_MAX_CONNECTIONS: '1' });
    const name = newDocName();
    const first = await rawSocket(port, name, token(name));
    await waitFor(() => first.messages.length > 0, 'first served');
    await expect(rawSocket(port, name, token(name))).rejects.toThrow('HTTP 503');
    first.ws.close();
  });

  it('LIMIT-7: above PACS_SYNC_MAX_LOADED_DOCUMENTS a new document is refused with 4503 (retry)', async () => {
    const { port } = await setup({ PACS_SYNC_MAX_LOADED_DOCUMENTS: '1' });
    const a = newDocName();
    const first = await rawSocket(port, a, token(a));
    await waitFor(() => first.messages.length > 0, 'first served');
    const b = newDocName();
    const second = await rawSocket(port, b, token(b));
    expect((await second.closed).code).toBe(CLOSE_CODES.serverRestart);
    first.ws.close();
  });
});

describe('configuration (CONF-1)', () => {
  it('CONF-1: a bad value names the variable; production requires the secrets', () => {
    expect(() => loadConfig({ PACS_SYNC_PORT: 'abc' })).toThrow(/PACS_SYNC_PORT/);
    expect(() => loadConfig({ PACS_SYNC_DEBOUNCE_MS: '5000' })).toThrow(/PACS_SYNC_DEBOUNCE_MS/);
    expect(() => loadConfig({ PACS_DOCUMENT_TOKEN_SECRET: 'short' })).toThrow(/PACS_DOCUMENT_TOKEN_SECRET/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ PACS_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ PACS_ENV: 'production', PACS_DOCUMENT_TOKEN_SECRET: 'a'.repeat(40) })).toThrow(/too weak/);
    expect(() => loadConfig({ PACS_ENV: 'production', PACS_DOCUMENT_TOKEN_SECRET: SECRET })).toThrow(/PACS_SYNC_SERVICE_TOKEN/);
    const dev = loadConfig({});
    expect(dev.tokenSecretGenerated).toBe(true);
    expect(dev.port).toBe(1234);
    expect(dev.host).toBe('127.0.0.1');
    expect(dev.databaseUrl).toMatch(/^sqlite:.*pacs\.sqlite$/);
    expect(ENV_NAMES).toContain('PACS_SYNC_SERVICE_TOKEN');
    expect(reportDocumentName('x')).toBe('report:x');
  });
});
