/**
 * Applies what an order message asks (order-message.ts) to the database, inside the caller's
 * transaction: a new order becomes a `scheduled` worklist row before any image exists (or attaches
 * to a study that came first with its accession number); a change updates both; a cancel takes the
 * row off the worklist (a tombstone in the delta feed); hold and release move the order only.
 * Every refusal is a result, not an exception, so the caller answers AE and rolls back.
 */
import { randomUUID } from 'node:crypto';
import { type OrderEvent, orderTransition, PRIORITY_RANK } from '@pacs/shared';
import { Op, type Transaction } from 'sequelize';
import type { Models, StudyRow } from '../db/models';
import type { OrderRow } from '../db/order-models';
import { findPatient, isLivePatient, studySearchText, upsertPatient } from '../patients/patient-store';
import { restrictStudyFrom } from '../restricted-access/restrictions';
import { nextChangeSeq, studyChangeStamp } from '../worklist/change-feed';
import { encodeModalities } from '../worklist/present';
import type { OrderMessageReading, OrderRequest } from './order-message';

export interface OrderBookOptions {
  /** An order may introduce its patient (the usual RIS feed); false: only patients ADT announced. */
  patientsFromOrders: boolean;
}

export interface AppliedOrder {
  orderId: string;
  placerOrderNumber: string;
  accessionNumber: string;
  action: OrderRequest['action'];
  studyUid: string | null;
}

export type OrderBookResult =
  | { readonly ok: true; readonly patientId: string; readonly orders: AppliedOrder[] }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string; readonly patientId: string };

/** A UID under the 2.25 root (ISO/IEC 9834-8): a UUID as one decimal integer, no registration needed. */
export function generatedStudyUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

function dicomDateTime(date: Date | null): { studyDate: string | null; studyTime: string | null } {
  if (!date) return { studyDate: null, studyTime: null };
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    studyDate: `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`,
    studyTime: `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`,
  };
}

/** The columns of the order that a new order or a change writes. */
function orderValues(request: OrderRequest) {
  return {
    fillerOrderNumber: request.fillerOrderNumber,
    priority: request.priority,
    procedureCode: request.procedureCode,
    procedureText: request.procedureText,
    modality: request.modality,
    scheduledAt: request.scheduledAt,
    scheduledStationAet: request.scheduledStationAet,
    orderingPhysician: request.orderingPhysician,
    orderingPhysicianId: request.orderingPhysicianId,
    referringPhysician: request.referringPhysician,
    reasonForExam: request.reasonForExam,
    clinicalHistory: request.clinicalHistory || null,
  };
}

/** The columns of a scheduled worklist row that follow its order. */
function scheduledStudyValues(request: OrderRequest) {
  return {
    description: request.procedureText,
    modalities: encodeModalities([request.modality]),
    referringPhysician: request.referringPhysician,
    priority: request.priority,
    priorityRank: PRIORITY_RANK[request.priority],
    indication: request.reasonForExam,
    ...dicomDateTime(request.scheduledAt),
  };
}

type Refusal = { errorCode: string; reason: string };

export class OrderBook {
  constructor(
    private readonly models: Models,
    private readonly options: OrderBookOptions,
  ) {}

  async apply(reading: Extract<OrderMessageReading, { ok: true }>, transaction: Transaction): Promise<OrderBookResult> {
    const { patient } = reading;
    const refuse = ({ errorCode, reason }: Refusal): OrderBookResult => ({ ok: false, errorCode, reason, patientId: patient.patientId });
    const found = await findPatient(this.models, patient, transaction);
    const known = isLivePatient(found);
    if (!known && reading.requests.some((r) => r.action !== 'new')) {
      return refuse({ errorCode: '204', reason: `patient '${patient.patientId}' is not known here` });
    }
    if (!known && !this.options.patientsFromOrders) {
      return refuse({ errorCode: '204', reason: `patient '${patient.patientId}' is not known here (no ADT registered them)` });
    }
    // An order refreshes the patient's demographics only on the patient row: the worklist copies
    // follow ADT updates, which are the hospital's authoritative source.
    const patientRef = await upsertPatient(this.models, patient, transaction, found);
    const applied: AppliedOrder[] = [];
    for (const request of reading.requests) {
      const result =
        request.action === 'new'
          ? await this.create(request, patientRef, reading, transaction)
          : await this.update(request, request.action, patientRef, transaction);
      if ('errorCode' in result) return refuse(result);
      applied.push(result);
    }
    return { ok: true, patientId: patient.patientId, orders: applied };
  }

  private async create(
    request: OrderRequest,
    patientRef: string,
    reading: Extract<OrderMessageReading, { ok: true }>,
    transaction: Transaction,
  ): Promise<AppliedOrder | Refusal> {
    const { Order, Study } = this.models;
    // One read for both refusals: the placer's number taken, or the accession held by a pending order.
    const conflicts = await Order.findAll({
      where: {
        [Op.or]: [
          { placerNamespace: request.placerNamespace, placerOrderNumber: request.placerOrderNumber },
          { accessionNumber: request.accessionNumber, status: { [Op.in]: ['scheduled', 'on_hold'] } },
        ],
      },
      attributes: ['placerNamespace', 'placerOrderNumber'],
      limit: 2,
      raw: true,
      transaction,
    });
    if (conflicts.some((o) => o.placerNamespace === request.placerNamespace && o.placerOrderNumber === request.placerOrderNumber))
      return { errorCode: '205', reason: `order '${request.placerOrderNumber}' already exists` };
    if (conflicts.length > 0)
      return { errorCode: '205', reason: `accession '${request.accessionNumber}' belongs to another pending order` };

    const orderId = randomUUID();
    // The images came first (an unordered study with this accession): the order attaches to it.
    const arrived = await Study.findOne({
      where: { accessionNumber: request.accessionNumber, orderRef: null, status: { [Op.ne]: 'scheduled' } },
      transaction,
    });
    let study: StudyRow;
    if (arrived) {
      await arrived.update(
        {
          orderRef: orderId,
          orderMatch: 'matched',
          indication: request.reasonForExam,
          referringPhysician: arrived.get('referringPhysician') || request.referringPhysician,
          ...(await studyChangeStamp(this.models, arrived.get(), transaction)),
        },
        { transaction },
      );
      study = arrived;
    } else {
      if (request.studyInstanceUid !== '') {
        const clash = await Study.findOne({ where: { studyInstanceUid: request.studyInstanceUid }, paranoid: false, transaction });
        if (clash) return { errorCode: '205', reason: "the order's Study Instance UID belongs to another study" };
      }
      const { patient } = reading;
      const values = scheduledStudyValues(request);
      study = await Study.create(
        {
          ...values,
          studyInstanceUid: request.studyInstanceUid || generatedStudyUid(),
          patientRef,
          patientName: patient.name,
          patientId: patient.patientId,
          patientBirthDate: patient.birthDate,
          patientSex: patient.sex,
          accessionNumber: request.accessionNumber,
          searchText: studySearchText({
            ...patient,
            patientName: patient.name,
            accessionNumber: request.accessionNumber,
            description: values.description,
          }),
          status: 'scheduled',
          receivedAt: new Date(),
          orderRef: orderId,
          orderMatch: 'matched',
          changeSeq: await nextChangeSeq(this.models, transaction),
        },
        { transaction },
      );
    }
    // The hospital asked for confidentiality: the row is restricted before anyone lists it.
    if (request.confidential) await restrictStudyFrom(this.models, study, 'order', transaction);
    await Order.create(
      {
        id: orderId,
        patientRef,
        studyRef: study.get('id'),
        placerNamespace: request.placerNamespace,
        placerOrderNumber: request.placerOrderNumber,
        accessionNumber: request.accessionNumber,
        status: arrived ? 'arrived' : 'scheduled',
        ...orderValues(request),
      },
      { transaction },
    );
    return this.appliedOf(orderId, request, study.get('studyInstanceUid'));
  }

  private async update(
    request: OrderRequest,
    event: OrderEvent,
    patientRef: string,
    transaction: Transaction,
  ): Promise<AppliedOrder | Refusal> {
    const { Order, Study } = this.models;
    const order = await Order.findOne({
      where: { placerNamespace: request.placerNamespace, placerOrderNumber: request.placerOrderNumber },
      transaction,
    });
    if (!order) return { errorCode: '204', reason: `order '${request.placerOrderNumber}' is not known here` };
    if (order.get('patientRef') !== patientRef) {
      return { errorCode: '204', reason: `order '${request.placerOrderNumber}' belongs to another patient` };
    }
    const transition = orderTransition(order.get('status'), event);
    if (!transition.ok) return { errorCode: '207', reason: transition.message };
    const study = order.get('studyRef') ? await Study.findByPk(order.get('studyRef')!, { transaction }) : null;
    const scheduledRow = study && study.get('status') === 'scheduled' ? study : null;
    const changes: Partial<OrderRow> = { status: transition.to, version: order.get('version') + 1 };
    if (event === 'change') Object.assign(changes, orderValues(request));
    await order.update(changes, { transaction });
    if (study && event === 'change' && request.confidential) await restrictStudyFrom(this.models, study, 'order', transaction);
    if (scheduledRow && event === 'change') {
      const values = scheduledStudyValues(request);
      await scheduledRow.update(
        {
          ...values,
          searchText: studySearchText({ ...scheduledRow.get(), description: values.description }),
          ...(await studyChangeStamp(this.models, scheduledRow.get(), transaction)),
        },
        { transaction },
      );
    }
    if (scheduledRow && event === 'cancel') {
      await scheduledRow.update(await studyChangeStamp(this.models, scheduledRow.get(), transaction), { transaction });
      await scheduledRow.destroy({ transaction });
    }
    return this.appliedOf(order.get('id'), request, study?.get('studyInstanceUid') ?? null);
  }

  private appliedOf(orderId: string, request: OrderRequest, studyUid: string | null): AppliedOrder {
    return {
      orderId,
      placerOrderNumber: request.placerOrderNumber,
      accessionNumber: request.accessionNumber,
      action: request.action,
      studyUid,
    };
  }
}
