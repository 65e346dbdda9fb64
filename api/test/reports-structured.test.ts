/**
 * Structured templates with the real sync-server: fill-in fields seeded from the template, the
 * template chosen by the order's procedure code, submit and finalize refused while a required field
 * is empty (409 REQUIRED_FIELDS_EMPTY naming the fields, nothing moved, nothing left locked), and the
 * filled values (not placeholders) and RadLex codes kept into the signed content, text and PDF.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report, Template } from '@pacs/shared';
import { emptyRequiredFields, FIELD_NODE } from '@pacs/shared/report-document';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { contentFromUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';
import { fhirSchemaErrors } from './support/fhir-schema';
import { seedStudy } from './support/studies';
import {
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  serverState,
  startSyncServer,
  syncEnv,
  untilServerHolds,
  waitFor,
} from './support/sync-server';

type User = { id: string; email: string; token: string };
let t: TestApp;
let sync: SyncProcess;
let resident: User;
let attending: User;
let admin: User;
const clients: EditorClient[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-structured-'));

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({
    ...syncEnv(port),
    // Nobody listens there: the ORU waits in the outbox, where the test reads it.
    PACS_HL7_RESULT_DESTINATIONS: `RIS@127.0.0.1:${await freePort()}`,
  });
  sync = await startSyncServer(t.database.url, port);
  resident = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
  admin = await t.userWithToken('admin');
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const api = (token: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
  t.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });

const RADLEX_NODULE = { scheme: 'RADLEX', value: 'RID3875', meaning: 'nodule' };
const PROCEDURE = 'CTCHESTNOD';

const TEMPLATE = {
  name: 'CT chest nodule follow-up',
  modalities: ['CT'],
  procedureCodes: [PROCEDURE],
  sections: [
    { key: 'findings', title: 'Findings', code: { scheme: 'RADLEX', value: 'RID50153', meaning: 'findings' } },
    {
      key: 'nodule',
      title: 'Nodule',
      fields: [
        { id: 'nodule-size', label: 'Size (mm)', kind: 'text', required: true, code: RADLEX_NODULE },
        { id: 'lung-rads', label: 'Lung-RADS', kind: 'choice', choices: ['1', '2', '3', '4A', '4B'], required: true },
        { id: 'location', label: 'Location', kind: 'text', default: 'right upper lobe' },
      ],
    },
  ],
};

async function templateCount(): Promise<number> {
  return t.app.db.models.Template.count();
}

/** A CT study whose order names `procedureCode`, assigned to the resident. */
async function orderedStudy(procedureCode: string) {
  const study = await seedStudy(t.app, { modalities: ['CT'], assigneeId: resident.id });
  const order = await t.app.db.models.Order.create({
    patientRef: study.patientRef,
    studyRef: study.id,
    placerNamespace: 'RIS',
    placerOrderNumber: `PO-${study.id.slice(0, 8)}`,
    fillerOrderNumber: '',
    accessionNumber: study.accessionNumber,
    status: 'scheduled',
    priority: 'routine',
    procedureCode,
    procedureText: 'CT chest',
    modality: 'CT',
    scheduledAt: null,
    scheduledStationAet: '',
    orderingPhysician: '',
    referringPhysician: '',
    reasonForExam: '',
    clinicalHistory: null,
  });
  await t.app.db.models.Study.update({ orderRef: order.get('id') }, { where: { id: study.id } });
  return study;
}

async function connect(user: User, reportId: string): Promise<EditorClient> {
  const s = await api(user.token, 'POST', `/api/reports/${reportId}/session`);
  expect(s.statusCode, s.body).toBe(200);
  const c = editorClient(sync.port, s.json().document, s.json().token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  return c;
}

function findField(doc: Y.Doc, fieldId: string): Y.XmlElement {
  const walk = (node: Y.XmlElement | Y.XmlFragment): Y.XmlElement | undefined => {
    for (const child of node.toArray()) {
      if (!(child instanceof Y.XmlElement)) continue;
      if (child.nodeName === FIELD_NODE && child.getAttribute('fieldId') === fieldId) return child;
      const found = walk(child);
      if (found) return found;
    }
    return undefined;
  };
  const field = walk(doc.getXmlFragment('default'));
  if (!field) throw new Error(`no field ${fieldId}`);
  return field;
}

/** Sets a field's value the way the editor does: the field element's `value` attribute. */
function setField(doc: Y.Doc, fieldId: string, value: string): void {
  findField(doc, fieldId).setAttribute('value', value);
}

function pdfText(pdf: Buffer): string {
  const file = path.join(tmp, `r-${Date.now()}-${Math.random()}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
}

describe('structured templates', () => {
  it.each([
    ['a pick list without choices', { id: 'a', label: 'A', kind: 'choice' }],
    ['free text with choices', { id: 'a', label: 'A', kind: 'text', choices: ['x'] }],
    ['a default outside the choices', { id: 'a', label: 'A', kind: 'choice', choices: ['x'], default: 'y' }],
    ['an unknown kind', { id: 'a', label: 'A', kind: 'number' }],
    ['an unknown property', { id: 'a', label: 'A', kind: 'text', script: 'alert(1)' }],
    ['a bad id', { id: 'A B', label: 'A', kind: 'text' }],
    ['a required flag of the wrong type', { id: 'a', label: 'A', kind: 'text', required: 'yes' }],
    ['duplicate choices', { id: 'a', label: 'A', kind: 'choice', choices: ['x', 'x'] }],
    ['an oversize label', { id: 'a', label: 'L'.repeat(81), kind: 'text' }],
    ['a NUL in the label', { id: 'a', label: 'A\u0000', kind: 'text' }],
    ['a code without meaning', { id: 'a', label: 'A', kind: 'text', code: { scheme: 'RADLEX', value: 'RID1' } }],
  ])('refuses a template with %s (400, nothing stored)', async (_what, field) => {
    const before = await templateCount();
    const body = { ...TEMPLATE, sections: [{ key: 'findings', title: 'Findings', fields: [field] }] };
    const response = await api(admin.token, 'POST', '/api/templates', body);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().message).toBeTruthy();
    expect(await templateCount()).toBe(before);
  });

  it('refuses field ids used twice across sections and a malformed procedure code', async () => {
    const before = await templateCount();
    const twice = {
      ...TEMPLATE,
      sections: [
        { key: 'a', title: 'A', fields: [{ id: 'x', label: 'X', kind: 'text' }] },
        { key: 'b', title: 'B', fields: [{ id: 'x', label: 'X again', kind: 'text' }] },
      ],
    };
    const dup = await api(admin.token, 'POST', '/api/templates', twice);
    expect(dup.statusCode).toBe(400);
    expect(dup.json().message).toContain('"x" is used twice');
    expect((await api(admin.token, 'POST', '/api/templates', { ...TEMPLATE, procedureCodes: ['a b'] })).statusCode).toBe(400);
    expect(await templateCount()).toBe(before);
  });

  it('picks the template by the order’s procedure code, refuses signing with empty required fields, signs when filled', async () => {
    const created = await api(admin.token, 'POST', '/api/templates', TEMPLATE);
    expect(created.statusCode, created.body).toBe(201);
    const template = created.json() as Template;
    expect(template.procedureCodes).toEqual([PROCEDURE]);
    expect(template.sections[1]!.fields![0]!.code).toEqual(RADLEX_NODULE);

    // Another study's order names an unknown code: the modality's template (not ours) is chosen.
    const other = await orderedStudy('UNKNOWN');
    const otherReport = (await api(resident.token, 'POST', `/api/studies/${other.id}/report`, {})).json() as Report;
    expect(otherReport.templateId).not.toBe(template.id);

    const study = await orderedStudy(PROCEDURE);
    const started = await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {});
    expect(started.statusCode, started.body).toBe(201);
    const report = started.json() as Report;
    expect(report.templateId).toBe(template.id);

    const seeded = contentFromUpdate(Buffer.from((await serverState(sync.url, report.document)).update, 'base64'));
    expect(emptyRequiredFields(seeded.doc)).toEqual([
      { id: 'nodule-size', label: 'Size (mm)' },
      { id: 'lung-rads', label: 'Lung-RADS' },
    ]);
    expect(seeded.contentText).toContain('Location: right upper lobe');
    expect(seeded.doc.content![0]!.attrs).toMatchObject({ sectionCode: { value: 'RID50153' } });

    const editor = await connect(resident, report.id);
    const submit = () => api(resident.token, 'POST', `/api/reports/${report.id}/submit`, {});
    const refused = await submit();
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'REQUIRED_FIELDS_EMPTY',
      fields: [
        { id: 'nodule-size', label: 'Size (mm)' },
        { id: 'lung-rads', label: 'Lung-RADS' },
      ],
    });
    expect(refused.json().message).toContain('Size (mm), Lung-RADS');

    // A value that is not one of the pick list's choices does not fill it; blanks do not either.
    setField(editor.doc, 'nodule-size', '   ');
    setField(editor.doc, 'lung-rads', '9');
    await untilServerHolds(sync.url, report.document, editor.doc);
    expect((await submit()).json().fields.map((f: { id: string }) => f.id)).toEqual(['nodule-size', 'lung-rads']);

    setField(editor.doc, 'nodule-size', '6');
    setField(editor.doc, 'lung-rads', '3');
    await untilServerHolds(sync.url, report.document, editor.doc);
    const submitted = await submit();
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect((submitted.json() as Report).status).toBe('preliminary');

    // The attending clears a required field: finalize is refused and nothing stays locked.
    const review = await connect(attending, report.id);
    setField(review.doc, 'lung-rads', '');
    await untilServerHolds(sync.url, report.document, review.doc);
    const finalize = () => api(attending.token, 'POST', `/api/reports/${report.id}/finalize`, reviewed(review.doc));
    const notSigned = await finalize();
    expect(notSigned.statusCode, notSigned.body).toBe(409);
    expect(notSigned.json()).toMatchObject({ code: 'REQUIRED_FIELDS_EMPTY', fields: [{ id: 'lung-rads', label: 'Lung-RADS' }] });
    expect((await serverState(sync.url, report.document)).locked).toBe(false);
    const still = (await api(attending.token, 'GET', `/api/reports/${report.id}`)).json() as Report;
    expect(still).toMatchObject({ status: 'preliminary', finalSignature: null, content: null });

    setField(review.doc, 'lung-rads', '4A');
    await untilServerHolds(sync.url, report.document, review.doc);
    const signed = await finalize();
    expect(signed.statusCode, signed.body).toBe(200);
    const final = signed.json() as Report;
    expect(final.status).toBe('final');
    expect(final.content!.text).toContain('Size (mm): 6');
    expect(final.content!.text).toContain('Lung-RADS: 4A');
    const sizeNode = JSON.stringify(final.content!.doc);
    expect(sizeNode).toContain('"RID3875"');
    expect(sizeNode).toContain('"RID50153"');

    // The codes reach the FHIR DiagnosticReport and the ORU (a coded OBX after the narrative).
    const fhir = await t.app.inject({ url: `/fhir/DiagnosticReport/${report.id}`, headers: bearer(attending.token) });
    expect(fhir.statusCode, fhir.body).toBe(200);
    expect(fhirSchemaErrors(fhir.json())).toEqual([]);
    expect(fhir.json().conclusionCode).toEqual([
      { coding: [{ system: 'http://www.radlex.org', code: 'RID50153', display: 'findings' }], text: 'Findings' },
      { coding: [{ system: 'http://www.radlex.org', code: 'RID3875', display: 'nodule' }], text: 'Size (mm): 6' },
    ]);
    const oru = (await t.app.db.models.Outbox.findAll({ where: { reportId: report.id }, raw: true })).map((row) => row.text).join('\n');
    expect(oru).toMatch(/OBX\|\d+\|ST\|RID3875\^nodule\^RADLEX\|\|6\|/);
    expect(oru).toContain('Lung-RADS: 4A');

    const pdf = await t.app.inject({ url: `/api/reports/${report.id}/pdf`, headers: bearer(attending.token) });
    expect(pdf.statusCode).toBe(200);
    const text = pdfText(pdf.rawPayload);
    expect(text).toContain('Size (mm): 6');
    expect(text).toContain('Lung-RADS: 4A');
    expect(text).toContain('Location: right upper lobe');
  }, 120_000);

  it('a required field deleted from the document still blocks the submit', async () => {
    const own = { ...TEMPLATE, name: 'Deletion check', procedureCodes: ['CTDELCHECK'] };
    expect((await api(admin.token, 'POST', '/api/templates', own)).statusCode).toBe(201);
    const study = await orderedStudy('CTDELCHECK');
    const report = (await api(resident.token, 'POST', `/api/studies/${study.id}/report`, {})).json() as Report;
    const editor = await connect(resident, report.id);
    const size = findField(editor.doc, 'nodule-size');
    const parent = size.parent as Y.XmlElement;
    parent.delete(parent.toArray().indexOf(size), 1);
    setField(editor.doc, 'lung-rads', '2');
    await untilServerHolds(sync.url, report.document, editor.doc);
    const refused = await api(resident.token, 'POST', `/api/reports/${report.id}/submit`, {});
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'REQUIRED_FIELDS_EMPTY', fields: [{ id: 'nodule-size', label: 'Size (mm)' }] });
    expect(((await api(resident.token, 'GET', `/api/reports/${report.id}`)).json() as Report).status).toBe('draft');
  });

  it('a template edit keeps its procedure codes unless changed', async () => {
    const created = (await api(admin.token, 'POST', '/api/templates', { ...TEMPLATE, name: 'Other', procedureCodes: ['P1', 'P1'] })).json();
    expect(created.procedureCodes).toEqual(['P1']);
    const renamed = await api(admin.token, 'PATCH', `/api/templates/${created.id}`, { version: 1, name: 'Renamed' });
    expect(renamed.json().procedureCodes).toEqual(['P1']);
    const recoded = await api(admin.token, 'PATCH', `/api/templates/${created.id}`, { version: 2, procedureCodes: ['P2'] });
    expect(recoded.json().procedureCodes).toEqual(['P2']);
  });
});
