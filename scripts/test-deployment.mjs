/**
 * `npm run test:deployment`: the compose stack built and run here with podman (DEPLOYMENT.md,
 * "Proven here"). Installs podman and its tools, makes the local base images once, builds the
 * stack's images (cached layers after the first time), then runs system-tests/deployment: the
 * compose stack and the upgrade drill. `npm run test:deployment -- upgrade` runs the drill alone,
 * which runs two releases with `npm start` and needs no images.
 * Not part of `npm test`: the first build alone takes longer than the suite's time budget allows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages, ensurePnpm, fail, installNodeModules } from './bootstrap.mjs';
import { buildStackImages, makeBaseImages } from './containers.mjs';
import { printSummary, runVitest } from './test.mjs';

export async function testDeployment(args = []) {
  const upgradeOnly = args.length === 1 && args[0] === 'upgrade';
  if (args.length > 0 && !upgradeOnly) fail('usage: npm run test:deployment [-- upgrade]');
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  ensureDebianPackages(['dcmtk', 'poppler-utils'], 'the deployment test');
  const parts = [];
  if (!upgradeOnly) {
    const started = Date.now();
    makeBaseImages();
    buildStackImages();
    parts.push({ name: `images (built in ${Math.round((Date.now() - started) / 1000)} s)`, passed: 1, failed: 0 });
  }
  const reports = mkdtempSync(path.join(os.tmpdir(), 'pacs-deploy-reports-'));
  try {
    const name = upgradeOnly ? 'deployment (upgrade drill)' : 'deployment (compose stack under podman, upgrade drill)';
    const filter = upgradeOnly ? ['deployment/upgrade-drill'] : [];
    parts.push(runVitest(pnpm, reports, name, '@pacs/system-tests', {}, ['--config', 'vitest.deployment.config.ts', ...filter]));
    return printSummary(parts);
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
}
