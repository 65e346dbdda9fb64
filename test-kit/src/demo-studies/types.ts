/** What a generated study is made from, and what generation returns. */
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
