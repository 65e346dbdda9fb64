/**
 * The service supervisor of `npm start` (scripts/supervisor.mjs), with real child processes: a
 * service that crashes is started again with a growing back-off while the others keep running,
 * the back-off starts over once a service stays up, and stopping (directly, by SIGINT/SIGTERM of
 * the start process, or after a fatal error in it) leaves no process behind, grandchildren included.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSupervisor } from '../../scripts/supervisor.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-supervisor-'));
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Running, and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A node script that starts a long-lived grandchild, writes both pids to `pidFile`, then runs `then`. */
// Written under another name and renamed: a reader polling for the file never sees it half written
// (an empty file made JSON.parse throw in the waiting start process on a loaded machine).
const withGrandchild = (pidFile: string, then: string) =>
  `const { spawn } = require('node:child_process'); const fs = require('node:fs');
   const grandchild = spawn('sleep', ['1000'], { stdio: 'ignore' });
   fs.writeFileSync(${JSON.stringify(`${pidFile}.partial`)}, JSON.stringify([process.pid, grandchild.pid]));
   fs.renameSync(${JSON.stringify(`${pidFile}.partial`)}, ${JSON.stringify(pidFile)});
   ${then}`;

function supervisorForTest(options: Parameters<typeof createSupervisor>[0] = {}) {
  const lines: string[] = [];
  const supervisor = createSupervisor({ log: (line) => lines.push(line), ...options });
  stops.push(() => supervisor.stop());
  return { supervisor, lines };
}

describe('supervisor', () => {
  it('restarts a crashing service with a doubling back-off while the others keep running', async () => {
    const { supervisor, lines } = supervisorForTest({ initialDelayMs: 100, maxDelayMs: 400, stableAfterMs: 60_000 });
    const exits: { restartInMs: number; at: number }[] = [];
    const spawns: { name: string; at: number }[] = [];
    supervisor.events.on('exit', (event) => event.name === 'crashy' && exits.push({ restartInMs: event.restartInMs, at: Date.now() }));
    supervisor.events.on('spawn', (event) => spawns.push({ name: event.name, at: Date.now() }));
    supervisor.start('steady', NODE, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const steadyPid = supervisor.pid('steady');
    expect(steadyPid).toBeGreaterThan(0);
    supervisor.start('crashy', NODE, ['-e', 'process.exit(3)'], { stdio: 'ignore' });

    await waitFor('five crashes', () => exits.length >= 5);
    expect(exits.slice(0, 5).map((e) => e.restartInMs)).toEqual([100, 200, 400, 400, 400]);
    // Each restart waited at least its back-off after the crash.
    const crashySpawns = spawns.filter((s) => s.name === 'crashy');
    for (let i = 0; i < 4; i += 1) expect(crashySpawns[i + 1]!.at - exits[i]!.at).toBeGreaterThanOrEqual(exits[i]!.restartInMs - 5);
    expect(lines[0]).toBe('crashy exited (code 3); starting it again in 0.1 s (restart 1)');
    // The healthy service was never touched.
    expect(supervisor.pid('steady')).toBe(steadyPid);
    expect(running(steadyPid!)).toBe(true);
    expect(spawns.filter((s) => s.name === 'steady')).toHaveLength(1);
  });

  it('starts the back-off over once a service has stayed up', async () => {
    const { supervisor } = supervisorForTest({ initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 200 });
    const delays: number[] = [];
    supervisor.events.on('exit', (event) => delays.push(event.restartInMs));
    supervisor.start('slow-crash', NODE, ['-e', 'setTimeout(() => process.exit(2), 400)'], { stdio: 'ignore' });
    await waitFor('three crashes', () => delays.length >= 3);
    expect(delays.slice(0, 3)).toEqual([100, 100, 100]);
  });

  it('stops what a crashed service started before starting it again', async () => {
    const pidFile = path.join(dir, 'crash-leftover.json');
    const { supervisor } = supervisorForTest({ initialDelayMs: 60_000 });
    const exited = new Promise((resolve) => supervisor.events.once('exit', resolve));
    supervisor.start('launcher', NODE, ['-e', withGrandchild(pidFile, 'setTimeout(() => process.exit(1), 100)')], { stdio: 'ignore' });
    await exited;
    const [child, grandchild] = JSON.parse(readFileSync(pidFile, 'utf8')) as number[];
    expect(running(child!)).toBe(false);
    expect(running(grandchild!)).toBe(false);
  });

  it('stop() ends every service, their children and a service that ignores SIGTERM', async () => {
    const pidFile = path.join(dir, 'stop.json');
    const { supervisor } = supervisorForTest({ stopGraceMs: 500 });
    supervisor.start('launcher', NODE, ['-e', withGrandchild(pidFile, 'setInterval(() => {}, 1000)')], { stdio: 'ignore' });
    const stubbornReady = path.join(dir, 'stubborn-ready');
    supervisor.start(
      'stubborn',
      NODE,
      [
        '-e',
        `process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(${JSON.stringify(stubbornReady)}, ''); setInterval(() => {}, 1000)`,
      ],
      { stdio: 'ignore' },
    );
    const stubborn = supervisor.pid('stubborn')!;
    await waitFor('the SIGTERM-ignoring service to be ready', () => existsSync(stubbornReady));
    const [child, grandchild] = await waitFor(
      'the pid file',
      () => existsSync(pidFile) && (JSON.parse(readFileSync(pidFile, 'utf8')) as number[]),
    );
    expect([child, grandchild, stubborn].map((pid) => running(pid!))).toEqual([true, true, true]);
    const stopStarted = Date.now();
    await supervisor.stop();
    expect(Date.now() - stopStarted).toBeGreaterThanOrEqual(500); // waited the grace time for the stubborn one
    expect([child, grandchild, stubborn].map((pid) => running(pid!))).toEqual([false, false, false]);
    expect(supervisor.pid('launcher')).toBeUndefined();
  });

  it('runs services with the child umask, so what they create is owner-only, and keeps its own umask', async () => {
    const created = path.join(dir, 'created-by-service');
    const own = process.umask(0o022);
    try {
      const { supervisor } = supervisorForTest({ childUmask: 0o077 });
      supervisor.start(
        'writer',
        NODE,
        [
          '-e',
          `require('node:fs').mkdirSync(${JSON.stringify(created)}); require('node:fs').writeFileSync(${JSON.stringify(`${created}/db`)}, 'x'); setInterval(() => {}, 1000)`,
        ],
        {
          stdio: 'ignore',
        },
      );
      await waitFor('the service to write its file', () => existsSync(path.join(created, 'db')));
      expect((statSync(created).mode & 0o777).toString(8)).toBe('700');
      expect((statSync(path.join(created, 'db')).mode & 0o777).toString(8)).toBe('600');
      expect(process.umask()).toBe(0o022);
    } finally {
      process.umask(own);
    }
  });

  const endings: [string, number, string][] = [
    ['SIGTERM', 0, "process.kill(process.pid, 'SIGTERM')"],
    ['SIGINT', 0, "process.kill(process.pid, 'SIGINT')"],
    ['an uncaught error (the gateway failing)', 1, "throw new Error('gateway failed')"],
    ['an unhandled rejection', 1, "Promise.reject(new Error('gateway failed'))"],
  ];
  it.each(endings)('the start process ending by %s stops all services first (exit %i)', async (_name, exitCode, ending) => {
    const pidFile = path.join(dir, `start-${exitCode}-${Math.random().toString(36).slice(2)}.json`);
    const supervisorUrl = pathToFileURL(path.join(ROOT, 'scripts', 'supervisor.mjs')).href;
    // Stands in for scripts/start.mjs: services under a supervisor, then the process ends.
    const script = `
      import { writeFileSync, existsSync, readFileSync } from 'node:fs';
      import { createSupervisor, stopServicesOnExit } from ${JSON.stringify(supervisorUrl)};
      const supervisor = createSupervisor();
      stopServicesOnExit(supervisor);
      const launcherPids = ${JSON.stringify(`${pidFile}.launcher`)};
      supervisor.start('launcher', process.execPath, ['-e', ${JSON.stringify(withGrandchild(`${pidFile}.launcher`, 'setInterval(() => {}, 1000)'))}], { stdio: 'ignore' });
      supervisor.start('steady', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      const waitForLauncher = setInterval(() => {
        if (!existsSync(launcherPids)) return;
        clearInterval(waitForLauncher);
        writeFileSync(${JSON.stringify(pidFile)}, JSON.stringify([...JSON.parse(readFileSync(launcherPids, 'utf8')), supervisor.pid('steady')]));
        setTimeout(() => { ${ending} }, 10);
      }, 20);
    `;
    const start = spawn(NODE, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    start.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const code = await new Promise<number | null>((resolve) => start.once('exit', (exit) => resolve(exit)));
    expect(code, stderr).toBe(exitCode);
    const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as number[];
    expect(pids).toHaveLength(3);
    expect(pids.map((pid) => running(pid))).toEqual([false, false, false]);
  });
});
