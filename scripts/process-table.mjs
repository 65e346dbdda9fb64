/**
 * The processes running now, read from Linux's /proc without spawning anything: the supervisor
 * finds a service's process group with it, the benchmarks what a server and its children used.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
export const TICKS_PER_SECOND = 100;

/** One process from /proc/PID/stat, or null once it has exited (or without /proc). */
export function readProcessStat(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // After "(comm)": state ppid pgrp … utime (14th field) stime (15th); comm may hold spaces and parentheses.
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: fields[0],
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    comm,
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
  };
}

/** Every process that is running now (zombies left out: they hold no port, file or CPU); null without /proc. */
export function processTable() {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const table = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcessStat(Number(entry));
    if (stat && stat.state !== 'Z') table.push(stat);
  }
  return table;
}

/** `pid` and every process below it in `table`. */
export function processTree(table, pid) {
  const tree = new Set([pid]);
  for (let grown = true; grown; ) {
    grown = false;
    for (const { pid: child, ppid } of table) {
      if (tree.has(ppid) && !tree.has(child)) {
        tree.add(child);
        grown = true;
      }
    }
  }
  return tree;
}
