/**
 * Safety net for image loads: a load that never settles (a hung request or decoder) or a loader that
 * throws synchronously (Cornerstone's request pool then never settles the viewport's promise) must end in
 * the viewport's error message, not in "Loading image…" for ever.
 */

/** A load that did not settle within the viewer's load timeout (config.ts loadTimeoutMs). */
export class LoadTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no image within ${Math.round(ms / 1000)} s`);
    this.name = 'LoadTimeoutError';
  }
}

/**
 * Starts a load: a synchronous throw becomes a rejection, and `onTimeout` is called once if the load has
 * not settled within `ms` (the load itself goes on: a late image still shows). Answers the load's promise
 * and `cancel`, which stops the timer (when the viewport moves on to another stack).
 */
export function guardLoad<T>(
  start: () => Promise<T>,
  ms: number,
  onTimeout: (error: LoadTimeoutError) => void,
): { promise: Promise<T>; cancel(): void } {
  let promise: Promise<T>;
  try {
    promise = Promise.resolve(start());
  } catch (error) {
    promise = Promise.reject(error);
  }
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timer = undefined;
    onTimeout(new LoadTimeoutError(ms));
  }, ms);
  const cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  promise.then(cancel, cancel);
  return { promise, cancel };
}

/**
 * Wraps a Cornerstone image loader so that a synchronous throw answers a rejected load object (then
 * Cornerstone reports IMAGE_LOAD_FAILED and the viewport shows why) instead of escaping into its pool.
 */
export function guardLoader<A extends unknown[], O extends { promise: Promise<unknown> }>(loader: (...args: A) => O): (...args: A) => O {
  return (...args: A) => {
    try {
      return loader(...args);
    } catch (error) {
      const promise = Promise.reject(error);
      return { promise, cancelFn: undefined } as unknown as O;
    }
  };
}
