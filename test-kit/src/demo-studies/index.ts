/**
 * Synthetic but realistic DICOM studies for demos, tests and benchmarks (cli.ts says how to run
 * it): deterministic for a spec and a seed.
 */
export { DEMO_PATIENTS, DEMO_REFERENCE_DATE, demoStudySet, demoStudySpecs } from './catalogue';
export { createRng, deterministicUid } from './determinism';
export { characterSetFor } from './part10';
export { generateStudy } from './study';
export type * from './types';
export { type OrthancTarget, parseOrthancUrl, uploadToOrthanc, writeStudyFiles } from './upload';
