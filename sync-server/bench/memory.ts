/**
 * Memory with many report documents open: this sync-server (SQLite, unloads idle documents after
 * PACS_SYNC_UNLOAD_DELAY_MS, default 10 s) side by side with @y/websocket-server 0.1.1 (in memory,
 * keeps every document), each in its own child process, in one run:
 *   1. DOCS documents (default 1,000) each opened by one client that writes a report into it
 *      (sections of paragraphs as Tiptap stores them, word by word with a few corrections, one
 *      update a paragraph), all connected: RSS and heap after a full GC.
 *   2. all but KEEP (default 100) clients close; once the server has unloaded what it unloads:
 *      documents still held, RSS and heap after a full GC.
 *   3. the closed documents are opened again by new clients (stock y-websocket provider), 20 at a
 *      time: the time from connecting to holding the full report (p50/p95), every report checked
 *      against what was typed.
 *
 *   cd sync-server && npx tsx bench/memory.ts
 *   DOCS=200 KEEP=20 npx tsx bench/memory.ts          # quick look
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { reportDocumentName } from '@pacs/shared';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { signDocumentToken } from '../src/auth';
import { type Child, percentile, runBench, SECRET, serverEnv, startChild, waitFor } from './workload';

const DOCS = Number(process.env.DOCS ?? 1000);
const KEEP = Number(process.env.KEEP ?? 100);
const REOPEN_CONCURRENCY = 20;
const WORDS =
  'no acute intracranial haemorrhage mass effect or midline shift ventricles and sulci are normal for age grey white differentiation preserved'.split(
    ' ',
  );

interface Row {
  server: string;
  docs: number;
  openRssMB: number;
  openHeapMB: number;
  idleDocsHeld: number;
  idleRssMB: number;
  idleHeapMB: number;
  unloadSeconds: number;
  reopenP50: number;
  reopenP95: number;
  reopenedIntact: number;
}

/** A client holding one document through the stock provider. */
function open(port: number, name: string): { doc: Y.Doc; provider: WebsocketProvider } {
  const doc = new Y.Doc();
  const token = signDocumentToken({ sub: randomUUID(), role: 'attending', name: 'Dr Bench', doc: name, mode: 'rw' }, SECRET, 3600);
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/sync`, name, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
  });
  return { doc, provider };
}

/** A report as the editor stores it: five sections, a heading and paragraphs each, typed word by word. */
function writeReport(doc: Y.Doc, seed: number): void {
  const fragment = doc.getXmlFragment('default');
  let rnd = seed;
  const next = () => {
    rnd = (rnd * 1103515245 + 12345) % 2147483648;
    return rnd / 2147483648;
  };
  for (const section of ['Clinical information', 'Technique', 'Comparison', 'Findings', 'Impression']) {
    const heading = new Y.XmlElement('heading');
    heading.setAttribute('level', '2');
    heading.insert(0, [new Y.XmlText(section)]);
    fragment.push([heading]);
    for (let p = 0; p < (section === 'Findings' ? 4 : 1); p++) {
      const text = new Y.XmlText();
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [text]);
      fragment.push([paragraph]);
      // One update a paragraph (the server's per-connection message rate limit is for people).
      doc.transact(() => {
        for (let w = 0; w < 40; w++) {
          text.insert(text.length, `${WORDS[Math.floor(next() * WORDS.length)]} `);
          // A correction now and then: a word deleted and typed again.
          if (w % 13 === 12) text.delete(Math.max(0, text.length - 8), 4);
        }
      });
    }
  }
}

const contentOf = (doc: Y.Doc) => doc.getXmlFragment('default').toString();

async function gcStats(child: Child) {
  const s = await child.stats(true);
  return { rssMB: s.rss / 1024 / 1024, heapMB: s.heapUsed / 1024 / 1024, docs: s.docs };
}

async function measure(kind: 'pacs' | 'reference', child: Child): Promise<Row> {
  const names = Array.from({ length: DOCS }, () => reportDocumentName(randomUUID()));
  const expected = new Map<string, string>();
  const clients = new Map<string, ReturnType<typeof open>>();
  for (const [i, name] of names.entries()) {
    const client = open(child.port, name);
    clients.set(name, client);
    if (i % 50 === 49) await waitFor(() => [...clients.values()].every((c) => c.provider.synced), `${kind}: connected`);
  }
  await waitFor(() => [...clients.values()].every((c) => c.provider.synced), `${kind}: all connected`);
  for (const [i, name] of names.entries()) {
    const { doc } = clients.get(name)!;
    writeReport(doc, i + 1);
    expected.set(name, contentOf(doc));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20)); // let the sends drain
  }
  await waitFor(async () => (await child.stats()).docs >= DOCS, `${kind}: all documents loaded`);
  // Everything written has reached the server: each client's own provider has no unsent data.
  await waitFor(() => [...clients.values()].every((c) => c.provider.ws?.bufferedAmount === 0), `${kind}: sent`);
  await new Promise((r) => setTimeout(r, 2000)); // the server applies what is in flight
  const opened = await gcStats(child);

  const closing = names.slice(KEEP);
  for (const name of closing) {
    const c = clients.get(name)!;
    c.provider.destroy();
    c.doc.destroy();
    clients.delete(name);
  }
  const closedAt = performance.now();
  // pacs unloads after its delay; the reference keeps documents. Either way wait until the count settles.
  let last = -1;
  let steadySince = performance.now();
  await waitFor(
    async () => {
      const { docs, connections } = await child.stats();
      if (docs !== last) [last, steadySince] = [docs, performance.now()];
      return connections === KEEP && (docs === KEEP || performance.now() - steadySince > 15_000);
    },
    `${kind}: idle documents settled`,
    120_000,
  );
  const unloadSeconds = last === KEEP ? (steadySince - closedAt) / 1000 : Number.NaN;
  const idle = await gcStats(child);

  const reopen: number[] = [];
  let intact = 0;
  for (let i = 0; i < closing.length; i += REOPEN_CONCURRENCY) {
    await Promise.all(
      closing.slice(i, i + REOPEN_CONCURRENCY).map(async (name) => {
        const started = performance.now();
        const c = open(child.port, name);
        await waitFor(() => c.provider.synced, `${kind}: reopened`);
        reopen.push(performance.now() - started);
        if (contentOf(c.doc) === expected.get(name)) intact++;
        c.provider.destroy();
        c.doc.destroy();
      }),
    );
  }
  for (const c of clients.values()) {
    c.provider.destroy();
    c.doc.destroy();
  }
  reopen.sort((a, b) => a - b);
  return {
    server: kind,
    docs: DOCS,
    openRssMB: opened.rssMB,
    openHeapMB: opened.heapMB,
    idleDocsHeld: idle.docs,
    idleRssMB: idle.rssMB,
    idleHeapMB: idle.heapMB,
    unloadSeconds,
    reopenP50: percentile(reopen, 50),
    reopenP95: percentile(reopen, 95),
    reopenedIntact: intact,
  };
}

async function main() {
  process.setMaxListeners(0); // every WebsocketProvider adds a process 'exit' listener
  const dir = mkdtempSync(path.join(tmpdir(), 'pacs-sync-memory-'));
  const rows: Row[] = [];
  try {
    for (const kind of ['reference', 'pacs'] as const) {
      const env = serverEnv(`sqlite:${path.join(dir, 'memory.sqlite')}`, { PACS_SYNC_UNLOAD_DELAY_MS: process.env.UNLOAD_MS ?? '10000' });
      const child = await startChild(kind, env, ['--expose-gc']);
      try {
        const row = await measure(kind, child);
        rows.push(row);
        console.error(`${kind}: open ${row.openRssMB.toFixed(0)} MB, idle ${row.idleRssMB.toFixed(0)} MB (${row.idleDocsHeld} held)`);
      } finally {
        await child.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  const sample = new Y.Doc();
  writeReport(sample, 1);
  const report = [
    `${DOCS} documents, one client each, a report of ${sample.getXmlFragment('default').toString().length} characters of XML (${Y.encodeStateAsUpdate(sample).byteLength} bytes as an update) in each; then all but ${KEEP} closed. ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}.`,
    '',
    '| server | open: RSS MB | open: heap MB | idle: documents held | idle: RSS MB | idle: heap MB | unloaded after s | reopen p50 / p95 ms | reopened intact |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.server} | ${f(r.openRssMB)} | ${f(r.openHeapMB)} | ${r.idleDocsHeld} | ${f(r.idleRssMB)} | ${f(r.idleHeapMB)} | ${f(r.unloadSeconds)} | ${f(r.reopenP50)} / ${f(r.reopenP95)} | ${r.reopenedIntact} / ${DOCS - KEEP} |`,
    ),
  ];
  return { report, results: rows };
}

runBench(main);
