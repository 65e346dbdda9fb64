/**
 * OHIF Viewer's prebuilt app (the `dist/` of the `@ohif/app` npm package) for the interop e2e test,
 * fetched once with `npm pack` into a git-ignored cache (node_modules/.cache) rather than installed
 * as a workspace dependency (which would pull in hundreds of packages). Plain Node, so the test
 * command can fetch it before it enters its private network namespace (no registry in there):
 *
 *   node web/e2e/ohif-dist.mjs
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export const OHIF_VERSION = '3.13.2';
/** The registry's integrity of @ohif/app@3.13.2 (`npm view @ohif/app@3.13.2 dist.integrity`). */
const OHIF_INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';

const WEB = path.resolve(import.meta.dirname, '..');
export const OHIF_CACHE = path.join(WEB, 'node_modules', '.cache', `ohif-app-${OHIF_VERSION}`);
/** The viewer's files; the test writes its own app-config.js here. */
export const OHIF_DIST = path.join(OHIF_CACHE, 'dist');

/** Makes sure OHIF's dist is in the cache (fetching it if needed); answers its directory. Throws with a clear reason. */
export function ensureOhifDist() {
  if (existsSync(path.join(OHIF_DIST, 'index.html'))) return OHIF_DIST;
  mkdirSync(OHIF_CACHE, { recursive: true });
  const work = mkdtempSync(path.join(OHIF_CACHE, 'fetch-'));
  try {
    const pack = spawnSync('npm', ['pack', `@ohif/app@${OHIF_VERSION}`, '--pack-destination', work, '--silent'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (pack.status !== 0 || !tarball) {
      throw new Error(
        `could not fetch @ohif/app@${OHIF_VERSION} from the npm registry (needed once for the OHIF interop test, cached in ${OHIF_CACHE}; ` +
          `inside a network namespace without the registry, run \`node web/e2e/ohif-dist.mjs\` first): ${(pack.stderr || pack.error?.message || '').trim().slice(-800)}`,
      );
    }
    const file = path.join(work, tarball);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    if (integrity !== OHIF_INTEGRITY) throw new Error(`@ohif/app@${OHIF_VERSION}: tarball integrity ${integrity} is not the pinned one`);
    const untar = spawnSync('tar', ['-xzf', file, '-C', work, 'package/dist'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`could not unpack ${tarball}: ${untar.stderr.trim().slice(-800)}`);
    // One rename: a half-extracted tree never passes for the cache.
    renameSync(path.join(work, 'package', 'dist'), OHIF_DIST);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return OHIF_DIST;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  try {
    process.stdout.write(`${ensureOhifDist()}\n`);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
