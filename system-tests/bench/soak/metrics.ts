/** Latencies per request class and per minute, errors, and the servers' memory and CPU over time. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { usageOf } from './proc';
import type { Watched } from './system';

export const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : Number.NaN;

export interface ClassFigures {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface MemorySample {
  /** Seconds since the load began. */
  t: number;
  /** Bytes per process name. */
  memory: Record<string, number>;
  /** CPU share (1 = one core) per process name over the interval before. */
  cpu: Record<string, number>;
}

function listAt(lists: number[][], i: number): number[] {
  let list = lists[i];
  if (!list) {
    list = [];
    lists[i] = list;
  }
  return list;
}

export class Recorder {
  readonly started = performance.now();
  private readonly latencies = new Map<string, number[]>();
  private readonly errors = new Map<string, number>();
  /** Error kinds per class (status codes or error names), never URLs: they carry patient names. */
  readonly errorKinds = new Map<string, Map<string, number>>();
  /** Per minute of the run: API latencies (all classes) and sync propagation. */
  readonly apiByMinute: number[][] = [];
  readonly syncByMinute: number[][] = [];
  readonly propagation: number[] = [];

  private minute(): number {
    return Math.floor((performance.now() - this.started) / 60_000);
  }

  /** `api`: counted in the all-API figure (sign-ins are not: they hash a password on purpose, ~250 ms). */
  ok(kind: string, ms: number, api = kind !== 'login'): void {
    const list = this.latencies.get(kind) ?? [];
    this.latencies.set(kind, list);
    list.push(ms);
    if (api) listAt(this.apiByMinute, this.minute()).push(ms);
  }

  error(kind: string, why: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    const kinds = this.errorKinds.get(kind) ?? new Map<string, number>();
    this.errorKinds.set(kind, kinds);
    kinds.set(why, (kinds.get(why) ?? 0) + 1);
  }

  synced(ms: number): void {
    this.propagation.push(ms);
    listAt(this.syncByMinute, this.minute()).push(ms);
  }

  classes(): Record<string, ClassFigures> {
    const out: Record<string, ClassFigures> = {};
    const kinds = new Set([...this.latencies.keys(), ...this.errors.keys()]);
    for (const kind of [...kinds].sort()) {
      const sorted = [...(this.latencies.get(kind) ?? [])].sort((a, b) => a - b);
      out[kind] = {
        count: sorted.length,
        errors: this.errors.get(kind) ?? 0,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
      };
    }
    return out;
  }
}

/** Reads memory and CPU of every watched process every `everyMs`, and this process's own, with its event-loop lag. */
export function startSampler(watched: Watched[], everyMs: number, started: number) {
  const samples: MemorySample[] = [];
  const lastCpu = new Map<string, number>();
  let lastAt = performance.now();
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const self = { name: 'load-generator', pids: () => [process.pid] };
  const sample = () => {
    const now = performance.now();
    const memory: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const w of [...watched, self]) {
      const usage = usageOf(w.pids());
      memory[w.name] = usage.memory;
      const before = lastCpu.get(w.name);
      cpu[w.name] = before === undefined ? 0 : Math.max(0, usage.cpuSeconds - before) / ((now - lastAt) / 1000);
      lastCpu.set(w.name, usage.cpuSeconds);
    }
    lastAt = now;
    samples.push({ t: (now - started) / 1000, memory, cpu });
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      sample();
      lag.disable();
      return { lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6 };
    },
  };
}
