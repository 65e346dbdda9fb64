/**
 * Images meet their order. A modality that took the patient from the modality worklist sends the
 * scheduled row's Study Instance UID, so ingestion finds that row by UID; one that was typed in
 * carries at least the accession number, so a scheduled row with that accession for the same
 * patient is the match (a different patient under the same accession is not: that is for a person
 * to reconcile). The scheduled row becomes the study; its order is then `arrived`.
 */
import { type OrderMatch, orderTransition } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { Models } from '../db/models';

export async function scheduledRowByAccession(models: Models, accessionNumber: string, patientId: string, transaction: Transaction) {
  if (accessionNumber === '') return null;
  return models.Study.findOne({ where: { accessionNumber, patientId, status: 'scheduled' }, transaction });
}

/** The order behind a row whose images just arrived moves to `arrived` (if it was still pending). */
export async function orderArrived(models: Models, orderRef: string | null, transaction: Transaction): Promise<void> {
  if (!orderRef) return;
  const order = await models.Order.findByPk(orderRef, { transaction });
  if (!order) return;
  const transition = orderTransition(order.get('status'), 'images-arrived');
  if (transition.ok) await order.update({ status: transition.to, version: order.get('version') + 1 }, { transaction });
}

/**
 * A study that came without an order is `unmatched` (for a person to reconcile) where the hospital
 * sends orders at all, that is once any order was ever received; elsewhere it has no match state.
 */
export async function orderMatchOfUnorderedStudy(models: Models, transaction: Transaction): Promise<OrderMatch> {
  const anyOrder = await models.Order.findOne({ attributes: ['id'], transaction, raw: true });
  return anyOrder ? 'unmatched' : '';
}
