/**
 * `seedwatch probe --send-only` with an OAuth2 relay uses the agent's one token store: a
 * refresh token the provider rotated (and revoked) on the first run is read back from the
 * ledger on the second run. A command that built a store of its own would refresh with the
 * config's revoked token and fail to log in.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
const USER = 'relay-user@sender.test';
const CONFIG_TOKEN = 'rt-send-only-config-0001';

let os: OAuthServer;
let smtp: SMTPServer;
let port: number;
let dir: string;
const delivered: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-send-only-oauth2-'));
  // Strict rotation: every refresh returns a new refresh token and revokes the used one.
  os = await startOAuthServer({ accounts: [{ user: USER, refreshToken: CONFIG_TOKEN }], accessTokenTtlSeconds: 3600, rotateRefreshTokens: true });
  smtp = new SMTPServer({
    authMethods: ['XOAUTH2'],
    authOptional: false,
    disabledCommands: ['STARTTLS'], // plain loopback; smtp-server's built-in certificate has expired
    disableReverseLookup: true, // no DNS off loopback (docs/components.md, "smtp-server")
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      const ok = auth.method === 'XOAUTH2' && os.issuedAccessTokens().some((i) => i.token === auth.accessToken && i.user === auth.username);
      cb(ok ? null : Object.assign(new Error('invalid credentials'), { responseCode: 535 }), ok ? { user: auth.username } : undefined);
    },
    onData(stream, _session, cb) {
      let raw = '';
      stream.on('data', (d) => (raw += d));
      stream.on('end', () => {
        delivered.push(/^X-Seedwatch-Probe: (\S+)/im.exec(raw)?.[1] ?? '');
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  port = (smtp.server.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'seedwatch.yaml'),
    `dataDir: ./data
probe:
  from: "Deliverability Probe <probe@sender.test>"
paths:
  - name: relay
    smtp:
      host: 127.0.0.1
      port: ${port}
      auth: { user: ${USER}, oauth2: { clientId: relay-client, refreshToken: { env: SW_RELAY_RT }, tokenUrl: "${os.tokenUrl}" } }
seeds:
  - name: seed-1
    address: seed@example.test
    provider: generic
    imap: { host: 127.0.0.1, port: 1, secure: false, user: seed@example.test, password: { env: SW_SEED_PW } }
`,
  );
});

afterAll(async () => {
  await new Promise<void>((r) => smtp?.close(() => r()));
  await os?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The command as a child process (asynchronously: the relay and the token endpoint run in this one). */
function sendOnly(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'probe', '--send-only', '--json', '--config', join(dir, 'seedwatch.yaml')], {
    cwd: dir,
    env: { ...process.env, SW_RELAY_RT: CONFIG_TOKEN, SW_SEED_PW: 'unused-seed-pw' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (status) => resolve({ status, stdout, stderr })));
}

describe('probe --send-only with an OAuth2 relay', () => {
  it('keeps using the refresh token the provider rotated, from the ledger, run after run', async () => {
    const first = await sendOnly();
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).probes.map((p: { status: string }) => p.status)).toEqual(['accepted']);
    expect(os.refreshes(USER)).toBe(1);
    // The config still names the first token, which the provider has revoked.
    expect(os.currentRefreshToken(USER)).not.toBe(CONFIG_TOKEN);

    const second = await sendOnly();
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).probes.map((p: { status: string }) => p.status)).toEqual(['accepted']);
    expect(os.refreshes(USER)).toBe(2);
    expect(delivered).toHaveLength(2);
    // Nothing of a token on the terminal.
    for (const out of [first, second]) {
      expect(out.stdout + out.stderr).not.toContain(CONFIG_TOKEN);
      expect(out.stdout + out.stderr).not.toContain(os.currentRefreshToken(USER));
    }
  });
});
