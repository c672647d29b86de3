/**
 * `seedwatch init` against a real Dovecot (a Gmail-like mailbox: [Gmail]/Spam with \Junk) and
 * a real SMTP relay on loopback.
 *  - Interactive, driven through a pseudo-terminal (util-linux `script` gives the command a pty
 *    and forwards what the test writes as keystrokes): the answers include a wrong IMAP
 *    password, so the login fails, init offers to re-enter it, and the second login succeeds.
 *  - Non-interactive, from flags, the password from an environment variable.
 *  - Non-interactive with an OAuth2 seed: the refresh-token block in the config and the
 *    `seedwatch auth` command init prints, run as printed (against a loopback stand-in for
 *    Microsoft's endpoints) to fill the file the config names.
 * Both produce a commented config that `seedwatch check` (run again by the test) accepts, the
 * password only in a 0600 file. The plain loopback seed also shows that imapflow's STARTTLS
 * warning stays quiet for a seed the config marks plain.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../../agent/config/load-config.js';
import { createLogger } from '../../../agent/log.js';
import { imapClientOptions } from '../../../agent/watch/imap-client.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { startOAuthServer } from '../../helpers/oauth-server.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = join(ROOT, 'test/e2e/init/run-cli.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const SEED = { user: 'seed1@example.test', password: 'correct-horse-7', kind: 'gmail' as const };
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

let dovecot: DovecotServer;
let relay: SmtpRelay;
const dirs: string[] = [];

beforeAll(async () => {
  [dovecot, relay] = await Promise.all([startDovecot({ users: [SEED] }), startRelay({ name: 'init' })]);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), relay?.stop()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'seedwatch-init-'));
  dirs.push(d);
  return d;
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  delete env.SEEDWATCH_LOG_LEVEL;
  delete env.SEEDWATCH_LOG_FORMAT;
  return env;
}

function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A command on a pseudo-terminal, answered like a user would: wait until a question shows,
 * then type the answer. Everything the terminal showed is kept (ANSI codes removed).
 */
class Terminal {
  private pending = '';
  transcript = '';
  readonly exited: Promise<number>;
  private readonly child;

  constructor(args: string[], cwd: string) {
    const command = [process.execPath, '--import', TSX, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-qfec', command, '/dev/null'], { cwd, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      const text = d.toString().replace(ANSI, '');
      this.pending += text;
      this.transcript += text;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code ?? -1)));
  }

  /** Waits for `question` (since the last answer), then types `keys`. */
  async answer(question: string, keys: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.pending.includes(question)) {
      if (Date.now() > deadline) throw new Error(`no "${question}" on the terminal; it shows:\n${this.transcript.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.pending = '';
    // The prompt renders before its keypress handler sees input only by a tick; leave it one.
    await new Promise((r) => setTimeout(r, 60));
    this.child.stdin.write(keys);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

const ENTER = '\r';

function expectConfigWritten(dir: string): void {
  const file = join(dir, 'seedwatch.yaml');
  const text = readFileSync(file, 'utf8');
  // Commented, valid, the password in its own 0600 file only.
  expect(text).toMatch(/^# seedwatch configuration, written by `seedwatch init`/);
  expect(text).toMatch(/^# Seed mailboxes, watched over IMAP/m);
  expect(text).toMatch(/^ {2}# logged in: spam "\[Gmail\]\/Spam" \(special-use\)/m);
  expect(text).not.toContain(SEED.password);
  const cfg = loadConfig(file);
  expect(cfg.paths.map((p) => [p.name, p.smtp?.host, p.smtp?.port])).toEqual([['peering', '127.0.0.1', relay.port]]);
  expect(cfg.seeds.map((s) => [s.name, s.provider, s.imap.host, s.imap.port, s.imap.secure, s.imap.user])).toEqual([
    ['gmail-1', 'gmail', '127.0.0.1', dovecot.imapPort, false, SEED.user],
  ]);
  const raw = parse(text) as { seeds: { imap: { password: { file: string } } }[] };
  const secret = join(dir, raw.seeds[0].imap.password.file);
  expect(readFileSync(secret, 'utf8').trim()).toBe(SEED.password);
  expect(statSync(secret).mode & 0o777).toBe(0o600);
  expect(statSync(dirname(secret)).mode & 0o777).toBe(0o700);
}

describe('seedwatch init', () => {
  it('interactive: asks, logs in (a wrong password is re-asked), writes a commented config that passes check', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const t = new Terminal(['init'], dir);
    try {
      await t.answer('Config file to write', ENTER);
      await t.answer('Sender of the probes', `Probe <probe@example.test>${ENTER}`);
      await t.answer('HTTP listen address', ENTER);
      await t.answer('Path name', `peering${ENTER}`);
      await t.answer('How does peering send?', ENTER); // the first choice: a relay
      await t.answer('Relay host[:port]', `127.0.0.1:${relay.port}${ENTER}`);
      await t.answer('Implicit TLS (port 465 style)?', ENTER);
      await t.answer('Does the relay need a login?', ENTER);
      await t.answer('Source IP of this path', ENTER);
      await t.answer('Add another path?', ENTER);
      await t.answer('Provider (type to jump)', 'gmail');
      await t.answer('gmail — Gmail', ENTER);
      await t.answer('Seed address', `${SEED.user}${ENTER}`);
      await t.answer('Seed name', ENTER); // gmail-1
      await t.answer('IMAP server host:port', `127.0.0.1:${dovecot.imapPort}${ENTER}`);
      await t.answer('Implicit TLS (IMAPS)?', ENTER);
      await t.answer('IMAP login', ENTER); // the address
      await t.answer('Authentication', 'p'); // jump to "password"
      await t.answer('password (an app password', ENTER);
      await t.answer('IMAP password', `not-the-password${ENTER}`);
      await t.answer('Add another seed?', ENTER);
      // The agent's connectivity check: the login fails, init asks again.
      await t.answer('Re-enter server and credentials?', ENTER);
      await t.answer('IMAP server host:port', ENTER);
      await t.answer('Implicit TLS (IMAPS)?', ENTER);
      await t.answer('IMAP login', ENTER);
      await t.answer('IMAP password', `${SEED.password}${ENTER}`);
      const code = await t.exited;
      expect(code, t.transcript.slice(-3000)).toBe(0);
    } finally {
      t.kill();
    }
    expect(t.transcript).toMatch(/FAILED \(login\)/);
    expect(t.transcript).toMatch(/wrote .*seedwatch\.yaml/);
    expect(t.transcript).toContain('seedwatch check --config seedwatch.yaml');
    // The password was masked on the terminal.
    expect(t.transcript).not.toContain(SEED.password);
    expectConfigWritten(dir);
    const check = await cli(['check', '--config', 'seedwatch.yaml'], dir);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('non-interactive: the same config from flags, the password from the environment', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const args = [
      'init',
      '--non-interactive',
      '--from',
      'Probe <probe@example.test>',
      '--relay',
      `peering=127.0.0.1:${relay.port}`,
      '--seed',
      `gmail-1=gmail:${SEED.user}`,
      '--imap',
      `gmail-1=127.0.0.1:${dovecot.imapPort}:plain`,
      '--password-env',
      'gmail-1=SEED_PASSWORD',
    ];
    const r = await cli(args, dir, { SEED_PASSWORD: SEED.password });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SEED.password);
    expectConfigWritten(dir);
    // check on the result; a second run refuses to overwrite without --force; a missing
    // variable is named.
    const [check, again, missing] = await Promise.all([
      cli(['check', '--config', 'seedwatch.yaml'], dir),
      cli(args, dir, { SEED_PASSWORD: SEED.password }),
      cli([...args, '--force'], tempDir()),
    ]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/seedwatch\.yaml exists; pass --force/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--password-env gmail-1: environment variable SEED_PASSWORD is not set');
  });

  it('non-interactive OAuth2 seed: the refresh-token block in the config, and the printed `seedwatch auth` command fills it', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const address = 'seed.two@outlook.com';
    const args = [
      'init',
      '--non-interactive',
      '--no-check',
      '--from',
      'Probe <probe@example.test>',
      '--relay',
      `peering=127.0.0.1:${relay.port}`,
      '--seed',
      `outlook-1=outlook:${address}`,
      '--oauth2-client',
      'outlook-1=my-client:organizations',
    ];
    const r = await cli(args, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'seedwatch.yaml'), 'utf8');
    // One line, as a user would write it; the preset's server (no host, port, secure), no password.
    expect(text).toContain('    oauth2: { clientId: my-client, tenant: organizations, refreshToken: { file: secrets/outlook-1-refresh-token } }\n');
    expect((parse(text) as { seeds: unknown[] }).seeds).toEqual([
      {
        name: 'outlook-1',
        address,
        provider: 'outlook',
        imap: { user: address, oauth2: { clientId: 'my-client', tenant: 'organizations', refreshToken: { file: 'secrets/outlook-1-refresh-token' } } },
      },
    ]);
    const seed = loadConfig(join(dir, 'seedwatch.yaml')).seeds[0];
    expect([seed.imap.host, seed.imap.port, seed.imap.secure, seed.imap.auth.kind]).toEqual(['outlook.office365.com', 993, true, 'oauth2']);
    // The token is not there yet: init says how to get it, with the tenant and the login hint.
    const command = `seedwatch auth --provider outlook --client-id my-client --tenant organizations --login-hint ${address} --out secrets/outlook-1-refresh-token`;
    expect(r.stdout).toContain(`\noutlook-1: get its refresh token with\n  ${command}\n`);
    const token = join(dir, 'secrets', 'outlook-1-refresh-token');
    expect(existsSync(token)).toBe(false);
    // The directory the command writes into exists, private.
    expect(statSync(dirname(token)).mode & 0o777).toBe(0o700);
    const missing = await cli(['check', '--config', 'seedwatch.yaml', '--no-connect'], dir);
    expect(missing.code, missing.stdout + missing.stderr).not.toBe(0);
    expect(missing.stdout + missing.stderr).toContain('secrets/outlook-1-refresh-token');

    // The printed command, as printed, from the same directory; only the endpoints point at the
    // loopback stand-in (the device-code flow, which the outlook preset declares).
    const oauth = await startOAuthServer({ accounts: [{ user: address, refreshToken: 'unused' }], clientId: 'my-client', devicePendingPolls: 1 });
    try {
      const auth = await cli([...command.split(' ').slice(1), '--device-code-url', `${oauth.url}/devicecode`, '--token-url', oauth.tokenUrl], dir);
      expect(auth.code, auth.stdout + auth.stderr).toBe(0);
      expect(oauth.requests.find((q) => q.path === '/devicecode')?.form.client_id).toBe('my-client');
      expect(readFileSync(token, 'utf8')).toBe(`${oauth.currentRefreshToken(address)}\n`);
      expect(statSync(token).mode & 0o777).toBe(0o600);
    } finally {
      await oauth.close();
    }
    const check = await cli(['check', '--config', 'seedwatch.yaml', '--no-connect'], dir);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    // With the token in place, a new init no longer asks for it.
    const again = await cli([...args, '--force'], dir);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain('get its refresh token');
  });

  it('a plain loopback seed (secure: false on 127.0.0.1) logs no STARTTLS warning, which the server would cause', async () => {
    const dir = tempDir();
    const r = await cli(
      ['init', '--non-interactive', '--no-check', '--from', 'P <p@example.test>', '--relay', 'r=127.0.0.1:25', '--seed', `s=gmail:${SEED.user}`, '--imap', `s=127.0.0.1:${dovecot.imapPort}:plain`, '--password-env', 's=PW'],
      dir,
      { PW: SEED.password },
    );
    expect(r.code, r.stderr).toBe(0);
    const seed = loadConfig(join(dir, 'seedwatch.yaml')).seeds[0];
    const sink = new PassThrough();
    let logged = '';
    sink.on('data', (c: Buffer) => (logged += c.toString()));
    const log = createLogger({ destination: sink, format: 'json', level: 'info', env: {} });
    const auth = { user: SEED.user, pass: SEED.password };
    // Three sessions of the seed, as its watchers open them.
    for (let i = 0; i < 3; i++) {
      const client = new ImapFlow(imapClientOptions(seed, auth, { idle: false, log }));
      await client.connect();
      await client.logout();
    }
    expect(existsSync(join(dir, 'seedwatch.yaml'))).toBe(true);
    expect(logged).not.toMatch(/STARTTLS/);
    // The control: the same session with imapflow's logger unfiltered does warn (no STARTTLS here).
    const raw = new ImapFlow({ ...imapClientOptions(seed, auth, { idle: false }), logger: log.child({ component: 'imapflow' }, { level: 'warn' }) });
    await raw.connect();
    await raw.logout();
    expect(logged).toMatch(/does not support STARTTLS/);
  });
});
