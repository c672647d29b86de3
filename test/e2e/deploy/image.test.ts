/**
 * The container image as users run it: built from the repository's Dockerfile with podman
 * (on a local Debian 12 + Node 20 base instead of node:20-slim: no registry here), run with
 * nothing mounted (the demo) and a named volume on /data. It answers /healthz and /readyz,
 * serves the demo, runs as a non-root uid, passes its own HEALTHCHECK, stops within 10 s on
 * SIGTERM with exit 0 (or 143), and a new container on the same volume still has the probes
 * of the first one.
 *
 * Cost (docs/deploy.md, "Testing the image"): about 1–1.5 min warm (the imported base and the
 * dependency stage are kept between runs, see podman.ts); the very first run on a machine
 * builds both first (about 1.5 min for the base: debootstrap; about 4.5 min for the
 * dependency stage: apt-get of the toolchain, better-sqlite3 compiled from source).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { onProcessExit, waitFor } from '../../helpers/processes.js';
import { buildImage, createPodman, ensureTestBase, podmanAvailable, TEST_BASE_IMAGE, type Podman } from './podman.js';

const RUN_ID = `${process.pid}-${randomBytes(3).toString('hex')}`;
const IMAGE = `localhost/seedwatch-test:${RUN_ID}`;
const VOLUME = `seedwatch-test-data-${RUN_ID}`;
const FIRST = `seedwatch-test-a-${RUN_ID}`;
const SECOND = `seedwatch-test-b-${RUN_ID}`;
/** What the issue asks of a stop: SIGTERM to exited in under 10 s (podman's own SIGKILL grace). */
const STOP_LIMIT_MS = 10_000;

let podman: Podman;
let cleanupImage: (() => Promise<void>) | null = null;
let unregister: () => void = () => undefined;

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

async function logsOf(name: string): Promise<string> {
  const r = await podman.run(['logs', '--tail', '60', name], { allowFail: true });
  return `${r.stdout}${r.stderr}`;
}

/** Runs the image with nothing mounted but the data volume: the demo. */
async function runContainer(name: string, port: number): Promise<void> {
  await podman.run(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:9464`, '-v', `${VOLUME}:/data`, IMAGE]);
}

/** Polls `path` until it answers 200; on timeout the error carries the container's log. */
async function waitOk(name: string, url: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => (await getText(url)).status === 200, { timeoutMs, intervalMs: 250, what: `${name}: ${url} 200` }).catch(async (err: Error) => {
    throw new Error(`${err.message}\n--- podman logs ${name} ---\n${await logsOf(name)}`);
  });
}

beforeAll(async () => {
  if (!podmanAvailable()) throw new Error('podman is not installed: run test/provision.sh as root');
  podman = createPodman();
  // A killed test run still removes its containers and volume (the image goes with afterAll).
  unregister = onProcessExit(() => {
    podman.runSync(['rm', '-f', '-t', '0', FIRST, SECOND]);
    podman.runSync(['volume', 'rm', '-f', VOLUME]);
  });
  await ensureTestBase(podman);
  cleanupImage = (await buildImage(podman, IMAGE)).cleanup;
  await podman.run(['volume', 'create', VOLUME]);
}, 900_000);

afterAll(async () => {
  if (!podman) return;
  await podman.run(['rm', '-f', '-t', '0', FIRST, SECOND], { allowFail: true });
  await podman.run(['volume', 'rm', '-f', VOLUME], { allowFail: true });
  await cleanupImage?.();
  unregister();
  podman.dispose();
}, 120_000);

describe('container image', () => {
  it('declares a non-root user, the data volume, port 9464, SIGTERM and a healthcheck', async () => {
    const { stdout } = await podman.run(['image', 'inspect', IMAGE]);
    const [inspected] = JSON.parse(stdout) as {
      Size: number;
      // podman keeps the Docker-format healthcheck beside the OCI config, which has no field for it.
      Healthcheck?: { Test?: string[] };
      Config: { User?: string; Volumes?: Record<string, unknown>; ExposedPorts?: Record<string, unknown>; StopSignal?: string; Env?: string[] };
    }[];
    const config = inspected.Config;
    expect(config.User).toBe('10001:10001');
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/data']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['9464/tcp']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(inspected.Healthcheck?.Test?.join(' ')).toContain('/healthz');
    // The build-only CA argument and npm settings stay in the build stages.
    expect((config.Env ?? []).join('\n')).not.toMatch(/NODE_EXTRA_CA_CERTS|npm_config/);
    const base = await podman.run(['image', 'inspect', TEST_BASE_IMAGE, '--format', '{{.Size}}']);
    // Printed for docs/deploy.md; not asserted (a figure, not a behaviour).
    process.stdout.write(`image ${(inspected.Size / 1e6).toFixed(0)} MB, of which the base ${(Number(base.stdout) / 1e6).toFixed(0)} MB\n`);
  });

  it('runs the demo as non-root, healthy and ready, stops on SIGTERM, keeps its ledger on the volume', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    await runContainer(FIRST, port);
    await waitOk(FIRST, `${base}/healthz`, 30_000);
    await waitOk(FIRST, `${base}/readyz`, 60_000);

    // The process runs as the image's uid, not root.
    const uid = (await podman.run(['exec', FIRST, 'id', '-u'])).stdout.trim();
    expect(uid).not.toBe('0');
    expect(uid).toBe('10001');
    // The image's own HEALTHCHECK command passes (run by hand: no systemd timers here).
    const health = await podman.run(['healthcheck', 'run', FIRST], { allowFail: true });
    expect(health.code, health.stderr).toBe(0);

    // The demo: the status page, metrics, and probes recorded in the ledger on /data.
    const page = await getText(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('seedwatch');
    const metrics = await getText(`${base}/metrics`);
    expect(metrics.body).toMatch(/^seedwatch_build_info\{/m);
    const probes = await waitFor(
      async () => {
        const r = await getText(`${base}/api/probes?limit=5`);
        const list = (JSON.parse(r.body) as { probes: { id: string }[] }).probes;
        return list.length > 0 ? list : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, what: 'a first probe cycle' },
    );
    const { stdout: files } = await podman.run(['exec', FIRST, 'ls', '-n', '/data']);
    expect(files).toMatch(/ 10001 +10001 .* ledger\.sqlite$/m);

    // podman stop sends the image's STOPSIGNAL, and SIGKILL only after 10 s.
    const t0 = Date.now();
    await podman.run(['stop', '-t', '10', FIRST], { timeoutMs: 30_000 });
    const stopMs = Date.now() - t0;
    const exit = Number((await podman.run(['inspect', FIRST, '--format', '{{.State.ExitCode}}'])).stdout.trim());
    expect([0, 143]).toContain(exit);
    expect(stopMs).toBeLessThan(STOP_LIMIT_MS);

    // A new container on the same volume: the ledger (and its probes) survived.
    await podman.run(['rm', FIRST]);
    const port2 = await freePort();
    const base2 = `http://127.0.0.1:${port2}`;
    await runContainer(SECOND, port2);
    await waitOk(SECOND, `${base2}/readyz`, 60_000);
    const again = await getText(`${base2}/api/probes/${probes[0].id}`);
    expect(again.status, again.body).toBe(200);
    expect((JSON.parse(again.body) as { probe: { id: string } }).probe.id).toBe(probes[0].id);
  });
});
