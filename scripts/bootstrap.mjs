/**
 * Installs what the start and test commands need, on a machine that has only Node.js ≥ 20:
 * the pinned pnpm, the workspace's node modules and (on Debian/Ubuntu, as root) OS packages.
 * Plain Node, no dependencies: it runs before node_modules exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const PNPM_VERSION = '12.21.0';
const LOCAL_TOOLS = path.join(ROOT, '.tools');

export function log(message) {
  process.stdout.write(`[pacs] ${message}\n`);
}

export function fail(message) {
  process.stderr.write(`[pacs] ${message}\n`);
  process.exit(1);
}

function commandOutput(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function mustRun(command, args, options) {
  const status = run(command, args, options);
  if (status !== 0) fail(`${command} ${args.join(' ')} failed (exit ${status})`);
}

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The pnpm binary to use: the pinned version, installed globally or under .tools/ if needed. */
export function ensurePnpm() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) fail(`Node.js ≥ 20 is required (found ${process.versions.node})`);
  const localBin = path.join(LOCAL_TOOLS, 'node_modules', '.bin', 'pnpm');
  if (commandOutput('pnpm', ['--version']) === PNPM_VERSION) return 'pnpm';
  if (existsSync(localBin) && commandOutput(localBin, ['--version']) === PNPM_VERSION) return localBin;
  log(`installing pnpm ${PNPM_VERSION}`);
  if (
    run('npm', ['install', '--global', `pnpm@${PNPM_VERSION}`], { stdio: 'ignore' }) === 0 &&
    commandOutput('pnpm', ['--version']) === PNPM_VERSION
  ) {
    return 'pnpm';
  }
  mustRun('npm', ['install', '--prefix', LOCAL_TOOLS, '--no-save', `pnpm@${PNPM_VERSION}`]);
  return localBin;
}

/** Node modules for the whole workspace, exactly as locked. Native addons build against /usr headers. */
export function installNodeModules(pnpm) {
  const env = { ...process.env };
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  log('installing node modules (pnpm install --frozen-lockfile)');
  mustRun(pnpm, ['install', '--frozen-lockfile', '--prefer-offline'], { env });
}

let aptUpdated = false;
/** Debian packages, installed when missing (root on Debian/Ubuntu), else a clear instruction. */
export function ensureDebianPackages(packages, reason) {
  const missing = packages.filter((name) => !commandOutput('dpkg', ['--status', name])?.includes('Status: install ok installed'));
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!existsSync('/usr/bin/apt-get')) fail(`${reason} needs: ${missing.join(', ')}. Install them with your package manager.`);
  if (!isRoot()) fail(`${reason} needs Debian packages that are missing. Run once:\n  sudo apt-get update && sudo ${command}`);
  log(`installing ${missing.join(' ')} (${reason})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt (unattended upgrades on a new machine, another suite) may hold the dpkg lock:
  // wait for it instead of failing at once.
  const waitForLock = ['-o', 'DPkg::Lock::Timeout=600'];
  if (!aptUpdated) {
    mustRun('apt-get', [...waitForLock, 'update', '-qq'], { env });
    aptUpdated = true;
  }
  mustRun('apt-get', [...waitForLock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}
