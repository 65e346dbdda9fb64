/** Memory and CPU of processes read from /proc, without spawning anything. */
import { readFileSync } from 'node:fs';
import { processTable, readProcessStat } from '../../../scripts/process-table.mjs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
  cmdline: string;
}

export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const { pid, ppid, pgrp, comm } of processTable() ?? []) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      out.push({ pid, ppid, pgrp, comm, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * Resident memory in bytes: the proportional share (Pss) where the kernel offers it, so the
 * shared buffers of PostgreSQL's backends are counted once, not once per backend; VmRSS otherwise.
 */
function memoryOf(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const pss = /^Pss:\s+(\d+) kB/m.exec(rollup);
    if (pss) return Number(pss[1]) * 1024;
  } catch {
    // fall through
  }
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Summed memory and CPU seconds of `pids`. */
export function usageOf(pids: number[]): { memory: number; cpuSeconds: number } {
  let memory = 0;
  let cpuSeconds = 0;
  for (const pid of pids) {
    memory += memoryOf(pid);
    cpuSeconds += readProcessStat(pid)?.cpuSeconds ?? 0;
  }
  return { memory, cpuSeconds };
}
