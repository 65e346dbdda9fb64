/**
 * Reconciliation for admins and technologists: studies whose images came without an order (where
 * the hospital sends orders), the orders still waiting for images, and the decision on each study:
 * attach it to its order (the scheduled row gives way to the study, the order is then `arrived`)
 * or confirm that it needs none. Each decision is one transaction with its audit row.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, IdParams, OrderMatchDecision, PendingOrder, PRIORITY_RANK, WorklistStudy } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Op } from 'sequelize';
import { Type } from 'typebox';
import { auditInTransaction } from '../audit/recorder';
import { conflict, notFound } from '../http-errors';
import { studyChangeStamp } from '../worklist/change-feed';
import { assigneeNames, presentStudy } from '../worklist/present';
import { orderArrived } from './order-matching';

export default async function reconciliationRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const tags = ['orders'];

  app.get(
    '/api/reconciliation/studies',
    {
      config: { access: 'order:reconcile', audit: { eventId: 'Query', action: 'R', objectType: 'Study', phi: true } },
      schema: {
        tags,
        summary: 'Studies whose images came without an order, oldest first',
        response: { 200: Type.Object({ items: Type.Array(WorklistStudy) }) },
      },
    },
    async (request) => {
      const rows = await models.Study.findAll({
        where: { orderMatch: 'unmatched' },
        order: [['receivedAt', 'ASC']],
        limit: 500,
        raw: true,
      });
      request.auditSubject = { details: { returned: rows.length } };
      const names = await assigneeNames(models, rows);
      const decisions = await app.restrictedAccess.policy.decide(request.principal!.userId, rows);
      return { items: rows.map((row) => presentStudy(row, names, decisions.get(row.id))) };
    },
  );

  app.get(
    '/api/reconciliation/orders',
    {
      config: { access: 'order:reconcile', audit: { eventId: 'Query', action: 'R', objectType: 'Order', phi: true } },
      schema: {
        tags,
        summary: 'Orders still waiting for their images, oldest first',
        response: { 200: Type.Object({ items: Type.Array(PendingOrder) }) },
      },
    },
    async (request) => {
      const orders = await models.Order.findAll({
        where: { status: { [Op.in]: ['scheduled', 'on_hold'] } },
        order: [['createdAt', 'ASC']],
        limit: 500,
        raw: true,
      });
      const patients = new Map(
        (await models.Patient.findAll({ where: { id: { [Op.in]: [...new Set(orders.map((o) => o.patientRef))] } }, raw: true })).map(
          (p) => [p.id, p],
        ),
      );
      request.auditSubject = { details: { returned: orders.length } };
      // An order's scheduled row carries its restriction: its patient is not named without access.
      const scheduled = await models.Study.findAll({
        where: { id: { [Op.in]: orders.map((o) => o.studyRef).filter((id): id is string => id !== null) } },
        raw: true,
      });
      const decisions = await app.restrictedAccess.policy.decide(request.principal!.userId, scheduled);
      const restrictedPatients = await app.restrictedAccess.policy.restrictedPatients(orders.map((o) => o.patientRef));
      const masked = (o: (typeof orders)[number]) =>
        (o.studyRef !== null && decisions.get(o.studyRef)?.access === 'masked') ||
        (restrictedPatients.has(o.patientRef) && !(o.studyRef && decisions.get(o.studyRef)?.access === 'open'));
      return {
        items: orders.map((o) => ({
          id: o.id,
          accessionNumber: o.accessionNumber,
          placerOrderNumber: o.placerOrderNumber,
          patientId: masked(o) ? '' : (patients.get(o.patientRef)?.patientId ?? ''),
          patientName: masked(o) ? '' : (patients.get(o.patientRef)?.name ?? ''),
          procedureText: o.procedureText,
          modality: o.modality,
          scheduledAt: o.scheduledAt ? new Date(o.scheduledAt).toISOString() : null,
        })),
      };
    },
  );

  app.post(
    '/api/studies/:id/order-match',
    {
      config: { access: 'order:reconcile', audit: { eventId: 'OrderRecord', action: 'U', objectType: 'Study' } },
      schema: {
        tags,
        summary: 'Attach a study that came without its order to that order, or confirm it needs none',
        params: IdParams,
        body: OrderMatchDecision,
        response: { 200: WorklistStudy, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const decision = request.body;
      const row = await models.Study.sequelize!.transaction(async (transaction) => {
        const study = await models.Study.findByPk(request.params.id, { transaction });
        if (!study) throw notFound('study not found');
        const current = study.get();
        request.auditSubject = { objectId: current.id, patientId: current.patientId, studyUid: current.studyInstanceUid };
        if (current.orderMatch !== 'unmatched') throw conflict('the study is not waiting for reconciliation', 'NOT_UNMATCHED');
        if ('unordered' in decision) {
          await study.update({ orderMatch: 'unordered', ...(await studyChangeStamp(models, current, transaction)) }, { transaction });
          await auditInTransaction(request, transaction, { eventId: 'OrderRecord', action: 'U', details: { decision: 'unordered' } });
          return study.get();
        }
        const order = await models.Order.findByPk(decision.orderId, { transaction });
        if (!order) throw notFound('order not found');
        if (order.get('status') !== 'scheduled' && order.get('status') !== 'on_hold') {
          throw conflict(`the order is ${order.get('status')}`, 'ORDER_NOT_PENDING');
        }
        if (order.get('patientRef') !== current.patientRef) {
          throw conflict("the order is another patient's: correct the patient in the images first", 'PATIENT_MISMATCH');
        }
        // The scheduled row stood for the images that have now come: it gives way (a tombstone in the feed).
        const placeholder = order.get('studyRef') ? await models.Study.findByPk(order.get('studyRef')!, { transaction }) : null;
        if (placeholder && placeholder.get('status') === 'scheduled') {
          await placeholder.update(await studyChangeStamp(models, placeholder.get(), transaction), { transaction });
          await placeholder.destroy({ transaction });
        }
        await order.update({ studyRef: current.id }, { transaction });
        await orderArrived(models, order.get('id'), transaction);
        const priority = PRIORITY_RANK[order.get('priority')] < current.priorityRank ? order.get('priority') : current.priority;
        await study.update(
          {
            orderRef: order.get('id'),
            orderMatch: 'matched',
            indication: order.get('reasonForExam'),
            priority,
            priorityRank: PRIORITY_RANK[priority],
            referringPhysician: current.referringPhysician || order.get('referringPhysician'),
            ...(await studyChangeStamp(models, current, transaction)),
          },
          { transaction },
        );
        await auditInTransaction(request, transaction, {
          eventId: 'OrderRecord',
          action: 'U',
          details: { decision: 'attached', orderId: order.get('id'), accession: order.get('accessionNumber') },
        });
        return study.get();
      });
      return presentStudy(
        row,
        await assigneeNames(models, [row]),
        await app.restrictedAccess.policy.decideOne(request.principal!.userId, row),
      );
    },
  );
}
