/**
 * `seedwatch demo` as a user runs it (the compiled bin; `npm test` builds dist/ first): the
 * real agent against the embedded sandbox serves probes from every provider over both paths
 * within 60 s, and SIGTERM stops everything with exit code 0 within 10 s. The generated config
 * uses the shipped presets as they are: the Outlook seed gets OAuth2 access tokens from the
 * sandbox's token endpoint and logs in with XOAUTH2 (the sandbox refuses LOGIN there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../agent/config/load-config.js';
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

/** The demo's JSON log lines (stderr), parsed; other lines are skipped. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

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
      // info: the sandbox logs every IMAP login with its mechanism. The demo sets its secrets itself.
      env: { ...process.env, SEEDWATCH_LOG_LEVEL: 'info', SEEDWATCH_DEMO_PASSWORD: '', SEEDWATCH_DEMO_OUTLOOK_REFRESH_TOKEN: '' },
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
    const configFile = join(dataDir, 'seedwatch-demo.yaml');
    const config = readFileSync(configFile, 'utf8');
    expect(config).toMatch(/host: 127\.0\.0\.1/);
    expect(config).not.toMatch(/host: (?!127\.0\.0\.1)/);
    // Outlook with OAuth2 at the sandbox's loopback token endpoint; the others with the password.
    const doc = parse(config) as { seeds: { name: string; provider: string; imap: Record<string, unknown> }[] };
    expect(doc.seeds.map((s) => s.provider).sort()).toEqual([...PROVIDERS].sort());
    for (const seed of doc.seeds) {
      if (seed.provider === 'outlook') {
        expect(seed.imap.password).toBeUndefined();
        expect(seed.imap.oauth2).toEqual({
          clientId: 'seedwatch-demo',
          refreshToken: { env: 'SEEDWATCH_DEMO_OUTLOOK_REFRESH_TOKEN' },
          tokenUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/token$/),
        });
      } else {
        expect(seed.imap.password, seed.name).toEqual({ env: 'SEEDWATCH_DEMO_PASSWORD' });
        expect(seed.imap.oauth2, seed.name).toBeUndefined();
      }
    }
    // It loads with plain loadConfig, i.e. the shipped presets (outlook: oauth2 only).
    const loaded = loadConfig(configFile);
    expect(loaded.seeds.find((s) => s.provider === 'outlook')!.preset.auth).toEqual(['oauth2']);

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

    // How each seed got in, as the sandbox recorded it: Outlook only ever with XOAUTH2 and a
    // token the agent refreshed at the sandbox's endpoint; the others with LOGIN.
    const logs = logLines(stderr);
    const logins = logs.filter((l) => l.component === 'sandbox' && typeof l.mechanism === 'string');
    const by = (seed: string) => logins.filter((l) => l.seed === seed);
    expect(by('outlook-1').length, stderr.slice(-3000)).toBeGreaterThan(0);
    expect(by('outlook-1').every((l) => l.mechanism === 'XOAUTH2' && l.ok === true), JSON.stringify(by('outlook-1'))).toBe(true);
    for (const seed of ['gmail-1', 'yahoo-1', 'orange-1']) {
      expect(by(seed).length, seed).toBeGreaterThan(0);
      expect(by(seed).every((l) => l.mechanism === 'LOGIN' && l.ok === true), JSON.stringify(by(seed))).toBe(true);
    }
    expect(logs.some((l) => l.component === 'sandbox' && l.msg === 'sandbox token endpoint issued an access token')).toBe(true);
    expect(logs.some((l) => l.msg === 'OAuth2 access token refreshed')).toBe(true);
    // No token in the logs (the sandbox's tokens are recognisable by their prefix).
    expect(stderr).not.toMatch(/sandbox-(at|rt)-/);

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
