/** Viewer budgets. Build-time defaults (VITE_…), overridable per device in localStorage (Settings or DevTools). */

const MB = 1024 * 1024;

function setting(name: string, fallback: number): number {
  try {
    const local = Number(localStorage.getItem(`pacs.viewer.${name}`));
    if (Number.isFinite(local) && local > 0) return local;
  } catch {
    // no localStorage (tests)
  }
  return fallback;
}

/**
 * Decoded-image cache (Cornerstone's cache) in MB. 384 MB suits an iPad-class tablet (Safari kills a tab
 * near 1–1.5 GB): a 600-image 512×512 CT series decodes to ~300 MB (Int16) and the cache evicts the
 * least recently used images beyond the budget instead of growing.
 */
export function decodedCacheBytes(): number {
  return setting('cacheMB', Number(import.meta.env.VITE_PACS_VIEWER_CACHE_MB ?? 384)) * MB;
}

/** Share of the decoded-image budget that stack prefetching (prefetch.ts) may fill, all viewports together. */
const PREFETCH_BUDGET_SHARE = 0.6;

/**
 * Images to prefetch on each side of the current one: the whole stack when it fits in that share of the
 * budget (split between `viewports` prefetching viewports), else half the share on each side.
 */
export function prefetchReach(budgetBytes: number, imageBytes: number, viewports: number, stackLength: number): number {
  if (imageBytes <= 0) return 0;
  const fits = Math.floor((budgetBytes * PREFETCH_BUDGET_SHARE) / Math.max(1, viewports) / imageBytes);
  if (stackLength <= fits) return stackLength;
  return Math.max(2, Math.floor(fits / 2));
}

/** Offline studies budget in MB (ciphertext); least recently opened studies are evicted beyond it. */
export function offlineBudgetBytes(): number {
  return setting('offlineMB', Number(import.meta.env.VITE_PACS_OFFLINE_STUDIES_MB ?? 4096)) * MB;
}

/** Parallel frame downloads when making a study available offline. */
export const DOWNLOAD_CONCURRENCY = 4;

/**
 * How long one image may take to load and decode before the viewport says it cannot be loaded (ms).
 * 30 s by default: far beyond a slow link's single frame, short enough that a hung request or decoder
 * does not leave "Loading image…" for ever. The load goes on; a late image still shows.
 */
export function loadTimeoutMs(): number {
  return setting('loadTimeoutS', Number(import.meta.env.VITE_PACS_VIEWER_LOAD_TIMEOUT_S ?? 30)) * 1000;
}
