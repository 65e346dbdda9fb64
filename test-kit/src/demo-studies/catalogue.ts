/** The demo set: varied patients, protocols, dates, accession numbers and priorities. */
import { createRng, hashSeed } from './determinism';
import { generateStudy } from './study';
import type { GeneratedStudy, PatientSpec, PriorityHint, SeriesSpec, StudySpec } from './types';

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

export function formatDate(date: Date): string {
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
