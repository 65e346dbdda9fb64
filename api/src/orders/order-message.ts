/**
 * What an ORM^O01 or OMI^O23 asks for, read into plain values: the patient, and one request per
 * ORC group (order control, placer and filler numbers, accession, procedure, priority, schedule,
 * physicians, why it was ordered). Versions 2.3–2.5.1 put some of these in different places
 * (priority in ORC-7 / OBR-27 before TQ1 existed; the accession in OBR-18 before IPC-1, the
 * study UID in IHE's ZDS-1 before IPC-3): each is read from the newest place first.
 */

import type { Hl7Message, Hl7Segment } from '@medplum/core';
import { HL7_ORDER_CONTROL, type OrderEvent, priorityFromHl7, type StudyPriority } from '@pacs/shared';
import { fieldText, type MessageHeader } from '../hl7/message-reader';
import { demographicsFromPid, type PatientDemographics, personNameFromXcn } from '../patients/patient-identity';

export interface OrderRequest {
  /** ORC-1 as read, and what it asks. */
  orderControl: string;
  action: 'new' | OrderEvent;
  placerNamespace: string;
  placerOrderNumber: string;
  fillerOrderNumber: string;
  accessionNumber: string;
  /** A Study Instance UID the order already carries (IPC-3, ZDS-1), else empty. */
  studyInstanceUid: string;
  procedureCode: string;
  procedureText: string;
  modality: string;
  priority: StudyPriority;
  scheduledAt: Date | null;
  scheduledStationAet: string;
  orderingPhysician: string;
  /** XCN.1 of the same field the name came from. */
  orderingPhysicianId: string;
  referringPhysician: string;
  reasonForExam: string;
  clinicalHistory: string;
  /** The order asks for the patient's data to be restricted (ORC-28 or PV1-16; see confidentialityOf). */
  confidential: boolean;
}

export type OrderMessageReading =
  | { readonly ok: true; readonly patient: PatientDemographics; readonly requests: OrderRequest[] }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string };

interface OrderGroup {
  orc: Hl7Segment;
  obr?: Hl7Segment;
  tq1?: Hl7Segment;
  ipc?: Hl7Segment;
  zds?: Hl7Segment;
  dg1?: Hl7Segment;
  notes: string[];
}

const UID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** HL7 TS (YYYYMMDD[HHMM[SS]]) → a Date in the server's time zone; null when absent or not a date. */
export function hl7Timestamp(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(?:(\d{2}))?)?/.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number(part ?? 0));
  const date = new Date(year!, month! - 1, day!, hour, minute, second);
  return Number.isNaN(date.getTime()) || date.getMonth() !== month! - 1 ? null : date;
}

function groupsOf(message: Hl7Message): OrderGroup[] {
  const groups: OrderGroup[] = [];
  for (const segment of message.segments) {
    if (segment.name === 'ORC') {
      groups.push({ orc: segment, notes: [] });
      continue;
    }
    const group = groups.at(-1);
    if (!group) continue;
    if (segment.name === 'OBR' && !group.obr) group.obr = segment;
    else if (segment.name === 'TQ1' && !group.tq1) group.tq1 = segment;
    else if (segment.name === 'IPC' && !group.ipc) group.ipc = segment;
    else if (segment.name === 'ZDS' && !group.zds) group.zds = segment;
    else if (segment.name === 'DG1' && !group.dg1) group.dg1 = segment;
    else if (segment.name === 'NTE' && group.obr) group.notes.push(fieldText(segment, 3));
  }
  return groups;
}

/**
 * ORC-28 Confidentiality Code (HL7 table 0177: V very restricted, R restricted, VIP, PSY, HIV, EMP…)
 * restricts with any code but U (usual control) and N (normal); PV1-16 VIP Indicator (site table
 * 0099) with any value but N/NO. Deny by default: an unknown code restricts.
 */
export function confidentialityOf(orc: Hl7Segment, pv1: Hl7Segment | undefined): boolean {
  const code = fieldText(orc, 28, 1).trim().toUpperCase();
  const vip = fieldText(pv1, 16, 1).trim().toUpperCase();
  return (code !== '' && code !== 'U' && code !== 'N') || (vip !== '' && vip !== 'N' && vip !== 'NO');
}

function firstOf(...values: string[]): string {
  return values.find((value) => value !== '') ?? '';
}

function requestFrom(
  group: OrderGroup,
  header: MessageHeader,
  pv1: Hl7Segment | undefined,
): OrderRequest | { errorCode: string; reason: string } {
  const { orc, obr, tq1, ipc, zds, dg1 } = group;
  const orderControl = fieldText(orc, 1).toUpperCase();
  const action = HL7_ORDER_CONTROL[orderControl];
  if (!action) return { errorCode: '103', reason: `ORC-1: order control '${orderControl.slice(0, 8)}' is not supported` };
  const placerOrderNumber = firstOf(fieldText(orc, 2), fieldText(obr, 2));
  if (placerOrderNumber === '') return { errorCode: '101', reason: 'ORC-2 / OBR-2 (placer order number) is missing' };
  const fillerOrderNumber = firstOf(fieldText(orc, 3), fieldText(obr, 3));
  const accessionNumber = firstOf(fieldText(ipc, 1), fieldText(obr, 18), fillerOrderNumber);
  if (action === 'new' && accessionNumber === '') {
    return { errorCode: '101', reason: 'no accession number (IPC-1, OBR-18 or the filler order number)' };
  }
  if (accessionNumber.length > 16) return { errorCode: '102', reason: 'the accession number is longer than 16 characters (DICOM SH)' };
  if (action === 'new' && !obr) return { errorCode: '100', reason: 'a new order needs its OBR segment' };
  const uid = firstOf(fieldText(ipc, 3), fieldText(zds, 1));
  if (uid !== '' && (uid.length > 64 || !UID.test(uid)))
    return { errorCode: '102', reason: 'IPC-3 / ZDS-1 is not a valid Study Instance UID' };
  const orderingPhysician = firstOf(personNameFromXcn(orc, 12), personNameFromXcn(obr, 16));
  const orderingPhysicianId = (fieldText(orc, 12, 1) || fieldText(obr, 16, 1)).trim().slice(0, 64);
  const clinical = [fieldText(obr, 13), ...group.notes].filter((line) => line !== '').join('\n');
  return {
    orderControl,
    action,
    placerNamespace: firstOf(fieldText(orc, 2, 2), fieldText(obr, 2, 2), header.sendingApplication).slice(0, 64),
    placerOrderNumber: placerOrderNumber.slice(0, 64),
    fillerOrderNumber: fillerOrderNumber.slice(0, 64),
    accessionNumber,
    studyInstanceUid: uid,
    procedureCode: fieldText(obr, 4, 1).slice(0, 64),
    procedureText: firstOf(fieldText(obr, 4, 2), fieldText(obr, 4, 1)).slice(0, 256),
    modality: firstOf(fieldText(ipc, 5), fieldText(obr, 24)).toUpperCase().slice(0, 16),
    priority: priorityFromHl7(firstOf(fieldText(tq1, 9), fieldText(orc, 7, 6), fieldText(obr, 27, 6))),
    scheduledAt: hl7Timestamp(firstOf(fieldText(tq1, 7), fieldText(orc, 7, 4), fieldText(obr, 27, 4), fieldText(obr, 36))),
    scheduledStationAet: fieldText(ipc, 9).slice(0, 16),
    orderingPhysician,
    orderingPhysicianId,
    referringPhysician: firstOf(personNameFromXcn(pv1, 8), orderingPhysician),
    reasonForExam: firstOf(fieldText(obr, 31, 2), fieldText(obr, 31, 1), fieldText(dg1, 4), fieldText(dg1, 3, 2)).slice(0, 1024),
    clinicalHistory: clinical.slice(0, 8000),
    confidential: confidentialityOf(orc, pv1),
  };
}

export function readOrderMessage(message: Hl7Message, header: MessageHeader): OrderMessageReading {
  const patient = demographicsFromPid(message.getSegment('PID'));
  if (!patient) return { ok: false, errorCode: '101', reason: 'PID-3 (patient identifier) is missing' };
  const groups = groupsOf(message);
  if (groups.length === 0) return { ok: false, errorCode: '100', reason: 'the message has no ORC segment' };
  const pv1 = message.getSegment('PV1');
  const requests: OrderRequest[] = [];
  for (const group of groups) {
    const request = requestFrom(group, header, pv1);
    if ('errorCode' in request) return { ok: false, ...request };
    requests.push(request);
  }
  return { ok: true, patient, requests };
}
