/** One study's instances from its spec: pixels, UIDs, dates and the tags a modality would write. */
import { createRng, deterministicUid, hashSeed } from './determinism';
import { characterSetFor, EXPLICIT_VR_LE, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, writePart10 } from './part10';
import { chestRadiograph, ctSliceHu, mrSlice, usFrame } from './pixels';
import type { GeneratedSeries, GeneratedStudy, Modality, StudySpec } from './types';

const SOP_CLASSES: Record<Modality, string> = {
  CT: '1.2.840.10008.5.1.4.1.1.2',
  MR: '1.2.840.10008.5.1.4.1.1.4',
  CR: '1.2.840.10008.5.1.4.1.1.1',
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  US: '1.2.840.10008.5.1.4.1.1.3.1',
};

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
