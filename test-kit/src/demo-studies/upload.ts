/** Storing generated studies: into Orthanc over REST, or as files in a folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GeneratedStudy } from './types';
export interface OrthancTarget {
  /** Base URL of Orthanc's REST API, without credentials. */
  url: string;
  username: string;
  password: string;
}

/** Splits `http://user:pass@host:port` into a URL without credentials plus the credentials. */
export function parseOrthancUrl(raw: string, env: NodeJS.ProcessEnv = process.env): OrthancTarget {
  const url = new URL(raw);
  const username = decodeURIComponent(url.username) || env.PACS_ORTHANC_USER || '';
  const password = decodeURIComponent(url.password) || env.PACS_ORTHANC_PASSWORD || '';
  url.username = '';
  url.password = '';
  return { url: url.toString().replace(/\/$/, ''), username, password };
}

/** POSTs each file to /instances (a few at a time). Throws on the first rejected file. */
export async function uploadToOrthanc(target: OrthancTarget, files: Buffer[], concurrency = 4): Promise<number> {
  const auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  let next = 0;
  let stored = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const response = await fetch(`${target.url}/instances`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/dicom' },
        body: new Uint8Array(file),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`Orthanc refused an instance: HTTP ${response.status} ${text.slice(0, 200)}`);
      stored++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return stored;
}

function safeName(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 40);
}

/** Writes DIR/<accession>_<patient>/<series>/<instance>.dcm and returns the paths. */
export async function writeStudyFiles(dir: string, study: GeneratedStudy): Promise<string[]> {
  const written: string[] = [];
  let index = 0;
  for (const s of study.series) {
    const seriesDir = path.join(
      dir,
      `${safeName(study.spec.accessionNumber)}_${safeName(study.patient.name)}`,
      `${s.seriesNumber}_${s.modality}`,
    );
    await mkdir(seriesDir, { recursive: true });
    for (let i = 0; i < s.instances; i++) {
      const file = path.join(seriesDir, `${String(i + 1).padStart(4, '0')}.dcm`);
      await writeFile(file, study.files[index++]!);
      written.push(file);
    }
  }
  return written;
}
