/** The retrying send: again soon after a failure, with a growing delay; reset by a success; quiet once stopped. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RetryingTask } from './retrying-task';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A run that fails every time (no answer). */
const alwaysFailing = () =>
  vi.fn(async () => {
    throw new Error('no answer');
  });

describe('RetryingTask', () => {
  it('runs again after a failure, 2 s then doubling, and stops retrying once a run succeeds', async () => {
    let failures = 3;
    const run = vi.fn(async () => {
      if (failures-- > 0) throw new Error('no answer');
    });
    const task = new RetryingTask(run, 2000, 30_000);
    task.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(3999);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(run).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(8000);
    expect(run).toHaveBeenCalledTimes(4); // succeeded
    await vi.advanceTimersByTimeAsync(120_000);
    expect(run).toHaveBeenCalledTimes(4);
    task.stop();
  });

  it('never waits longer than the ceiling between tries', async () => {
    const run = alwaysFailing();
    const task = new RetryingTask(run, 2000, 5000);
    task.kick();
    await vi.advanceTimersByTimeAsync(2000 + 4000 + 5000 + 5000);
    expect(run).toHaveBeenCalledTimes(5);
    task.stop();
  });

  it('a success resets the delay for the next failure', async () => {
    let fail = true;
    const run = vi.fn(async () => {
      if (fail) throw new Error('no answer');
    });
    const task = new RetryingTask(run, 2000, 30_000);
    task.kick();
    await vi.advanceTimersByTimeAsync(2000 + 4000); // failed three times; next delay would be 8 s
    expect(run).toHaveBeenCalledTimes(3);
    fail = false;
    await vi.advanceTimersByTimeAsync(8000);
    expect(run).toHaveBeenCalledTimes(4);
    fail = true;
    task.kick();
    await vi.advanceTimersByTimeAsync(2000);
    expect(run).toHaveBeenCalledTimes(6);
    task.stop();
  });

  it('an ask while a retry waits runs at once and keeps one retry pending, not two', async () => {
    const run = alwaysFailing();
    const task = new RetryingTask(run, 2000, 30_000);
    task.kick();
    await vi.advanceTimersByTimeAsync(1000);
    task.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(4000);
    expect(run).toHaveBeenCalledTimes(3);
    task.stop();
  });

  it('stops: no further runs after stop, even with a failure in flight', async () => {
    let fail!: (error: Error) => void;
    const run = vi.fn(
      () =>
        new Promise<void>((_resolve, reject) => {
          fail = reject;
        }),
    );
    const task = new RetryingTask(run, 2000, 30_000);
    task.kick();
    task.stop();
    fail(new Error('no answer'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(1);
    task.kick();
    expect(run).toHaveBeenCalledTimes(1);
  });
});
