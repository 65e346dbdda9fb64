export const TICKS_PER_SECOND: number;

export interface ProcessStat {
  pid: number;
  /** R, S, D, Z, … */
  state: string;
  ppid: number;
  pgrp: number;
  comm: string;
  /** User + system CPU used so far. */
  cpuSeconds: number;
}

export function readProcessStat(pid: number): ProcessStat | null;
export function processTable(): ProcessStat[] | null;
export function processTree(table: readonly ProcessStat[], pid: number): Set<number>;
