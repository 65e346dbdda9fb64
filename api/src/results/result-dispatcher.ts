/**
 * Delivers the results outbox to each destination (HL7 receivers over MLLP, the DICOM archive), one
 * message at a time per destination. Order is kept per patient: a message waits while an earlier one for the
 * same patient is pending; other patients' results pass it. AA (or CA) marks a message sent; AE, a
 * timeout or a refused connection retries with doubling back-off; AR, or too many attempts, makes
 * it dead (listed for admins, who can resend it). Rows are claimed before sending, so API instances
 * sharing the database never send one twice; a crashed instance's claim runs out.
 * Every delivery and every death is audited (an export of patient data).
 */
import type { FastifyBaseLogger } from 'fastify';
import { Op } from 'sequelize';
import type { AuditRecorder } from '../audit/recorder';
import type { Models } from '../db/models';
import type { OutboxRow } from '../db/order-models';
import { ARCHIVE_MESSAGE_TYPE, type Delivery, type Destination } from './destinations';
import { MAIL_MESSAGE_TYPE } from './mail-destination';
import { patientIdOfKey } from './result-outbox';

/** What the audit trail calls what left. */
const OBJECT_TYPES: Record<string, string> = { [ARCHIVE_MESSAGE_TYPE]: 'DICOMInstance', [MAIL_MESSAGE_TYPE]: 'Email' };

export interface DispatcherOptions {
  /** A claim outlives the longest delivery it covers: twice this plus a margin. */
  ackTimeoutMs: number;
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the outbox is looked at when nothing kicked it. */
  intervalMs: number;
}

/** A claim outlives the longest send it covers. */
const claimMs = (options: DispatcherOptions) => options.ackTimeoutMs * 2 + 10_000;

export class ResultDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly destinations: Destination[],
    private readonly models: Models,
    private readonly audit: AuditRecorder,
    private readonly options: DispatcherOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** The next look: when the earliest retry falls due, or after intervalMs (rows other instances wrote). */
  private scheduleNext(dueAt: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(50, Math.min(this.options.intervalMs, dueAt - Date.now()));
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref();
  }

  /** Look at the outbox now (after a commit that wrote to it). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .catch((error: Error) => {
        this.log.error({ err: { type: error.name, message: error.message } }, 'result dispatch failed');
        return Date.now() + this.options.intervalMs;
      })
      .then((dueAt) => this.scheduleNext(dueAt))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.destinations.map((destination) => destination.close()));
  }

  /** One pass over every destination's due messages; resolves with when the earliest retry falls due. */
  async runOnce(): Promise<number> {
    let dueAt = Number.POSITIVE_INFINITY;
    for (const destination of this.destinations) {
      if (this.stopped) break;
      dueAt = Math.min(dueAt, await this.drain(destination));
    }
    return dueAt;
  }

  private async drain(destination: Destination): Promise<number> {
    let dueAt = Number.POSITIVE_INFINITY;
    const { Outbox } = this.models;
    const rows = await Outbox.findAll({ where: { destination: destination.name, status: 'pending' }, order: [['id', 'ASC']], limit: 500 });
    const blocked = new Set<string>();
    for (const row of rows) {
      if (this.stopped) break;
      const patient = row.get('patientKey');
      if (blocked.has(patient)) continue;
      const now = new Date();
      if (row.get('nextAttemptAt') > now) {
        dueAt = Math.min(dueAt, row.get('nextAttemptAt').getTime());
        blocked.add(patient);
        continue;
      }
      if (!(await this.claim(row, now))) {
        blocked.add(patient);
        continue;
      }
      const delivery = await this.deliver(destination, row);
      if (delivery.ok) {
        await row.update({
          status: 'sent',
          sentAt: new Date(),
          ackCode: delivery.ackCode,
          attempts: row.get('attempts') + 1,
          claimedUntil: null,
        });
        await this.audited(row, 0);
        continue;
      }
      blocked.add(patient);
      const attempts = row.get('attempts') + 1;
      const dead = delivery.permanent || attempts >= this.options.maxAttempts;
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempts - 1));
      if (!dead) dueAt = Math.min(dueAt, Date.now() + delay);
      await row.update({
        status: dead ? 'dead' : 'pending',
        attempts,
        ackCode: delivery.ackCode,
        lastError: delivery.error.slice(0, 400),
        nextAttemptAt: new Date(Date.now() + delay),
        claimedUntil: null,
      });
      this.log.warn(
        { destination: destination.name, controlId: row.get('controlId'), attempts, dead, error: delivery.error },
        'result not delivered',
      );
      if (dead) await this.audited(row, 8);
    }
    return dueAt;
  }

  private async claim(row: OutboxRow, now: Date): Promise<boolean> {
    const until = new Date(now.getTime() + claimMs(this.options));
    const [claimed] = await this.models.Outbox.update(
      { claimedUntil: until },
      {
        where: {
          id: row.get('id'),
          status: 'pending',
          [Op.or]: [{ claimedUntil: null }, { claimedUntil: { [Op.lt]: now } }],
        },
      },
    );
    // The row in memory learns of its claim, so the update that ends it is seen as a change and saved.
    if (claimed === 1) row.setDataValue('claimedUntil', until);
    return claimed === 1;
  }

  private async deliver(destination: Destination, row: OutboxRow): Promise<Delivery> {
    try {
      return await destination.deliver(row.get());
    } catch (error) {
      // A destination that throws instead of answering is retried like an unreachable one.
      return { ok: false, ackCode: '', error: (error as Error).message || 'delivery failed', permanent: false };
    }
  }

  private audited(row: OutboxRow, outcome: 0 | 8): Promise<void> {
    return this.audit.record({
      eventId: 'Export',
      action: 'E',
      outcome,
      objectType: OBJECT_TYPES[row.get('messageType')] ?? 'HL7Message',
      objectId: row.get('controlId'),
      patientId: patientIdOfKey(row.get('patientKey')),
      details: {
        destination: row.get('destination'),
        messageType: row.get('messageType'),
        reportId: row.get('reportId'),
        attempts: row.get('attempts'),
      },
    });
  }
}
