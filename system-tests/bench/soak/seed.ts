/**
 * What the soak starts with: small synthetic studies sent to Orthanc over DICOM (C-STORE with
 * DCMTK's storescu, as a modality sends), the user accounts made through the admin API, and the
 * background ingestion during the run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateStudy } from '@pacs/test-kit/demo-studies';

const FAMILY = ['Smith', 'Müller', 'García', 'Nguyen', 'Kowalski', 'Rossi', 'Dubois', 'Johansson', 'Okafor', 'Tanaka'];
const MODALITIES = ['CR', 'DX', 'CT', 'MR'] as const;
/** The seeded administrator of a development installation (printed by `npm start`). */
export const ADMIN = { email: 'admin@pacs.local', password: 'pacs-admin-dev-password' };

export type Role = 'attending' | 'resident' | 'technologist' | 'admin';
export interface Account {
  email: string;
  password: string;
  role: Role;
}

/** Study `i` as one small file; patient names repeat by family so searches find several. */
export function writeStudy(dir: string, i: number, prefix: string): string {
  mkdirSync(dir, { recursive: true });
  const modality = MODALITIES[i % MODALITIES.length]!;
  const study = generateStudy(
    {
      patient: { name: `${FAMILY[i % FAMILY.length]}^Soak${i}`, id: `${prefix}MRN${i}`, birthDate: '19700101', sex: i % 2 ? 'F' : 'M' },
      studyDate: '20261101',
      studyTime: '090000',
      accessionNumber: `${prefix}ACC${i}`,
      description: `${modality} SOAK`,
      priority: i % 20 === 0 ? 'STAT' : 'ROUTINE',
      series: [{ modality, description: 'one', instances: 2, rows: 64, columns: 64 }],
    },
    i + (prefix === 'S' ? 0 : 1_000_000),
  );
  const files: string[] = [];
  study.files.forEach((bytes, k) => {
    const file = path.join(dir, `${prefix}${i}-${k}.dcm`);
    writeFileSync(file, bytes);
    files.push(file);
  });
  return files.join('\n');
}

/** One storescu association sending `files`; resolves when it ended well. */
export function storescu(orthanc: { aet: string; dicomPort: number }, files: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('storescu', ['-aec', orthanc.aet, '127.0.0.1', String(orthanc.dicomPort), ...files], {
      // Debian's DCMTK turns Nagle off only when asked; without it each instance waits on delayed ACKs.
      env: { ...process.env, TCP_NODELAY: '1' },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`storescu exited ${code}`))));
  });
}

/** Sends `count` studies with four parallel associations (several modalities at once). */
export async function seedStudies(dir: string, orthanc: { aet: string; dicomPort: number }, count: number): Promise<void> {
  const senders: string[][] = [[], [], [], []];
  for (let i = 0; i < count; i += 1) senders[i % 4]!.push(...writeStudy(dir, i, 'S').split('\n'));
  await Promise.all(senders.map((files) => storescu(orthanc, files)));
}

export async function login(url: string, who: { email: string; password: string }): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (!response.ok) throw new Error(`login: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** The number of studies on the worklist, as the administrator sees it. */
export async function worklistTotal(url: string, token: string, q?: string): Promise<number> {
  const query = new URLSearchParams({ limit: '1', ...(q ? { q } : {}) });
  const response = await fetch(`${url}/api/studies?${query}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`worklist: ${response.status}`);
  return ((await response.json()) as { total: number }).total;
}

export async function waitForStudies(url: string, token: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await worklistTotal(url, token)) < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} studies on the worklist after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The role of user `i` of `n`: 40 % attendings, 30 % residents, 25 % technologists, the rest admins. */
export function roleOf(i: number, n: number): Role {
  const f = i / n;
  if (f < 0.4) return 'attending';
  if (f < 0.7) return 'resident';
  if (f < 0.95) return 'technologist';
  return 'admin';
}

/** `n` accounts created through POST /api/users, as an administrator would (four at a time: each hashes a password). */
export async function createAccounts(url: string, adminToken: string, n: number): Promise<Account[]> {
  const accounts: Account[] = Array.from({ length: n }, (_, i) => ({
    email: `soak-${i}@pacs.local`,
    password: `pw-${randomBytes(12).toString('base64url')}`,
    role: roleOf(i, n),
  }));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const account = accounts[i]!;
      const response = await fetch(`${url}/api/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email: account.email, name: `Simulated User ${i}`, role: account.role, password: account.password }),
      });
      if (response.status !== 201) throw new Error(`create user ${i}: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return accounts;
}

/**
 * One new study every `everyMs` through storescu until `stop()`; resolves to the accession
 * prefix and how many were sent, so the caller can check they all appeared on the worklist.
 */
export function backgroundIngestion(dir: string, orthanc: { aet: string; dicomPort: number }, everyMs: number) {
  let sent = 0;
  let failed = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (stopped) break;
      try {
        await storescu(orthanc, writeStudy(dir, sent, 'N').split('\n'));
        sent += 1;
      } catch {
        failed += 1;
      }
    }
  })();
  return {
    prefix: 'NACC',
    async stop() {
      stopped = true;
      await loop;
      return { sent, failed };
    },
  };
}
