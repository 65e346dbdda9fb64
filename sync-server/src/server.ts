/**
 * The sync-server: a small Hocuspocus-style core on `ws` + `y-protocols`, speaking the standard
 * y-websocket protocol so the stock `y-websocket` WebsocketProvider connects unmodified.
 *
 * Why not `@y/websocket-server` (0.1.1; 0.1.5 is broken, see ARCHITECTURE.md, decisions)? Its
 * `setupWSConnection` keeps documents in a module-global map, applies every message with
 * `readSyncMessage` (no read-only mode, no place to divert updates of a locked document into late
 * edits), persists through a fire-and-forget `bindState` with no retry or flush-before-unload, logs
 * errors to the console and keeps a connection open after a malformed frame. Each of those is a
 * rule in SPEC.md; wrapping it would mean re-implementing its message loop anyway. It stays the
 * reference in bench/propagation.ts.
 *
 * HTTP: `GET /health`, `GET /metrics`, `/internal/documents/:name/*` (internal-api.ts) and the
 * WebSocket upgrade on `/sync/<document>?token=…`.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { clientAddress } from '@pacs/server-kit/address-list';
import { CLOSE_CODES, parseReportDocumentName, SYNC_PATH_PREFIX } from '@pacs/shared';
import { type WebSocket, WebSocketServer } from 'ws';
import { accessFor, bearerMatches, verifyDocumentToken } from './auth';
import { ConfigError, loadConfig, type SyncConfig } from './config';
import { Connection } from './connection';
import { DocumentManager } from './document-manager';
import { handleInternal, isInternalPath, sendJson } from './internal-api';
import { createLogger, type Logger } from './log';
import { createMetrics, type Metrics } from './metrics';
import { AccessRevocations, type Revocation } from './revocations';
import { RedisBus } from './scale-out/redis-bus';
import { type DocumentStore, SequelizeStore } from './store';

export { signDocumentToken, verifyDocumentToken } from './auth';
export { describeEnv, ENV_NAMES, loadConfig } from './config';

export interface SyncServerOptions {
  config: SyncConfig;
  /** Defaults to a SequelizeStore on config.databaseUrl (tests pass a wrapped one). */
  store?: DocumentStore;
  logger?: Logger;
}

/** Counts failed authentications per client address over a sliding minute (LIMIT-5). */
class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number) {}
  blocked(ip: string): boolean {
    const w = this.windows.get(ip);
    return w !== undefined && Date.now() - w.start < 60_000 && w.count >= this.perMinute;
  }
  fail(ip: string): void {
    const now = Date.now();
    const w = this.windows.get(ip);
    if (!w || now - w.start >= 60_000) this.windows.set(ip, { start: now, count: 1 });
    else w.count++;
    if (this.windows.size > 10_000) {
      for (const [key, value] of this.windows) if (now - value.start >= 60_000) this.windows.delete(key);
    }
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export class SyncServer {
  readonly config: SyncConfig;
  readonly metrics: Metrics;
  readonly log: Logger;
  documents!: DocumentManager;
  private store!: DocumentStore;
  /** Scale-out bus (SCALE-*), when PACS_SYNC_REDIS_URL is set. */
  bus: RedisBus | null = null;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly perUser = new Map<string, number>();
  private readonly authFailures: AuthFailureLimiter;
  private readonly revocations = new AccessRevocations();
  private closing = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly options: SyncServerOptions) {
    this.config = options.config;
    this.log = options.logger ?? createLogger(this.config.logLevel);
    this.metrics = createMetrics();
    this.authFailures = new AuthFailureLimiter(this.config.authFailuresPerMinute);
    // LIMIT-1: the limit with our close code (4413) is checked per message in Connection; ws itself
    // cuts frames above 4 × the limit while they arrive (close 1009), so none is ever buffered whole.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.config.maxMessageBytes * 4, perMessageDeflate: false });
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.headersTimeout = 10_000;
    this.http.requestTimeout = 30_000;
  }

  /** Opens the store (running migrations) and listens. Resolves with the bound port. */
  async start(): Promise<number> {
    this.store = this.options.store ?? (await SequelizeStore.open(this.config.databaseUrl));
    if (this.config.redisUrl) {
      // Not awaited beyond a short wait: without Redis this instance still serves its own clients (SCALE-6).
      this.bus = new RedisBus(this.config.redisUrl, this.log, this.metrics);
      this.bus.onRevocation((revocation) => this.applyRevocation(revocation));
      if (!(await this.bus.waitConnected(5_000))) this.log.warn('redis not reachable yet; serving local clients, retrying');
    }
    this.documents = new DocumentManager(
      this.store,
      {
        debounceMs: this.config.debounceMs,
        compactAfterUpdates: this.config.compactAfterUpdates,
        unloadDelayMs: this.config.unloadDelayMs,
        maxLoadedDocuments: this.config.maxLoadedDocuments,
      },
      this.metrics,
      this.log,
      this.bus,
    );
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return this.port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private async onRequest(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    // Only the path is ever logged or routed on; the query may carry a token (AUTH-7).
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (path === '/health' && req.method === 'GET') {
        sendJson(res, this.closing ? 503 : 200, {
          status: this.closing ? 'shutting-down' : 'ok',
          connections: this.connections.size,
          documents: this.documents.size,
          ...(this.bus ? { redis: this.bus.connected ? 'connected' : 'disconnected' } : {}),
        });
      } else if (path === '/metrics' && req.method === 'GET') {
        if (this.config.metricsToken && !bearerMatches(req.headers.authorization, this.config.metricsToken)) {
          sendJson(res, 401, { statusCode: 401, error: 'Unauthorized', message: 'metrics token required' });
          return;
        }
        const text = await this.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
        res.end(text);
      } else if (isInternalPath(path)) {
        await handleInternal(req, res, path, this.config.serviceToken, this.documents, this.log, (r) => this.revoke(r));
        this.log.info('internal request', { method: req.method, path, status: res.statusCode });
      } else {
        sendJson(res, 404, { statusCode: 404, error: 'Not Found', message: 'not found' });
      }
    } catch (err) {
      this.log.error('request failed', { path, err });
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
      else res.destroy();
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith(SYNC_PATH_PREFIX)) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (this.closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    // LIMIT-5: before any token work, clients with too many failed authentications wait. Keyed on
    // the client behind a trusted proxy: keyed on the proxy, one client would refuse everyone.
    const ip = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.config.trustedProxies);
    if (this.authFailures.blocked(ip)) {
      this.metrics.connectionsRejected.inc({ reason: 'auth-failures' });
      refuseUpgrade(socket, 429, 'Too Many Requests');
      return;
    }
    // LIMIT-6: a global cap on open sockets.
    if (this.connections.size >= this.config.maxConnections) {
      this.metrics.connectionsRejected.inc({ reason: 'server-full' });
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req, path, ip));
  }

  private refuse(ws: WebSocket, code: number, reason: string, metric: string, fields: Record<string, unknown>): void {
    this.metrics.connectionsRejected.inc({ reason: metric });
    this.log.info('connection refused', { reason: metric, code, ...fields });
    ws.close(code, reason);
  }

  private onSocket(ws: WebSocket, req: IncomingMessage, path: string, ip: string): void {
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const verified = verifyDocumentToken(query.get('token'), this.config.tokenSecret);
    let name: string | null = null;
    try {
      name = decodeURIComponent(path.slice(SYNC_PATH_PREFIX.length));
    } catch {
      name = null;
    }
    const fields = { path, ip };
    // AUTH-1: nothing about the document is sent before the token checks out.
    if (!verified.ok) {
      this.authFailures.fail(ip);
      this.refuse(ws, CLOSE_CODES.unauthorized, 'unauthorized', 'unauthorized', { ...fields, detail: verified.reason });
      return;
    }
    const claims = verified.claims;
    if (name === null || parseReportDocumentName(name) === null) {
      this.refuse(ws, CLOSE_CODES.notFound, 'unknown document', 'not-found', { ...fields, user: claims.sub });
      return;
    }
    let access = accessFor(claims);
    if (claims.doc !== name || access === 'none') {
      this.authFailures.fail(ip);
      this.refuse(ws, CLOSE_CODES.forbidden, 'forbidden', 'forbidden', { ...fields, user: claims.sub, doc: name });
      return;
    }
    // REVOKE-1/2: a token issued before the user lost access (or this document) no longer opens it.
    if (this.revocations.userRevoked(claims)) {
      this.refuse(ws, CLOSE_CODES.accessRevoked, 'access revoked', 'revoked', { ...fields, user: claims.sub });
      return;
    }
    if (access === 'rw' && this.revocations.readOnlyFor(claims)) access = 'ro';
    // LIMIT-4: connections per user.
    const open = this.perUser.get(claims.sub) ?? 0;
    if (open >= this.config.maxConnectionsPerUser) {
      this.refuse(ws, CLOSE_CODES.rateLimited, 'too many connections', 'connections-per-user', { ...fields, user: claims.sub });
      return;
    }
    this.perUser.set(claims.sub, open + 1);
    const conn = new Connection(
      ws,
      { userId: claims.sub, userName: claims.name, role: claims.role, mode: access, document: name },
      {
        maxMessageBytes: this.config.maxMessageBytes,
        maxMessagesPerSecond: this.config.maxMessagesPerSecond,
        maxQueuedMessages: 64,
        maxBufferedBytes: 64 * 1024 * 1024,
      },
      this.metrics,
      this.log,
      (c) => this.onClosed(c),
    );
    this.connections.add(conn);
    this.metrics.connections.set(this.connections.size);
    this.log.debug('connection opened', { conn: conn.id, user: claims.sub, doc: name, mode: access });
    this.documents.get(name).then(
      (doc) => {
        conn.attach(doc);
        if (doc.peers.size === 0) doc.scheduleUnload();
      },
      () => conn.close(CLOSE_CODES.serverRestart, 'document unavailable'),
    );
  }

  /** REVOKE-*: applies a revocation to this instance's connections; returns how many changed. */
  private applyRevocation(revocation: Revocation): number {
    this.revocations.record(revocation);
    this.metrics.revocations.inc({ kind: revocation.kind });
    let changed = 0;
    for (const conn of [...this.connections]) {
      if (conn.userId !== revocation.userId) continue;
      if (revocation.kind === 'revoke-user') {
        conn.close(CLOSE_CODES.accessRevoked, 'access revoked');
        changed++;
      } else if (conn.document === revocation.document && conn.makeReadOnly()) {
        changed++;
      }
    }
    return changed;
  }

  /** REVOKE-*: here at once, then every other instance through the bus (SCALE-*). */
  private async revoke(revocation: Revocation): Promise<{ connections: number; propagated: boolean }> {
    const connections = this.applyRevocation(revocation);
    const propagated = this.bus ? await this.bus.publishRevocation(revocation) : true;
    if (!propagated)
      this.log.error('revocation not propagated: the scale-out bus is down', { kind: revocation.kind, user: revocation.userId });
    return { connections, propagated };
  }

  private onClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const open = (this.perUser.get(conn.userId) ?? 1) - 1;
    if (open <= 0) this.perUser.delete(conn.userId);
    else this.perUser.set(conn.userId, open);
    this.metrics.connections.set(this.connections.size);
  }

  /**
   * Graceful shutdown (DUR-7): refuse new work, close sockets with CLOSE_CODES.serverRestart (the
   * stock provider reconnects), store everything (retrying until shutdownTimeoutMs), close the DB.
   */
  stop(): Promise<void> {
    if (this.stopped) return this.stopped;
    this.closing = true;
    this.stopped = (async () => {
      const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      for (const conn of [...this.connections]) conn.close(CLOSE_CODES.serverRestart, 'server restart');
      if (this.documents) {
        const deadline = Date.now() + this.config.shutdownTimeoutMs;
        let remaining = await this.documents.flushAll();
        while (remaining.length > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          remaining = await this.documents.flushAll();
        }
        if (remaining.length > 0) {
          this.log.fatal('shutdown with unstored updates; clients still hold them and resend on reconnect', { documents: remaining });
        }
        this.documents.destroyAll();
      }
      await this.bus?.close();
      this.wss.close();
      this.http.closeAllConnections();
      await httpClosed;
      await this.store?.close();
      this.log.info('stopped');
    })();
    return this.stopped;
  }

  /** Tests only: dies like `kill -9` in-process: no close frames, no flush. */
  async crash(): Promise<void> {
    this.closing = true;
    for (const conn of [...this.connections]) conn.terminate();
    this.documents?.destroyAll();
    await this.bus?.close();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.store?.close();
  }
}

async function main(): Promise<void> {
  let config: SyncConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pacs-sync: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const server = new SyncServer({ config });
  if (config.tokenSecretGenerated) {
    server.log.warn('PACS_DOCUMENT_TOKEN_SECRET not set: only tokens signed with a random per-process key verify (development only)');
  }
  if (!config.serviceToken) server.log.warn('PACS_SYNC_SERVICE_TOKEN not set: the internal API answers 503 (development only)');
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    server.log.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5_000);
    force.unref();
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  const port = await server.start();
  server.log.info('listening', {
    host: config.host,
    port,
    database: config.databaseUrl.split(':')[0],
    scaleOut: server.bus ? { instance: server.bus.instanceId, redis: server.bus.connected } : false,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error('pacs-sync: failed to start:', error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
