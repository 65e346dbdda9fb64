import { useEffect } from 'react';

/**
 * Runs `look` now and then every `intervalMs` while the page is visible (a hidden tab asks
 * nothing), as long as `enabled`. `look` should be stable (useCallback): a new one restarts the timer.
 */
export function usePoll(look: () => unknown, intervalMs: number, enabled = true): void {
  useEffect(() => {
    if (!enabled) return;
    void look();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void look();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [look, intervalMs, enabled]);
}
