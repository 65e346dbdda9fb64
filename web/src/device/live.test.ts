import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { testDataKey } from '../test/data-key';
import { eventually } from '../test/eventually';
import { FakeServer, makeStudy } from '../test/fake-server';
import { openWorklistDb, type WorklistDb } from './db';
import { SyncEngine } from './engine';
import { LiveStream, parseEvents } from './live';

/** A fake change stream: each `stream()` call opens a new connection the test writes to. */
class FakeStreams {
  connections: { push(text: string): void; end(): void; signal: AbortSignal }[] = [];
  refuse: ApiError | null = null;
  stream = async (_path: string, signal: AbortSignal): Promise<Response> => {
    if (this.refuse) throw this.refuse;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const encoder = new TextEncoder();
    let open = true;
    const connection = {
      signal,
      push: (text: string) => open && controller.enqueue(encoder.encode(text)),
      end: () => {
        if (open) controller.close();
        open = false;
      },
    };
    signal.addEventListener('abort', () => {
      if (open) controller.error(new DOMException('aborted', 'AbortError'));
      open = false;
    });
    this.connections.push(connection);
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };
  latest() {
    return this.connections.at(-1)!;
  }
}

const changed = (sequence: number) => `event: changed\nid: ${sequence}\ndata: {"sequence":${sequence}}\n\n`;

describe('server-sent event parsing', () => {
  it('splits events across chunks, drops comments and keeps the unfinished rest', () => {
    const first = parseEvents(': heartbeat\n\nevent: changed\ndata: {"sequence":4}\n\nevent: chan');
    expect(first.events).toEqual([{ event: 'changed', data: '{"sequence":4}' }]);
    const second = parseEvents(`${first.rest}ged\r\ndata: a\r\ndata: b\r\n\r\n`);
    expect(second.events).toEqual([{ event: 'changed', data: 'a\nb' }]);
    expect(second.rest).toBe('');
    expect(parseEvents('event: expired\ndata: {}\n\n').events).toEqual([{ event: 'expired', data: '{}' }]);
  });
});

describe('the change stream', () => {
  let live: LiveStream | null = null;
  afterEach(() => live?.stop());

  it('reports sequences and its connection state, and reconnects at once when the token expired', async () => {
    const streams = new FakeStreams();
    const sequences: number[] = [];
    const states: boolean[] = [];
    live = new LiveStream(streams, { onSequence: (s) => sequences.push(s), onConnected: (c) => states.push(c) });
    live.start();
    await eventually(() => expect(streams.connections).toHaveLength(1));
    streams.latest().push(changed(7));
    streams.latest().push(': heartbeat\n\n');
    streams.latest().push(changed(8));
    await eventually(() => expect(sequences).toEqual([7, 8]));
    expect(states).toEqual([true]);

    streams.latest().push('event: expired\ndata: {}\n\n');
    await eventually(() => expect(streams.connections).toHaveLength(2));
    expect(states).toEqual([true, false, true]);
  });

  it('gives up a silent stream and opens a new one', async () => {
    const streams = new FakeStreams();
    live = new LiveStream(streams, { onSequence: () => undefined, onConnected: () => undefined }, { staleMs: 50, maxBackoffMs: 50 });
    live.start();
    await eventually(() => expect(streams.connections.length).toBeGreaterThanOrEqual(2));
    expect(streams.connections[0]!.signal.aborted).toBe(true);
  });

  it('waits, then retries after a refusal; stop() closes the connection', async () => {
    const streams = new FakeStreams();
    streams.refuse = new ApiError(403, { statusCode: 403, error: 'Forbidden', message: 'no' });
    const states: boolean[] = [];
    live = new LiveStream(streams, { onSequence: () => undefined, onConnected: (c) => states.push(c) }, { maxBackoffMs: 30 });
    live.start();
    await eventually(() => expect(states.length).toBeGreaterThanOrEqual(1));
    expect(states.every((s) => s === false)).toBe(true);
    streams.refuse = null;
    await eventually(() => expect(streams.connections).toHaveLength(1));
    live.stop();
    await eventually(() => expect(streams.latest().signal.aborted).toBe(true));
  });
});

describe('engine with the change stream', () => {
  let db: WorklistDb;
  let engine: SyncEngine;
  afterEach(async () => {
    engine.stop();
    db.close();
    await Dexie.delete(db.name);
  });

  it('pulls the delta feed when a nudge is ahead of the device, not when it is not', async () => {
    db = openWorklistDb(`live-${crypto.randomUUID()}`, testDataKey);
    await db.open();
    const server = new FakeServer();
    const streams = new FakeStreams();
    const requests: string[] = [];
    const client = {
      request: <T>(method: string, path: string, body?: unknown) => {
        requests.push(`${method} ${path.split('?')[0]}`);
        return server.request<T>(method, path, body);
      },
      stream: streams.stream,
    };
    engine = new SyncEngine(db, { id: 'me', name: 'Me' }, client, { pollMs: 0 });
    server.put(makeStudy());
    await engine.start();
    await eventually(async () => expect(await db.studies.count()).toBe(1));
    await eventually(() => expect(engine.getStatus().live).toBe(true));
    await eventually(() => expect(engine.getStatus().syncing).toBe(false));

    const pullsBefore = requests.filter((r) => r === 'GET /api/studies/changes').length;
    streams.latest().push(changed(server.seq)); // the device already has this
    const arrival = makeStudy({ patientName: 'New^Arrival' });
    server.put(arrival);
    streams.latest().push(changed(server.seq));
    await eventually(async () => expect(await db.studies.get(arrival.id)).toBeTruthy());
    expect(engine.getStatus().nudges).toBe(1);
    expect(requests.filter((r) => r === 'GET /api/studies/changes').length).toBe(pullsBefore + 1);
  });
});
