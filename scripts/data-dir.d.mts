/** Creates the data directory owner-only (0700) and tightens what is directly in it (dirs 0700, files 0600). */
export function prepareDataDir(dataDir: string, extraDirs?: string[]): void;
