/**
 * deploy/systemd/seedwatch.service checked by systemd's own tools, offline (PID 1 is not
 * systemd on the test machine, so the unit cannot be started; systemd-run cannot work).
 * `systemd-analyze verify` reports unknown keys and bad values only as warnings with exit 0,
 * so any output at all fails the test. Its ExecStart is /usr/bin/node (where Debian's and
 * NodeSource's packages install Node): verify requires that executable to exist, and it does
 * on the machines the tests run on.
 *
 * The drop-in seedwatch.service.d/credentials.conf (read by verify and security from beside the
 * unit, as systemd reads it from /etc/systemd/system/) loads /etc/seedwatch/secrets as
 * credentials; a test follows docs/deploy.md's recipe (init, then its sed) and checks that the
 * config's secret files are the names systemd gives those credentials.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initCommand } from '../../../agent/cli/init.js';
import { checkSecrets, loadConfig } from '../../../agent/config/load-config.js';
import { resolveSecret } from '../../../agent/config/secret.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const UNIT = join(ROOT, 'deploy/systemd/seedwatch.service');
const DROP_IN = join(ROOT, 'deploy/systemd/seedwatch.service.d/credentials.conf');
/** $CREDENTIALS_DIRECTORY of a system service: /run/credentials/UNIT (systemd.exec(5)). */
const CREDENTIALS_DIRECTORY = '/run/credentials/seedwatch.service';
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

  it('the unit with its drop-in passes `systemd-analyze verify` without a single line of output', async () => {
    const r = await analyze(['verify', UNIT]);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('verify reads the drop-in beside the unit: an unknown key there is reported (so the clean verify covers it)', async () => {
    const dir = join(tmp, 'with-drop-in');
    mkdirSync(join(dir, 'seedwatch.service.d'), { recursive: true });
    copyFileSync(UNIT, join(dir, 'seedwatch.service'));
    writeFileSync(join(dir, 'seedwatch.service.d', 'credentials.conf'), readFileSync(DROP_IN, 'utf8').replace('\n[Service]\n', '\n[Service]\nLoadCredentials=x\n'));
    const r = await analyze(['verify', join(dir, 'seedwatch.service')]);
    expect(r.output).toMatch(/credentials\.conf:\d+: Unknown key 'LoadCredentials' in section \[Service\]/);
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
    expect(readFileSync(UNIT, 'utf8')).toContain(`${CREDENTIALS_DIRECTORY}/`);
  });

  it('the drop-in loads /etc/seedwatch/secrets as credentials (an active line, not a comment)', () => {
    expect(serviceKeys(readFileSync(DROP_IN, 'utf8')).get('LoadCredential')).toEqual(['secrets:/etc/seedwatch/secrets']);
    // Commented out, it would be gone.
    expect(serviceKeys(readFileSync(DROP_IN, 'utf8').replace(/^LoadCredential=/m, '#LoadCredential=')).has('LoadCredential')).toBe(false);
  });

  it("docs/deploy.md's recipe (init, then its sed) points every secret at a credential the drop-in provides", async () => {
    const etc = join(tmp, 'etc-seedwatch');
    const config = join(etc, 'seedwatch.yaml');
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    const code = await initCommand(
      {
        out: config,
        nonInteractive: true,
        check: false,
        dataDir: '/var/lib/seedwatch',
        from: 'Probe <probe@mail.example.com>',
        relay: ['peering=mta.example.com:587'],
        relayAuth: ['peering=probe:RELAY_PW'],
        seed: ['gmail-1=gmail:seed.one@gmail.com', 'outlook-1=outlook:seed.two@outlook.com'],
        passwordEnv: ['gmail-1=GMAIL_PW'],
        oauth2Client: ['outlook-1=client-id-1'],
      },
      { stdout: out, stderr: out, env: { RELAY_PW: 'relay-secret', GMAIL_PW: 'gmail-secret' } },
    );
    expect(code, printed).toBe(0);
    // What `seedwatch auth --out secrets/outlook-1-refresh-token` (printed by init) would write.
    writeFileSync(join(etc, 'secrets', 'outlook-1-refresh-token'), 'refresh-secret\n', { mode: 0o600 });
    const before = loadConfig(config);
    const secrets = checkSecrets(before, {});
    expect(secrets.map((c) => [c.path, c.error])).toEqual([
      ['paths[0].smtp.auth.pass', undefined],
      ['seeds[0].imap.password', undefined],
      ['seeds[1].imap.oauth2.refreshToken', undefined],
    ]);

    // The recipe's sed, run on this config.
    const sed = /^sudo sed -i '([^']+)' \/etc\/seedwatch\/seedwatch\.yaml$/m.exec(readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8'));
    expect(sed, 'the sed line of docs/deploy.md, "systemd"').not.toBeNull();
    await new Promise<void>((resolve, reject) => execFile('sed', ['-i', sed![1], config], (err) => (err ? reject(err) : resolve())));
    const files = (parse(readFileSync(config, 'utf8')) as { paths: { smtp: { auth: { pass: { file: string } } } }[]; seeds: { imap: { password?: { file: string }; oauth2?: { refreshToken: { file: string } } } }[] });
    const refs = [files.paths[0].smtp.auth.pass.file, files.seeds[0].imap.password!.file, files.seeds[1].imap.oauth2!.refreshToken.file];
    for (const f of refs) expect(f.startsWith(`${CREDENTIALS_DIRECTORY}/`), f).toBe(true);

    // What systemd makes of the drop-in's line (systemd.exec(5), LoadCredential= with a
    // directory): every file below it, as ID_FILE (a subdirectory's "/" as "_"), in the
    // credentials directory. Built here from init's secrets directory, standing in for
    // /run/credentials/seedwatch.service (which only systemd can create).
    const [id, source] = serviceKeys(readFileSync(DROP_IN, 'utf8')).get('LoadCredential')![0].split(':');
    // init writes secrets/ beside the config: /etc/seedwatch/secrets for the recipe's --out.
    expect(source).toBe('/etc/seedwatch/secrets');
    const credentials = join(tmp, 'credentials');
    mkdirSync(credentials);
    for (const f of readdirSync(join(etc, 'secrets'), { recursive: true, withFileTypes: true })) {
      if (f.isFile()) copyFileSync(join(f.parentPath, f.name), join(credentials, `${id}_${relative(join(etc, 'secrets'), join(f.parentPath, f.name)).replaceAll('/', '_')}`));
    }
    writeFileSync(config, readFileSync(config, 'utf8').replaceAll(`${CREDENTIALS_DIRECTORY}/`, `${credentials}/`));
    const after = loadConfig(config);
    expect(checkSecrets(after, {}).filter((c) => c.error)).toEqual([]);
    // The same values as before the recipe, field by field.
    const value = (cfg: typeof before, i: number) => {
      const seed = cfg.seeds[i].imap.auth;
      return resolveSecret(seed.kind === 'password' ? seed.password : seed.refreshToken, 'x', { env: {}, baseDir: cfg.baseDir }).reveal();
    };
    expect([value(after, 0), value(after, 1)]).toEqual([value(before, 0), value(before, 1)]);
    expect([value(after, 0), value(after, 1)]).toEqual(['gmail-secret', 'refresh-secret']);
  });
});
