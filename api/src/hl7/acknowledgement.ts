/**
 * The acknowledgement every inbound message gets (original acknowledgement mode): AA accepted, AE
 * application error (the message was understood but not applied), AR rejected (not understood, or
 * not ours to process). The reason goes in MSA-3 and in ERR, where versions 2.3–2.4 read ERR-1 and
 * 2.5 on read ERR-3 (code) and ERR-8 (user message), so both are filled.
 */
import { formatHl7DateTime, Hl7Context, Hl7Message, Hl7Segment } from '@medplum/core';
import { escapeHl7, type MessageHeader } from './message-reader';

export type AckCode = 'AA' | 'AE' | 'AR';

export interface AckContent {
  code: AckCode;
  /** HL7 table 0357, e.g. 101 required field missing, 204 unknown key identifier, 207 application internal error. */
  errorCode?: string;
  reason?: string;
}

export interface Responder {
  application: string;
  facility: string;
}

/** Text of the ERR-3 / ERR-1 error code for table 0357's codes we send. */
const ERROR_NAMES: Readonly<Record<string, string>> = {
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
};

let sequence = 0;

/** Our control id for an ACK: unique per process and time, at most 20 characters. */
function ackControlId(now: Date): string {
  sequence = (sequence + 1) % 100_000;
  return `A${now.getTime().toString(36)}${sequence.toString(36).padStart(4, '0')}`.slice(0, 20);
}

/**
 * The ACK for a message. `to` is the message as parsed (null when it did not parse: then the ACK
 * names no control id and uses the default delimiters).
 */
export function acknowledgement(
  to: { message: Hl7Message | null; header: Partial<MessageHeader> },
  content: AckContent,
  responder: Responder,
): Hl7Message {
  const context = to.message?.context ?? new Hl7Context();
  const esc = (value: string) => escapeHl7(value, context);
  const now = new Date();
  const header = to.header;
  const version = header.version && header.version.length <= 8 ? header.version : '2.5.1';
  const messageType = header.triggerEvent
    ? `ACK${context.componentSeparator}${esc(header.triggerEvent)}${context.componentSeparator}ACK`
    : 'ACK';
  const msh = new Hl7Segment(
    [
      'MSH',
      // MSH-1 is the separator itself: the segment writes it when it joins the fields.
      context.getMsh2(),
      esc(responder.application),
      esc(responder.facility),
      esc(header.sendingApplication ?? ''),
      esc(header.sendingFacility ?? ''),
      formatHl7DateTime(now),
      '',
      messageType,
      ackControlId(now),
      esc(header.processingId || 'P'),
      esc(version),
    ],
    context,
  );
  const reason = (content.reason ?? '').slice(0, 300);
  const msa = new Hl7Segment(['MSA', content.code, esc(header.controlId ?? ''), esc(reason)], context);
  const segments = [msh, msa];
  if (content.code !== 'AA') {
    const code = content.errorCode ?? '207';
    const name = esc(ERROR_NAMES[code] ?? 'Error');
    const codeName = [code, name, 'HL70357'].join(context.componentSeparator);
    // ERR-1 (2.3–2.4: segment^sequence^field^code, the code's parts as subcomponents) empty but for
    // the code; ERR-3 the code, ERR-4 severity, ERR-8 the message for a person.
    const legacy = `${context.componentSeparator.repeat(3)}${[code, name, 'HL70357'].join(context.subcomponentSeparator)}`;
    segments.push(new Hl7Segment(['ERR', legacy, '', codeName, 'E', '', '', '', esc(reason)], context));
  }
  return new Hl7Message(segments, context);
}
