/**
 * Back-off after failed logins, so that guessing is slow without letting anyone lock a real
 * account (the old lock-out: five wrong passwords from anywhere locked the owner out for 15
 * minutes, renewable by anyone). Failures are counted under three keys:
 * - the client address: many failures from one address, whatever the accounts;
 * - the account from that address: one address guessing one account;
 * - the account from every address: guessing from many addresses. Each address adds at most
 *   `perAccountFromAddress` failures here, and its wait is capped short (ACCOUNT_MAX_DELAY_MS), so
 *   one attacker cannot hold the owner back at all, and many only for a minute at a time.
 * Past a key's free failures, the next attempt must wait 1 s, then 2, 4, … up to the key's cap,
 * counted from its last failure. Attempts refused for waiting are not failures (no password is
 * checked), so they do not extend the wait. A key is forgotten `windowMs` after its last failure.
 * Unknown accounts are counted exactly like known ones: the answers cannot tell them apart.
 */

export const ACCOUNT_MAX_DELAY_MS = 60_000;
const FIRST_DELAY_MS = 1000;
const MAX_KEYS = 100_000;

interface Failures {
  count: number;
  lastAt: number;
}

export interface LoginThrottleOptions {
  /** Failures of one account from one address before the back-off starts. */
  perAccountFromAddress: number;
  /** Failures from one address, any accounts, before the back-off starts. */
  perAddress: number;
  /** Longest wait for an address (and an account from that address). */
  maxDelayMs: number;
}

export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();
  private readonly windowMs: number;

  constructor(
    private readonly options: LoginThrottleOptions,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.windowMs = Math.max(options.maxDelayMs, ACCOUNT_MAX_DELAY_MS) + 15 * 60_000;
  }

  /** Milliseconds `address` must still wait before trying `account` again; 0 = go ahead. */
  waitMs(account: string, address: string): number {
    const { perAccountFromAddress, perAddress, maxDelayMs } = this.options;
    return Math.max(
      this.wait(`address:${address}`, perAddress, maxDelayMs),
      this.wait(`pair:${account}\u0000${address}`, perAccountFromAddress, maxDelayMs),
      this.wait(`account:${account}`, perAccountFromAddress * 4, ACCOUNT_MAX_DELAY_MS),
    );
  }

  failed(account: string, address: string): void {
    const pair = this.bump(`pair:${account}\u0000${address}`);
    this.bump(`address:${address}`);
    // Past its own free failures an address adds nothing to the account's count.
    if (pair <= this.options.perAccountFromAddress) this.bump(`account:${account}`);
  }

  /** The right password: this address's record for the account, and the account's, are cleared. */
  succeeded(account: string, address: string): void {
    this.failures.delete(`pair:${account}\u0000${address}`);
    this.failures.delete(`account:${account}`);
  }

  private wait(key: string, free: number, capMs: number): number {
    const entry = this.live(key);
    if (!entry || entry.count < free) return 0;
    const delay = Math.min(FIRST_DELAY_MS * 2 ** Math.min(entry.count - free, 30), capMs);
    return Math.max(0, entry.lastAt + delay - this.now());
  }

  private bump(key: string): number {
    const entry = this.live(key) ?? { count: 0, lastAt: 0 };
    entry.count += 1;
    entry.lastAt = this.now();
    // Re-inserted, so the map stays ordered by last failure and the oldest go first when full.
    this.failures.delete(key);
    if (this.failures.size >= MAX_KEYS) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(key, entry);
    return entry.count;
  }

  private live(key: string): Failures | undefined {
    const entry = this.failures.get(key);
    if (entry && this.now() - entry.lastAt > this.windowMs) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }
}
