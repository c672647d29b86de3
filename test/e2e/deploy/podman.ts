/**
 * Debian's podman, set up the way it works on a VM without systemd and without a registry
 * (docs/deploy.md, "Testing the image"): rootful, runc instead of crun (crun cannot start
 * containers on a cgroup v1 "hybrid" host), default ulimits at the host's hard limits (root
 * lacks CAP_SYS_RESOURCE to raise them), and a local base image in place of node:20-slim.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(HERE, '../../..');

/**
 * The imported base (Debian 12 minbase + this machine's Node 20) and its rootfs tarball are
 * kept between runs on purpose: building them takes ~80 s, importing the tarball ~5 s.
 */
export const TEST_BASE_IMAGE = 'localhost/seedwatch-test-base:node20';
export const TEST_BASE_CACHE_DIR = '/var/tmp/seedwatch-test-base';
/**
 * The Dockerfile's `deps` stage (toolchain + npm ci, ~3.5 min cold: better-sqlite3 compiles),
 * tagged so that it survives the cleanup and the next build starts from it; it changes only
 * when package-lock.json or that stage does.
 */
export const DEPS_CACHE_IMAGE = 'localhost/seedwatch-test-cache:deps';
/** The host CA bundle: HTTPS to the npm registry from inside a build goes through it. */
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

export interface Podman {
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: { timeoutMs?: number; allowFail?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Synchronous, for exit-time cleanups. Never throws. */
  runSync(args: string[]): void;
  dispose(): void;
}

export function podmanAvailable(): boolean {
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function createPodman(): Podman {
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-podman-'));
  const hardNofile = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${hardNofile}:${hardNofile}", "nproc=32768:32768"]`,
      '[engine]',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  return {
    env,
    run: (args, opts = {}) =>
      new Promise((resolve, reject) => {
        execFile('podman', args, { env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
          if (code !== 0 && !opts.allowFail) {
            reject(new Error(`podman ${args.slice(0, 3).join(' ')} … exited ${code}: ${stderr.slice(-4000)}`));
            return;
          }
          resolve({ code, stdout, stderr });
        });
      }),
    runSync: (args) => {
      try {
        execFileSync('podman', args, { env, stdio: 'ignore', timeout: 30_000 });
      } catch {
        /* best effort */
      }
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The local stand-in for node:20-slim: present → nothing; tarball cached → import; else build. */
export async function ensureTestBase(podman: Podman): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [join(HERE, 'test-base.sh'), TEST_BASE_IMAGE, TEST_BASE_CACHE_DIR], { env: podman.env, timeout: 300_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`test-base.sh failed: ${stderr.slice(-4000)}`)) : resolve(),
    );
  });
}

/** `podman build` of the repository's Dockerfile on the test base, as users build it. */
export function buildArgs(tag: string, target?: string): string[] {
  return [
    'build',
    '--pull=never',
    // docker format: the OCI image format has no HEALTHCHECK, podman drops it.
    '--format',
    'docker',
    '--build-arg',
    `BASE_IMAGE=${TEST_BASE_IMAGE}`,
    '--build-arg',
    'NODE_EXTRA_CA_CERTS=/run/host-ca.crt',
    '-v',
    `${HOST_CA}:/run/host-ca.crt:ro`,
    ...(target ? ['--target', target] : []),
    '-q',
    '-t',
    tag,
    '-f',
    join(REPO_ROOT, 'Dockerfile'),
    REPO_ROOT,
  ];
}

async function imageIds(podman: Podman): Promise<Set<string>> {
  const { stdout } = await podman.run(['images', '-a', '-q', '--no-trunc']);
  return new Set(stdout.split('\n').filter(Boolean));
}

async function imageId(podman: Podman, ref: string): Promise<string | null> {
  const r = await podman.run(['image', 'inspect', '--format', '{{.Id}}', ref], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : null;
}

/**
 * Builds the image and returns the cleanup that removes everything the build made except the
 * base and the deps cache: the image, and the intermediate layers of the build and runtime
 * stages (podman keeps them as untagged images; removing the tag alone leaves the build
 * stage's behind).
 */
export async function buildImage(podman: Podman, tag: string): Promise<{ cleanup(): Promise<void> }> {
  const previousDeps = await imageId(podman, DEPS_CACHE_IMAGE);
  await podman.run(buildArgs(DEPS_CACHE_IMAGE, 'deps'), { timeoutMs: 600_000 });
  const deps = await imageId(podman, DEPS_CACHE_IMAGE);
  if (previousDeps && previousDeps !== deps) {
    // package-lock.json (or the deps stage) changed: the old cache is garbage now.
    await podman.run(['rmi', '-f', previousDeps], { allowFail: true });
  }
  const before = await imageIds(podman);
  const removeNew = async () => {
    await podman.run(['rmi', '-f', tag], { allowFail: true });
    const made = [...(await imageIds(podman))].filter((id) => !before.has(id));
    // Children before parents: podman refuses to remove an image another one builds on.
    for (let pass = 0; pass < 3 && made.length > 0; pass++) {
      for (const id of [...made]) {
        const r = await podman.run(['rmi', id], { allowFail: true });
        if (r.code === 0 || /image not known/.test(r.stderr)) made.splice(made.indexOf(id), 1);
      }
    }
  };
  try {
    await podman.run(buildArgs(tag), { timeoutMs: 600_000 });
  } catch (err) {
    await removeNew();
    throw err;
  }
  return { cleanup: removeNew };
}
