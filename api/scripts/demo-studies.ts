/**
 * Synthetic but realistic DICOM studies for demos and tests (dcmjs, Part 10, Explicit VR Little Endian).
 *
 * - CT with plausible Hounsfield units (stored = HU + 1024, RescaleIntercept -1024): chest or head phantom.
 * - MR head (T1/T2-like contrasts), CR/DX chest, US multi-frame cine.
 * - Varied patients with accented names: ISO_IR 192 (UTF-8) where needed, some ISO_IR 100 (Latin-1).
 * - A priority hint in RequestedProcedurePriority (0040,1003): STAT, HIGH or ROUTINE.
 *
 * Deterministic: the same spec and seed give byte-identical files with the same UIDs. UIDs derive from
 * (seed, patient id, accession number) and the series index, so a spec with one more series appended
 * gives the same study with a new ("late") series, and regenerating a spec gives exact duplicates.
 *
 * CLI:
 *   tsx api/scripts/demo-studies.ts --orthanc http://user:pass@127.0.0.1:8042 --count 8 [--seed 1]
 *   tsx api/scripts/demo-studies.ts --out DIR --count 8
 * Without user:pass in the URL, PACS_ORTHANC_USER / PACS_ORTHANC_PASSWORD are used.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

export type Modality = 'CT' | 'MR' | 'CR' | 'DX' | 'US';
export type PriorityHint = 'STAT' | 'HIGH' | 'ROUTINE';
export type CharacterSet = 'ISO_IR 192' | 'ISO_IR 100';

export interface PatientSpec {
  /** DICOM PN, family^given, e.g. 'Müller^Zoë'. */
  name: string;
  id: string;
  /** YYYYMMDD or '' */
  birthDate: string;
  sex: 'M' | 'F' | 'O';
  /** Preferred character set when the name is not plain ASCII (forced to ISO_IR 192 when Latin-1 cannot hold it). */
  charset?: CharacterSet;
}

export interface SeriesSpec {
  modality: Modality;
  description: string;
  /** Number of instances (CT/MR slices, CR/DX images, US cine loops). */
  instances: number;
  /** Image size; defaults per modality (CT/MR 256, CR/DX 512, US 240×320). */
  rows?: number;
  columns?: number;
  /** US only: frames per instance (default 12). */
  frames?: number;
  /**
   * CT/MR only: PixelSpacing (0028,0030) as [row spacing (vertical), column spacing (horizontal)] in mm;
   * default square, the phantom's field of view / columns. The phantom is drawn in pixels either way.
   */
  pixelSpacing?: [number, number];
  /** CT only: phantom (default from the study description: 'HEAD' when it mentions head/brain/schädel). */
  bodyPart?: 'CHEST' | 'HEAD' | 'ABDOMEN';
}

export interface StudySpec {
  patient: PatientSpec;
  /** YYYYMMDD, may be '' (an odd but real-world case). */
  studyDate: string;
  /** HHMMSS */
  studyTime: string;
  accessionNumber: string;
  description: string;
  priority: PriorityHint;
  referringPhysician?: string;
  institution?: string;
  series: SeriesSpec[];
}

export interface GeneratedSeries {
  seriesInstanceUid: string;
  modality: Modality;
  description: string;
  seriesNumber: number;
  instances: number;
  sopInstanceUids: string[];
}

export interface GeneratedStudy {
  studyInstanceUid: string;
  patient: PatientSpec;
  /** Character set actually written ('' = default repertoire, ASCII only). */
  specificCharacterSet: '' | CharacterSet;
  spec: StudySpec;
  series: GeneratedSeries[];
  /** One Part 10 file per instance, in series order. */
  files: Buffer[];
}

// ---------------------------------------------------------------------------------------------
// Determinism helpers

/** mulberry32: small, fast, good enough for image noise and choices. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashSeed(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

/** A 2.25 UID (ISO/IEC 9834-8 UUID-derived form) from a hash of the parts: deterministic, ≤ 44 chars. */
export function deterministicUid(...parts: Array<string | number>): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
  return `2.25.${BigInt(`0x${hex}`).toString()}`;
}

const SOP_CLASSES: Record<Modality, string> = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CR: '1.2.840.10008.5.1.4.1.1.1',
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  US: '1.2.840.10008.5.1.4.1.1.3.1',
};
const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.207473390738430926396343547302370312345';
const IMPLEMENTATION_VERSION = 'PACS_DEMO_1';

// ---------------------------------------------------------------------------------------------
// Character sets

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
function writePart10(meta: Record<string, unknown>, dataset: Record<string, unknown>, latin1: boolean): Buffer {
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

// ---------------------------------------------------------------------------------------------
// Phantoms

function inEllipse(x: number, y: number, cx: number, cy: number, rx: number, ry: number): boolean {
  const dx = (x - cx) / rx;
  const dy = (y - cy) / ry;
  return dx * dx + dy * dy <= 1;
}

/** Gaussian-ish noise from the sum of 3 uniforms (mean 0, sd ≈ 1). */
function noise(rng: () => number): number {
  return (rng() + rng() + rng() - 1.5) * 2;
}

/** CT slice in HU. z in [0,1] runs through the volume. */
function ctSliceHu(size: number, z: number, bodyPart: 'CHEST' | 'HEAD' | 'ABDOMEN', rng: () => number): Int16Array {
  const hu = new Int16Array(size * size);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = -1000 + noise(rng) * 5; // air
      if (bodyPart === 'HEAD') {
        const r = 0.4 * size * Math.sqrt(Math.max(0.15, 1 - (z - 0.45) ** 2 * 2.2));
        if (inEllipse(x, y, c, c, r, r * 1.18)) {
          v = 30 + noise(rng) * 8; // scalp / soft tissue
          if (inEllipse(x, y, c, c, r * 0.93, r * 1.1)) v = 900 + noise(rng) * 60; // skull
          if (inEllipse(x, y, c, c, r * 0.85, r * 1.02)) {
            v = 35 + noise(rng) * 6; // brain
            if (
              inEllipse(x, y, c - r * 0.12, c - r * 0.05, r * 0.07, r * 0.22) ||
              inEllipse(x, y, c + r * 0.12, c - r * 0.05, r * 0.07, r * 0.22)
            )
              v = 8 + noise(rng) * 4; // ventricles (CSF)
          }
        }
      } else {
        const bodyRx = 0.42 * size;
        const bodyRy = 0.3 * size;
        if (inEllipse(x, y, c, c, bodyRx, bodyRy)) {
          v = -100 + noise(rng) * 15; // subcutaneous fat
          if (inEllipse(x, y, c, c, bodyRx * 0.9, bodyRy * 0.86)) v = 45 + noise(rng) * 12; // muscle / organs
          if (bodyPart === 'CHEST') {
            const lung = 0.55 + 0.45 * Math.sin(Math.PI * Math.min(1, Math.max(0, z)));
            if (
              inEllipse(x, y, c - bodyRx * 0.42, c - bodyRy * 0.05, bodyRx * 0.3 * lung, bodyRy * 0.62 * lung) ||
              inEllipse(x, y, c + bodyRx * 0.42, c - bodyRy * 0.05, bodyRx * 0.3 * lung, bodyRy * 0.62 * lung)
            )
              v = -850 + noise(rng) * 40; // lungs
            if (inEllipse(x, y, c + bodyRx * 0.08, c + bodyRy * 0.02, bodyRx * 0.2, bodyRy * 0.3)) v = 40 + noise(rng) * 10; // heart
            if (inEllipse(x, y, c - bodyRx * 0.05, c - bodyRy * 0.35, bodyRx * 0.05, bodyRx * 0.05)) v = 200 + noise(rng) * 15; // contrast-filled aorta
          } else {
            if (inEllipse(x, y, c - bodyRx * 0.35, c - bodyRy * 0.1, bodyRx * 0.3, bodyRy * 0.45)) v = 60 + noise(rng) * 8; // liver
            if (inEllipse(x, y, c + bodyRx * 0.45, c + bodyRy * 0.2, bodyRx * 0.1, bodyRy * 0.22)) v = 30 + noise(rng) * 8; // kidney
          }
          // vertebra: cortical ring and cancellous core
          if (inEllipse(x, y, c, c + bodyRy * 0.6, bodyRx * 0.1, bodyRy * 0.16)) v = 700 + noise(rng) * 50;
          if (inEllipse(x, y, c, c + bodyRy * 0.6, bodyRx * 0.065, bodyRy * 0.11)) v = 250 + noise(rng) * 30;
        }
        // table
        if (y > c + bodyRy + size * 0.05 && y < c + bodyRy + size * 0.07 && Math.abs(x - c) < size * 0.45) v = 300 + noise(rng) * 10;
      }
      hu[y * size + x] = Math.round(v);
    }
  }
  return hu;
}

function mrSlice(size: number, z: number, weighting: 'T1' | 'T2', rng: () => number): Uint16Array {
  const out = new Uint16Array(size * size);
  const c = size / 2;
  const r = 0.4 * size * Math.sqrt(Math.max(0.15, 1 - (z - 0.45) ** 2 * 2.2));
  const [scalp, skull, csf, gray, white] = weighting === 'T1' ? [700, 60, 180, 620, 820] : [500, 40, 1500, 900, 650];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 8 + Math.abs(noise(rng)) * 6;
      if (inEllipse(x, y, c, c, r, r * 1.18)) {
        v = scalp;
        if (inEllipse(x, y, c, c, r * 0.93, r * 1.1)) v = skull;
        if (inEllipse(x, y, c, c, r * 0.87, r * 1.04)) v = csf;
        if (inEllipse(x, y, c, c, r * 0.84, r * 1.0)) v = gray;
        if (inEllipse(x, y, c, c, r * 0.68, r * 0.84)) v = white;
        if (
          inEllipse(x, y, c - r * 0.12, c - r * 0.05, r * 0.07, r * 0.22) ||
          inEllipse(x, y, c + r * 0.12, c - r * 0.05, r * 0.07, r * 0.22)
        )
          v = csf;
        v += noise(rng) * 18;
      }
      out[y * size + x] = Math.max(0, Math.min(4095, Math.round(v)));
    }
  }
  return out;
}

/** Projection radiograph of a chest, 12-bit, MONOCHROME2 (bright = attenuating). */
function chestRadiograph(rows: number, cols: number, lateral: boolean, rng: () => number): Uint16Array {
  const out = new Uint16Array(rows * cols);
  const cx = cols / 2;
  const cy = rows * 0.52;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      let v = 250; // direct exposure
      if (inEllipse(x, y, cx, cy, cols * (lateral ? 0.3 : 0.42), rows * 0.48)) {
        v = 2300; // soft tissue
        if (lateral) {
          if (inEllipse(x, y, cx - cols * 0.02, cy - rows * 0.05, cols * 0.22, rows * 0.3)) v = 1200;
          if (inEllipse(x, y, cx + cols * 0.1, cy + rows * 0.08, cols * 0.12, rows * 0.14)) v = 2200;
          if (Math.abs(x - (cx + cols * 0.22)) < cols * 0.03) v = 3300; // spine
        } else {
          const lungL = inEllipse(x, y, cx - cols * 0.19, cy - rows * 0.06, cols * 0.14, rows * 0.3);
          const lungR = inEllipse(x, y, cx + cols * 0.19, cy - rows * 0.06, cols * 0.14, rows * 0.3);
          if (lungL || lungR) {
            v = 1100;
            // ribs: bright arcs across the lung fields
            if (Math.sin((y / rows) * Math.PI * 22 + Math.abs(x - cx) / cols) > 0.75) v = 1700;
          }
          if (inEllipse(x, y, cx + cols * 0.04, cy + rows * 0.1, cols * 0.13, rows * 0.13)) v = 2500; // heart
          if (Math.abs(x - cx) < cols * 0.025) v = 3200; // spine
        }
      }
      out[y * cols + x] = Math.max(0, Math.min(4095, Math.round(v + noise(rng) * 25)));
    }
  }
  return out;
}

/** One US frame (8-bit): sector with speckle and a structure that moves with the frame index. */
function usFrame(rows: number, cols: number, t: number, rng: () => number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  const apexX = cols / 2;
  const apexY = rows * 0.04;
  const maxR = rows * 0.92;
  const halfAngle = (38 * Math.PI) / 180;
  const wall = 0.55 + 0.08 * Math.sin(t * 2 * Math.PI);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const dx = x - apexX;
      const dy = y - apexY;
      const r = Math.hypot(dx, dy);
      const angle = Math.atan2(dx, dy);
      if (r > maxR || Math.abs(angle) > halfAngle || r < rows * 0.04) continue;
      let v = 60 + rng() * 70; // speckle
      const depth = r / maxR;
      v *= 1.1 - 0.6 * depth; // attenuation
      if (inEllipse(x, y, apexX, rows * 0.55, cols * 0.16 * wall, rows * 0.2 * wall)) v *= 0.15; // chamber (anechoic)
      if (Math.abs(y - rows * (0.78 + 0.02 * Math.sin(t * 2 * Math.PI))) < 3) v = 230; // bright interface
      out[y * cols + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Study generation

function ageAt(birthDate: string, studyDate: string): string | undefined {
  if (!/^\d{8}$/.test(birthDate) || !/^\d{8}$/.test(studyDate)) return undefined;
  let years = Number(studyDate.slice(0, 4)) - Number(birthDate.slice(0, 4));
  if (studyDate.slice(4) < birthDate.slice(4)) years--;
  return `${String(Math.max(0, years)).padStart(3, '0')}Y`;
}

function addSeconds(hhmmss: string, seconds: number): string {
  const base = /^\d{6}/.test(hhmmss) ? Number(hhmmss.slice(0, 2)) * 3600 + Number(hhmmss.slice(2, 4)) * 60 + Number(hhmmss.slice(4, 6)) : 0;
  const t = (base + seconds) % 86400;
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = t % 60;
  return [hh, mm, ss].map((n) => String(n).padStart(2, '0')).join('');
}

const DEFAULT_SIZE: Record<Modality, [number, number]> = { CT: [256, 256], MR: [256, 256], CR: [512, 512], DX: [512, 512], US: [240, 320] };

function phantomFor(description: string): 'CHEST' | 'HEAD' | 'ABDOMEN' {
  if (/head|brain|sch[äa]del|cr[âa]ne|kopf|cabeza/i.test(description)) return 'HEAD';
  if (/abdo|bauch|liver|leber/i.test(description)) return 'ABDOMEN';
  return 'CHEST';
}

/** Generates every instance of a study. Same spec + seed ⇒ same bytes and UIDs. */
export function generateStudy(spec: StudySpec, seed: number): GeneratedStudy {
  if (spec.series.length === 0) throw new Error('generateStudy: a study needs at least one series');
  const studyKey = [seed, spec.patient.id, spec.accessionNumber];
  const studyInstanceUid = deterministicUid('study', ...studyKey);
  const texts = [
    spec.patient.name,
    spec.description,
    spec.institution ?? '',
    spec.referringPhysician ?? '',
    ...spec.series.map((s) => s.description),
  ];
  const charset = characterSetFor(texts, spec.patient.charset);
  const files: Buffer[] = [];
  const series: GeneratedSeries[] = [];
  const age = ageAt(spec.patient.birthDate, spec.studyDate);

  spec.series.forEach((s, seriesIndex) => {
    if (!Number.isInteger(s.instances) || s.instances < 1) throw new Error(`generateStudy: series ${seriesIndex + 1} needs ≥ 1 instance`);
    const seriesNumber = seriesIndex + 1;
    const seriesInstanceUid = deterministicUid('series', ...studyKey, seriesIndex);
    const frameOfReferenceUid = deterministicUid('for', ...studyKey, seriesIndex);
    const [defRows, defCols] = DEFAULT_SIZE[s.modality];
    const rows = s.rows ?? (s.modality === 'CT' || s.modality === 'MR' ? (s.columns ?? defRows) : defRows);
    const cols = s.columns ?? (s.modality === 'CT' || s.modality === 'MR' ? rows : defCols);
    const seriesTime = addSeconds(spec.studyTime, 60 * seriesIndex + 30);
    const sopInstanceUids: string[] = [];
    const bodyPart = s.bodyPart ?? phantomFor(`${spec.description} ${s.description}`);

    for (let i = 0; i < s.instances; i++) {
      const rng = createRng(hashSeed(seed, spec.patient.id, spec.accessionNumber, seriesIndex, i));
      const sopInstanceUid = deterministicUid('sop', ...studyKey, seriesIndex, i);
      sopInstanceUids.push(sopInstanceUid);
      const z = s.instances === 1 ? 0.5 : i / (s.instances - 1);
      const ds: Record<string, unknown> = {
        ...(charset ? { SpecificCharacterSet: charset } : {}),
        SOPClassUID: SOP_CLASSES[s.modality],
        SOPInstanceUID: sopInstanceUid,
        StudyDate: spec.studyDate,
        SeriesDate: spec.studyDate,
        ContentDate: spec.studyDate,
        StudyTime: spec.studyTime,
        SeriesTime: seriesTime,
        ContentTime: addSeconds(seriesTime, i * 2),
        AccessionNumber: spec.accessionNumber,
        Modality: s.modality,
        Manufacturer: 'PACS Demo Generator',
        InstitutionName: spec.institution ?? 'PACS Demo Hospital',
        ReferringPhysicianName: spec.referringPhysician ?? '',
        StationName: `DEMO-${s.modality}`,
        StudyDescription: spec.description,
        SeriesDescription: s.description,
        ManufacturerModelName: 'Synthetic',
        PatientName: spec.patient.name,
        PatientID: spec.patient.id,
        PatientBirthDate: spec.patient.birthDate,
        PatientSex: spec.patient.sex,
        ...(age ? { PatientAge: age } : {}),
        BodyPartExamined: s.modality === 'US' ? 'HEART' : s.modality === 'CT' || s.modality === 'MR' ? bodyPart : 'CHEST',
        SoftwareVersions: IMPLEMENTATION_VERSION,
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        StudyID: spec.accessionNumber.slice(-16),
        SeriesNumber: seriesNumber,
        InstanceNumber: i + 1,
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        Rows: rows,
        Columns: cols,
        BurnedInAnnotation: 'NO',
        LossyImageCompression: '00',
        RequestedProcedurePriority: spec.priority,
        RequestedProcedureDescription: spec.description,
        _vrMap: { PixelData: 'OW' },
      };
      if (s.modality === 'CT' || s.modality === 'MR') {
        const thickness = s.modality === 'CT' ? 5 : 4;
        const location = -thickness * (s.instances - 1) * 0.5 + i * thickness;
        const spacing = (bodyPart === 'HEAD' ? 230 : 380) / cols;
        const [rowSpacing, columnSpacing] = s.pixelSpacing ?? [spacing, spacing];
        Object.assign(ds, {
          ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
          FrameOfReferenceUID: frameOfReferenceUid,
          PositionReferenceIndicator: '',
          PatientPosition: 'HFS',
          ImagePositionPatient: [(-columnSpacing * cols) / 2, (-rowSpacing * rows) / 2, location],
          ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
          SliceLocation: location,
          SliceThickness: thickness,
          PixelSpacing: [rowSpacing, columnSpacing],
          BitsAllocated: 16,
          BitsStored: 12,
          HighBit: 11,
          PixelRepresentation: 0,
        });
      }
      if (s.modality === 'CT') {
        const hu = ctSliceHu(rows, z, bodyPart, rng);
        const stored = new Uint16Array(hu.length);
        for (let p = 0; p < hu.length; p++) stored[p] = Math.max(0, Math.min(4095, hu[p]! + 1024));
        const [wc, ww] = bodyPart === 'HEAD' ? [40, 80] : bodyPart === 'CHEST' ? [-600, 1500] : [40, 400];
        Object.assign(ds, {
          KVP: 120,
          XRayTubeCurrent: 200,
          ConvolutionKernel: bodyPart === 'HEAD' ? 'H30s' : 'B30f',
          RescaleIntercept: -1024,
          RescaleSlope: 1,
          RescaleType: 'HU',
          WindowCenter: wc,
          WindowWidth: ww,
          PixelData: [stored.buffer],
        });
      } else if (s.modality === 'MR') {
        const weighting = /t2/i.test(s.description) ? 'T2' : 'T1';
        Object.assign(ds, {
          ScanningSequence: weighting === 'T1' ? 'GR' : 'SE',
          SequenceVariant: weighting === 'T1' ? 'SP' : 'SK',
          ScanOptions: '',
          MRAcquisitionType: '2D',
          RepetitionTime: weighting === 'T1' ? 250 : 4000,
          EchoTime: weighting === 'T1' ? 2.5 : 95,
          EchoTrainLength: weighting === 'T1' ? 1 : 16,
          MagneticFieldStrength: 1.5,
          ImagingFrequency: 63.87,
          ImagedNucleus: '1H',
          WindowCenter: weighting === 'T1' ? 600 : 800,
          WindowWidth: weighting === 'T1' ? 1000 : 1600,
          PixelData: [mrSlice(rows, z, weighting, rng).buffer],
        });
      } else if (s.modality === 'CR' || s.modality === 'DX') {
        const lateral = /lat/i.test(s.description) || (s.instances > 1 && i % 2 === 1);
        Object.assign(ds, {
          ImageType: ['ORIGINAL', 'PRIMARY'],
          ViewPosition: lateral ? 'LL' : 'PA',
          PatientOrientation: lateral ? ['P', 'F'] : ['L', 'F'],
          ImagerPixelSpacing: [0.7, 0.7],
          PixelSpacing: [0.7, 0.7],
          KVP: lateral ? 110 : 125,
          BitsAllocated: 16,
          BitsStored: 12,
          HighBit: 11,
          PixelRepresentation: 0,
          WindowCenter: 2048,
          WindowWidth: 4096,
          PixelData: [chestRadiograph(rows, cols, lateral, rng).buffer],
        });
        if (s.modality === 'DX') {
          Object.assign(ds, {
            PresentationIntentType: 'FOR PRESENTATION',
            PresentationLUTShape: 'IDENTITY',
            DetectorType: 'SCINTILLATOR',
            RescaleIntercept: 0,
            RescaleSlope: 1,
            RescaleType: 'US',
          });
        }
      } else {
        const frames = s.frames ?? 12;
        const frameBytes = rows * cols;
        const pixels = new Uint8Array(frameBytes * frames);
        for (let f = 0; f < frames; f++) pixels.set(usFrame(rows, cols, f / frames, rng), f * frameBytes);
        Object.assign(ds, {
          ImageType: ['ORIGINAL', 'PRIMARY', 'CARDIAC', '0001'],
          PatientOrientation: '',
          NumberOfFrames: frames,
          FrameTime: 33.3,
          FrameIncrementPointer: 0x00181063,
          CineRate: 30,
          RecommendedDisplayFrameRate: 30,
          BitsAllocated: 8,
          BitsStored: 8,
          HighBit: 7,
          PixelRepresentation: 0,
          PixelData: [pixels.buffer],
          _vrMap: { PixelData: 'OB' },
        });
      }
      const meta = {
        FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
        MediaStorageSOPClassUID: SOP_CLASSES[s.modality],
        MediaStorageSOPInstanceUID: sopInstanceUid,
        TransferSyntaxUID: EXPLICIT_VR_LE,
        ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
        ImplementationVersionName: IMPLEMENTATION_VERSION,
      };
      files.push(writePart10(meta, ds, charset === 'ISO_IR 100'));
    }
    series.push({
      seriesInstanceUid,
      modality: s.modality,
      description: s.description,
      seriesNumber,
      instances: s.instances,
      sopInstanceUids,
    });
  });

  return { studyInstanceUid, patient: spec.patient, specificCharacterSet: charset, spec, series, files };
}

// ---------------------------------------------------------------------------------------------
// Demo set

export const DEMO_PATIENTS: PatientSpec[] = [
  { name: 'Müller^Zoë', id: 'PACS-0001', birthDate: '19780214', sex: 'F', charset: 'ISO_IR 192' },
  { name: 'García^José', id: 'PACS-0002', birthDate: '19550730', sex: 'M', charset: 'ISO_IR 100' },
  { name: 'Nguyễn^Văn An', id: 'PACS-0003', birthDate: '19901103', sex: 'M' },
  { name: 'Dubois^Amélie', id: 'PACS-0004', birthDate: '19860921', sex: 'F', charset: 'ISO_IR 100' },
  { name: 'Kowalczyk^Łukasz', id: 'PACS-0005', birthDate: '19620105', sex: 'M', charset: 'ISO_IR 192' },
  { name: 'Smith^John^A^Dr.', id: 'PACS-0006', birthDate: '19490612', sex: 'M' },
  { name: 'Øster^Åse', id: 'PACS-0007', birthDate: '20010318', sex: 'F', charset: 'ISO_IR 100' },
  { name: "O'Brien^Siobhán", id: 'PACS-0008', birthDate: '19731127', sex: 'F', charset: 'ISO_IR 192' },
  { name: 'Yılmaz^Ömer', id: 'PACS-0009', birthDate: '19680809', sex: 'M' },
  { name: 'Doe^Jane', id: 'PACS-0010', birthDate: '', sex: 'O' },
];

const DEMO_PROTOCOLS: Array<{ description: string; series: SeriesSpec[] }> = [
  {
    description: 'CT Thorax mit KM',
    series: [
      { modality: 'CT', description: 'Thorax 5.0 B30f', instances: 16, bodyPart: 'CHEST' },
      { modality: 'CT', description: 'Thorax 5.0 Lung', instances: 16, bodyPart: 'CHEST' },
    ],
  },
  {
    description: 'MR Brain without contrast',
    series: [
      { modality: 'MR', description: 'T1 axial', instances: 12 },
      { modality: 'MR', description: 'T2 TSE axial', instances: 12 },
    ],
  },
  {
    description: 'Chest 2 views',
    series: [
      { modality: 'CR', description: 'Chest PA', instances: 1 },
      { modality: 'CR', description: 'Chest lateral', instances: 1 },
    ],
  },
  { description: 'Echocardiography', series: [{ modality: 'US', description: 'Parasternal long axis', instances: 2, frames: 12 }] },
  { description: 'CT Schädel nativ', series: [{ modality: 'CT', description: 'Kopf 5.0 H30s', instances: 20, bodyPart: 'HEAD' }] },
  { description: 'DX Thorax p.a.', series: [{ modality: 'DX', description: 'Thorax PA', instances: 1 }] },
  {
    description: 'CT Abdomen',
    series: [{ modality: 'CT', description: 'Abdomen 5.0 B30f', instances: 16, bodyPart: 'ABDOMEN' }],
  },
];

const PRIORITIES: PriorityHint[] = ['STAT', 'ROUTINE', 'HIGH', 'ROUTINE', 'ROUTINE', 'HIGH', 'ROUTINE'];
const REFERRERS = ['Weber^Anna^^Dr.', 'Martin^Lucas', 'Rossi^Giulia', 'Fernández^Lucía', ''];
/** Dates are relative to this day so the set is deterministic; pass `today` for "recent" dates. */
export const DEMO_REFERENCE_DATE = '20261101';

function formatDate(date: Date): string {
  return `${date.getUTCFullYear()}${String(date.getUTCMonth() + 1).padStart(2, '0')}${String(date.getUTCDate()).padStart(2, '0')}`;
}

/** The specs of a demo set: patients, protocols, dates, accession numbers and priorities vary with the seed. */
export function demoStudySpecs(count: number, options: { seed?: number; today?: string } = {}): StudySpec[] {
  const seed = options.seed ?? 1;
  const today = options.today ?? DEMO_REFERENCE_DATE;
  if (!/^\d{8}$/.test(today)) throw new Error('demoStudySpecs: today must be YYYYMMDD');
  const rng = createRng(hashSeed('demo', seed));
  const base = Date.UTC(Number(today.slice(0, 4)), Number(today.slice(4, 6)) - 1, Number(today.slice(6, 8)));
  const specs: StudySpec[] = [];
  for (let n = 0; n < count; n++) {
    const patient = DEMO_PATIENTS[(n + seed) % DEMO_PATIENTS.length]!;
    const protocol = DEMO_PROTOCOLS[n % DEMO_PROTOCOLS.length]!;
    const daysAgo = Math.floor(rng() * 14);
    const hour = 7 + Math.floor(rng() * 11);
    const minute = Math.floor(rng() * 60);
    specs.push({
      patient,
      studyDate: formatDate(new Date(base - daysAgo * 86400000)),
      studyTime: `${String(hour).padStart(2, '0')}${String(minute).padStart(2, '0')}${String(Math.floor(rng() * 60)).padStart(2, '0')}`,
      accessionNumber: `ACC${String(seed).padStart(3, '0')}${String(n + 1).padStart(5, '0')}`,
      description: protocol.description,
      priority: PRIORITIES[(n + seed) % PRIORITIES.length]!,
      referringPhysician: REFERRERS[n % REFERRERS.length],
      institution: n % 3 === 0 ? 'Hôpital Saint-Éloi' : 'PACS Demo Hospital',
      series: protocol.series,
    });
  }
  return specs;
}

/** `count` generated studies (CT, MR, CR, US, DX, …), deterministic for a seed. */
export function demoStudySet(count: number, options: { seed?: number; today?: string } = {}): GeneratedStudy[] {
  const seed = options.seed ?? 1;
  return demoStudySpecs(count, options).map((spec) => generateStudy(spec, seed));
}

// ---------------------------------------------------------------------------------------------
// Storing

export interface OrthancTarget {
  /** Base URL of Orthanc's REST API, without credentials. */
  url: string;
  username: string;
  password: string;
}

/** Splits `http://user:pass@host:port` into a URL without credentials plus the credentials. */
export function parseOrthancUrl(raw: string, env: NodeJS.ProcessEnv = process.env): OrthancTarget {
  const url = new URL(raw);
  const username = decodeURIComponent(url.username) || env.PACS_ORTHANC_USER || '';
  const password = decodeURIComponent(url.password) || env.PACS_ORTHANC_PASSWORD || '';
  url.username = '';
  url.password = '';
  return { url: url.toString().replace(/\/$/, ''), username, password };
}

/** POSTs each file to /instances (a few at a time). Throws on the first rejected file. */
export async function uploadToOrthanc(target: OrthancTarget, files: Buffer[], concurrency = 4): Promise<number> {
  const auth = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  let next = 0;
  let stored = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const response = await fetch(`${target.url}/instances`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/dicom' },
        body: file,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`Orthanc refused an instance: HTTP ${response.status} ${text.slice(0, 200)}`);
      stored++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return stored;
}

function safeName(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .slice(0, 40);
}

/** Writes DIR/<accession>_<patient>/<series>/<instance>.dcm and returns the paths. */
export async function writeStudyFiles(dir: string, study: GeneratedStudy): Promise<string[]> {
  const written: string[] = [];
  let index = 0;
  for (const s of study.series) {
    const seriesDir = path.join(
      dir,
      `${safeName(study.spec.accessionNumber)}_${safeName(study.patient.name)}`,
      `${s.seriesNumber}_${s.modality}`,
    );
    await mkdir(seriesDir, { recursive: true });
    for (let i = 0; i < s.instances; i++) {
      const file = path.join(seriesDir, `${String(i + 1).padStart(4, '0')}.dcm`);
      await writeFile(file, study.files[index++]!);
      written.push(file);
    }
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${key} needs a value`);
    args.set(key, value);
    i++;
  }
  const count = Number(args.get('--count') ?? 8);
  const seed = Number(args.get('--seed') ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 10000) throw new Error('--count: an integer from 1 to 10000');
  if (!Number.isInteger(seed)) throw new Error('--seed: an integer');
  const today = args.get('--today') === 'now' ? formatDate(new Date()) : args.get('--today');
  const orthanc = args.get('--orthanc');
  const out = args.get('--out');
  if (!orthanc && !out) {
    throw new Error(
      'usage: demo-studies.ts (--orthanc http://user:pass@host:8042 | --out DIR) [--count 8] [--seed 1] [--today YYYYMMDD|now]',
    );
  }
  const target = orthanc ? parseOrthancUrl(orthanc) : undefined;
  let instances = 0;
  for (const spec of demoStudySpecs(count, { seed, today })) {
    // One study at a time keeps memory flat for large counts.
    const study = generateStudy(spec, seed);
    if (target) instances += await uploadToOrthanc(target, study.files);
    if (out) instances += (await writeStudyFiles(path.resolve(out), study)).length;
    process.stdout.write(
      `${spec.accessionNumber} ${spec.priority.padEnd(7)} ${study.series.map((s) => `${s.modality}×${s.instances}`).join(' ')} ${spec.description}\n`,
    );
  }
  process.stdout.write(`${count} studies, ${instances} instances ${target ? `stored into ${target.url}` : `written to ${out}`}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
