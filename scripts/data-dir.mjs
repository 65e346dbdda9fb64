/**
 * The data directory of `npm start` holds patient data (the SQLite database, Orthanc's storage
 * and index) and the development secrets, so it is for its owner only: the directory 0700, and
 * what an older version left world-readable in it is tightened at every start, not only when
 * first created. Files the services create later get owner-only modes from the umask that
 * `npm start` sets for itself and its children.
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Owner-only: directories 0700, files 0600. Symbolic links are followed (storage moved to another disk). */
function restrict(target) {
  const stat = statSync(target);
  if (stat.isDirectory()) chmodSync(target, 0o700);
  else if (stat.isFile()) chmodSync(target, 0o600);
}

/**
 * Creates `dataDir` (0700) if needed and makes it and every entry directly in it owner-only; a
 * directory that is 0700 keeps everyone else out of all below it, so the large Orthanc storage
 * tree is not walked. `extraDirs` are data directories kept elsewhere (PACS_ORTHANC_STORAGE_DIR).
 */
export function prepareDataDir(dataDir, extraDirs = []) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  restrict(dataDir);
  for (const entry of readdirSync(dataDir)) {
    try {
      restrict(path.join(dataDir, entry));
    } catch (error) {
      // A dangling link or an entry removed meanwhile holds nothing to protect.
      if (error.code !== 'ENOENT') throw error;
    }
  }
  for (const dir of extraDirs) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    restrict(dir);
  }
}
