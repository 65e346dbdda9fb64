import { type ComponentType, useEffect, useState } from 'react';

/**
 * A code-split page loaded without Suspense. React 19 holds content back for up to 300 ms after a
 * Suspense fallback appeared, so a lazy page that suspends pays that hold on its first visit
 * (measured: most of the ~350 ms to open a cached report offline). Here the page's own state shows
 * "Loading…" until its chunk is in, then renders it at once; chunks also start early (the current
 * route's at start-up, the reading pages when the browser is idle).
 */
export interface LazyPage {
  /** The page component once its chunk is loaded, else null. */
  loaded(): ComponentType | null;
  preload(): Promise<ComponentType>;
}

export function lazyPage(load: () => Promise<{ default: ComponentType }>): LazyPage {
  let component: ComponentType | null = null;
  let loading: Promise<ComponentType> | null = null;
  return {
    loaded: () => component,
    preload() {
      loading ??= load().then(
        (module) => {
          component = module.default;
          return module.default;
        },
        (error: unknown) => {
          loading = null; // a chunk that failed to load (offline, new deployment) is tried again next time
          throw error;
        },
      );
      return loading;
    },
  };
}

/** Renders a lazy page, or "Loading…" until its chunk is in; a chunk that fails to load throws to the nearest boundary. */
export function PageLoader({ page }: { page: LazyPage }) {
  const [, setLoadedTick] = useState(0);
  const [failure, setFailure] = useState<{ error: unknown } | null>(null);
  const Page = page.loaded();
  useEffect(() => {
    if (Page) return;
    let live = true;
    page.preload().then(
      () => live && setLoadedTick((n) => n + 1),
      (error: unknown) => live && setFailure({ error }),
    );
    return () => {
      live = false;
    };
  }, [page, Page]);
  if (failure) throw failure.error;
  if (Page) return <Page />;
  return (
    <p className="page" aria-busy="true">
      Loading…
    </p>
  );
}
