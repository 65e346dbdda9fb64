/**
 * The audit trail leaves the building: every audit row, in id order, as a PS3.15 audit message over
 * syslog (TLS or TCP with octet counting) to the hospital's audit repository. The queue is the
 * append-only audit table itself with a cursor (the last id handed to the repository's connection),
 * so a repository that is down for an hour gets every row afterwards, in order, once (a connection
 * that breaks in the middle of a batch has that batch sent again). One API instance
 * exports at a time, holding a lease in `app_state`; another takes over when the lease runs out.
 * A failure to connect or verify the repository's certificate is kept as the status an admin sees.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { Op } from 'sequelize';
import type { AuditLogAttributes, Models } from '../../db/models';
import { type AuditActor, auditMessageXml } from './audit-message';
import type { AtnaConfig } from './settings';
import { syslogFrame } from './syslog';

const CURSOR_KEY = 'atna:cursor';
const LEASE_KEY = 'atna:lease';
const LEASE_MS = 15_000;
const BATCH = 500;
const IDLE_MS = 200;
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface AuditExportStatus {
  target: string;
  /** This instance holds the lease and has a connection. */
  connected: boolean;
  /** The last id handed to the repository. */
  exportedUpTo: number;
  /** Rows written since then (by any instance). */
  pending: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

type Socket = net.Socket | tls.TLSSocket;

export class AtnaExporter {
  private readonly owner = randomUUID();
  private socket: Socket | null = null;
  private stopped = true;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private wakeOnKick = true;
  private failures = 0;
  private lastError: { message: string; at: Date } | null = null;

  constructor(
    private readonly models: Models,
    private readonly config: AtnaConfig,
    private readonly log: FastifyBaseLogger,
    private readonly applicationId = 'PACS',
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /** New rows were written: look now instead of at the next idle tick. */
  kick(): void {
    if (this.wakeOnKick) this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.closeSocket();
    await this.releaseLease();
  }

  async status(): Promise<AuditExportStatus> {
    const exportedUpTo = await this.cursor();
    const pending = await this.models.AuditLog.count({ where: { id: { [Op.gt]: exportedUpTo } } });
    return {
      target: `${this.config.transport}://${this.config.host}:${this.config.port}`,
      connected: this.socket !== null && !this.socket.destroyed,
      exportedUpTo,
      pending,
      lastError: this.lastError?.message ?? null,
      lastErrorAt: this.lastError?.at.toISOString() ?? null,
    };
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let wait = IDLE_MS;
      try {
        if (!(await this.holdLease())) {
          this.closeSocket();
          wait = LEASE_MS / 3;
        } else {
          const sent = await this.exportBatch();
          if (sent === BATCH) wait = 0;
          // Delivering again clears the alarm.
          this.failures = 0;
          if (sent > 0) this.lastError = null;
        }
      } catch (error) {
        this.failures += 1;
        this.lastError = { message: (error as Error).message || 'export failed', at: new Date() };
        this.closeSocket();
        wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
        this.log.warn({ error: this.lastError.message, retryInMs: wait }, 'audit export to the repository failed');
      }
      if (wait > 0 && !this.stopped) await this.sleep(wait, this.failures === 0);
    }
  }

  /** Waits `ms`; new rows cut an idle wait short, never a back-off after a failure (only stop does). */
  private sleep(ms: number, wakeOnKick: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
      this.wakeOnKick = wakeOnKick;
    });
  }

  /** Sends the rows after the cursor; the cursor moves past each row its connection accepted. Resolves with how many. */
  private async exportBatch(): Promise<number> {
    const cursor = await this.cursor();
    const rows = await this.models.AuditLog.findAll({
      where: { id: { [Op.gt]: cursor } },
      order: [['id', 'ASC']],
      limit: BATCH,
      raw: true,
    });
    if (rows.length === 0) return 0;
    const socket = await this.connection();
    const actors = await this.actorsOf(rows);
    // Syslog has no acknowledgement: a connection that fails mid-batch may have delivered part of
    // it, or lost what the kernel had accepted. The cursor moves only when the whole batch was
    // handed over, so after a failure the batch is sent again (at least once; duplicates only then).
    await new Promise<void>((resolve, reject) => {
      let left = rows.length;
      const onError = (error: Error) => reject(error);
      const onClose = () => reject(new Error('the repository closed the connection'));
      socket.once('error', onError);
      socket.once('close', onClose);
      for (const row of rows) {
        const frame = syslogFrame(auditMessageXml(row, this.source(), actors.get(row.userId ?? '') ?? null), {
          at: new Date(row.eventDateTime),
          hostname: this.config.sourceId,
          appName: this.applicationId,
          procId: String(process.pid),
        });
        socket.write(frame, (error) => {
          if (error) return reject(error);
          left -= 1;
          if (left === 0) {
            socket.off('error', onError);
            socket.off('close', onClose);
            resolve();
          }
        });
      }
    });
    await this.saveCursor(Number(rows.at(-1)!.id));
    return rows.length;
  }

  private source() {
    return { sourceId: this.config.sourceId, siteId: this.config.siteId, applicationId: this.applicationId };
  }

  private async actorsOf(rows: AuditLogAttributes[]): Promise<Map<string, AuditActor>> {
    const ids = [...new Set(rows.map((row) => row.userId).filter((id): id is string => id !== null))];
    if (ids.length === 0) return new Map();
    const users = await this.models.User.findAll({ where: { id: { [Op.in]: ids } }, attributes: ['id', 'email', 'name'], raw: true });
    return new Map(users.map((user) => [user.id, { login: user.email, name: user.name }]));
  }

  private connection(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return Promise.resolve(this.socket);
    this.closeSocket();
    const { host, port } = this.config;
    return new Promise((resolve, reject) => {
      const socket: Socket =
        this.config.transport === 'tls'
          ? tls.connect({
              host,
              port,
              ca: this.config.ca,
              cert: this.config.cert,
              key: this.config.key,
              servername: net.isIP(host) ? undefined : host,
              rejectUnauthorized: true,
            })
          : net.connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection to ${host}:${port} within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
      const ready = () => {
        clearTimeout(timer);
        socket.off('error', failed);
        socket.on('error', () => undefined);
        socket.setKeepAlive(true, 30_000);
        this.socket = socket;
        resolve(socket);
      };
      const failed = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once(this.config.transport === 'tls' ? 'secureConnect' : 'connect', ready);
      socket.once('error', failed);
    });
  }

  private closeSocket(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private async cursor(): Promise<number> {
    const row = await this.models.AppState.findByPk(CURSOR_KEY, { raw: true });
    return row ? Number(row.value) : 0;
  }

  private async saveCursor(id: number): Promise<void> {
    await this.models.AppState.upsert({ key: CURSOR_KEY, value: String(id), updatedAt: new Date() });
  }

  /** Takes or renews the export lease; false while another instance holds an unexpired one. */
  private async holdLease(): Promise<boolean> {
    const now = Date.now();
    const value = JSON.stringify({ owner: this.owner, until: now + LEASE_MS });
    const current = await this.models.AppState.findByPk(LEASE_KEY, { raw: true });
    if (!current) {
      try {
        await this.models.AppState.create({ key: LEASE_KEY, value, updatedAt: new Date() });
        return true;
      } catch {
        return false;
      }
    }
    const lease = JSON.parse(current.value) as { owner: string; until: number };
    if (lease.owner !== this.owner && lease.until > now) return false;
    const [taken] = await this.models.AppState.update({ value }, { where: { key: LEASE_KEY, value: current.value } });
    return taken === 1;
  }

  private async releaseLease(): Promise<void> {
    const current = await this.models.AppState.findByPk(LEASE_KEY, { raw: true }).catch(() => null);
    if (current && (JSON.parse(current.value) as { owner: string }).owner === this.owner) {
      await this.models.AppState.destroy({ where: { key: LEASE_KEY, value: current.value } }).catch(() => undefined);
    }
  }
}
