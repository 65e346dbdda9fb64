import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppendOnlyError } from '../src/db/models';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: { id: string; token: string };
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
  const { audit } = t.app;
  // A small trail with patient context, as later capabilities will write.
  for (let i = 0; i < 7; i++) {
    await audit.record({
      eventId: i % 2 ? 'PatientRecord' : 'DICOMInstancesAccessed',
      action: 'R',
      outcome: 0,
      userId: admin.id,
      userRole: 'admin',
      patientId: i < 4 ? 'PAT-001' : 'PAT-002',
      studyUid: `1.2.3.${i}`,
      objectType: 'Study',
      at: new Date(Date.UTC(2026, 0, 1 + i)),
    });
  }
});
afterAll(async () => t?.close());

const query = (qs: string) => t.app.inject({ url: `/api/audit?${qs}`, headers: bearer(admin.token) });

describe('audit trail search', () => {
  it('filters by patient, event and time, newest first', async () => {
    const byPatient = await query('patientId=PAT-001&limit=100');
    expect(byPatient.statusCode).toBe(200);
    const items = byPatient.json().items;
    expect(items).toHaveLength(4);
    expect(items.map((i: { studyUid: string }) => i.studyUid)).toEqual(['1.2.3.3', '1.2.3.2', '1.2.3.1', '1.2.3.0']);
    const byEvent = await query('eventId=PatientRecord&patientId=PAT-002');
    expect(byEvent.json().items.map((i: { studyUid: string }) => i.studyUid)).toEqual(['1.2.3.5']);
    const byTime = await query(`from=2026-01-03T00:00:00Z&to=2026-01-05T00:00:00Z&objectType=Study`);
    expect(byTime.json().items.map((i: { studyUid: string }) => i.studyUid)).toEqual(['1.2.3.3', '1.2.3.2']);
  });

  it('pages with an opaque cursor without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await query(`objectType=Study&limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('audits the search itself, with its filters', async () => {
    const response = await query('patientId=PAT-002');
    const row = await t.app.db.models.AuditLog.findOne({ where: { requestId: String(response.headers['x-request-id']) }, raw: true });
    expect(row).toMatchObject({
      eventId: 'Query',
      action: 'R',
      outcome: 0,
      userId: admin.id,
      patientId: 'PAT-002',
      objectType: 'AuditLog',
    });
    expect(JSON.parse(row!.details!).filters).toEqual({ patientId: 'PAT-002' });
  });

  it('rejects bad filters and cursors with 400', async () => {
    for (const qs of [
      'outcome=3',
      'action=X',
      'eventId=Nope',
      'from=yesterday',
      'userId=abc',
      'cursor=WyJhYmMiXQ',
      'limit=0',
      'unknown=1',
    ]) {
      const response = await query(qs);
      expect(response.statusCode, qs).toBe(400);
    }
  });
});

describe('append-only', () => {
  it('refuses updates and deletes through the model', async () => {
    const row = await t.app.db.models.AuditLog.findOne();
    await expect(row!.update({ outcome: 12 })).rejects.toBeInstanceOf(AppendOnlyError);
    await expect(row!.destroy()).rejects.toBeInstanceOf(AppendOnlyError);
    await expect(t.app.db.models.AuditLog.destroy({ where: {} })).rejects.toBeInstanceOf(AppendOnlyError);
    await expect(t.app.db.models.AuditLog.update({ outcome: 12 }, { where: {} })).rejects.toBeInstanceOf(AppendOnlyError);
  });

  it('refuses updates and deletes in the database itself', async () => {
    const before = await t.app.db.models.AuditLog.count();
    const refusal = (sql: string) =>
      t.app.db.sequelize.query(sql).then(
        () => 'accepted',
        (error: Error & { original?: Error }) => error.original?.message ?? error.message,
      );
    expect(await refusal('UPDATE audit_logs SET outcome = 12')).toMatch(/append-only/);
    expect(await refusal('DELETE FROM audit_logs')).toMatch(/append-only/);
    expect(await t.app.db.models.AuditLog.count()).toBe(before);
  });
});

describe('no audit, no patient data', () => {
  it('answers 503 instead of the data when the audit row cannot be written', async () => {
    // Fault injection: the audit insert fails (say, a full disk) while reads still work.
    const failing = vi.spyOn(t.app.audit, 'record').mockRejectedValueOnce(new Error('disk full'));
    const response = await query('patientId=PAT-001');
    expect(failing).toHaveBeenCalledTimes(1);
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('PAT-001');
    failing.mockRestore();
    expect((await query('patientId=PAT-001')).statusCode).toBe(200);
  });
});
