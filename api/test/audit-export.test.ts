/**
 * The audit trail leaves the building, with real parts: Debian's rsyslogd receives syslog over TLS
 * (client certificates required, certificates made here with openssl), and every message it writes
 * is checked with xmllint against the PS3.15 audit message schema. A repository that is down gets
 * every row afterwards, in order, once; one whose certificate is not trusted gets nothing, the rows
 * wait, and the admin's system status says why.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SystemStatus } from '@pacs/shared';
import { makePki, type Pki } from '@pacs/test-kit/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { Rsyslog } from './support/rsyslog';
import { freePort, waitFor } from './support/sync-server';

const SCHEMA = path.join(import.meta.dirname, 'fixtures/atna/audit-message.rng');

let dir: string;
let pki: Pki;
let rogue: Pki;
let repository: Rsyslog;
let t: TestApp;
let admin: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pacs-atna-'));
  pki = makePki(dir, 'hospital');
  rogue = makePki(dir, 'rogue');
  repository = new Rsyslog(dir, await freePort(), pki);
  await repository.start();
  t = await createTestApp({
    PACS_ATNA_URL: `tls://127.0.0.1:${repository.port}`,
    PACS_ATNA_CA_FILE: pki.ca,
    PACS_ATNA_CERT_FILE: pki.clientCert,
    PACS_ATNA_KEY_FILE: pki.clientKey,
    PACS_ATNA_SOURCE_ID: 'pacs-test.hospital.example',
    PACS_ATNA_SITE_ID: 'GENHOSP',
  });
  admin = (await t.userWithToken('admin')).token;
}, 60_000);
afterAll(async () => {
  await t?.close();
  await repository?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Audit rows each naming `marker` as their object id, written as the API writes its own. */
async function auditRows(marker: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await t.app.audit.record({
      eventId: 'PatientRecord',
      action: 'R',
      outcome: 0,
      objectType: 'Report',
      objectId: `${marker}-${String(i).padStart(4, '0')}`,
      patientId: `MRN-${marker}`,
      studyUid: '1.2.826.0.1.3680043.10.1234.1',
      networkAddress: '10.0.0.7',
    });
  }
}

const withMarker = (marker: string) => repository.received().filter((line) => line.includes(`${marker}-`));
const objectIdOf = (line: string) => /ParticipantObjectID="([^"]+)"[^>]*ParticipantObjectTypeCodeRole="13"/.exec(line)?.[1];

function schemaErrors(xml: string): string {
  const file = path.join(dir, `message-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  try {
    execFileSync('xmllint', ['--noout', '--relaxng', SCHEMA, file], { stdio: 'pipe' });
    return '';
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error);
  }
}

async function exportStatus(app = t, token = admin) {
  const response = await app.app.inject({ method: 'GET', url: '/api/system/status', headers: bearer(token) });
  return (response.json() as SystemStatus).auditExport!;
}

describe('ATNA audit export over syslog TLS', () => {
  it('delivers every audit row as a PS3.15 message that validates, with the event, the user, the patient and the study', async () => {
    const login = await t.login((await t.userWithToken('attending')).email, 'wrong-password-for-the-audit-trail');
    expect(login.statusCode).toBe(401);
    await auditRows('FIRST', 3);
    await waitFor(() => withMarker('FIRST').length === 3, 'three rows at the repository', 20_000);
    for (const line of withMarker('FIRST')) expect(schemaErrors(line)).toBe('');
    const [message] = withMarker('FIRST');
    expect(message).toContain('<EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>');
    expect(message).toContain('ParticipantObjectID="MRN-FIRST"');
    expect(message).toContain('csd-code="110180"');
    expect(message).toContain('AuditSourceID="pacs-test.hospital.example"');
    expect(message).toContain('AuditEnterpriseSiteID="GENHOSP"');
    const authentication = repository.received().filter((line) => line.includes('csd-code="110114"'));
    expect(authentication.length).toBeGreaterThan(0);
    for (const line of authentication) expect(schemaErrors(line)).toBe('');
    await waitFor(async () => (await exportStatus()).pending === 0, 'nothing pending', 20_000);
    const status = await exportStatus();
    expect(status).toMatchObject({ connected: true, lastError: null, target: `tls://127.0.0.1:${repository.port}` });
  });

  it('a repository that is down gets every row once it is back, in order, once; meanwhile the status says so', async () => {
    await repository.stop();
    await auditRows('DOWN', 40);
    await waitFor(async () => (await exportStatus()).lastError !== null, 'the failure in the status', 30_000);
    const down = await exportStatus();
    expect(down.pending).toBeGreaterThanOrEqual(40);
    expect(withMarker('DOWN')).toEqual([]);

    await repository.start();
    await waitFor(() => withMarker('DOWN').length >= 40, 'the backlog delivered', 60_000);
    await waitFor(async () => (await exportStatus()).pending === 0, 'nothing pending', 20_000);
    const ids = withMarker('DOWN').map(objectIdOf);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `DOWN-${String(i).padStart(4, '0')}`));
    expect((await exportStatus()).lastError).toBeNull();
  }, 120_000);

  it('a repository whose certificate is not from the configured CA gets nothing: the rows wait and the status names the failure', async () => {
    const other = await createTestApp({
      PACS_ATNA_URL: `tls://127.0.0.1:${repository.port}`,
      PACS_ATNA_CA_FILE: rogue.ca,
      PACS_ATNA_CERT_FILE: rogue.clientCert,
      PACS_ATNA_KEY_FILE: rogue.clientKey,
    });
    try {
      const token = (await other.userWithToken('admin')).token;
      await other.app.audit.record({ eventId: 'Query', action: 'R', outcome: 0, objectType: 'Report', objectId: 'ROGUE-0000' });
      await waitFor(async () => (await exportStatus(other, token)).lastError !== null, 'the failure in the status', 30_000);
      const status = await exportStatus(other, token);
      expect(status.lastError).toMatch(/certificate/i);
      expect(status.pending).toBeGreaterThan(0);
      expect(withMarker('ROGUE')).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
