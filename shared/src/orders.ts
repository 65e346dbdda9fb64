/**
 * Orders from the hospital (HL7 ORM^O01 / OMI^O23): the order's own state machine, what each HL7
 * order-control code asks of it, and the priority an order gives its worklist entry. Pure data
 * and functions, as the study and report machines in workflow.ts are.
 *
 * An order is `scheduled` (on the worklist and the modality worklist before any image exists),
 * `on_hold`, `cancelled` (gone from both) or `arrived` (images came in and the scheduled entry
 * became the study). Only the hospital moves an order, except `images-arrived`, which ingestion
 * does: both are the `system` actor.
 */
import type { StudyPriority } from './workflow';

export const ORDER_STATUSES = ['scheduled', 'on_hold', 'cancelled', 'arrived'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export type OrderEvent = 'change' | 'cancel' | 'hold' | 'release' | 'images-arrived';

export interface OrderTransition {
  readonly from: OrderStatus;
  readonly event: OrderEvent;
  readonly to: OrderStatus;
}

export const ORDER_TRANSITIONS: readonly OrderTransition[] = [
  { from: 'scheduled', event: 'change', to: 'scheduled' },
  { from: 'on_hold', event: 'change', to: 'on_hold' },
  { from: 'scheduled', event: 'cancel', to: 'cancelled' },
  { from: 'on_hold', event: 'cancel', to: 'cancelled' },
  { from: 'scheduled', event: 'hold', to: 'on_hold' },
  { from: 'on_hold', event: 'release', to: 'scheduled' },
  { from: 'scheduled', event: 'images-arrived', to: 'arrived' },
  { from: 'on_hold', event: 'images-arrived', to: 'arrived' },
];

export type OrderTransitionResult = { readonly ok: true; readonly to: OrderStatus } | { readonly ok: false; readonly message: string };

export function orderTransition(from: OrderStatus, event: OrderEvent): OrderTransitionResult {
  const match = ORDER_TRANSITIONS.find((t) => t.from === from && t.event === event);
  return match
    ? { ok: true, to: match.to }
    : { ok: false, message: `'${event}' is not possible for an order that is ${from.replace('_', ' ')}` };
}

/**
 * Whether a worklist row has its order: `matched`; `unmatched` (images came without one where orders
 * are received, for a person to reconcile); `unordered` (a person confirmed it needs none); '' where
 * no orders are received at all.
 */
export const ORDER_MATCHES = ['', 'matched', 'unmatched', 'unordered'] as const;
export type OrderMatch = (typeof ORDER_MATCHES)[number];

/** On the worklist and the modality worklist: a procedure still to be performed. */
export function isOrderPending(status: OrderStatus): boolean {
  return status === 'scheduled' || status === 'on_hold';
}

/**
 * HL7 table 0119 order-control codes a filler (the PACS) accepts, and what each asks: a new order,
 * or an event on an existing one. Anything else is answered with an error naming the code.
 */
export const HL7_ORDER_CONTROL: Readonly<Record<string, 'new' | OrderEvent>> = {
  NW: 'new',
  XO: 'change',
  SC: 'change',
  CA: 'cancel',
  OC: 'cancel',
  DC: 'cancel',
  OD: 'cancel',
  HD: 'hold',
  RL: 'release',
};

/**
 * HL7 priority (TQ1-9, or the sixth component of ORC-7 / OBR-27 before 2.5) → worklist priority.
 * S stat; A (as soon as possible), P (pre-op) and T (timing critical) are urgent; the rest routine.
 */
export function priorityFromHl7(code: string): StudyPriority {
  const first = code.trim().toUpperCase().charAt(0);
  if (first === 'S') return 'stat';
  if (first === 'A' || first === 'P' || first === 'T') return 'urgent';
  return 'routine';
}

/** HL7 v2 versions accepted on the inbound interface (MSH-12). */
export const HL7_VERSIONS = ['2.3', '2.3.1', '2.4', '2.5', '2.5.1'] as const;
