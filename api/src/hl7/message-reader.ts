/**
 * From the bytes of one MLLP frame to a parsed HL7 v2 message (parsed by @medplum/core's
 * Hl7Message, not by us). What is ours: the character set (MSH-18, read from the raw bytes before
 * decoding, since the delimiters and MSH-18 itself are ASCII), the header checks every inbound
 * message must pass before anything acts on it, and HL7 escape sequences in field values.
 *
 * Untrusted input: every value read here comes from the network.
 */

import { type Hl7Context, Hl7Message, type Hl7Segment } from '@medplum/core';
import { HL7_VERSIONS } from '@pacs/shared';
import iconv from 'iconv-lite';

/** HL7 table 0211 (MSH-18) → the decoder's name. ISO IR 87 (ISO-2022-JP) has no decoder here. */
const CHARSETS: Readonly<Record<string, string>> = {
  ASCII: 'ascii',
  '8859/1': 'latin1',
  '8859/2': 'iso-8859-2',
  '8859/5': 'iso-8859-5',
  '8859/7': 'iso-8859-7',
  '8859/9': 'iso-8859-9',
  '8859/15': 'iso-8859-15',
  'UNICODE UTF-8': 'utf8',
  'UTF-8': 'utf8',
  'GB 18030-2000': 'gb18030',
  'KS X 1001': 'euc-kr',
  'BIG-5': 'big5',
};

export interface MessageHeader {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-9.1 and MSH-9.2, e.g. ORM and O01. */
  messageCode: string;
  triggerEvent: string;
  controlId: string;
  processingId: string;
  version: string;
}

export type ReadOutcome =
  | { readonly ok: true; readonly message: Hl7Message; readonly header: MessageHeader; readonly text: string; readonly charset: string }
  | {
      readonly ok: false;
      /** HL7 table 0357 error code, e.g. 100 segment sequence, 101 required field missing, 203 unsupported version. */
      readonly errorCode: string;
      readonly reason: string;
      readonly text: string;
      readonly charset: string;
      /** The message when it parsed far enough to be answered by its control id. */
      readonly message: Hl7Message | null;
      /** What its header says, as far as it was read (empty when it did not parse). */
      readonly header: Partial<MessageHeader>;
    };

/** Decodes a frame: MSH-18's character set; without one, UTF-8 if the bytes are valid UTF-8, else `fallback`. */
export function decodeFrame(frame: Buffer, fallback: string): { text: string; charset: string; known: boolean } {
  const declared = declaredCharset(frame);
  if (declared !== '') {
    const name = CHARSETS[declared.toUpperCase()];
    if (!name) return { text: frame.toString('latin1'), charset: declared, known: false };
    return { text: iconv.decode(frame, name), charset: name, known: true };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(frame), charset: 'utf8', known: true };
  } catch {
    return { text: iconv.decode(frame, fallback), charset: fallback, known: true };
  }
}

export function encodeText(text: string, charset: string): Buffer {
  return iconv.encodingExists(charset) ? iconv.encode(text, charset) : Buffer.from(text, 'latin1');
}

/** MSH-18 from the raw bytes: MSH's fields are ASCII, so a byte-for-byte read finds it in any charset. */
function declaredCharset(frame: Buffer): string {
  const end = frame.findIndex((byte) => byte === 0x0d || byte === 0x0a);
  const msh = frame.subarray(0, end === -1 ? frame.length : end).toString('latin1');
  if (!msh.startsWith('MSH') || msh.length < 4) return '';
  const fields = msh.split(msh.charAt(3));
  // fields[0] is "MSH" and MSH-1 is the separator itself, so MSH-n is fields[n - 1].
  return (fields[17] ?? '').split(msh.charAt(4) || '^')[0]!.trim();
}

/** MSH-1 and MSH-2: a separator that is not a letter or digit, four distinct encoding characters. */
function delimitersValid(text: string): boolean {
  const delimiters = text.slice(3, 8);
  if (delimiters.length < 5 || /[A-Za-z0-9\s]/.test(delimiters)) return false;
  return new Set(delimiters).size === 5 && text.charAt(8) === delimiters.charAt(0);
}

export function readMessage(frame: Buffer, fallbackCharset: string): ReadOutcome {
  const { text, charset, known } = decodeFrame(frame, fallbackCharset);
  const refuse = (errorCode: string, reason: string, parsed?: { message: Hl7Message; header: MessageHeader }): ReadOutcome => ({
    ok: false,
    errorCode,
    reason,
    text,
    charset,
    message: parsed?.message ?? null,
    header: parsed ? { ...parsed.header, controlId: parsed.header.controlId.slice(0, 64) } : {},
  });
  if (!text.startsWith('MSH')) return refuse('100', 'the message does not start with an MSH segment');
  if (!delimitersValid(text)) return refuse('102', 'MSH-1/MSH-2 do not hold a field separator and four distinct encoding characters');
  if (text.includes('\u0000')) return refuse('102', 'the message contains a NUL character');
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(text.replace(/\r\n?|\n/g, '\r'));
  } catch {
    return refuse('100', 'the message could not be parsed');
  }
  const msh = message.header;
  const field = (n: number, component = 1) => fieldText(msh, n, component);
  const header: MessageHeader = {
    sendingApplication: field(3),
    sendingFacility: field(4),
    receivingApplication: field(5),
    receivingFacility: field(6),
    messageCode: field(9, 1).toUpperCase(),
    triggerEvent: field(9, 2).toUpperCase(),
    controlId: field(10),
    processingId: field(11),
    version: field(12),
  };
  if (header.controlId === '') return refuse('101', 'MSH-10 (message control id) is missing');
  if (header.controlId.length > 64) return refuse('102', 'MSH-10 (message control id) is longer than 64 characters', { message, header });
  if (!known) return refuse('103', `MSH-18: character set '${charset.slice(0, 40)}' is not supported`, { message, header });
  if (header.messageCode === '' || header.triggerEvent === '') return refuse('101', 'MSH-9 (message type) is missing', { message, header });
  if (header.processingId === '') return refuse('101', 'MSH-11 (processing id) is missing', { message, header });
  if (!(HL7_VERSIONS as readonly string[]).includes(header.version)) {
    return refuse('203', `MSH-12: version '${header.version.slice(0, 20)}' is not supported (${HL7_VERSIONS.join(', ')})`, {
      message,
      header,
    });
  }
  return { ok: true, message, header, text, charset };
}

/**
 * A field's component (1-based, as HL7 numbers them) of one repetition (0-based), or one of its
 * subcomponents (0-based), as text: escapes undone, trimmed. Empty when absent.
 */
export function fieldText(segment: Hl7Segment | undefined, field: number, component = 1, repetition = 0, subcomponent?: number): string {
  if (!segment) return '';
  const raw = segment.getField(field)?.getComponent(component, subcomponent, repetition) ?? '';
  return unescapeHl7(raw, segment.context).trim();
}

/** MSH-9 as one string, `ORM^O01`; empty when the header was not read. */
export function messageTypeOf(header: Partial<MessageHeader>): string {
  return header.messageCode ? `${header.messageCode}^${header.triggerEvent ?? ''}` : '';
}

/** How many repetitions a field has (0 when absent). */
export function repetitionsOf(segment: Hl7Segment | undefined, field: number): number {
  if (!segment) return 0;
  const value = segment.getField(field);
  return value ? value.components.length : 0;
}

/**
 * HL7 escape sequences in a value: \F\ \S\ \T\ \R\ \E\ are the delimiters, \Xhh..\ bytes (read as
 * Latin-1), \.br\ a line break; highlighting and character-set switches are dropped.
 */
export function unescapeHl7(value: string, context: Hl7Context): string {
  const escapeChar = context.escapeCharacter;
  if (!value.includes(escapeChar)) return value;
  const pattern = new RegExp(`${regexEscape(escapeChar)}([^${regexEscape(escapeChar)}]*)${regexEscape(escapeChar)}`, 'g');
  return value.replace(pattern, (_whole, code: string) => {
    switch (code) {
      case 'F':
        return context.fieldSeparator;
      case 'S':
        return context.componentSeparator;
      case 'T':
        return context.subcomponentSeparator;
      case 'R':
        return context.repetitionSeparator;
      case 'E':
        return escapeChar;
      case '.br':
        return '\n';
      default:
        if (/^X([0-9A-Fa-f]{2})+$/.test(code)) return Buffer.from(code.slice(1), 'hex').toString('latin1');
        return '';
    }
  });
}

/** Our own text going into a field: delimiters written as their escape sequences. */
export function escapeHl7(value: string, context: Hl7Context): string {
  const escapeChar = context.escapeCharacter;
  const map: Record<string, string> = {
    [escapeChar]: `${escapeChar}E${escapeChar}`,
    [context.fieldSeparator]: `${escapeChar}F${escapeChar}`,
    [context.componentSeparator]: `${escapeChar}S${escapeChar}`,
    [context.subcomponentSeparator]: `${escapeChar}T${escapeChar}`,
    [context.repetitionSeparator]: `${escapeChar}R${escapeChar}`,
  };
  return Array.from(value.replace(/[\r\n]+/g, ' '), (ch) => map[ch] ?? ch).join('');
}

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
