import { vi } from 'vitest';

/**
 * Waits until `check` stops throwing. vi.waitFor's own default (1 s) is shorter than a loaded
 * two-core machine can take to run an editor transaction or a stream round-trip; a condition that
 * never comes true still fails, after 10 s.
 */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 20 });
}
