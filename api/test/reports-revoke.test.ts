/**
 * Access taken away reaches open report sockets at once (sync-server SPEC.md REVOKE-*), through
 * the API with the real sync-server (child process, same database) and stock y-websocket providers:
 * deactivating a user or changing their role closes their socket with 4410; the resident's submit
 * turns the resident's socket read-only before the API answers.
 */
import { CLOSE_CODES } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentFromUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import {
  appendToSection,
  type EditorClient,
  editorClient,
  freePort,
  type SyncProcess,
  serverState,
  startSyncServer,
  syncEnv,
  waitFor,
} from './support/sync-server';

type User = { id: string; token: string };
let t: TestApp;
let sync: SyncProcess;
let admin: User;
const clients: EditorClient[] = [];

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({
    ...syncEnv(port),
  });
  sync = await startSyncServer(t.database.url, port);
  admin = await t.userWithToken('admin');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
});

const api = (token: string, method: 'POST' | 'PATCH', url: string, payload: object = {}) =>
  t.app.inject({ method, url, headers: bearer(token), payload });

/** A study with a report created (and seeded) through the API by `author`. */
async function reportBy(author: User): Promise<string> {
  const study = await seedStudy(t.app, { modalities: ['CT'] });
  const created = await api(author.token, 'POST', `/api/studies/${study.id}/report`);
  expect(created.statusCode, created.body).toBe(201);
  return created.json().id as string;
}

/** Opens the user's document session and connects a stock provider; records close codes. */
async function connect(user: User, reportId: string, mode: 'rw' | 'ro') {
  const session = await api(user.token, 'POST', `/api/reports/${reportId}/session`);
  expect(session.statusCode, session.body).toBe(200);
  expect(session.json().mode).toBe(mode);
  const c = editorClient(sync.port, session.json().document, session.json().token);
  clients.push(c);
  const closes: number[] = [];
  c.provider.on('connection-close', (event) => {
    if (event) closes.push(event.code);
  });
  await waitFor(() => c.synced(), 'provider synced');
  return { c, closes };
}

async function refusedReadOnly(): Promise<number> {
  const text = await (await fetch(`${sync.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('pacs_sync_refused_updates_total{reason="read-only"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function serverText(reportId: string): Promise<string> {
  return contentFromUpdate(new Uint8Array(Buffer.from((await serverState(sync.url, `report:${reportId}`)).update, 'base64'))).contentText;
}

describe('open report sockets follow access changes', () => {
  it.each<{ what: string; change: object }>([
    { what: 'deactivating the user', change: { active: false } },
    { what: "changing the user's role", change: { role: 'technologist' } },
    { what: 'demoting an attending to resident', change: { role: 'resident' } },
  ])('$what closes their socket with accessRevoked', async ({ change }) => {
    const role = 'role' in change && change.role === 'resident' ? 'attending' : 'resident';
    const user = await t.userWithToken(role);
    const bystander = await t.userWithToken('attending');
    const reportId = await reportBy(user);
    const mine = await connect(user, reportId, 'rw');
    const theirs = await connect(bystander, reportId, 'rw');

    const response = await api(admin.token, 'PATCH', `/api/users/${user.id}`, change);
    expect(response.statusCode, response.body).toBe(200);
    await waitFor(() => mine.closes.includes(CLOSE_CODES.accessRevoked), 'socket closed with accessRevoked');
    // Reconnecting with the same token is refused too (the stock provider stops at 44xx; ask it again); the bystander stays.
    mine.c.provider.connect();
    await waitFor(() => mine.closes.filter((code) => code === CLOSE_CODES.accessRevoked).length >= 2, 'reconnect refused');
    expect(theirs.closes).toEqual([]);
    expect(theirs.c.provider.wsconnected).toBe(true);
  });

  it("an attending taking over the resident's study turns the resident's socket read-only at once", async () => {
    const resident = await t.userWithToken('resident');
    const attending = await t.userWithToken('attending');
    const study = await seedStudy(t.app, { modalities: ['CT'], assigneeId: resident.id });
    const created = await api(resident.token, 'POST', `/api/studies/${study.id}/report`);
    expect(created.statusCode, created.body).toBe(201);
    const reportId = created.json().id as string;
    const { c } = await connect(resident, reportId, 'rw');
    const taken = await api(attending.token, 'PATCH', `/api/studies/${study.id}`, { assigneeId: attending.id });
    expect(taken.statusCode, taken.body).toBe(200);
    await waitFor(() => c.notices.some((n) => n.type === 'read-only'), 'read-only notice');
    const before = await refusedReadOnly();
    appendToSection(c.doc, 'Findings', 'After the take-over.');
    await waitFor(async () => (await refusedReadOnly()) > before, 'update refused by the sync-server');
    expect(await serverText(reportId)).not.toContain('After the take-over.');
    // Given back, a new session edits again.
    expect((await api(attending.token, 'PATCH', `/api/studies/${study.id}`, { assigneeId: resident.id })).statusCode).toBe(200);
    await connect(resident, reportId, 'rw');
  });

  it("the resident's submit turns the resident's socket read-only at once", async () => {
    const resident = await t.userWithToken('resident');
    const reportId = await reportBy(resident);
    const { c } = await connect(resident, reportId, 'rw');
    appendToSection(c.doc, 'Findings', 'Before submit.');
    await waitFor(async () => (await serverText(reportId)).includes('Before submit.'), 'draft edit stored');

    const submitted = await api(resident.token, 'POST', `/api/reports/${reportId}/submit`);
    expect(submitted.statusCode, submitted.body).toBe(200);
    await waitFor(() => c.notices.some((n) => n.type === 'read-only'), 'read-only notice');
    const before = await refusedReadOnly();
    appendToSection(c.doc, 'Findings', 'After submit.');
    await waitFor(async () => (await refusedReadOnly()) > before, 'update refused by the sync-server');
    expect(await serverText(reportId)).not.toContain('After submit.');
    expect(c.provider.wsconnected).toBe(true);
  });
});
