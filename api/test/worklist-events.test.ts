/**
 * The worklist change stream (`GET /api/studies/events`) over real HTTP, and the turnaround
 * aggregate (`GET /api/dashboard/turnaround`).
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventStreamSettings } from '../src/worklist/events';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

let t: TestApp;
let base: string;
let attending: { id: string; token: string };
let technologist: { id: string; token: string };
const logLines: string[] = [];
const defaults = { ...eventStreamSettings };

beforeAll(async () => {
  t = await createTestApp({}, { logStream: { write: (line: string) => void logLines.push(line) } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const address = t.app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  attending = await t.userWithToken('attending');
  technologist = await t.userWithToken('technologist');
});
afterAll(async () => t?.close());
afterEach(() => Object.assign(eventStreamSettings, defaults));

interface ServerEvent {
  event: string;
  data: string;
}

/**
 * Opens a stream over a connection of its own (node:http without an agent: fetch's pool keeps
 * spare sockets that would hold the server's shutdown open) and collects its events and raw text.
 */
async function openStream(token: string, url = `${base}/api/studies/events`) {
  const state = { events: [] as ServerEvent[], text: '', status: 0, headers: {} as http.IncomingHttpHeaders };
  let request!: http.ClientRequest;
  let buffer = '';
  const ended = new Promise<void>((resolveEnd) => {
    request = http.get(url, { agent: false, headers: { ...bearer(token), accept: 'text/event-stream' } });
    request.on('error', () => resolveEnd());
    request.on('response', (response) => {
      state.status = response.statusCode ?? 0;
      state.headers = response.headers;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        state.text += chunk;
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) state.events.push({ event, data: data ?? '' });
          end = buffer.indexOf('\n\n');
        }
      });
      response.on('close', () => resolveEnd());
    });
  });
  await new Promise<void>((resolve, reject) => {
    request.once('response', () => resolve());
    request.once('error', reject);
  });
  return {
    state,
    sequences: () => state.events.filter((e) => e.event === 'changed').map((e) => (JSON.parse(e.data) as { sequence: number }).sequence),
    close: async () => {
      request.destroy();
      await ended;
    },
    ended: () => ended,
  };
}

/** Waits until `check` holds (polling), failing after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const currentSequence = async (token: string) => {
  const response = await t.app.inject({ url: '/api/studies/events', headers: bearer(token) });
  expect(response.statusCode).toBe(200);
  return (response.json() as { sequence: number }).sequence;
};

describe('worklist change stream', () => {
  it('answers a plain request with the current sequence as JSON', async () => {
    const before = await currentSequence(attending.token);
    await seedStudy(t.app, { patientName: 'Plain^Probe' });
    expect(await currentSequence(technologist.token)).toBe(before + 1);
  });

  it('refuses without a token, and audits the refusal', async () => {
    const response = await fetch(`${base}/api/studies/events`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('TOKEN_MISSING');
    const requestId = response.headers.get('x-request-id')!;
    await until(async () => (await t.app.db.models.AuditLog.count({ where: { requestId } })) === 1);
  });

  it('sends the current sequence at once, then a nudge per change with no patient data', async () => {
    const stream = await openStream(attending.token);
    expect(stream.state.status).toBe(200);
    expect(stream.state.headers['content-type']).toContain('text/event-stream');
    expect(stream.state.headers['x-accel-buffering']).toBe('no');
    expect(stream.state.headers['x-request-id']).toBeTruthy();
    // security headers set by the plugins before the handler still reach the client
    expect(stream.state.headers['x-content-type-options']).toBe('nosniff');
    const start = await currentSequence(attending.token);
    await until(() => stream.sequences().includes(start));

    const seeded = await seedStudy(t.app, { patientName: 'Nudge^Secret', description: 'CT SECRET HEAD', accessionNumber: 'ACC-SECRET' });
    await until(() => stream.sequences().includes(start + 1));

    // a colleague's change through the API nudges too
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${seeded.id}`,
      headers: bearer(attending.token),
      payload: { priority: 'stat', version: seeded.version },
    });
    expect(patched.statusCode).toBe(200);
    await until(() => stream.sequences().includes(start + 2));

    expect(stream.sequences()).toEqual([start, start + 1, start + 2]);
    for (const secret of ['Nudge', 'Secret', 'SECRET', 'ACC-', seeded.id]) expect(stream.state.text).not.toContain(secret);
    await stream.close();
  });

  it('notices changes committed by another API instance (the counter row) within the poll interval', async () => {
    eventStreamSettings.pollMs = 100;
    const stream = await openStream(attending.token);
    const start = await currentSequence(attending.token);
    await until(() => stream.sequences().includes(start));
    // Another instance's commit: the counter moves without this process being told.
    await t.app.db.models.Counter.increment('value', { by: 1, where: { name: 'worklist' } });
    await until(() => stream.sequences().includes(start + 1));
    await stream.close();
  });

  it('sends heartbeats', async () => {
    eventStreamSettings.heartbeatMs = 50;
    const stream = await openStream(attending.token);
    await until(() => (stream.state.text.match(/: heartbeat/g) ?? []).length >= 2);
    await stream.close();
  });

  it('ends the stream when the access token expires', async () => {
    const user = await t.app.db.models.User.findByPk(attending.id, { raw: true });
    const shortLived = t.app.jwt.sign({ sub: user!.id, role: user!.role }, { expiresIn: 1 });
    const stream = await openStream(shortLived);
    expect(stream.state.status).toBe(200);
    await stream.ended();
    expect(stream.state.events.at(-1)?.event).toBe('expired');
  });

  it('ends the stream at the next heartbeat once the user is deactivated', async () => {
    eventStreamSettings.heartbeatMs = 50;
    const leaving = await t.userWithToken('resident');
    const stream = await openStream(leaving.token);
    await until(() => stream.sequences().length > 0);
    await t.app.db.models.User.update({ active: false }, { where: { id: leaving.id }, individualHooks: true });
    await stream.ended();
    expect(stream.state.events.at(-1)?.event).toBe('revoked');
  });

  it('writes one request log line per stream, ended by the server or the client, and no error', async () => {
    const user = await t.app.db.models.User.findByPk(attending.id, { raw: true });
    const shortLived = t.app.jwt.sign({ sub: user!.id, role: user!.role }, { expiresIn: 1 });
    const endedByServer = await openStream(shortLived);
    await endedByServer.ended();
    const endedByClient = await openStream(attending.token);
    await until(() => endedByClient.sequences().length > 0);
    await endedByClient.close();
    const entries = () => logLines.map((line) => JSON.parse(line) as { level: number; msg: string; reqId?: string; path?: string });
    for (const stream of [endedByServer, endedByClient]) {
      const requestId = String(stream.state.headers['x-request-id']);
      await until(() => entries().some((e) => e.msg === 'request' && e.reqId === requestId));
      expect(entries().filter((e) => e.msg === 'request' && e.reqId === requestId)).toEqual([
        expect.objectContaining({ path: '/api/studies/events' }),
      ]);
    }
    expect(entries().filter((e) => e.level >= 50)).toEqual([]);
  });

  it('closes open streams when the API shuts down', async () => {
    const other = await createTestApp();
    await other.app.listen({ host: '127.0.0.1', port: 0 });
    const address = other.app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/studies/events`;
    const token = (await other.userWithToken('attending')).token;
    const stream = await openStream(token, url);
    await until(() => stream.sequences().length > 0);
    const closing = other.close();
    // the stream ends (instead of holding server.close() open for ever)
    await stream.ended();
    expect(stream.state.events.at(-1)?.event).toBe('shutdown');
    await closing;
  });
});

describe('turnaround', () => {
  const HOUR = 3_600_000;
  it('gives the median study-to-final time of primary reports signed in the window, per day', async () => {
    const now = Date.now();
    const finalReport = async (receivedHoursAgo: number, signedHoursAgo: number, addendumOf?: string) => {
      const study = await seedStudy(t.app, { receivedAt: new Date(now - receivedHoursAgo * HOUR), status: 'final' });
      const report = await t.app.db.models.Report.create({
        studyRef: study.id,
        status: 'final',
        authorId: attending.id,
        primarySlot: addendumOf ? `addendum-${Math.random()}` : study.id,
        parentReportId: addendumOf ?? null,
        finalSignedAt: new Date(now - signedHoursAgo * HOUR),
      });
      return report.get('id');
    };
    const ask = async (qs = '') => {
      const response = await t.app.inject({ url: `/api/dashboard/turnaround${qs}`, headers: bearer(technologist.token) });
      expect(response.statusCode).toBe(200);
      return response.json() as {
        medianHours: number | null;
        count: number;
        days: { date: string; medianHours: number | null; count: number }[];
      };
    };
    const before = await ask('?days=31');
    expect(before.count).toBe(0);

    const primary = await finalReport(3, 1); // 2 h
    await finalReport(10, 6); // 4 h
    await finalReport(20, 10); // 10 h
    await finalReport(24 * 40, 24 * 35); // signed 35 days ago: outside every window
    const addendum = await t.app.db.models.Report.findByPk(primary, { raw: true });
    await finalReport(1, 0.5, addendum!.id); // an addendum does not count

    const week = await ask('?tzOffsetMinutes=0');
    expect(week.days).toHaveLength(7);
    expect(week.count).toBe(3);
    expect(week.medianHours).toBe(4);
    expect(week.days.reduce((n, d) => n + d.count, 0)).toBe(3);
    expect(week.days.at(-1)!.date).toBe(new Date(now).toISOString().slice(0, 10));
    // no patient data in the answer
    expect(JSON.stringify(week)).not.toMatch(/patient|Patient|[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('refuses bad input with a reason', async () => {
    for (const qs of ['?days=0', '?days=32', '?tzOffsetMinutes=9999', '?days=abc', '?other=1']) {
      const response = await t.app.inject({ url: `/api/dashboard/turnaround${qs}`, headers: bearer(attending.token) });
      expect(response.statusCode, qs).toBe(400);
      expect((response.json() as { message: string }).message, qs).toBeTruthy();
    }
  });
});
