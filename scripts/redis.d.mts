import type { ChildProcess } from 'node:child_process';

export interface RedisServer {
  port: number;
  url: string;
  proc: ChildProcess;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

export function startRedis(port?: number): Promise<RedisServer>;

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number>;
