/**
 * Storing files into a test Orthanc: C-STORE with DCMTK's storescu (each transfer syntax proposed
 * with the flag it needs), or POST over its REST API.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { storescuFlagFor, transferSyntaxOf } from '../dicom-files';
import type { OrthancInstance } from './start';

export interface StoreResult {
  /** Instances Orthanc acknowledged (C-STORE success / HTTP 200). */
  stored: number;
  /** Instances refused or not sent. */
  failed: number;
  /** storescu output or REST responses, for failure messages. */
  output: string;
}

type FileInput = string | Buffer;

async function materialize(files: FileInput[]): Promise<{ paths: string[]; cleanup: () => Promise<void> }> {
  if (files.every((f) => typeof f === 'string')) return { paths: files as string[], cleanup: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-store-'));
  const paths: string[] = [];
  let n = 0;
  for (const file of files) {
    if (typeof file === 'string') {
      paths.push(file);
    } else {
      const target = path.join(dir, `${String(n++).padStart(5, '0')}.dcm`);
      await writeFile(target, file);
      paths.push(target);
    }
  }
  return { paths, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function runStorescu(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('storescu', args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.once('error', (error) => reject(new Error(`cannot run storescu (Debian package "dcmtk"): ${error.message}`)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * C-STORE files to Orthanc with DCMTK's storescu (TCP_NODELAY=1). Files are grouped by transfer syntax
 * and each group gets the proposal flag it needs (-xs, -xy, -xr, -xt, -xv, …) unless
 * `transferSyntaxFlags` is given, which is then used for all files.
 */
export async function storeFiles(
  orthanc: Pick<OrthancInstance, 'dicomPort' | 'aet'>,
  files: FileInput[],
  options: { transferSyntaxFlags?: string[]; callingAet?: string; host?: string } = {},
): Promise<StoreResult> {
  const { paths, cleanup } = await materialize(files);
  try {
    const groups = new Map<string, string[]>();
    if (options.transferSyntaxFlags) {
      groups.set(options.transferSyntaxFlags.join(' '), paths);
    } else {
      for (const file of paths) {
        const ts = transferSyntaxOf(await readFile(file));
        const flag = ts ? storescuFlagFor(ts) : '';
        if (flag === undefined) throw new Error(`storeFiles: storescu cannot propose transfer syntax ${ts} (${file}); use storeFilesRest`);
        const list = groups.get(flag) ?? [];
        list.push(file);
        groups.set(flag, list);
      }
    }
    let stored = 0;
    let output = '';
    for (const [flags, group] of groups) {
      // -v prints one "Received Store Response (Success)" per stored instance; -nh: no hostname lookup.
      for (let i = 0; i < group.length; i += 200) {
        const chunk = group.slice(i, i + 200);
        const args = [
          '-v',
          '-aet',
          options.callingAet ?? 'PACSTEST',
          '-aec',
          orthanc.aet,
          ...flags.split(' ').filter(Boolean),
          options.host ?? '127.0.0.1',
          String(orthanc.dicomPort),
          ...chunk,
        ];
        const result = await runStorescu(args);
        output += result.output;
        stored += (result.output.match(/Received Store Response \((Success|Warning)/g) ?? []).length;
      }
    }
    return { stored, failed: paths.length - stored, output };
  } finally {
    await cleanup();
  }
}

/** The REST alternative: POST /instances per file. Never throws on a refusal (counts it). */
export async function storeFilesRest(orthanc: Pick<OrthancInstance, 'request'>, files: FileInput[]): Promise<StoreResult> {
  let stored = 0;
  const lines: string[] = [];
  for (const file of files) {
    const body = typeof file === 'string' ? await readFile(file) : file;
    const response = await orthanc.request('/instances', { method: 'POST', body, headers: { 'content-type': 'application/dicom' } });
    const text = await response.text();
    if (response.ok) stored++;
    lines.push(
      `${typeof file === 'string' ? path.basename(file) : `buffer(${body.length})`}: HTTP ${response.status} ${text.replace(/\s+/g, ' ').slice(0, 200)}`,
    );
  }
  return { stored, failed: files.length - stored, output: lines.join('\n') };
}
