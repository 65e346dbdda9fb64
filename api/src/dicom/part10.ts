/**
 * Writing DICOM files (Part 10) the API produces itself — modality worklist items, signed reports
 * for the archive — with dcmjs, from naturalized datasets (keyword → value).
 */
import { createRequire } from 'node:module';

// dcmjs ships no type declarations: the entry points used here.
interface Dcmjs {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** This implementation's UID in every file meta header it writes. */
const IMPLEMENTATION_CLASS_UID = '2.25.229463578917305627312424003958317213421';

/** DICOM DA (YYYYMMDD) of a local date. */
export function da(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`;
}

/** DICOM TM (HHMMSS) of a local time. */
export function tm(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** A UID under the 2.25 root (ITU-T X.667) from 128 random or derived bits, written as hex. */
export function uidFromHex(hex128: string): string {
  return `2.25.${BigInt(`0x${hex128.slice(0, 32)}`).toString()}`;
}

/** Drops undefined values, in sequences too, so optional attributes are simply absent. */
function defined(dataset: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(dataset)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [
        key,
        Array.isArray(value) &&
        value.every((item) => item && typeof item === 'object' && !ArrayBuffer.isView(item) && !(item instanceof ArrayBuffer))
          ? value.map((item) => defined(item as Record<string, unknown>))
          : value,
      ]),
  );
}

/** A Part 10 file, explicit VR little endian, of `dataset` whose SOP class and instance are given. */
export function writePart10(sopClassUid: string, sopInstanceUid: string, dataset: Record<string, unknown>): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
  };
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(defined(dataset));
  return Buffer.from(dict.write());
}
