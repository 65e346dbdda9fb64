import { type ComponentType, lazy } from 'react';

/**
 * A code-split page that renders without suspending once its chunk is in. React 19 holds content
 * back for up to 300 ms after a Suspense fallback appeared, so a page that suspends on every visit
 * pays that hold each time (measured: most of the 380 ms to open a cached report offline). Started
 * early — the current route's page at start-up, the others when the browser is idle — the chunk is
 * usually there before its route renders.
 */
export function lazyPage<P extends object>(load: () => Promise<{ default: ComponentType<P> }>) {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<{ default: ComponentType<P> }> | null = null;
  const preload = () => {
    loading ??= load().then(
      (module) => {
        loaded = module.default;
        return module;
      },
      (error: unknown) => {
        loading = null; // a chunk that failed to load (offline, new deployment) is tried again next time
        throw error;
      },
    );
    return loading;
  };
  const suspending = lazy(preload);
  /** The component to render now: the page itself once loaded, else the suspending wrapper. */
  const component = (): ComponentType<P> => loaded ?? suspending;
  return { component, preload };
}
