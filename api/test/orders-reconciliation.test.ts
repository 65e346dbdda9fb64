/**
 * Reconciliation: a study whose images came without an order (where orders are received) waits
 * for a technologist or an admin, who attaches it to its order or confirms it needs none.
 */
import type { PendingOrder, WorklistStudy } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';

let t: TestApp;
let port: number;
let technologist: string;
let resident: string;

beforeAll(async () => {
  t = await createTestApp({ PACS_HL7_PORT: '0' });
  port = await t.app.hl7.listen();
  technologist = (await t.userWithToken('technologist')).token;
  resident = (await t.userWithToken('resident')).token;
});
afterAll(async () => t?.close());

/** An order over MLLP, and a study of the same patient that came without it (as ingestion leaves it). */
async function orderAndStrayStudy(opts: { otherPatient?: boolean } = {}) {
  const v = uniqueOrderValues();
  expect(ackOf(await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'S' }))).code).toBe('AA');
  const { models } = t.app.db;
  const order = (await models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true }))!;
  const patientRef = opts.otherPatient
    ? (await models.Patient.create({ patientId: `${v.MRN}-OTHER`, name: 'Other^Person' })).get('id')
    : order.patientRef;
  const stray = await models.Study.create({
    studyInstanceUid: `${v.STUDY_UID}.9`,
    patientRef,
    patientName: 'Doe^Jane',
    patientId: v.MRN,
    accessionNumber: `X${v.ACCESSION}`,
    receivedAt: new Date(),
    numberOfInstances: 5,
    orderMatch: 'unmatched',
  });
  return { v, order, stray: stray.get() };
}

const decide = (studyId: string, payload: object, token = technologist) =>
  t.app.inject({ method: 'POST', url: `/api/studies/${studyId}/order-match`, headers: bearer(token), payload });

describe('order reconciliation', () => {
  it('lists unmatched studies and pending orders to technologists, not to residents', async () => {
    const { order, stray } = await orderAndStrayStudy();
    const studies = await t.app.inject({ url: '/api/reconciliation/studies', headers: bearer(technologist) });
    expect(studies.statusCode).toBe(200);
    expect((studies.json() as { items: WorklistStudy[] }).items.map((s) => s.id)).toContain(stray.id);
    const orders = await t.app.inject({ url: '/api/reconciliation/orders', headers: bearer(technologist) });
    expect((orders.json() as { items: PendingOrder[] }).items.map((o) => o.id)).toContain(order.id);
    expect((await t.app.inject({ url: '/api/reconciliation/studies', headers: bearer(resident) })).statusCode).toBe(403);
  });

  it('attaching: the study takes the order (indication, STAT), the scheduled row gives way, the order has arrived; audited', async () => {
    const { order, stray } = await orderAndStrayStudy();
    const response = await decide(stray.id, { orderId: order.id });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ id: stray.id, orderMatch: 'matched', indication: 'Follow-up of nodule', priority: 'stat' });
    const { models } = t.app.db;
    expect(await models.Study.findByPk(order.studyRef!)).toBeNull();
    expect(await models.Order.findByPk(order.id, { raw: true })).toMatchObject({ status: 'arrived', studyRef: stray.id });
    const audit = await models.AuditLog.findAll({ where: { eventId: 'OrderRecord', objectId: stray.id }, raw: true });
    expect(audit.map((a) => JSON.parse(a.details!).decision)).toEqual(['attached']);
    expect((await decide(stray.id, { unordered: true })).json()).toMatchObject({ code: 'NOT_UNMATCHED' });
  });

  it('confirming a study unordered takes it off the list; nothing else changes', async () => {
    const { order, stray } = await orderAndStrayStudy();
    expect((await decide(stray.id, { unordered: true })).json()).toMatchObject({ orderMatch: 'unordered' });
    expect((await t.app.db.models.Order.findByPk(order.id, { raw: true }))?.status).toBe('scheduled');
    const list = await t.app.inject({ url: '/api/reconciliation/studies', headers: bearer(technologist) });
    expect((list.json() as { items: WorklistStudy[] }).items.map((s) => s.id)).not.toContain(stray.id);
  });

  it.each([
    ["another patient's order", { otherPatient: true }, 'PATIENT_MISMATCH'],
    ['a cancelled order', { cancel: true }, 'ORDER_NOT_PENDING'],
  ])('refuses to attach to %s (409), changing nothing', async (_label, opts, code) => {
    const { v, order, stray } = await orderAndStrayStudy({ otherPatient: 'otherPatient' in opts });
    if ('cancel' in opts) {
      await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, CONTROL: `${v.CONTROL}C`, ORDER_CONTROL: 'CA', PRIORITY: 'S' }));
    }
    const before = await t.app.db.models.Study.findByPk(stray.id, { raw: true });
    const response = await decide(stray.id, { orderId: order.id });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code });
    expect(await t.app.db.models.Study.findByPk(stray.id, { raw: true })).toEqual(before);
  });

  it.each([
    ['both decisions at once', { orderId: '00000000-0000-4000-8000-000000000000', unordered: true }],
    ['unordered: false', { unordered: false }],
    ['an order id that is not an id', { orderId: '../orders' }],
    ['an extra field', { orderId: '00000000-0000-4000-8000-000000000000', force: true }],
  ])('refuses %s with 400', async (_label, payload) => {
    const { stray } = await orderAndStrayStudy();
    expect((await decide(stray.id, payload)).statusCode).toBe(400);
  });
});
