/** A throwaway PostgreSQL cluster from the Debian packages, for the test suite and benchmarks. */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isRoot } from './bootstrap.mjs';

function pgBin() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = path.join(base, version, 'bin');
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function asOwner(command, args, uid) {
  // initdb refuses to run as root: run the cluster as the `postgres` system user.
  const full = uid === null ? [command, ...args] : ['runuser', '-u', 'postgres', '--', command, ...args];
  const result = spawnSync(full[0], full.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
}

/**
 * `durable: true` keeps PostgreSQL's own defaults (fsync, synchronous commit), as a deployment runs
 * it; tests and most benchmarks trade that for speed.
 */
export async function startPostgres({ durable = false } = {}) {
  const bin = pgBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-pg-'));
  chmodSync(dir, 0o700);
  let uid = null;
  if (isRoot()) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    uid = Number(id.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const data = path.join(dir, 'data');
  asOwner(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], uid);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}${durable ? '' : ' -c fsync=off'} -c max_connections=200`;
  asOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-o', options, '-w', 'start'], uid);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        asOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], uid);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
