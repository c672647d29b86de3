/**
 * deploy/systemd/seedwatch.service checked by systemd's own tools, offline (PID 1 is not
 * systemd on the test machine, so the unit cannot be started; systemd-run cannot work).
 * `systemd-analyze verify` reports unknown keys and bad values only as warnings with exit 0,
 * so any output at all fails the test. Its ExecStart is /usr/bin/node (where Debian's and
 * NodeSource's packages install Node): verify requires that executable to exist, and it does
 * on the machines the tests run on.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const UNIT = join(dirname(fileURLToPath(import.meta.url)), '../../../deploy/systemd/seedwatch.service');
/**
 * The unit's overall exposure is 1.1 ("OK"); systemd-analyze's threshold is in tenths. The
 * remaining exposure is the network it needs (PrivateNetwork, AF_INET/AF_INET6, no IP
 * allow-list), AF_UNIX (glibc's resolver), MemoryDenyWriteExecute (V8's JIT), and the host's
 * root directory.
 */
const SECURITY_THRESHOLD = 11;

const tmp = mkdtempSync(join(tmpdir(), 'seedwatch-systemd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function analyze(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The [Service] section's keys and values (a key may repeat). */
function serviceKeys(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    out.set(line.slice(0, eq), [...(out.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('systemd unit', () => {
  it('has the ExecStart executable that verify requires', () => {
    const exec = serviceKeys(readFileSync(UNIT, 'utf8')).get('ExecStart')?.[0] ?? '';
    expect(exec.split(' ')[0]).toBe('/usr/bin/node');
    expect(existsSync('/usr/bin/node'), 'Node 20 at /usr/bin/node (Debian/NodeSource package)').toBe(true);
  });

  it('passes `systemd-analyze verify` without a single line of output', async () => {
    const r = await analyze(['verify', UNIT]);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('the same verify reports an unknown key (so the check above can fail)', async () => {
    const copy = join(tmp, 'seedwatch.service');
    writeFileSync(copy, readFileSync(UNIT, 'utf8').replace('\n[Service]\n', '\n[Service]\nProtectEverything=yes\n'));
    const r = await analyze(['verify', copy]);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/Unknown key 'ProtectEverything' in section \[Service\]/);
  });

  it(`scores at most ${SECURITY_THRESHOLD / 10} in \`systemd-analyze security\``, async () => {
    const r = await analyze(['security', '--offline=yes', `--threshold=${SECURITY_THRESHOLD}`, UNIT]);
    expect(r.code, r.output).toBe(0);
    const score = Number(/Overall exposure level for seedwatch\.service: ([\d.]+)/.exec(r.output)?.[1]);
    expect(score).toBeLessThanOrEqual(SECURITY_THRESHOLD / 10);
    // One tenth stricter fails: the threshold is the unit's score, not a loose bound.
    const stricter = await analyze(['security', '--offline=yes', `--threshold=${SECURITY_THRESHOLD - 1}`, UNIT]);
    expect(stricter.code).not.toBe(0);
  });

  it('runs as a dynamic user with state, config, credentials, reload and restart as documented', () => {
    const keys = serviceKeys(readFileSync(UNIT, 'utf8'));
    const one = (k: string) => keys.get(k)?.[0];
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('seedwatch');
    expect(one('ConfigurationDirectory')).toBe('seedwatch');
    expect(one('ExecStart')).toContain('run --config /etc/seedwatch/seedwatch.yaml');
    expect(one('ExecReload')).toBe('kill -HUP $MAINPID');
    expect(one('Restart')).toBe('on-failure');
    for (const k of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'NoNewPrivileges', 'RestrictAddressFamilies']) expect(keys.has(k), k).toBe(true);
    expect(keys.get('SystemCallFilter')).toContain('@system-service');
    // The credentials directory the comments tell users to point `{ file: … }` secrets at.
    expect(readFileSync(UNIT, 'utf8')).toContain('/run/credentials/seedwatch.service/');
  });
});
