import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/seedwatch.js');

/** The CLI as a user runs it: the compiled bin (npm test builds dist/ first). */
function seedwatch(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('seedwatch CLI', () => {
  it('--help lists every command of the contract', () => {
    const r = seedwatch(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['run', 'probe', 'check', 'report', 'dashboards', 'demo']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('check --no-connect prints the plan and reports missing secrets by name', () => {
    const r = seedwatch(['check', '--no-connect', '--config', 'seed-accounts/seedwatch.example.yaml'], { GMAIL_1_PASSWORD: '' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('config seed-accounts/seedwatch.example.yaml: valid');
    expect(r.stdout).toMatch(/^peering\s+relay\s+127\.0\.0\.1:2525/m);
    expect(r.stdout).toMatch(/^transit\s+mx\s+/m);
    expect(r.stdout).toMatch(/^gmail-1\s+gmail\s+imap\.gmail\.com:993 TLS\s+password\s+\\Junk \| \[Gmail\]\/Spam/m);
    expect(r.stdout).toMatch(/^outlook-1\s+outlook\s+outlook\.office365\.com:993 TLS\s+oauth2/m);
    expect(r.stdout).toContain('MISSING seeds[0].imap.password (env GMAIL_1_PASSWORD)');
  });

  it('check passes when every secret is present, and never prints a secret value', () => {
    const r = seedwatch(['check', '--no-connect', '--json', '--config', 'test/fixtures/config/valid.yaml'], { SW_TEST_PW: 'distinctive-pw-7781' });
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.seeds.map((s: { name: string }) => s.name)).toEqual(['gmail-1', 'outlook-1']);
    expect(r.stdout + r.stderr).not.toContain('distinctive-pw-7781');
    expect(r.stdout + r.stderr).not.toContain('rt-value-from-file');
  });

  it('an invalid config exits 2 with the field named', () => {
    const r = seedwatch(['check', '--no-connect', '--config', 'test/fixtures/config/wrong-type.yaml'], { SW_TEST_PW: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('test/fixtures/config/wrong-type.yaml: seeds[1].imap.port: expected an integer from 1 to 65535');
  });

  it('a missing config file is a clear error', () => {
    const r = seedwatch(['check', '--config', 'nope.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.yaml: cannot read the config file (ENOENT)');
  });

  it.each([
    [['probe', '--bogus', '--config', 'x.yaml']],
    [['probe']],
    [['report', '--config', 'x.yaml', '--format', 'xml']],
    [['no-such-command']],
  ])('a usage error (%j) exits 2, never 1 (which means "thresholds failed")', (args) => {
    const r = seedwatch(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: /);
  });

  it('--version prints the package version and exits 0', () => {
    const r = seedwatch(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
