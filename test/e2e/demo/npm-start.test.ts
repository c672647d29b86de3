/**
 * What the README's first command runs: `npm start` = `seedwatch start`, in a directory
 * without a config → the demo, serving data from every provider and both paths within 60 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('npm start without a config', () => {
  it('runs the demo and serves probes of every provider over both paths within 60 s', { timeout: 90_000 }, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sw-npm-start-'));
    const port = await freePort();
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin/seedwatch.js'), 'start', '--listen', `127.0.0.1:${port}`], {
      cwd,
      env: { ...process.env, SEEDWATCH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      let cells: { provider: string; path: string; resolved: number }[] = [];
      while (Date.now() - t0 < 60_000) {
        await new Promise((r) => setTimeout(r, 1_000));
        const r = await fetch(`http://127.0.0.1:${port}/api/summary?window=1h`).catch(() => null);
        if (!r?.ok) continue;
        cells = ((await r.json()) as { cells: typeof cells }).cells;
        const seen = new Set(cells.filter((c) => c.resolved > 0).map((c) => `${c.provider}/${c.path}`));
        if (seen.size === 8) break;
      }
      const seen = new Set(cells.filter((c) => c.resolved > 0).map((c) => `${c.provider}/${c.path}`));
      expect([...seen].sort(), out).toEqual(
        ['gmail', 'orange', 'outlook', 'yahoo'].flatMap((p) => [`${p}/peering`, `${p}/transit`]).sort(),
      );
      expect(out).toContain('seedwatch demo');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
