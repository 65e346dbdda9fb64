/** A throwaway Redis (Debian's redis-server) on loopback for tests and benchmarks; stopped by pid. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './postgres.mjs';

export { freePort };

const BINARY = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** Starts redis-server without persistence on `port` (a free one by default); resolves once it accepts connections. */
export async function startRedis(port) {
  if (!BINARY) throw new Error('redis-server is not installed (Debian: apt-get install -y redis-server)');
  const p = port ?? (await freePort());
  const proc = spawn(BINARY, ['--bind', '127.0.0.1', '--port', String(p), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    proc.stdout.on('data', (chunk) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.stderr.on('data', (chunk) => {
      output += chunk.toString();
    });
    void exited.then(() => reject(new Error(`redis-server exited:\n${output}`)));
  });
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    proc,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
