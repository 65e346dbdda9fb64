/**
 * Container images of the stack, built and run with podman on a host without a Docker engine or an
 * image registry (DEPLOYMENT.md, "Proven here"):
 *   node scripts/containers.mjs bases    the local base images (debootstrap → Debian → Node, nginx, …)
 *   node scripts/containers.mjs build    the stack's images on those bases (localhost/pacs/*)
 * A site with a registry needs neither: `docker compose build` uses the public bases by default.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages, fail, log, ROOT } from './bootstrap.mjs';

const HERE = path.join(ROOT, 'scripts', 'containers');
export const CONTAINERS_CONF = path.join(HERE, 'containers.conf');
const DEBIAN_MIRROR = process.env.PACS_DEBIAN_MIRROR || 'http://deb.debian.org/debian';

/** Every podman call goes through here: the project's containers.conf (runc, open-files limit). */
export function podmanEnv(env = process.env) {
  return { ...env, CONTAINERS_CONF: env.CONTAINERS_CONF || CONTAINERS_CONF };
}

export function podman(args, options = {}) {
  const result = spawnSync('podman', args, { encoding: 'utf8', env: podmanEnv(), maxBuffer: 64 << 20, ...options });
  if (result.error) throw result.error;
  return result;
}

function mustPodman(args, options = {}) {
  const result = podman(args, { stdio: 'inherit', ...options });
  if (result.status !== 0) fail(`podman ${args.slice(0, 2).join(' ')} … failed (exit ${result.status})`);
}

export function imageExists(name) {
  return podman(['image', 'exists', name]).status === 0;
}

export function ensureContainerTools() {
  ensureDebianPackages(['podman', 'buildah', 'runc', 'netavark', 'aardvark-dns', 'podman-compose', 'debootstrap'], 'container images');
}

/** The local bases and the public images they stand in for (the Dockerfiles' build arguments). */
export const LOCAL_BASES = {
  debian: 'localhost/pacs-base/debian:bookworm',
  node: 'localhost/pacs-base/node:20-bookworm-slim',
  nginx: 'localhost/pacs-base/nginx:bookworm',
  orthanc: 'localhost/pacs-base/orthanc:bookworm',
  redis: 'localhost/pacs-base/redis:bookworm',
  postgres: 'localhost/pacs-base/postgres:15-bookworm',
};
const DEBIAN_ROOT = 'localhost/pacs-base/debian-root:bookworm';

/** The stack's own images, as the deployment test's compose file names them. */
export const STACK_IMAGES = {
  api: { tag: 'localhost/pacs/api:local', dockerfile: 'api/Dockerfile', args: { NODE_IMAGE: LOCAL_BASES.node } },
  'sync-server': {
    tag: 'localhost/pacs/sync-server:local',
    dockerfile: 'sync-server/Dockerfile',
    args: { NODE_IMAGE: LOCAL_BASES.node },
  },
  web: {
    tag: 'localhost/pacs/web:local',
    dockerfile: 'web/Dockerfile',
    args: { NODE_IMAGE: LOCAL_BASES.node, NGINX_IMAGE: LOCAL_BASES.nginx },
  },
  orthanc: {
    tag: 'localhost/pacs/orthanc:local',
    dockerfile: 'orthanc/Dockerfile',
    args: {
      NODE_IMAGE: LOCAL_BASES.node,
      ORTHANC_IMAGE: LOCAL_BASES.orthanc,
      ORTHANC_PLUGINS_DIR: '/usr/share/orthanc/plugins',
    },
  },
};

/** debootstrap's minimal Debian, imported as an image: the root every local base starts from. */
function makeDebianRoot() {
  if (imageExists(DEBIAN_ROOT)) return;
  const work = mkdtempSync(path.join(os.tmpdir(), 'pacs-debootstrap-'));
  const rootfs = path.join(work, 'rootfs');
  try {
    log(`debootstrap bookworm from ${DEBIAN_MIRROR} (about two minutes)`);
    const boot = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', rootfs, DEBIAN_MIRROR], { stdio: 'inherit' });
    if (boot.status !== 0) fail(`debootstrap failed (exit ${boot.status})`);
    rmSync(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    mkdirSync(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    const tar = spawnSync('sh', ['-c', 'tar -C "$0" -c . | podman import - "$1"', rootfs, DEBIAN_ROOT], {
      stdio: 'inherit',
      env: podmanEnv(),
    });
    if (tar.status !== 0) fail(`podman import failed (exit ${tar.status})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Build context of a base: its Containerfile plus what it copies from the host. */
function baseContext(name) {
  const context = mkdtempSync(path.join(os.tmpdir(), `pacs-base-${name}-`));
  cpSync(path.join(HERE, 'base', `${name}.Containerfile`), path.join(context, 'Containerfile'));
  if (name === 'debian') {
    mkdirSync(path.join(context, 'extra-ca'));
    const hostCas = '/usr/local/share/ca-certificates';
    if (existsSync(hostCas)) {
      for (const file of readdirSync(hostCas).filter((f) => f.endsWith('.crt'))) {
        cpSync(path.join(hostCas, file), path.join(context, 'extra-ca', file));
      }
    }
    writeFileSync(path.join(context, 'extra-ca', '.keep'), '');
  }
  if (name === 'node') {
    const nodeBin = process.execPath;
    const prefix = path.resolve(path.dirname(nodeBin), '..');
    const npmDir = [path.join(prefix, 'lib/node_modules/npm'), '/usr/lib/node_modules/npm'].find((d) => existsSync(d));
    const include = path.join(prefix, 'include/node');
    if (!npmDir || !existsSync(include)) fail(`the host's Node.js needs npm and its headers (looked under ${prefix})`);
    cpSync(nodeBin, path.join(context, 'node'));
    cpSync(npmDir, path.join(context, 'npm'), { recursive: true });
    cpSync(include, path.join(context, 'include'), { recursive: true });
  }
  if (name === 'postgres') cpSync(path.join(HERE, 'base', 'postgres-entrypoint.sh'), path.join(context, 'postgres-entrypoint.sh'));
  return context;
}

export function makeBaseImages({ rebuild = false } = {}) {
  ensureContainerTools();
  makeDebianRoot();
  for (const name of ['debian', 'node', 'nginx', 'orthanc', 'redis', 'postgres']) {
    const tag = LOCAL_BASES[name];
    if (!rebuild && imageExists(tag)) continue;
    log(`building ${tag}`);
    const context = baseContext(name);
    try {
      const from = name === 'debian' ? ['--build-arg', `DEBIAN_ROOT=${DEBIAN_ROOT}`] : [];
      mustPodman(['build', '--pull=never', '--build-arg', `DEBIAN_MIRROR=${DEBIAN_MIRROR}`, ...from, '-t', tag, context]);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }
}

/** The stack's images on the local bases; podman's layer cache makes a rebuild after a change quick. */
export function buildStackImages(names = Object.keys(STACK_IMAGES)) {
  for (const name of names) {
    const image = STACK_IMAGES[name];
    const args = Object.entries(image.args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
    log(`building ${image.tag}`);
    const started = Date.now();
    // Docker's image format: OCI images drop HEALTHCHECK, which the compose file relies on.
    mustPodman(['build', '--pull=never', '--format', 'docker', ...args, '-f', image.dockerfile, '-t', image.tag, '.'], { cwd: ROOT });
    log(`${image.tag} built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'bases') makeBaseImages({ rebuild: rest.includes('--rebuild') });
  else if (command === 'build') {
    makeBaseImages();
    buildStackImages(rest.length > 0 ? rest : undefined);
  } else fail('usage: node scripts/containers.mjs bases [--rebuild] | build [api|sync-server|web|orthanc …]');
}
