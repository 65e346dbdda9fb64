/**
 * Orders and patient updates over a real MLLP connection, sent by an independent HL7 client
 * (@medplum/hl7), to the real API on its own database: each message acknowledged, each order a
 * worklist entry before any image, repeats answered the same and changing nothing, refusals
 * changing nothing and audited.
 */

import { Hl7Message } from '@medplum/core';
import type { WorklistPage, WorklistStudy } from '@pacs/shared';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, answersIn, framed, rawExchange, sample, sendWithClient, uniqueOrderValues } from './support/hl7';

let t: TestApp;
let port: number;
let token: string;

beforeAll(async () => {
  t = await createTestApp({ PACS_HL7_PORT: '0' });
  port = await t.app.hl7.listen();
  token = (await t.userWithToken('attending')).token;
});
afterAll(async () => {
  await t?.close();
});

async function worklistByAccession(accession: string): Promise<WorklistStudy[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/studies?q=${encodeURIComponent(accession)}`, headers: bearer(token) });
  expect(response.statusCode).toBe(200);
  return (response.json() as WorklistPage).items.filter((s) => s.accessionNumber === accession);
}

async function messageRows(controlId: string) {
  return t.app.db.models.Hl7Message.findAll({ where: { controlId }, order: [['receivedAt', 'ASC']], raw: true });
}

describe('orders in over MLLP', () => {
  it('an ORM^O01 2.3.1 in ISO-8859-1 becomes a scheduled STAT worklist entry with the indication, before any image', async () => {
    const v = uniqueOrderValues();
    const text = sample('orm-o01-v231-latin1.hl7', v);
    const ack = ackOf(await sendWithClient(port, text, 'iso-8859-1'));
    expect(ack).toMatchObject({ code: 'AA', controlId: v.CONTROL });
    const [row, ...others] = await worklistByAccession(v.ACCESSION!);
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({
      status: 'scheduled',
      priority: 'stat',
      patientName: 'Müller^Jürgen^K',
      patientId: v.MRN,
      patientBirthDate: '19610412',
      patientSex: 'M',
      description: 'CT Kopf nativ',
      modalities: ['CT'],
      referringPhysician: 'Referrer^Robert^^Dr',
      indication: 'Verdacht auf Blutung',
      studyDate: '20261204',
      numberOfInstances: 0,
    });
    const order = await t.app.db.models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true });
    expect(order).toMatchObject({
      status: 'scheduled',
      placerNamespace: 'EPICRIS',
      placerOrderNumber: v.PLACER,
      fillerOrderNumber: v.FILLER,
      orderingPhysician: 'Weiß^Anna^^Dr',
      clinicalHistory: 'Sturz auf der Treppe & Kopfschmerz\nPatient nimmt Antikoagulanzien',
    });
    const [stored] = await messageRows(v.CONTROL!);
    expect(stored).toMatchObject({
      outcome: 'accepted',
      ackCode: 'AA',
      charset: 'latin1',
      messageType: 'ORM^O01',
      sendingApplication: 'EPICRIS',
    });
    expect(stored!.text).toContain('Müller^Jürgen');
    const audit = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'OrderRecord', patientId: v.MRN }, raw: true });
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details!)).toMatchObject({
      controlId: v.CONTROL,
      orders: [{ placerOrderNumber: v.PLACER, action: 'new' }],
    });
  });

  it('an OMI^O23 2.5.1 in UTF-8 keeps its Study Instance UID, modality, station and the TQ1 priority', async () => {
    const v = uniqueOrderValues();
    expect(ackOf(await sendWithClient(port, sample('omi-o23-v251-utf8.hl7', v))).code).toBe('AA');
    const [row] = await worklistByAccession(v.ACCESSION!);
    expect(row).toMatchObject({
      studyInstanceUid: v.STUDY_UID,
      patientName: 'Nguyễn^Văn An',
      priority: 'urgent',
      modalities: ['MR'],
      indication: 'Persistent knee pain after sports injury',
      referringPhysician: 'Tanaka^Yui^^Dr',
    });
    const order = await t.app.db.models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true });
    expect(order).toMatchObject({ scheduledStationAet: 'MR_ROOM1', modality: 'MR' });
    const patient = await t.app.db.models.Patient.findOne({ where: { patientId: v.MRN }, raw: true });
    expect(patient?.issuerOfPatientId).toBe('CITYCLINIC');
  });

  it.each([
    [
      'UTF-8 bytes without MSH-18 (2.4, ZDS study UID, DG1 reason)',
      'orm-o01-v24-no-charset-utf8.hl7',
      'utf-8',
      'Yılmaz^Çağrı',
      'Cough for three weeks',
    ],
    ['ISO-8859-1 bytes without MSH-18 (2.3): read with the fallback', 'orm-o01-v23-undeclared-latin1.hl7', 'iso-8859-1', 'Lefèvre^Zoë', ''],
  ])('reads %s', async (_label, file, encoding, name, indication) => {
    const v = uniqueOrderValues();
    expect(ackOf(await sendWithClient(port, sample(file, v), encoding)).code).toBe('AA');
    const [row] = await worklistByAccession(v.ACCESSION!);
    expect(row).toMatchObject({ patientName: name, indication, status: 'scheduled' });
    if (file.includes('v24')) expect(row!.studyInstanceUid).toBe(v.STUDY_UID);
  });

  it('a repeat of a message (same MSH-10) gets the same acknowledgement and changes nothing', async () => {
    const v = uniqueOrderValues();
    const text = sample('omi-o23-v251-utf8.hl7', v);
    const first = await sendWithClient(port, text);
    const again = await sendWithClient(port, text);
    expect(again.toString()).toBe(first.toString());
    expect(await worklistByAccession(v.ACCESSION!)).toHaveLength(1);
    expect(await t.app.db.models.Order.count({ where: { accessionNumber: v.ACCESSION } })).toBe(1);
    expect((await messageRows(v.CONTROL!)).map((r) => r.outcome)).toEqual(['accepted', 'duplicate']);
  });

  it('a change moves priority and schedule, a hold keeps the entry, a cancel takes it off the worklist (a tombstone in the feed)', async () => {
    const v = uniqueOrderValues();
    const send = (orderControl: string, priority: string) =>
      sendWithClient(
        port,
        sample('orm-o01-control.hl7', {
          ...v,
          CONTROL: `${v.CONTROL}${orderControl}${priority}`,
          ORDER_CONTROL: orderControl,
          PRIORITY: priority,
        }),
      );
    expect(ackOf(await send('NW', 'R')).code).toBe('AA');
    const [created] = await worklistByAccession(v.ACCESSION!);
    expect(created).toMatchObject({ priority: 'routine', status: 'scheduled' });

    expect(ackOf(await send('XO', 'S')).code).toBe('AA');
    const [changed] = await worklistByAccession(v.ACCESSION!);
    expect(changed).toMatchObject({ id: created!.id, priority: 'stat', version: created!.version + 1 });

    expect(ackOf(await send('HD', 'S')).code).toBe('AA');
    expect((await t.app.db.models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true }))?.status).toBe('on_hold');
    expect(await worklistByAccession(v.ACCESSION!)).toHaveLength(1);

    // A device following the feed from before the cancel is told to drop the row.
    const { sequence } = (await t.app.inject({ method: 'GET', url: '/api/studies/events', headers: bearer(token) })).json();
    expect(ackOf(await send('CA', 'S')).code).toBe('AA');
    expect(await worklistByAccession(v.ACCESSION!)).toHaveLength(0);
    const feed = await t.app.inject({ method: 'GET', url: `/api/studies/changes?cursor=${sequence}&limit=1000`, headers: bearer(token) });
    expect(feed.statusCode).toBe(200);
    expect((feed.json() as { changes: { id: string; deleted?: boolean }[] }).changes).toContainEqual({ id: created!.id, deleted: true });

    // A cancelled order cannot be released or changed again: refused, nothing changes.
    const release = ackOf(await send('RL', 'S'));
    expect(release).toMatchObject({ code: 'AE', errorCode: '207' });
    expect(release.text).toContain('cancelled');
  });

  it('an order whose images came first attaches to that study instead of scheduling another', async () => {
    const v = uniqueOrderValues();
    const { models } = t.app.db;
    const patient = await models.Patient.create({ patientId: v.MRN!, issuerOfPatientId: 'GENHOSP', name: 'Doe^Jane' });
    const study = await models.Study.create({
      studyInstanceUid: v.STUDY_UID!,
      patientRef: patient.get('id'),
      patientName: 'Doe^Jane',
      patientId: v.MRN!,
      accessionNumber: v.ACCESSION!,
      searchText: v.ACCESSION.toLowerCase(),
      receivedAt: new Date(),
      numberOfInstances: 12,
    });
    expect(ackOf(await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' }))).code).toBe('AA');
    const rows = await worklistByAccession(v.ACCESSION!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: study.get('id'), status: 'unread', indication: 'Follow-up of nodule' });
    expect((await models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true }))?.status).toBe('arrived');
  });
});

describe('patient administration over MLLP', () => {
  it('an A08 update rewrites the patient on every worklist row of theirs', async () => {
    const v = uniqueOrderValues();
    await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' }));
    const [before] = await worklistByAccession(v.ACCESSION!);
    const update = sample('adt-update.hl7', { ...v, CONTROL: `${v.CONTROL}U`, EVENT: 'A08', FAMILY: 'Doe-Smith', GIVEN: 'Jane' });
    expect(ackOf(await sendWithClient(port, update)).code).toBe('AA');
    const [after] = await worklistByAccession(v.ACCESSION!);
    expect(after).toMatchObject({ patientName: 'Doe-Smith^Jane', patientBirthDate: '19610412', patientSex: 'M' });
    expect(after!.version).toBe(before!.version + 1);
    const search = await t.app.inject({ method: 'GET', url: '/api/studies?q=doe-smith', headers: bearer(token) });
    expect((search.json() as WorklistPage).items.map((s) => s.id)).toContain(after!.id);
  });

  it('an A40 merge moves the prior record’s studies and orders to the surviving patient', async () => {
    const prior = uniqueOrderValues();
    const surviving = uniqueOrderValues();
    await sendWithClient(port, sample('orm-o01-control.hl7', { ...prior, ORDER_CONTROL: 'NW', PRIORITY: 'R' }));
    const merge = sample('adt-a40-merge.hl7', { ...surviving, PRIOR_MRN: prior.MRN! });
    expect(ackOf(await sendWithClient(port, merge)).code).toBe('AA');
    const [row] = await worklistByAccession(prior.ACCESSION!);
    expect(row).toMatchObject({ patientId: surviving.MRN, patientName: 'Merged^Survivor' });
    const { models } = t.app.db;
    const survivor = await models.Patient.findOne({ where: { patientId: surviving.MRN }, raw: true });
    expect((await models.Order.findOne({ where: { accessionNumber: prior.ACCESSION }, raw: true }))?.patientRef).toBe(survivor?.id);
    expect(await models.Patient.findOne({ where: { patientId: prior.MRN } })).toBeNull();

    const again = sample('adt-a40-merge.hl7', { ...surviving, CONTROL: `${surviving.CONTROL}2`, PRIOR_MRN: 'NO-SUCH-MRN' });
    expect(ackOf(await sendWithClient(port, again))).toMatchObject({ code: 'AE', errorCode: '204' });
  });
});

describe('bad messages: the right refusal, nothing half-written, an audit row', () => {
  it.each([
    ['no MSH segment', 'broken-no-msh.hl7', 'AR', '100'],
    ['a letter as field separator', 'broken-delimiters.hl7', 'AR', '102'],
    ['no message control id', 'broken-no-control-id.hl7', 'AR', '101'],
    ['an unsupported version (2.7)', 'broken-version-27.hl7', 'AR', '203'],
    ['an unsupported message type (SIU)', 'broken-unknown-type.hl7', 'AR', '200'],
    ['an unsupported event (ADT^A99)', 'broken-unknown-event.hl7', 'AR', '201'],
    ['a character set without a decoder (ISO IR87)', 'broken-charset-ir87.hl7', 'AR', '103'],
    ['an order without PID', 'broken-no-pid.hl7', 'AE', '101'],
    ['an order without ORC', 'broken-no-orc.hl7', 'AE', '100'],
    ['an unknown order control (ZZ)', 'broken-order-control.hl7', 'AE', '103'],
    ['an accession longer than DICOM allows', 'broken-long-accession.hl7', 'AE', '102'],
    ['a malformed Study Instance UID', 'broken-bad-study-uid.hl7', 'AE', '102'],
    ['no placer order number', 'broken-no-placer-number.hl7', 'AE', '101'],
    ['a change to an order never placed', 'orm-o01-control.hl7', 'AE', '204'],
  ])('%s → %s %s', async (_label, file, code, errorCode) => {
    const v = { ...uniqueOrderValues(), ORDER_CONTROL: 'XO', PRIORITY: 'S' };
    const { models } = t.app.db;
    const counts = async () => [
      await models.Order.count(),
      await models.Study.count({ paranoid: false }),
      await models.Patient.count({ paranoid: false }),
    ];
    const before = await counts();
    const auditBefore = await models.AuditLog.count({ where: { outcome: 4 } });
    // The independent client refuses to send what it cannot parse itself: those go over a raw socket.
    const text = sample(file, v);
    const ack = CLIENT_REFUSES.has(file) ? await rawAck(text) : ackOf(await sendWithClient(port, text));
    expect(ack).toMatchObject({ code, errorCode });
    expect(ack.text.length).toBeGreaterThan(5);
    expect(await counts()).toEqual(before);
    expect(await models.AuditLog.count({ where: { outcome: 4 } })).toBe(auditBefore + 1);
    const stored = await models.Hl7Message.findOne({
      where: { ackCode: code, ackText: ack.text },
      order: [['receivedAt', 'DESC']],
      raw: true,
    });
    expect(stored?.outcome).toBe(code === 'AE' ? 'error' : 'rejected');
  });

  it('with PACS_HL7_PATIENTS_FROM_ORDERS=false an order for a patient no ADT registered is refused; after an A04 it is taken', async () => {
    const strict = await createTestApp({ PACS_HL7_PORT: '0', PACS_HL7_PATIENTS_FROM_ORDERS: 'false' });
    try {
      const strictPort = await strict.app.hl7.listen();
      const v = { ...uniqueOrderValues(), ORDER_CONTROL: 'NW', PRIORITY: 'R' };
      const refused = ackOf(await sendWithClient(strictPort, sample('orm-o01-control.hl7', v)));
      expect(refused).toMatchObject({ code: 'AE', errorCode: '204' });
      expect(await strict.app.db.models.Study.count()).toBe(0);
      const register = sample('adt-update.hl7', { ...v, CONTROL: `${v.CONTROL}R`, EVENT: 'A04', FAMILY: 'Doe', GIVEN: 'Jane' });
      expect(ackOf(await sendWithClient(strictPort, register)).code).toBe('AA');
      const retried = sample('orm-o01-control.hl7', { ...v, CONTROL: `${v.CONTROL}2` });
      expect(ackOf(await sendWithClient(strictPort, retried)).code).toBe('AA');
      expect(await strict.app.db.models.Study.count({ where: { accessionNumber: v.ACCESSION } })).toBe(1);
    } finally {
      await strict.close();
    }
  });
});

const CLIENT_REFUSES = new Set(['broken-no-msh.hl7', 'broken-delimiters.hl7', 'broken-no-control-id.hl7']);

/** One message over a raw socket; its acknowledgement. */
async function rawAck(text: string) {
  const { received } = await rawExchange(port, [framed(iconv.encode(text, 'utf8'))], { expectFrames: 1 });
  const [answer] = answersIn(received);
  return ackOf(Hl7Message.parse(answer!));
}
