/**
 * Counts refused unauthenticated requests per client address in fixed one-minute windows. Past
 * the budget, further ones from that address are answered 429 with Retry-After: a client that
 * keeps knocking without a valid token is told to stop. A valid token from the same address
 * (another user behind the same NAT) is never refused for it.
 */
const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 100_000;

export class AnonymousRefusals {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one refusal; the seconds to wait if the address is over its budget, else 0. */
  refuse(address: string): number {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || now - window.startedAt >= WINDOW_MS) {
      if (this.windows.size >= MAX_ADDRESSES) this.prune(now);
      window = { startedAt: now, count: 0 };
      this.windows.set(address, window);
    }
    window.count += 1;
    return window.count > this.perMinute ? Math.ceil((window.startedAt + WINDOW_MS - now) / 1000) : 0;
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) if (now - window.startedAt >= WINDOW_MS) this.windows.delete(address);
    if (this.windows.size >= MAX_ADDRESSES) this.windows.clear();
  }
}
