/**
 * `seedwatch demo` as a user runs it (the compiled bin; `npm test` builds dist/ first): the
 * real agent against the embedded sandbox serves probes from every provider over both paths
 * within 60 s, and SIGTERM stops everything with exit code 0 within 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
const PROVIDERS = ['gmail', 'outlook', 'yahoo', 'orange'];
const PATHS = ['peering', 'transit'];

interface Cell {
  provider: string;
  path: string;
  probes: number;
  resolved: number;
  counts: Record<string, number>;
  latencyP50Seconds: number | null;
}

let child: ChildProcess | null = null;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

describe('seedwatch demo', () => {
  it('serves placements from every provider and both paths within 60 s, and stops on SIGTERM', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const proc = spawn(process.execPath, [BIN, 'demo', '--listen', `127.0.0.1:${port}`], {
      cwd: ROOT,
      env: { ...process.env, SEEDWATCH_LOG_LEVEL: 'warn', SEEDWATCH_DEMO_PASSWORD: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() })),
    );

    const base = `http://127.0.0.1:${port}`;
    // It prints where everything is.
    while (!stdout.includes('API summary')) {
      if (proc.exitCode !== null) throw new Error(`demo exited early (${proc.exitCode}): ${stderr.slice(-2000)}`);
      if (Date.now() - startedAt > 30_000) throw new Error(`no URLs printed: ${stdout}\n${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const path of ['/metrics', '/', '/report/weekly', '/api/summary']) expect(stdout).toContain(`${base}${path}`);
    const dataDir = /data dir\s+(\S+)/.exec(stdout)![1];
    const config = readFileSync(join(dataDir, 'seedwatch-demo.yaml'), 'utf8');
    expect(config).toContain('env: SEEDWATCH_DEMO_PASSWORD');
    expect(config).toMatch(/host: 127\.0\.0\.1/);
    expect(config).not.toMatch(/host: (?!127\.0\.0\.1)/);

    // Within 60 s of start: resolved probes for every provider x path.
    let cells: Cell[] = [];
    let complete = false;
    while (Date.now() - startedAt < 60_000) {
      try {
        const summary = (await getJson(`${base}/api/summary?window=1h`)) as { cells: Cell[] };
        cells = summary.cells;
        complete = PROVIDERS.every((p) => PATHS.every((path) => cells.some((c) => c.provider === p && c.path === path && c.resolved > 0)));
        if (complete) break;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(complete, `cells after 60 s: ${JSON.stringify(cells)}\n${stderr.slice(-3000)}`).toBe(true);
    for (const c of cells) {
      // Observed through IMAP: a placement (not only "missing") and a measured delivery latency.
      const placed = Object.entries(c.counts).filter(([k]) => k !== 'missing').reduce((n, [, v]) => n + v, 0);
      expect(placed, `${c.provider}/${c.path}`).toBeGreaterThan(0);
      expect(c.latencyP50Seconds).not.toBeNull();
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^seedwatch_probes_sent_total\{.*path="transit".*\} [1-9]/m);
    expect(metrics).toMatch(/^seedwatch_mailbox_up\{.*seed="outlook-1".*\} 1$/m);

    const stopAt = Date.now();
    proc.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 12_000))]);
    expect(exit, 'demo still running 12 s after SIGTERM').not.toBeNull();
    expect(exit!.code, stderr.slice(-2000)).toBe(0);
    expect(exit!.atMs - stopAt).toBeLessThan(10_000);
    // The temporary data dir goes with it.
    expect(existsSync(dataDir)).toBe(false);
  });
});
