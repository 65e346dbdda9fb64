/**
 * One server under test, in its own process so its CPU and memory are its own. Started by
 * bench/workload.ts (for bench/propagation.ts and bench/scale-out.ts) over IPC: `pacs` (this
 * sync-server: SQLite persistence, token auth) or `reference` (@y/websocket-server 0.1.1
 * setupWSConnection: in memory, no auth).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

type Stats = { cpu: NodeJS.CpuUsage; rss: number; heapUsed: number; docs: number; connections: number };

const kind = process.argv[2];
const send = (msg: unknown) => process.send?.(msg);

async function main() {
  let stats: () => { docs: number; connections: number };
  let port: number;
  if (kind === 'pacs') {
    const { loadConfig } = await import('../src/config');
    const { SyncServer } = await import('../src/server');
    const server = new SyncServer({ config: loadConfig(process.env) });
    port = await server.start();
    stats = () => ({ docs: server.documents.size, connections: server.connectionCount });
    process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
  } else if (kind === 'reference') {
    const { setupWSConnection, docs } = await import('@y/websocket-server/utils');
    const wss = new WebSocketServer({ noServer: true });
    let connections = 0;
    const http = createServer((_req, res) => res.end('okay'));
    http.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        connections++;
        ws.on('close', () => connections--);
        const docName = (req.url ?? '/').split('?')[0]!.replace(/^\/sync\//, '');
        setupWSConnection(ws, req, { docName });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    port = (http.address() as AddressInfo).port;
    stats = () => ({ docs: docs.size, connections });
    process.on('SIGTERM', () => process.exit(0));
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  process.on('message', (msg: { type: string; gc?: boolean }) => {
    if (msg.type !== 'stats') return;
    if (msg.gc && typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const mem = process.memoryUsage();
    const out: Stats = { cpu: process.cpuUsage(), rss: mem.rss, heapUsed: mem.heapUsed, ...stats() };
    send({ type: 'stats', stats: out });
  });
  send({ type: 'ready', port });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
