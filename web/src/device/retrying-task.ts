/**
 * A send that runs when asked and, when it fails (no answer, a server error), runs again soon on its
 * own: 2 s, doubling to 30 s, until it succeeds. Without it a failure right after the network
 * returns (a server still starting, a request caught by the drop) waited for the next periodic
 * flush. A run that succeeds resets the delay; `stop` ends the retries.
 */
export class RetryingTask {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delayMs: number;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly firstRetryMs = 2000,
    private readonly maxRetryMs = 30_000,
  ) {
    this.delayMs = firstRetryMs;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.run().then(
      () => {
        this.delayMs = this.firstRetryMs;
      },
      () => {
        if (this.stopped || this.timer) return;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, this.delayMs);
        this.delayMs = Math.min(this.delayMs * 2, this.maxRetryMs);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
