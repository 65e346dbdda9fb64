/** Runs the real server entry point (src/server.ts) as a child process, for kill -9 tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './helpers';

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  url: string;
  output: string[];
  exited: Promise<number | null>;
}

const ROOT = path.resolve(import.meta.dirname, '..');

export async function spawnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...testEnv(databaseUrl, { PACS_LOG_LEVEL: 'info', ...env }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output.join('')}`)), 30_000);
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      output.push(chunk.toString());
      for (const line of buffer.split('\n')) {
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    void exited.then((code) => reject(new Error(`server exited (${code}):\n${output.join('')}`)));
  });
  return { proc, port, url: `http://127.0.0.1:${port}`, output, exited };
}
