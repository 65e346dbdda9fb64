/**
 * The simulated users: each signs in, keeps the worklist's live event stream open and loops over
 * what its role does, with think times between actions drawn from a seeded PRNG, so two runs make
 * the same choices. Every request goes through the gateway, the system's one origin.
 */
import { createRng } from '@pacs/test-kit/demo-studies';
import type { Recorder } from './metrics';
import type { Account, Role } from './seed';
import { SyncClient } from './sync-client';

export interface StudyRef {
  id: string;
  uid: string;
}

export interface World {
  url: string;
  recorder: Recorder;
  /** Studies a clinician reports on, by clinician index (each its own, so finalizes never collide). */
  ownStudies: Map<number, StudyRef[]>;
  searchTerms: string[];
  stopAt: number;
  finalized: { count: number };
}

interface Session {
  index: number;
  account: Account;
  token: string;
  rand: () => number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One timed request: the latency includes reading the whole body; non-2xx/3xx and network errors count as errors. */
async function timed<T>(world: World, kind: string, path: string, token: string, init: RequestInit = {}): Promise<T | null> {
  const started = performance.now();
  try {
    const response = await fetch(`${world.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
    const body = Buffer.from(await response.arrayBuffer());
    const ms = performance.now() - started;
    if (response.status >= 400) {
      world.recorder.error(kind, String(response.status));
      return null;
    }
    world.recorder.ok(kind, ms);
    const type = response.headers.get('content-type') ?? '';
    return (type.includes('json') ? JSON.parse(body.toString('utf8')) : body) as T;
  } catch (error) {
    world.recorder.error(kind, error instanceof Error ? error.name : 'error');
    return null;
  }
}

/** The live event stream, kept open (and reopened when the server ends it) until `signal` aborts. */
async function eventStream(world: World, session: Session, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const started = performance.now();
    try {
      const response = await fetch(`${world.url}/api/studies/events`, {
        headers: { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' },
        signal,
      });
      if (!response.ok || !response.body) {
        world.recorder.error('events-connect', String(response.status));
        await sleep(5000);
        continue;
      }
      world.recorder.ok('events-connect', performance.now() - started);
      for await (const _chunk of response.body) {
        // The nudges themselves are not timed: the worklist pulls that follow them are.
      }
    } catch (error) {
      // Aborting the stream at the end is deliberate, not an error.
      if (signal.aborted) return;
      world.recorder.error('events-stream', error instanceof Error ? error.name : 'error');
      await sleep(2000);
    }
  }
}

type Worklist = { items: { id: string; studyInstanceUid: string }[]; nextCursor: string | null };

async function browseWorklist(world: World, s: Session, seen: StudyRef[]): Promise<void> {
  const first = await timed<Worklist>(world, 'worklist-page', '/api/studies?limit=50', s.token);
  if (!first) return;
  remember(seen, first.items);
  // Keyset paging: a user scrolls on about half the time.
  if (first.nextCursor && s.rand() < 0.5) {
    const query = new URLSearchParams({ limit: '50', cursor: first.nextCursor, includeTotal: 'false' });
    const next = await timed<Worklist>(world, 'worklist-next-page', `/api/studies?${query}`, s.token);
    if (next) remember(seen, next.items);
  }
}

function remember(seen: StudyRef[], items: Worklist['items']): void {
  seen.length = 0;
  for (const item of items) seen.push({ id: item.id, uid: item.studyInstanceUid });
}

async function search(world: World, s: Session, seen: StudyRef[]): Promise<void> {
  const term = world.searchTerms[Math.floor(s.rand() * world.searchTerms.length)]!;
  const found = await timed<Worklist>(world, 'worklist-search', `/api/studies?${new URLSearchParams({ q: term, limit: '50' })}`, s.token);
  if (found && found.items.length > 0) remember(seen, found.items);
}

type Json = Record<string, { Value?: string[] }>;

/** What a viewer fetches first: the study's metadata, then the first frame of each instance. */
async function view(world: World, s: Session, seen: StudyRef[]): Promise<void> {
  const study = seen[Math.floor(s.rand() * seen.length)];
  if (!study) return;
  const metadata = await timed<Json[]>(world, 'dicomweb-metadata', `/dicom-web/studies/${study.uid}/metadata`, s.token, {
    headers: { accept: 'application/dicom+json' },
  });
  if (!Array.isArray(metadata)) return;
  for (const instance of metadata) {
    const series = instance['0020000E']?.Value?.[0];
    const sop = instance['00080018']?.Value?.[0];
    // Only images have frames: a signed report archived in the study (Encapsulated PDF, no Rows)
    // has none, and a viewer does not ask (Orthanc answers 500 for it).
    if (!series || !sop || !instance['00280010']) continue;
    await timed(world, 'dicomweb-frame', `/dicom-web/studies/${study.uid}/series/${series}/instances/${sop}/frames/1`, s.token, {
      headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
    });
  }
}

type Report = { id: string; status: string };
type ReportSession = { token: string; document: string; mode: 'rw' | 'ro' };

let markerSeq = 0;

/**
 * Opens the report of one of the clinician's studies, types into it for a while at typing speed
 * while a colleague (`peer`) has the same document open, and, for attendings now and then,
 * finalizes it. Propagation is timed from the keystroke to the colleague's client receiving it.
 */
async function report(world: World, s: Session, peer: Session | undefined, mayFinalize: boolean): Promise<void> {
  const own = world.ownStudies.get(s.index) ?? [];
  if (own.length === 0) return;
  const study = own[Math.floor(s.rand() * own.length)]!;
  const opened = await timed<Report>(world, 'report-open', `/api/studies/${study.id}/report`, s.token, { method: 'POST', body: '{}' });
  if (!opened) return;
  if (opened.status === 'final' || opened.status === 'addended') {
    own.splice(own.indexOf(study), 1);
    return;
  }
  const mine = await timed<ReportSession>(world, 'report-session', `/api/reports/${opened.id}/session`, s.token, { method: 'POST' });
  if (mine?.mode !== 'rw') return;
  const theirs = peer
    ? await timed<ReportSession>(world, 'report-session', `/api/reports/${opened.id}/session`, peer.token, { method: 'POST' })
    : null;
  const wsUrl = world.url.replace(/^http/, 'ws');
  const sentAt = new Map<string, number>();
  const onMarker = (key: string, at: number) => {
    const sent = sentAt.get(key);
    if (sent === undefined) return;
    sentAt.delete(key);
    world.recorder.synced(at - sent);
  };
  const connectStarted = performance.now();
  const typist = new SyncClient(wsUrl, mine.document, mine.token, true);
  const watcher = theirs ? new SyncClient(wsUrl, theirs.document, theirs.token, false, onMarker) : null;
  try {
    await Promise.all([typist.whenSynced(), watcher?.whenSynced()]);
    world.recorder.ok('sync-connect', performance.now() - connectStarted, false);
  } catch (error) {
    world.recorder.error('sync-connect', error instanceof Error ? error.message.replace(/\d+/g, 'N') : 'error');
    await Promise.all([typist.close(), watcher?.close()]);
    return;
  }
  // 10–25 s of typing at 3–6 characters a second; one marker every eighth keystroke.
  const text = typist.startParagraph();
  const until = Math.min(world.stopAt, Date.now() + 10_000 + s.rand() * 15_000);
  const perSecond = 3 + s.rand() * 3;
  let k = 0;
  while (Date.now() < until) {
    if (k % 8 === 0) {
      const key = `${s.index}.${markerSeq++}`;
      sentAt.set(key, performance.now());
      text.insert(text.length, `#${key};`);
    } else {
      text.insert(text.length, 'abcdefghijklmnopqrstuvwxyz '[Math.floor(s.rand() * 27)]!);
    }
    k += 1;
    await sleep(1000 / perSecond);
  }
  // A marker not delivered within 5 s is lost: an error of the sync path.
  await sleep(1000);
  const deadline = Date.now() + 4000;
  while (sentAt.size > 0 && watcher && Date.now() < deadline) await sleep(100);
  if (watcher) for (const _ of sentAt) world.recorder.error('sync-propagation', 'not delivered in 5 s');
  if (mayFinalize && Date.now() < world.stopAt && s.rand() < 0.3) {
    const done = await timed<Report>(world, 'report-finalize', `/api/reports/${opened.id}/finalize`, s.token, {
      method: 'POST',
      body: JSON.stringify(typist.reviewed()),
    });
    if (done) {
      world.finalized.count += 1;
      own.splice(own.indexOf(study), 1);
    }
  }
  await Promise.all([typist.close(), watcher?.close()]);
}

/** What a role does, with weights. */
const ACTIONS: Record<Role, [string, number][]> = {
  attending: [
    ['worklist', 25],
    ['search', 15],
    ['view', 25],
    ['report', 35],
  ],
  resident: [
    ['worklist', 25],
    ['search', 15],
    ['view', 25],
    ['report', 35],
  ],
  technologist: [
    ['worklist', 50],
    ['search', 35],
    ['view', 15],
  ],
  admin: [
    ['worklist', 60],
    ['search', 40],
  ],
};

function pick(rand: () => number, actions: [string, number][]): string {
  const total = actions.reduce((sum, [, w]) => sum + w, 0);
  let r = rand() * total;
  for (const [name, w] of actions) {
    r -= w;
    if (r < 0) return name;
  }
  return actions[0]![0];
}

/**
 * Signs a user in; the whole run fits in the access token's 15 minutes, so no refresh is needed
 * (a longer run would sign in again).
 */
export async function signIn(world: World, index: number, account: Account, seed: number): Promise<Session | null> {
  const started = performance.now();
  try {
    const response = await fetch(`${world.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: account.email, password: account.password }),
    });
    const body = (await response.json()) as { accessToken?: string };
    if (!response.ok || !body.accessToken) {
      world.recorder.error('login', String(response.status));
      return null;
    }
    world.recorder.ok('login', performance.now() - started);
    return { index, account, token: body.accessToken, rand: createRng(seed * 7919 + index) };
  } catch (error) {
    world.recorder.error('login', error instanceof Error ? error.name : 'error');
    return null;
  }
}

/** Runs one user until `world.stopAt`: its event stream in the background, actions in the foreground. */
export async function runUser(world: World, s: Session, peer: Session | undefined): Promise<void> {
  const streams = new AbortController();
  const stream = eventStream(world, s, streams.signal);
  const seen: StudyRef[] = [];
  // Users do not all start at once: the first action comes within the first think time.
  await sleep(s.rand() * 5000);
  while (Date.now() < world.stopAt) {
    const action = pick(s.rand, ACTIONS[s.account.role]);
    if (action === 'worklist' || seen.length === 0) await browseWorklist(world, s, seen);
    else if (action === 'search') await search(world, s, seen);
    else if (action === 'view') await view(world, s, seen);
    else await report(world, s, peer, s.account.role === 'attending');
    // Think time: 2–8 s.
    await sleep(2000 + s.rand() * 6000);
  }
  streams.abort();
  await stream;
}
