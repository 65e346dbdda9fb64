/**
 * WADO-RS metadata fixes applied before the DICOM image loader sees an instance.
 * Each one is a file that exists in the wild and made the loader throw inside its metadata provider,
 * which leaves the viewport loading for ever. Pure function, returns a copy; the original is untouched.
 */
import type { DicomJson } from '../dicom-json';

/**
 * - Modality (0008,0060) absent or empty (codec test files, some secondary captures): the loader's
 *   NM checks call `modality.includes('NM')` on undefined. An empty value is what the file says.
 */
export function normalizeForImageLoader(instance: DicomJson): DicomJson {
  let out = instance;
  const modality = instance['00080060'];
  if (!(modality?.Value && modality.Value.length > 0 && typeof modality.Value[0] === 'string'))
    out = { ...out, '00080060': { vr: 'CS', Value: [''] } };
  // - VOI LUT Function (0028,1056) LINEAR, the default: with it present, Cornerstone 5.14's stack viewport
  //   threw "Invalid VOI LUT function" while rendering (tcia-samples/mr_prostate-mri_0022.dcm) and the
  //   image never showed. Absent means LINEAR (PS3.3 C.11.2.1.3), so it is dropped; so is a value
  //   Cornerstone does not know (it would throw the same way); SIGMOID and LINEAR_EXACT are kept.
  const fn = instance['00281056'];
  if (fn) {
    const value = String(fn.Value?.[0] ?? '')
      .trim()
      .toUpperCase();
    if (value !== 'SIGMOID' && value !== 'LINEAR_EXACT') {
      const { '00281056': _dropped, ...rest } = out;
      out = rest;
    }
  }
  return out;
}
