/**
 * Palette colour lookup tables sent as bulk data. Orthanc's WADO-RS metadata gives
 * the Red/Green/Blue Palette Color Lookup Table Data (0028,1201-1203) as a BulkDataURI (or, from other
 * servers, InlineBinary), but the DICOM image loader reads only a `Value` array there: it then throws
 * "does not have a complete color palette" inside its loader and the viewport never leaves "Loading".
 * Before a PALETTE COLOR frame is loaded, the tables are fetched once per instance and written into the
 * metadata element in place (so every frame's metadata, which shares the element, sees them).
 */
import type { DicomJson, DicomJsonElement } from '../dicom-json';

export const PALETTE_DATA_TAGS = ['00281201', '00281202', '00281203'] as const;

/** Palette tables that still need their entries (a BulkDataURI or InlineBinary without a Value). */
export function pendingPaletteData(instance: DicomJson | undefined): DicomJsonElement[] {
  if (!instance) return [];
  const photometric = instance['00280004']?.Value?.[0];
  if (typeof photometric !== 'string' || photometric.trim() !== 'PALETTE COLOR') return [];
  return PALETTE_DATA_TAGS.map((tag) => instance[tag]).filter(
    (e): e is DicomJsonElement => !!e && !(Array.isArray(e.Value) && e.Value.length > 0) && !!(e.BulkDataURI || e.InlineBinary),
  );
}

/** 16-bit little-endian lookup table entries (PS3.3 C.7.6.3.1.6: one entry per 16-bit word). */
export function lutEntries(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 1 < bytes.byteLength; i += 2) out.push(view.getUint16(i, true));
  return out;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Fills each pending table's `Value` (in place). `fetchBulk` answers the bytes behind a BulkDataURI. */
export async function resolvePaletteData(instance: DicomJson | undefined, fetchBulk: (uri: string) => Promise<Uint8Array>): Promise<void> {
  await Promise.all(
    pendingPaletteData(instance).map(async (element) => {
      const bytes = element.InlineBinary ? base64Bytes(element.InlineBinary) : await fetchBulk(element.BulkDataURI!);
      element.Value = lutEntries(bytes);
      element.vr ??= 'OW';
    }),
  );
}
