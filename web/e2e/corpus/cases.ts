/** Which corpus files the check renders, their references and tolerances. */
import path from 'node:path';
import { readManifest } from '@pacs/test-kit/corpus';

// ---------------------------------------------------------------------------------------------
// The corpus

export { type CorpusFile as ManifestRow, corpusDir, readManifest } from '@pacs/test-kit/corpus';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jlsLossless: '1.2.840.10008.1.2.4.80',
  jlsNearLossless: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kRpclLossless: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rle: '1.2.840.10008.1.2.5',
  deflatedFrame: '1.2.840.10008.1.2.8.1',
} as const;

/**
 * Syntaxes whose pixels DCMTK 3.6.7 cannot decode, and the decoder that makes their reference instead
 * (j2k-references.ts). Deflated Image Frame Compression (2023) has none here (GDCM 3.0.21 cannot read it
 * either): its twin is its only reference.
 */
const OTHER_DECODER: Record<string, 'gdcm' | 'openjpeg' | null> = {
  [TS.j2kLossless]: 'gdcm',
  [TS.j2k]: 'gdcm',
  // GDCM 3.0.21 cannot read HTJ2K; OpenJPEG 2.5.0 can.
  [TS.htj2kLossless]: 'openjpeg',
  [TS.htj2kRpclLossless]: 'openjpeg',
  [TS.htj2k]: 'openjpeg',
  [TS.deflatedFrame]: null,
};
/** Lossy syntaxes: decoders may round differently, so the tolerance is wider (see {@link tolerance}). */
export const LOSSY = new Set<string>([TS.jpegBaseline, TS.jpegExtended, TS.jlsNearLossless, TS.j2k, TS.htj2k]);

/**
 * Twins in the corpus (the same image in an encoding DCMTK decodes; from the corpus README), compared
 * besides the decoder's reference: the J2K references come from OpenJPEG inside GDCM, the viewer's J2K
 * decoder is OpenJPEG too, and a twin is the one reference no J2K decoder made. `lossy` marks a pair
 * where one side is lossy.
 */
export const TWINS: Record<string, { twin: string; lossy: boolean }> = {
  'mr-transfer-syntaxes/9.dcm': { twin: 'mr-transfer-syntaxes/1.dcm', lossy: false },
  'pydicom/MR_small_jp2klossless.dcm': { twin: 'pydicom/MR_small.dcm', lossy: false },
  'pydicom-data/emri_small_jpeg_2k_lossless.dcm': { twin: 'pydicom-data/emri_small.dcm', lossy: false },
  'pydicom-data/liver_deflate.dcm': { twin: 'pydicom-data/liver.dcm', lossy: false },
  // NEMA WG04 NM1: J2K lossy vs the JPEG lossless encoding of the same image.
  'pydicom/JPEG2000.dcm': { twin: 'pydicom-data/JPEG-LL.dcm', lossy: true },
};

/**
 * Lossy vs lossless encodings of one image, both decoded by the viewer (no DCMTK-decodable twin exists).
 * Each side has its own decoder reference; this adds the check that the lossy codestream shows the same
 * image as the lossless one, which a fault shared by the viewer's decoder and the reference's would miss
 * (for JPEG 2000 both are OpenJPEG).
 */
export const VIEWER_TWINS: Record<string, { twin: string; lossy: boolean }> = {
  'pydicom-data/HTJ2K_08_RGB.dcm': { twin: 'pydicom-data/HTJ2KLossless_08_RGB.dcm', lossy: true },
  'pydicom-data/US1_J2KI.dcm': { twin: 'pydicom/examples_jpeg2k.dcm', lossy: true },
  'pydicom-data/RG3_J2KI.dcm': { twin: 'pydicom-data/RG3_J2KR.dcm', lossy: true },
};

/**
 * Valid image files without any pixel reference: rendered and checked non-blank only. Empty: every file
 * has one (DCMTK, GDCM or OpenJPEG, or a twin). A file that cannot get one goes here, with the reason.
 */
export const NO_REFERENCE: ReadonlySet<string> = new Set<string>();

/**
 * Files the viewer does not render like the reference yet (reported; the test is `it.fails`, so it
 * turns red once fixed and the entry can go).
 */
export const KNOWN_DEFECTS: Record<string, string> = {};

/**
 * What a frame is compared with. `dcmtk`: DCMTK's rendering of the file itself; `gdcm`: DCMTK's
 * rendering of GDCM's uncompressed copy of it; `openjpeg`: OpenJPEG's decoding of it (8-bit colour);
 * `twin`: DCMTK's rendering of the same image in another file.
 */
export interface Reference {
  via: 'dcmtk' | 'gdcm' | 'openjpeg' | 'twin';
  /** The file the reference is made from: the case's own file, or its twin. */
  file: string;
  /** Lossy tolerance: the file (or, for a twin, one side of the pair) is lossy. */
  lossy: boolean;
}

/** How a reference is named in test titles and the report. */
export function referenceLabel(ref: Reference): string {
  return ref.via === 'twin' ? `twin ${path.basename(ref.file)}` : ref.via;
}

export interface Case {
  /** Corpus-relative path (or a generated file's name). */
  name: string;
  file: string;
  transferSyntaxUid: string;
  transferSyntax: string;
  sopUid: string;
  frames: number;
  /** Every reference this file is compared with (each within its own tolerance); empty when there is none. */
  references: Reference[];
  /** Another case whose viewer rendering this one is compared with (see VIEWER_TWINS). */
  viewerTwin?: { name: string; lossy: boolean };
  lossy: boolean;
}

/** A file's own reference: DCMTK's rendering, else the independent decoder's for its syntax (if any). */
export function ownReference(file: string, transferSyntaxUid: string, lossy: boolean): Reference[] {
  const decoder = OTHER_DECODER[transferSyntaxUid];
  if (decoder === undefined) return [{ via: 'dcmtk', file, lossy }];
  return decoder ? [{ via: decoder, file, lossy }] : [];
}

/**
 * Every valid file with pixel data that a radiologist would open (DICOMDIRs, RT plans and SR have
 * none). SEG and RT Dose objects are included: they are images too, and the viewer must at least show
 * them or say it cannot.
 */
export function corpusCases(dir: string): Case[] {
  const rows = readManifest(dir).filter((r) => !r.invalid && r.size !== '' && !/DICOMDIR/.test(r.path));
  return rows.map((r) => {
    const lossy = LOSSY.has(r.transferSyntaxUid);
    const file = path.join(dir, r.path);
    const twin = TWINS[r.path];
    const viewerTwin = VIEWER_TWINS[r.path];
    const references = ownReference(file, r.transferSyntaxUid, lossy);
    if (twin) references.push({ via: 'twin', file: path.join(dir, twin.twin), lossy: twin.lossy });
    return {
      name: r.path,
      file,
      transferSyntaxUid: r.transferSyntaxUid,
      transferSyntax: r.transferSyntax,
      sopUid: r.sopUid,
      frames: Math.max(1, r.frames),
      references,
      viewerTwin: viewerTwin ? { name: viewerTwin.twin, lossy: viewerTwin.lossy } : undefined,
      lossy,
    };
  });
}

/** Intentionally invalid corpus files tried as undecodable (Orthanc refuses most of them at upload). */
export const UNDECODABLE_CANDIDATES = [
  'invalid/emri_small_jpeg_2k_lossless_too_short.dcm',
  'invalid/JPEG2000-embedded-sequence-delimiter.dcm',
  'invalid/made_truncated_pixeldata_ct.dcm',
  'invalid/made_random_bytes.dcm',
];

// ---------------------------------------------------------------------------------------------
// Tolerance

/**
 * Lossless: at most 0.2 % of the compared pixels more than 2 levels (of 255) outside the 2×2 reference
 * neighbourhood (rounding of a floating-point VOI on the GPU vs DCMTK's integer LUT; the few beyond sit
 * on sharp edges: burnt-in text, palette borders), none more than 8, mean distance from the bilinear
 * reference under 2 levels. Lossy (different decoders, or lossy vs lossless twin): at most 5 % of the
 * pixels more than 12 levels outside, mean distance under 6 levels.
 */
export function tolerance(lossy: boolean): { maxExcess: number; outlierLevel: number; maxOutlierFraction: number; maxMean: number } {
  return lossy
    ? { maxExcess: 255, outlierLevel: 12, maxOutlierFraction: 0.05, maxMean: 6 }
    : { maxExcess: 8, outlierLevel: 2, maxOutlierFraction: 0.002, maxMean: 2 };
}
