/**
 * A real audit repository for tests: Debian's rsyslogd receiving syslog over TLS (RFC 5425, gtls,
 * client certificates required) and writing each message's text to a file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Pki } from '@pacs/test-kit/pki';

export class Rsyslog {
  private process: ChildProcess | null = null;
  readonly output: string;

  constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly pki: Pki,
    /** Prefix each line with rsyslog's receipt time (RFC 3339, microseconds), for lag measurements. */
    private readonly receiptTimes = false,
  ) {
    this.output = path.join(dir, 'received.log');
  }

  async start(): Promise<void> {
    const config = path.join(this.dir, 'rsyslog.conf');
    writeFileSync(
      config,
      `global(
  workDirectory="${this.dir}"
  maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="${this.pki.ca}"
  DefaultNetstreamDriverCertFile="${this.pki.serverCert}"
  DefaultNetstreamDriverKeyFile="${this.pki.serverKey}"
)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="${this.port}" address="127.0.0.1")
template(name="textOnly" type="string" string="${this.receiptTimes ? '%timegenerated:::date-rfc3339% ' : ''}%msg%\\n")
action(type="omfile" file="${this.output}" template="textOnly")
`,
    );
    const child = spawn('rsyslogd', ['-n', '-f', config, '-i', path.join(this.dir, 'rsyslog.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    this.process = child;
    const deadline = Date.now() + 20_000;
    while (!(await listening(this.port))) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`rsyslogd did not listen on ${this.port}: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    this.process = null;
  }

  /** Each message received so far, as written (one per line). */
  received(): string[] {
    if (!existsSync(this.output)) return [];
    return readFileSync(this.output, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
