/**
 * A report started on a device while offline, adopted by the server on reconnect: created under the
 * device's id, the template seeded once (the device's own seed, so its updates add only what was
 * typed), a replay answered the same, a report started meanwhile answered 409 with its id, and
 * every hostile variant refused with a reason and nothing created. Real sync-server, same database.
 */
import { randomUUID } from 'node:crypto';
import {
  type AuthorshipRun,
  chooseTemplate,
  type Report,
  type ReportAuthorship,
  type Template,
  type TemplateSection,
  withClinicalHistory,
} from '@pacs/shared';
import { seedReportUpdate } from '@pacs/shared/report-document';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { contentFromUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
import {
  appendToSection,
  b64,
  type EditorClient,
  editorClient,
  freePort,
  type SyncProcess,
  serverState,
  startSyncServer,
  syncEnv,
  waitFor,
} from './support/sync-server';

type User = { id: string; email: string; token: string };
let t: TestApp;
let sync: SyncProcess;
let resident: User;
let attending: User;
let admin: User;
let technologist: User;
let templates: Template[];
const clients: EditorClient[] = [];

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp(syncEnv(port));
  sync = await startSyncServer(t.database.url, port);
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  admin = await t.userWithToken('admin');
  technologist = await t.userWithToken('technologist');
  templates = (await t.app.inject({ url: '/api/templates', headers: bearer(resident.token) })).json().items as Template[];
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
});

const post = (user: User, url: string, payload?: unknown) =>
  t.app.inject({ method: 'POST', url, headers: bearer(user.token), ...(payload === undefined ? {} : { payload: payload as object }) });
const offlineStart = (user: User, studyId: string, payload: unknown) => post(user, `/api/studies/${studyId}/report/offline-start`, payload);

/** What the device does offline: the shared rule picks the template, the seed is made and applied, then the user types. */
function deviceDraft(modalities: string[], typed: string) {
  const template = chooseTemplate(templates, { modalities, bodyPart: '', procedureCode: '' });
  const sections: TemplateSection[] = withClinicalHistory(template?.sections ?? [], '');
  const seed = seedReportUpdate(sections);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, seed);
  appendToSection(doc, 'Findings', typed);
  return { id: randomUUID(), templateId: template?.id ?? null, seed, doc };
}

const reportRows = (where: Record<string, unknown>) => t.app.db.models.Report.count({ where });
const creations = (reportId: string) =>
  t.app.db.models.AuditLog.findAll({ where: { objectId: reportId, eventId: 'PatientRecord', action: 'C' }, raw: true });
const occurrences = (text: string, part: string) => text.split(part).length - 1;

async function serverText(reportId: string): Promise<string> {
  return contentFromUpdate(Buffer.from((await serverState(sync.url, `report:${reportId}`)).update, 'base64')).contentText;
}

async function authorRuns(reportId: string): Promise<AuthorshipRun[]> {
  const response = await t.app.inject({ url: `/api/reports/${reportId}/authorship`, headers: bearer(resident.token) });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as ReportAuthorship).sections.flatMap((s) => s.runs);
}

/** The device connects to the adopted report and sends its whole copy, as the web app's provider does. */
async function syncDevice(user: User, reportId: string, doc: Y.Doc): Promise<EditorClient> {
  const session = await post(user, `/api/reports/${reportId}/session`);
  expect(session.statusCode, session.body).toBe(200);
  const client = editorClient(sync.port, `report:${reportId}`, session.json().token);
  clients.push(client);
  Y.applyUpdate(client.doc, Y.encodeStateAsUpdate(doc));
  await waitFor(() => client.synced(), 'device synced');
  return client;
}

describe('adopting a report started offline', () => {
  it('creates it under the device id; the device adds only what was typed (the template once); a replay changes nothing', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const draft = deviceDraft(['CT'], 'Offline: small left pleural effusion.');
    const body = { id: draft.id, templateId: draft.templateId, seed: b64(draft.seed) };
    const created = await offlineStart(resident, study.id, body);
    expect(created.statusCode, created.body).toBe(201);
    const report = created.json() as Report;
    expect(report).toMatchObject({ id: draft.id, studyId: study.id, status: 'draft', templateId: draft.templateId });
    expect(report.templateId).not.toBeNull();
    // Seeded as the template before the device arrived: the same items the device holds.
    expect(await serverText(draft.id)).toContain('Findings');
    expect(await serverText(draft.id)).not.toContain('Offline: small');

    await syncDevice(resident, draft.id, draft.doc);
    await waitFor(async () => (await serverText(draft.id)).includes('pleural effusion'), 'typed text on the server');
    const text = await serverText(draft.id);
    expect(occurrences(text, 'Findings')).toBe(1);
    expect(occurrences(text, 'Impression')).toBe(1);
    expect(occurrences(text, 'Offline: small left pleural effusion.')).toBe(1);
    const runs = await authorRuns(draft.id);
    expect(runs.find((r) => r.text.includes('pleural effusion'))?.userId).toBe(resident.id);

    const audit = await creations(draft.id);
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details ?? '{}')).toMatchObject({ startedOffline: true, seed: 'template', templateId: draft.templateId });
    expect(audit[0]).toMatchObject({ userId: resident.id, patientId: study.patientId, studyUid: study.studyInstanceUid });

    const replay = await offlineStart(resident, study.id, body);
    expect(replay.statusCode, replay.body).toBe(200);
    expect((replay.json() as Report).id).toBe(draft.id);
    expect(await reportRows({ studyRef: study.id })).toBe(1);
    // The replay is audited as an access (the route's row), the creation stays one.
    const after = (await creations(draft.id)).filter((a) => JSON.parse(a.details ?? '{}').startedOffline === true);
    expect(after).toHaveLength(1);
    expect(occurrences(await serverText(draft.id), 'Findings')).toBe(1);
  });

  it('a seed that is not the template is not stored as the template: the device brings the whole text, still once', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const forged = seedReportUpdate([{ title: 'Findings', defaultText: 'Written by nobody, says the device.' }]);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, forged);
    const id = randomUUID();
    const created = await offlineStart(resident, study.id, { id, templateId: null, seed: b64(forged) });
    expect(created.statusCode, created.body).toBe(201);
    expect(await serverText(id)).toBe('');
    expect(JSON.parse((await creations(id))[0]!.details ?? '{}')).toMatchObject({ seed: 'device', templateId: null });
    await syncDevice(resident, id, doc);
    await waitFor(async () => (await serverText(id)).includes('says the device'), 'device text on the server');
    expect(occurrences(await serverText(id), 'Written by nobody')).toBe(1);
    // Not the template's: the user's own device sent it.
    expect((await authorRuns(id)).find((r) => r.text.includes('says the device'))?.userId).toBe(resident.id);
  });

  it('answers 409 REPORT_EXISTS with the report started meanwhile, and creates nothing', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const online = await post(attending, `/api/studies/${study.id}/report`, {});
    expect(online.statusCode, online.body).toBe(201);
    const draft = deviceDraft(['CT'], 'typed offline');
    const response = await offlineStart(resident, study.id, { id: draft.id, templateId: draft.templateId, seed: b64(draft.seed) });
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toMatchObject({ code: 'REPORT_EXISTS', reportId: (online.json() as Report).id });
    expect(await reportRows({ id: draft.id })).toBe(0);
    expect(await reportRows({ studyRef: study.id })).toBe(1);
  });
});

describe('hostile offline starts are refused with a reason and nothing created', () => {
  const seedOf = (modalities: string[]) => b64(deviceDraft(modalities, 'x').seed);

  it.each([
    ['an id that is not a UUID', () => ({ id: 'not-a-uuid' }), 400, 'VALIDATION_FAILED'],
    ['a numeric id', () => ({ id: 12345 }), 400, 'VALIDATION_FAILED'],
    ['a missing seed', () => ({ seed: undefined }), 400, 'VALIDATION_FAILED'],
    ['a seed that is not base64', () => ({ seed: 'not base64!' }), 400, 'VALIDATION_FAILED'],
    [
      'a seed that is base64 but not a Yjs update',
      () => ({ seed: b64(new Uint8Array([255, 255, 255, 255, 1, 2, 3])) }),
      400,
      'VALIDATION_FAILED',
    ],
    ['an oversize seed', () => ({ seed: 'A'.repeat(256 * 1024 + 4) }), 400, 'VALIDATION_FAILED'],
    ['a NUL in the seed', () => ({ seed: 'AAAA\u0000' }), 400, undefined],
    ['a NUL in the template id', () => ({ templateId: `${randomUUID()}\u0000` }), 400, undefined],
    ['a template id of the wrong type', () => ({ templateId: 7 }), 400, 'VALIDATION_FAILED'],
    ['an unknown field', () => ({ authorId: randomUUID() }), 400, 'VALIDATION_FAILED'],
    ['a template that does not exist', () => ({ templateId: randomUUID() }), 400, 'BAD_TEMPLATE'],
    [
      'a template not made for the study (MR on a CT study)',
      () => ({ templateId: templates.find((x) => x.modalities.includes('MR') && !x.modalities.includes('CT'))!.id }),
      400,
      'BAD_TEMPLATE',
    ],
  ] as const)('%s', async (_name, change, status, code) => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const id = randomUUID();
    const draft = deviceDraft(['CT'], 'x');
    const body = { id, templateId: draft.templateId, seed: b64(draft.seed), ...change() };
    const response = await offlineStart(resident, study.id, JSON.parse(JSON.stringify(body)));
    expect(response.statusCode, response.body).toBe(status);
    if (code) expect(response.json().code).toBe(code);
    expect(response.json().message).toEqual(expect.any(String));
    expect(await reportRows({ studyRef: study.id })).toBe(0);
    expect(await reportRows({ id })).toBe(0);
  });

  it('a retired template is refused', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const made = await post(admin, '/api/templates', {
      name: 'CT old',
      modalities: ['CT'],
      sections: [{ key: 'findings', title: 'Findings' }],
    });
    const template = made.json() as Template;
    const retired = await t.app.inject({
      method: 'PATCH',
      url: `/api/templates/${template.id}`,
      headers: bearer(admin.token),
      payload: { version: template.version, retired: true },
    });
    expect(retired.statusCode).toBe(200);
    const id = randomUUID();
    const response = await offlineStart(resident, study.id, { id, templateId: template.id, seed: seedOf(['CT']) });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('BAD_TEMPLATE');
    expect(await reportRows({ studyRef: study.id })).toBe(0);
  });

  it("an id that is another study's report is 409 REPORT_ID_TAKEN; the other report is untouched", async () => {
    const other = await seedStudy(t.app, { modalities: ['CT'] });
    const first = await post(resident, `/api/studies/${other.id}/report`, {});
    const taken = (first.json() as Report).id;
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const draft = deviceDraft(['CT'], 'x');
    const response = await offlineStart(resident, study.id, { id: taken, templateId: draft.templateId, seed: b64(draft.seed) });
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json().code).toBe('REPORT_ID_TAKEN');
    expect(await reportRows({ studyRef: study.id })).toBe(0);
    expect(await t.app.db.models.Report.findByPk(taken, { raw: true })).toMatchObject({ studyRef: other.id });
  });

  it('a user without report:edit, a study the user may not see, and a study that does not exist are refused', async () => {
    const study = await seedStudy(t.app, { modalities: ['CT'] });
    const draft = deviceDraft(['CT'], 'x');
    const body = { id: draft.id, templateId: draft.templateId, seed: b64(draft.seed) };
    const forbidden = await offlineStart(technologist, study.id, body);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe('PERMISSION_DENIED');

    const hidden = await seedStudy(t.app, { modalities: ['CT'], patientId: `VIP-${randomUUID().slice(0, 6)}` });
    const restrict = await t.app.inject({
      method: 'PUT',
      url: `/api/studies/${hidden.id}/restriction`,
      headers: bearer(admin.token),
      payload: { restricted: true },
    });
    expect(restrict.statusCode).toBe(200);
    const masked = await offlineStart(resident, hidden.id, body);
    expect(masked.statusCode).toBe(403);
    expect(masked.json().code).toBe('RESTRICTED_STUDY');
    const refusal = await t.app.db.models.AuditLog.findOne({ where: { studyUid: hidden.studyInstanceUid, outcome: 4 }, raw: true });
    expect(refusal).not.toBeNull();

    const missing = await offlineStart(resident, randomUUID(), body);
    expect(missing.statusCode).toBe(404);
    expect(await reportRows({ id: draft.id })).toBe(0);
    expect(await reportRows({ studyRef: study.id })).toBe(0);
    expect(await reportRows({ studyRef: hidden.id })).toBe(0);
  });
});
