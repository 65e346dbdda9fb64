import type { SpawnOptions } from 'node:child_process';
import type { EventEmitter } from 'node:events';

export interface SupervisorOptions {
  log?: (line: string) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  stableAfterMs?: number;
  stopGraceMs?: number;
  /** The umask the services run with (e.g. 0o077: what they create is owner-only). */
  childUmask?: number;
}

export interface Supervisor {
  /** `spawn` {name, pid}; `exit` {name, pid, code, signal, restartInMs}. */
  events: EventEmitter;
  start(name: string, command: string, args?: string[], options?: SpawnOptions): void;
  pid(name: string): number | undefined;
  readonly stopping: boolean;
  stop(): Promise<void>;
}

export function createSupervisor(options?: SupervisorOptions): Supervisor;

export function stopServicesOnExit(supervisor: Supervisor, log?: (line: string) => void): (reason: string, code?: number) => void;
