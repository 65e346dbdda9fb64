/**
 * JPEG-LS colour frames coded without interleave (ILV 0: one scan per component). DCMTK and the
 * standard decoders return such a frame component after component (planar), but the DICOM image
 * loader converts the decoded bytes by the file's Planar Configuration, which JPEG-LS files carry as 0
 * (pixel-interleaved): the image then shows as three gray tiles (pydicom-data/JLSN_RGB_ILV0.dcm).
 * `jpegLsPlanar` reads the codestream header; when it is planar, the frame is decoded with Planar
 * Configuration 1.
 */
export const JPEG_LS = new Set(['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81']);

/** True when a JPEG-LS codestream has several components and its first scan carries only one (ILV 0). */
export function jpegLsPlanar(codestream: Uint8Array): boolean {
  let components = 0;
  for (let i = 0; i + 4 < codestream.length; ) {
    if (codestream[i] !== 0xff) return false;
    const marker = codestream[i + 1]!;
    if (marker === 0xd8) {
      i += 2;
      continue;
    }
    const length = (codestream[i + 2]! << 8) | codestream[i + 3]!;
    if (marker === 0xf7) components = codestream[i + 9] ?? 0; // SOF55: Ls P Y X Nf
    if (marker === 0xda) {
      const inScan = codestream[i + 4]!;
      const ilv = codestream[i + 4 + 1 + inScan * 2 + 1];
      return components > 1 && inScan === 1 && ilv === 0;
    }
    i += 2 + length;
  }
  return false;
}
