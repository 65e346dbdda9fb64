/** Character sets and the Part 10 writer of the generated files (Explicit VR Little Endian). */
import { createRequire } from 'node:module';
import type { CharacterSet } from './types';

// dcmjs ships no type declarations: the few entry points used here are typed below.
interface DcmjsWriteStream {
  writeAsciiString(value: string): unknown;
  writeUTF8String(value: string): unknown;
}
interface Dcmjs {
  data: {
    DicomDict: new (
      meta: Record<string, unknown>,
    ) => { dict: Record<string, unknown>; write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
    WriteBufferStream: { prototype: DcmjsWriteStream };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const IMPLEMENTATION_CLASS_UID = '2.25.207473390738430926396343547302370312345';
export const IMPLEMENTATION_VERSION = 'PACS_DEMO_1';

function isAscii(text: string): boolean {
  for (const ch of text) if (ch.codePointAt(0)! > 0x7e) return false;
  return true;
}
function isLatin1(text: string): boolean {
  for (const ch of text) if (ch.codePointAt(0)! > 0xff) return false;
  return true;
}

/** Character set for a study: none for ASCII, ISO_IR 100 when asked and possible, else ISO_IR 192. */
export function characterSetFor(texts: string[], preferred?: CharacterSet): '' | CharacterSet {
  if (texts.every(isAscii)) return '';
  if (preferred === 'ISO_IR 100' && texts.every(isLatin1)) return 'ISO_IR 100';
  return 'ISO_IR 192';
}

/**
 * dcmjs always writes text as UTF-8. For ISO_IR 100 files, write each character as one Latin-1 byte
 * instead (writeAsciiString stores the low byte of each UTF-16 code unit, which is Latin-1 for ≤ U+00FF).
 */
export function writePart10(meta: Record<string, unknown>, dataset: Record<string, unknown>, latin1: boolean): Buffer {
  const { DicomDict, DicomMetaDictionary, WriteBufferStream } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const proto = WriteBufferStream.prototype;
  const original = proto.writeUTF8String;
  if (latin1) {
    proto.writeUTF8String = function (this: DcmjsWriteStream, value: string) {
      return this.writeAsciiString(value);
    };
  }
  try {
    return Buffer.from(dict.write());
  } finally {
    proto.writeUTF8String = original;
  }
}
