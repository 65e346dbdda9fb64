/** A real Orthanc for tests, benchmarks and dev tooling: started on free ports, fed with files. */
export { apiEnvFor, freePort, type OrthancInstance, type StartOrthancOptions, startOrthanc, waitFor } from './start';
export { type StoreResult, storeFiles, storeFilesRest } from './store';
