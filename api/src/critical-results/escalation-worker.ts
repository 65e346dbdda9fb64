/**
 * Looks for overdue critical results every PACS_CRITICAL_CHECK_SECONDS and escalates them. Every
 * API instance runs one; the conditional update in escalateDue makes each escalation happen once.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { CriticalResults } from './critical-results';

export class EscalationWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly results: CriticalResults,
    private readonly intervalMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
    void this.runOnce();
  }

  /** One look now (a pass already under way is waited for instead of overlapped). */
  runOnce(): Promise<void> {
    this.running ??= this.results
      .escalateDue()
      .then((moved) => {
        if (moved > 0) this.log.info({ escalated: moved }, 'critical results escalated');
      })
      .catch((error: Error) => this.log.error({ err: { type: error.name, message: error.message } }, 'critical escalation failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
