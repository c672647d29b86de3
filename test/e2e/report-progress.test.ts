/**
 * `seedwatch report` over a ledger shows what it is doing on a terminal (one self-erasing line on
 * stderr), and nothing of the kind when its stderr is not a terminal.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../agent/ledger/sqlite-ledger.js';
import { fillTwoWeeks } from '../fixtures/report/two-weeks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-report-progress-'));
  const ledger = SqliteLedger.open(join(dir, 'data', 'ledger.sqlite'));
  await fillTwoWeeks(ledger);
  await ledger.close();
  writeFileSync(
    join(dir, 'seedwatch.yaml'),
    `dataDir: ./data
probe: { from: "Probe <probe@mail.example.com>" }
paths: [{ name: peering, smtp: { host: 127.0.0.1, port: 2525 } }]
seeds: [{ name: gmail-1, address: seed@gmail.com, provider: gmail, imap: { user: seed@gmail.com, password: { env: SW_PROGRESS_PW } } }]
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seedwatch report progress', () => {
  it('on a terminal: progress steps on stderr, cleared at the end; in a pipe: none', () => {
    const args = [BIN, 'report', '--config', join(dir, 'seedwatch.yaml'), '--week', '--format', 'md', '--out', join(dir, 'r.md')];
    const env = { ...process.env, SW_PROGRESS_PW: 'x' };
    // `script` gives the command a pseudo-terminal; its output is what the terminal shows.
    const tty = spawnSync('script', ['-qec', args.map((a) => `'${a}'`).join(' ').replace(/^/, `'${process.execPath}' `), '/dev/null'], { encoding: 'utf8', env, timeout: 30_000 });
    expect(tty.status, tty.stdout + tty.stderr).toBe(0);
    expect(tty.stdout).toContain('seedwatch report: reading two weeks of probes from the ledger…');
    expect(tty.stdout).toMatch(/seedwatch report: aggregating [\d,]+ probes…/);
    expect(tty.stdout).toContain('seedwatch report: rendering md…');
    expect(tty.stdout).toContain('\r\x1b[K');
    const pipe = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 30_000 });
    expect(pipe.status, pipe.stderr).toBe(0);
    expect(pipe.stderr).not.toContain('seedwatch report:');
    expect(pipe.stderr).toContain(`wrote ${join(dir, 'r.md')}`);
  });
});
