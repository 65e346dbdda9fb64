/** Memory and CPU of processes read from /proc, without spawning anything. */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
  cmdline: string;
}

export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      out.push({ pid: Number(entry), ppid: Number(ppid), pgrp: Number(pgrp), comm, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

const TICKS_PER_SECOND = 100;

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

/** User + system CPU seconds used so far. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
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
    cpuSeconds += cpuOf(pid);
  }
  return { memory, cpuSeconds };
}
