/**
 * A report's history: a version at every submit, return, resubmit and final signature (what the
 * document held then, by whom), immutable; the changes from the resident's preliminary to the final
 * are exactly the attending's insertions and deletions, per section. Real sync-server, real
 * y-websocket providers; SQLite and PostgreSQL.
 */
import {
  type Report,
  type ReportAuthorship,
  type ReportChanges,
  type ReportVersionList,
  type ReportVersionView,
  TEMPLATE_AUTHOR_ID,
} from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendOnlyError } from '../src/db/models';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import {
  appendToSection,
  deleteInSection,
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  startSyncServer,
  syncEnv,
  untilServerHolds,
  waitFor,
} from './support/sync-server';

type User = { id: string; email: string; token: string };
let t: TestApp;
let sync: SyncProcess;
let syncPort: number;
let resident: User;
let attending: User;
let technologist: User;
let referrer: User;
const clients: EditorClient[] = [];

beforeAll(async () => {
  syncPort = await freePort();
  t = await createTestApp({
    ...syncEnv(syncPort),
  });
  sync = await startSyncServer(t.database.url, syncPort);
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  technologist = await t.userWithToken('technologist');
  referrer = await t.userWithToken('referrer');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
});

const api = (user: User, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: bearer(user.token), ...(payload === undefined ? {} : { payload: payload as object }) });

async function editor(user: User, reportId: string): Promise<EditorClient> {
  const session = (await api(user, 'POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const c = editorClient(syncPort, session.document, session.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  return c;
}
const held = (c: EditorClient, reportId: string) => untilServerHolds(`http://127.0.0.1:${syncPort}`, `report:${reportId}`, c.doc);

async function ok(user: User, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const response = await api(user, method, url, payload);
  expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
  return response.json();
}

/** Drafted by the resident (Findings and Impression), submitted, returned, resubmitted, edited and signed by the attending. */
async function reportThroughReview(author: User = resident): Promise<string> {
  const study = await seedStudy(t.app, { patientName: 'History^Hana' });
  const reportId = ((await ok(author, 'POST', `/api/studies/${study.id}/report`, {})) as Report).id;
  const mine = await editor(author, reportId);
  appendToSection(mine.doc, 'Findings', 'Small nodule in the right lung.');
  appendToSection(mine.doc, 'Impression', 'Probably benign.');
  await held(mine, reportId);
  await ok(author, 'POST', `/api/reports/${reportId}/submit`, {});
  await ok(attending, 'POST', `/api/reports/${reportId}/return`, { comment: 'Give the size.' });
  // The submit turned the resident's socket read-only; the returned report opens for editing again.
  const again = await editor(author, reportId);
  appendToSection(again.doc, 'Findings', ' Size 4 mm.');
  await held(again, reportId);
  await ok(author, 'POST', `/api/reports/${reportId}/submit`, {});
  const theirs = await editor(attending, reportId);
  deleteInSection(theirs.doc, 'Impression', 'Probably '.length);
  appendToSection(theirs.doc, 'Impression', ' Follow-up CT in 12 months.');
  await held(theirs, reportId);
  await ok(attending, 'POST', `/api/reports/${reportId}/finalize`, reviewed(theirs.doc));
  return reportId;
}

describe('the versions of a report', () => {
  let reportId: string;
  beforeAll(async () => {
    reportId = await reportThroughReview();
  }, 120_000);

  it('are stored at submit, return, resubmit and final, by whom, with the status then', async () => {
    const list = (await ok(attending, 'GET', `/api/reports/${reportId}/versions`)) as ReportVersionList;
    expect(list.versions.map((v) => [v.sequence, v.event, v.status, v.userId])).toEqual([
      [1, 'submit', 'preliminary', resident.id],
      [2, 'return', 'returned', attending.id],
      [3, 'submit', 'preliminary', resident.id],
      [4, 'finalize', 'final', attending.id],
    ]);
    const first = (await ok(resident, 'GET', `/api/reports/${reportId}/versions/1`)) as ReportVersionView;
    expect(first.content.text).toContain('Small nodule in the right lung.');
    expect(first.content.text).not.toContain('Size 4 mm.');
    const last = (await ok(resident, 'GET', `/api/reports/${reportId}/versions/4`)) as ReportVersionView;
    const signed = (await ok(attending, 'GET', `/api/reports/${reportId}`)) as Report;
    expect(last.content.text).toBe(signed.content!.text);
  });

  it("show exactly the attending's changes from the resident's last preliminary to the final", async () => {
    const changes = (await ok(resident, 'GET', `/api/reports/${reportId}/changes?from=3`)) as ReportChanges;
    expect(changes.from.sequence).toBe(3);
    expect(changes.to).toMatchObject({ sequence: 4, event: 'finalize' });
    const changed = changes.sections.filter((s) => s.inserted + s.deleted > 0);
    expect(changed.map((s) => s.key)).toEqual(['impression']);
    const impression = changed[0]!;
    expect(impression.parts.filter((p) => p.kind === 'deleted').map((p) => p.text.trim())).toEqual(['Probably']);
    expect(
      impression.parts
        .filter((p) => p.kind === 'inserted')
        .map((p) => p.text)
        .join(''),
    ).toContain('Follow-up CT in 12 months.');
    expect(changes).toMatchObject({ inserted: 5, deleted: 1 });
    // By default: from the first submit, so the resident's own resubmission counts too.
    const whole = (await ok(resident, 'GET', `/api/reports/${reportId}/changes`)) as ReportChanges;
    expect(whole.from.sequence).toBe(1);
    expect(whole.sections.find((s) => s.key === 'findings')!.inserted).toBe(3);
  });

  it('can never be changed or deleted', async () => {
    const { ReportVersion } = t.app.db.models;
    await expect(ReportVersion.update({ contentText: 'rewritten' }, { where: { reportId } })).rejects.toBeInstanceOf(AppendOnlyError);
    await expect(ReportVersion.destroy({ where: { reportId } })).rejects.toBeInstanceOf(AppendOnlyError);
    // Nor by any other client of the database: a trigger refuses plain SQL too.
    const sql = t.app.db.sequelize;
    await expect(sql.query(`UPDATE report_versions SET "contentText" = 'rewritten' WHERE "reportId" = '${reportId}'`)).rejects.toThrow();
    await expect(sql.query(`DELETE FROM report_versions WHERE "reportId" = '${reportId}'`)).rejects.toThrow();
    expect((await ReportVersion.findAll({ where: { reportId }, raw: true })).map((v) => v.contentText)).not.toContain('rewritten');
    expect(await ReportVersion.count({ where: { reportId } })).toBe(4);
  });

  it.each([
    ['an unknown version', () => `/api/reports/${reportId}/versions/99`, 404],
    ['version 0', () => `/api/reports/${reportId}/versions/0`, 400],
    ['a negative version', () => `/api/reports/${reportId}/versions/-1`, 400],
    ['a version that is not a number', () => `/api/reports/${reportId}/versions/one`, 400],
    ['a traversal for a version', () => `/api/reports/${reportId}/versions/..%2F..%2Fusers`, 400],
    ['a NUL in the version', () => `/api/reports/${reportId}/versions/1%00`, 400],
    ['an unknown report', () => '/api/reports/00000000-0000-4000-8000-000000000000/versions', 404],
    ['a report id that is not one', () => '/api/reports/not-a-uuid/versions', 400],
    ['changes with an unknown parameter', () => `/api/reports/${reportId}/changes?since=1`, 400],
    ['changes from a version that does not exist', () => `/api/reports/${reportId}/changes?from=42`, 404],
    ['changes with a word for a version', () => `/api/reports/${reportId}/changes?from=first`, 400],
  ])('%s: refused with a reason', async (_label, url, status) => {
    const response = await api(attending, 'GET', url());
    expect(response.statusCode, response.body).toBe(status);
    expect((response.json() as { message: string }).message.length).toBeGreaterThan(0);
  });

  it('are read only by roles that read reports', async () => {
    for (const user of [technologist, referrer]) {
      for (const url of [
        `/api/reports/${reportId}/versions`,
        `/api/reports/${reportId}/versions/1`,
        `/api/reports/${reportId}/changes`,
        `/api/reports/${reportId}/authorship`,
      ]) {
        expect((await api(user, 'GET', url)).statusCode, url).toBe(403);
      }
    }
  });

  it("of another report are not reachable under this one's id", async () => {
    const study = await seedStudy(t.app);
    const other = ((await ok(resident, 'POST', `/api/studies/${study.id}/report`, {})) as Report).id;
    expect((await api(attending, 'GET', `/api/reports/${other}/versions`)).json()).toEqual({ reportId: other, versions: [] });
    expect((await api(attending, 'GET', `/api/reports/${other}/versions/1`)).statusCode).toBe(404);
    expect((await api(attending, 'GET', `/api/reports/${other}/changes`)).statusCode).toBe(404);
    expect((await api(attending, 'GET', `/api/reports/${crypto.randomUUID()}/authorship`)).statusCode).toBe(404);
  });

  it("of a restricted patient are refused to a reader who is not the study's assignee", async () => {
    const admin = await t.userWithToken('admin');
    const restrictedId = await reportThroughReview();
    const { studyRef } = (await t.app.db.models.Report.findByPk(restrictedId, { raw: true }))!;
    await t.app.db.models.Study.update({ assigneeId: resident.id }, { where: { id: studyRef } });
    expect((await api(admin, 'PUT', `/api/studies/${studyRef}/restriction`, { restricted: true })).statusCode).toBe(200);
    for (const url of [
      `/api/reports/${restrictedId}/versions`,
      `/api/reports/${restrictedId}/versions/1`,
      `/api/reports/${restrictedId}/changes`,
      `/api/reports/${restrictedId}/authorship`,
    ]) {
      const refused = await api(attending, 'GET', url);
      expect(refused.statusCode, url).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'RESTRICTED_STUDY' });
      expect((await api(resident, 'GET', url)).statusCode, url).toBe(200);
    }
  }, 120_000);

  it('every read is audited as a read of the patient record', async () => {
    const before = await t.app.db.models.AuditLog.count({ where: { objectId: reportId, eventId: 'PatientRecord', action: 'R' } });
    await ok(attending, 'GET', `/api/reports/${reportId}/changes`);
    await ok(attending, 'GET', `/api/reports/${reportId}/versions/2`);
    await waitFor(
      async () =>
        (await t.app.db.models.AuditLog.count({ where: { objectId: reportId, eventId: 'PatientRecord', action: 'R' } })) >= before + 2,
      'audit rows',
    );
  });
});

describe('the teaching file', () => {
  let learner: User;
  let reportId: string;
  beforeAll(async () => {
    learner = await t.userWithToken('resident');
    reportId = await reportThroughReview(learner);
  }, 120_000);

  it("lists a resident's signed reports with the size of the attending's changes, for them and for attendings", async () => {
    for (const [reader, url] of [
      [learner, '/api/teaching/reports'],
      [attending, `/api/teaching/reports?residentId=${learner.id}`],
    ] as const) {
      const page = (await ok(reader, 'GET', url)) as { residentId: string; items: { reportId: string; changes: unknown }[] };
      expect(page.residentId).toBe(learner.id);
      expect(page.items.map((i) => i.reportId)).toEqual([reportId]);
      const changes = page.items[0]!.changes as { wordsBefore: number; percent: number };
      expect(changes).toMatchObject({ inserted: 5, deleted: 1, sectionsChanged: ['Impression'] });
      // The preliminary's words, whatever the template seeded, and the share the attending changed.
      const preliminary = (await ok(learner, 'GET', `/api/reports/${reportId}/versions/3`)) as ReportVersionView;
      expect(changes.wordsBefore).toBe(
        preliminary.content.sections.reduce((n, section) => n + (section.text.match(/\S+/g) ?? []).length, 0),
      );
      expect(changes.percent).toBe(Math.round((100 * 6) / changes.wordsBefore));
    }
    const residents = (await ok(attending, 'GET', '/api/teaching/residents')) as { residents: { id: string; signedReports: number }[] };
    expect(residents.residents.find((r) => r.id === learner.id)?.signedReports).toBe(1);
    const own = (await ok(learner, 'GET', '/api/teaching/residents')) as { residents: { id: string }[] };
    expect(own.residents.map((r) => r.id)).toEqual([learner.id]);
  });

  it.each([
    ["another resident's file, asked by a resident", () => [resident, `/api/teaching/reports?residentId=${learner.id}`], 403],
    ['an attending named as the resident', () => [attending, `/api/teaching/reports?residentId=${attending.id}`], 404],
    ['an unknown resident', () => [attending, '/api/teaching/reports?residentId=00000000-0000-4000-8000-000000000000'], 404],
    ['a resident id that is not one', () => [attending, '/api/teaching/reports?residentId=..%2Fadmin'], 400],
    ['limit 0', () => [learner, '/api/teaching/reports?limit=0'], 400],
    ['an unknown parameter', () => [learner, '/api/teaching/reports?all=true'], 400],
    ['a date that is not one', () => [learner, '/api/teaching/reports?before=yesterday'], 400],
    ['a technologist', () => [technologist, '/api/teaching/reports'], 403],
    ['a referrer', () => [referrer, '/api/teaching/residents'], 403],
  ] as const)('%s: refused', async (_label, request, status) => {
    const [user, url] = request() as unknown as readonly [User, string];
    expect((await api(user, 'GET', url)).statusCode).toBe(status);
  });
});

describe('who wrote what', () => {
  let reportId: string;
  const authorshipOf = async (id: string) => (await ok(attending, 'GET', `/api/reports/${id}/authorship`)) as ReportAuthorship;
  const section = (a: ReportAuthorship, title: string) => a.sections.find((s) => s.title === title)!.runs;
  beforeAll(async () => {
    reportId = await reportThroughReview();
  }, 120_000);

  it("attributes each part of the signed text to the user who typed it, the headings to the template, and counts the attending's deletions of the resident's text", async () => {
    const a = await authorshipOf(reportId);
    expect(section(a, 'Findings')).toEqual([{ text: 'Small nodule in the right lung. Size 4 mm.', userId: resident.id }]);
    expect(section(a, 'Impression')).toEqual([
      { text: 'benign.', userId: resident.id },
      { text: ' Follow-up CT in 12 months.', userId: attending.id },
    ]);
    const byId = new Map(a.authors.map((x) => [x.userId, x]));
    expect(byId.get(TEMPLATE_AUTHOR_ID)?.name).toBe('Template');
    expect(byId.get(resident.id)).toMatchObject({ written: 'Small nodule in the right lung. Size 4 mm.benign.'.length, deleted: 0 });
    // The resident typed through two editors (two Yjs client ids), both theirs.
    expect(byId.get(resident.id)?.clientIds).toHaveLength(2);
    expect(byId.get(attending.id)).toMatchObject({ written: ' Follow-up CT in 12 months.'.length, deleted: 'Probably '.length });
    expect(a.deletions).toEqual([{ byUserId: attending.id, ofUserId: resident.id, characters: 'Probably '.length }]);
  });

  it('is the same after the document service compacted the document and restarted', async () => {
    const before = await authorshipOf(reportId);
    // Once its editors are gone the document is idle: the sync-server folds its update log into one
    // snapshot and unloads it.
    for (const c of clients.splice(0)) c.destroy();
    const document = `report:${reportId}`;
    const logRows = async () =>
      Number(
        (
          (await t.app.db.sequelize.query('SELECT COUNT(*) AS n FROM sync_updates WHERE document = :document', {
            replacements: { document },
            plain: true,
          })) as { n: number | string }
        ).n,
      );
    await waitFor(async () => (await logRows()) === 0, 'the update log compacted');
    await sync.stop();
    sync = await startSyncServer(t.database.url, syncPort);
    expect(await authorshipOf(reportId)).toEqual(before);
  }, 60_000);

  it('answers 503 with a reason while the document service is down, and changes nothing', async () => {
    await sync.stop();
    try {
      const down = await api(attending, 'GET', `/api/reports/${reportId}/authorship`);
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ code: 'SYNC_UNAVAILABLE' });
    } finally {
      sync = await startSyncServer(t.database.url, syncPort);
    }
  }, 60_000);
});
