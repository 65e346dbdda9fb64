/**
 * `npm run test:deployment`: the compose stack built and run here with podman (DEPLOYMENT.md,
 * "Proven here"). Installs podman and its tools, makes the local base images once, builds the
 * stack's images (cached layers after the first time), then runs system-tests/deployment.
 * Not part of `npm test`: the first build alone takes longer than the suite's time budget allows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages, ensurePnpm, installNodeModules } from './bootstrap.mjs';
import { buildStackImages, makeBaseImages } from './containers.mjs';
import { printSummary, runVitest } from './test.mjs';

export async function testDeployment() {
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  ensureDebianPackages(['dcmtk', 'poppler-utils'], 'the deployment test');
  const started = Date.now();
  makeBaseImages();
  buildStackImages();
  const built = Math.round((Date.now() - started) / 1000);
  const reports = mkdtempSync(path.join(os.tmpdir(), 'pacs-deploy-reports-'));
  try {
    const result = runVitest(pnpm, reports, 'deployment (compose stack under podman)', '@pacs/system-tests', {}, [
      '--config',
      'vitest.deployment.config.ts',
    ]);
    return printSummary([{ name: `images (built in ${built} s)`, passed: 1, failed: 0 }, result]);
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
}
