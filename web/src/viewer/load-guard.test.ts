import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardLoad, guardLoader, LoadTimeoutError } from './load-guard';

describe('guardLoad (a load that never settles ends in a message)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports a timeout once when the load never settles', () => {
    const onTimeout = vi.fn();
    guardLoad(() => new Promise<never>(() => {}), 30_000, onTimeout);
    vi.advanceTimersByTime(29_999);
    expect(onTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    const error = onTimeout.mock.calls[0]![0] as LoadTimeoutError;
    expect(error).toBeInstanceOf(LoadTimeoutError);
    expect(error.message).toBe('no image within 30 s');
    vi.advanceTimersByTime(120_000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('does not time out a load that settles in time, nor one that fails in time', async () => {
    const onTimeout = vi.fn();
    const ok = guardLoad(() => Promise.resolve('image'), 1000, onTimeout);
    await expect(ok.promise).resolves.toBe('image');
    const failed = guardLoad(() => Promise.reject(new Error('decoder')), 1000, onTimeout);
    await expect(failed.promise).rejects.toThrow('decoder');
    vi.advanceTimersByTime(5000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('turns a synchronous throw into a rejection', async () => {
    const onTimeout = vi.fn();
    const load = guardLoad<string>(
      () => {
        throw new Error('thrown synchronously');
      },
      1000,
      onTimeout,
    );
    await expect(load.promise).rejects.toThrow('thrown synchronously');
    vi.advanceTimersByTime(5000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('stops the timer on cancel (the viewport moved on)', () => {
    const onTimeout = vi.fn();
    const load = guardLoad(() => new Promise<never>(() => {}), 1000, onTimeout);
    load.cancel();
    vi.advanceTimersByTime(5000);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it('lets a late image through after the timeout', async () => {
    let resolve!: (value: string) => void;
    const onTimeout = vi.fn();
    const load = guardLoad(() => new Promise<string>((r) => (resolve = r)), 1000, onTimeout);
    vi.advanceTimersByTime(1000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    resolve('late image');
    await expect(load.promise).resolves.toBe('late image');
  });
});

describe('guardLoader (a loader that throws synchronously)', () => {
  it('answers a rejected load object instead of throwing', async () => {
    const loader = guardLoader((imageId: string): { promise: Promise<string> } => {
      if (imageId.startsWith('bad:')) throw new Error(`cannot parse ${imageId}`);
      return { promise: Promise.resolve(imageId) };
    });
    await expect(loader('wadors:ok').promise).resolves.toBe('wadors:ok');
    let result: { promise: Promise<string> } | undefined;
    expect(() => {
      result = loader('bad:id');
    }).not.toThrow();
    await expect(result!.promise).rejects.toThrow('cannot parse bad:id');
  });
});
