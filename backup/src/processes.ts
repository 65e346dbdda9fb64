/** The PostgreSQL client tools and the odd free port, run without a shell and without secrets in argv. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';
import { BackupError } from './installation';

/**
 * A PostgreSQL URL as the client tools take it: the password goes through PGPASSWORD, so it
 * never shows in the process list.
 */
export function pgArgs(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { dbname: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

export interface Piped {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Text written first, then `input` streamed after it. */
  prefix?: string;
  input?: Readable;
}

/** Runs a command; resolves when it exits 0, or rejects with the last lines it wrote to stderr. */
export function run({ command, args, env, prefix, input }: Piped): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ?? process.env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.once('error', (error) =>
      reject(new BackupError(`${command}: ${error.message} (install the PostgreSQL client tools: apt-get install postgresql-client)`)),
    );
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new BackupError(`${command} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.on('error', () => {}); // the exit status reports the failure
    if (prefix) child.stdin.write(prefix);
    if (input) input.pipe(child.stdin);
    else child.stdin.end();
  });
}

/** A command's stdout as a stream, with its exit status. */
export function produce(command: string, args: string[], env?: NodeJS.ProcessEnv): { stdout: Readable; done: Promise<void> } {
  const child = spawn(command, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new BackupError(`${command}: ${error.message}`)));
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new BackupError(`${command} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
  return { stdout: child.stdout, done };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
