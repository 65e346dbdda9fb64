/**
 * Keeps the services of `npm start` running. A service that exits is started again after a
 * back-off (1 s doubling to 30 s, back to 1 s once it has stayed up a minute), so one crashed
 * service does not take the others down. Each service runs in its own process group, so what it
 * started itself (tsx's node, Orthanc under its launcher) is stopped with it: nothing is left
 * running when the supervisor stops or a service dies.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { processTable } from './process-table.mjs';

const POLL_MS = 50;

/** Processes of group `pgid` that still run (zombies count as gone: they hold no port or file). */
function groupMembers(pgid) {
  const table = processTable();
  if (table) return table.filter((member) => member.pgrp === pgid).map((member) => member.pid);
  // No /proc: fall back to "does the group exist at all".
  try {
    process.kill(-pgid, 0);
    return [pgid];
  } catch {
    return [];
  }
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
}

/** SIGTERM to the whole group, SIGKILL to whatever is left after `graceMs`; resolves once none runs. */
async function stopGroup(pgid, graceMs) {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  if (groupMembers(pgid).length === 0) return;
  signalGroup(pgid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (groupMembers(pgid).length > 0 && Date.now() < killDeadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

const describeExit = (code, signal) => (signal ? `signal ${signal}` : `code ${code}`);
const seconds = (ms) => `${Math.round(ms / 100) / 10} s`;

/**
 * Events: `spawn` {name, pid}, `exit` {name, pid, code, signal, restartInMs}.
 * `childUmask` (e.g. 0o077) is the umask the services run with.
 * @param {{ log?: (line: string) => void, initialDelayMs?: number, maxDelayMs?: number, stableAfterMs?: number, stopGraceMs?: number, childUmask?: number }} options
 */
export function createSupervisor({
  log = () => undefined,
  initialDelayMs = 1000,
  maxDelayMs = 30_000,
  stableAfterMs = 60_000,
  stopGraceMs = 5000,
  childUmask,
} = {}) {
  const events = new EventEmitter();
  const services = new Map();
  let stopping = null;

  function launch(service) {
    // A child takes its umask from the parent at spawn; this process's own stays as it was.
    const ownUmask = childUmask === undefined ? undefined : process.umask(childUmask);
    let child;
    try {
      child = spawn(service.command, service.args, { ...service.options, detached: true });
    } finally {
      if (ownUmask !== undefined) process.umask(ownUmask);
    }
    service.child = child;
    service.startedAt = Date.now();
    // Settles once the child has exited and what it left behind is stopped too.
    service.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code, signal) => {
        if (done) return;
        done = true;
        onExit(service, child, code, signal).then(resolve, resolve);
      };
      child.once('exit', finish);
      // Spawning itself failed (no such command): there will be no 'exit'.
      child.once('error', (error) => {
        if (child.pid === undefined) {
          log(`${service.name} could not be started: ${error.code ?? error.message}`);
          finish(null, null);
        }
      });
    });
    if (child.pid !== undefined) events.emit('spawn', { name: service.name, pid: child.pid });
  }

  async function onExit(service, child, code, signal) {
    service.child = null;
    // What the service started itself may outlive it and hold its ports: stop the rest of its group.
    if (child.pid !== undefined) await stopGroup(child.pid, stopping ? stopGraceMs : 1000);
    if (stopping) return;
    if (Date.now() - service.startedAt >= stableAfterMs) service.delayMs = initialDelayMs;
    const restartInMs = service.delayMs;
    service.delayMs = Math.min(service.delayMs * 2, maxDelayMs);
    service.restarts += 1;
    log(
      `${service.name} exited (${describeExit(code, signal)}); starting it again in ${seconds(restartInMs)} (restart ${service.restarts})`,
    );
    events.emit('exit', { name: service.name, pid: child.pid, code, signal, restartInMs });
    service.timer = setTimeout(() => {
      service.timer = null;
      if (!stopping) launch(service);
    }, restartInMs);
  }

  return {
    events,
    /** Starts `command args` as the service `name` and keeps it running until stop(). */
    start(name, command, args = [], options = {}) {
      if (stopping) throw new Error('the supervisor is stopping');
      if (services.has(name)) throw new Error(`service ${name} is already supervised`);
      const service = {
        name,
        command,
        args,
        options,
        child: null,
        timer: null,
        delayMs: initialDelayMs,
        restarts: 0,
        startedAt: 0,
        exited: null,
      };
      services.set(name, service);
      launch(service);
    },
    /** The current process id of a service, or undefined while it is down. */
    pid(name) {
      return services.get(name)?.child?.pid;
    },
    get stopping() {
      return stopping !== null;
    },
    /** Stops every service and what it started: SIGTERM, then SIGKILL after the grace time. */
    stop() {
      if (stopping) return stopping;
      stopping = (async () => {
        const all = [...services.values()];
        for (const service of all) {
          if (service.timer) clearTimeout(service.timer);
          service.timer = null;
        }
        await Promise.all(
          all.map(async (service) => {
            const child = service.child;
            if (child && child.pid !== undefined) await stopGroup(child.pid, stopGraceMs);
            await service.exited;
          }),
        );
      })();
      return stopping;
    },
  };
}

/**
 * Ends the process with its services: on SIGINT/SIGTERM (exit 0), and on an uncaught error in
 * this process (exit 1), e.g. the gateway failing. Returns the function to call for other fatal
 * failures, so the services are never left running as orphans.
 */
export function stopServicesOnExit(supervisor, log = () => undefined) {
  let exiting = false;
  const shutdown = (code, reason) => {
    if (exiting) return;
    exiting = true;
    log(`${reason}; stopping all services`);
    supervisor.stop().then(
      () => process.exit(code),
      () => process.exit(code || 1),
    );
  };
  process.on('SIGINT', () => shutdown(0, 'interrupted'));
  process.on('SIGTERM', () => shutdown(0, 'terminated'));
  const fatal = (error) => shutdown(1, `fatal: ${error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown'}`);
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  return (reason, code = 1) => shutdown(code, reason);
}
