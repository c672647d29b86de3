/**
 * The sandbox's Outlook mailbox allows OAuth2 only, as Microsoft does: its token endpoint
 * serves the refresh_token grant, the mailbox accepts the access tokens over SASL XOAUTH2 and
 * refuses LOGIN. The demo config loads with plain `loadConfig` and the shipped presets, and the
 * agent's own login code (imapAuth via `seedwatch check`'s inspectSeed) gets into every seed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import { refreshGrant } from '../../../agent/auth/token-endpoint.js';
import { loadConfig, secretResolver } from '../../../agent/config/load-config.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { DEMO_PASSWORD_ENV, demoRefreshTokenEnv } from '../../../sandbox/demo-config.js';
import { SANDBOX_OAUTH2_CLIENT_ID } from '../../../sandbox/oauth-endpoint.js';
import { createPrng } from '../../../sandbox/prng.js';
import { startSandbox, type Sandbox } from '../../../sandbox/start-sandbox.js';
import { inspectSeed } from '../../../agent/watch/inspect-seed.js';
import { accessTokenFor, clean, imapSession, seedOf, sendProbe } from './sandbox-helpers.js';

let sandbox: Sandbox | null = null;
let tmp: string | null = null;
afterEach(async () => {
  await sandbox?.stop();
  sandbox = null;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = null;
});

/** One raw IMAP exchange: writes each line after the previous answer matched `until`. */
async function rawImap(port: number, steps: { send: string; until: RegExp }[]): Promise<string[]> {
  const socket = net.connect(port, '127.0.0.1');
  let buf = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (buf += d));
  const waitFor = async (re: RegExp) => {
    const t0 = Date.now();
    while (!re.test(buf)) {
      if (Date.now() - t0 > 5_000) throw new Error(`timeout waiting for ${re}: ${buf}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await waitFor(/^\* OK.*\r\n/m);
    const out: string[] = [];
    for (const step of steps) {
      buf = '';
      socket.write(`${step.send}\r\n`);
      await waitFor(step.until);
      out.push(buf);
    }
    return out;
  } finally {
    socket.destroy();
  }
}

describe('sandbox OAuth2 (Outlook)', () => {
  it('refuses LOGIN for Outlook even with the sandbox password, and accepts XOAUTH2 with a token from its endpoint', async () => {
    sandbox = await startSandbox({ random: createPrng(11), behaviour: clean(), password: 'the-sandbox-password' });
    const outlook = seedOf(sandbox, 'outlook');
    expect(outlook.imap.password).toBeUndefined();
    expect(outlook.imap.oauth2).toMatchObject({ clientId: SANDBOX_OAUTH2_CLIENT_ID, tokenUrl: sandbox.oauth.tokenUrl });
    expect(sandbox.oauth.tokenUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
    // The other providers keep their passwords.
    for (const p of ['gmail', 'yahoo', 'orange']) expect(seedOf(sandbox, p).imap).toMatchObject({ password: 'the-sandbox-password' });

    // Before login, Outlook offers XOAUTH2 (with SASL-IR) and nothing else; password mailboxes do not offer it.
    const [outlookCaps] = await rawImap(outlook.imap.port, [{ send: 'a CAPABILITY', until: /^a OK/m }]);
    expect(outlookCaps).toMatch(/^\* CAPABILITY .*AUTH=XOAUTH2/m);
    expect(outlookCaps).toMatch(/ SASL-IR/);
    expect(outlookCaps).not.toMatch(/AUTH=PLAIN|LOGINDISABLED/);
    const [gmailCaps] = await rawImap(seedOf(sandbox, 'gmail').imap.port, [{ send: 'a CAPABILITY', until: /^a OK/m }]);
    expect(gmailCaps).not.toMatch(/AUTH=XOAUTH2/);

    await expect(imapSession(outlook, { pass: 'the-sandbox-password' })).rejects.toMatchObject({ authenticationFailed: true });

    const client = await imapSession(outlook); // a refreshed access token, XOAUTH2
    try {
      expect((await client.list()).map((l) => l.path)).toContain('Junk Email');
    } finally {
      await client.logout();
    }
    expect(sandbox.mailbox('outlook-1').logins().map(({ mechanism, ok, user }) => ({ mechanism, ok, user }))).toEqual([
      { mechanism: 'LOGIN', ok: false, user: outlook.address },
      { mechanism: 'XOAUTH2', ok: true, user: outlook.address },
    ]);
    expect(sandbox.mailbox('outlook-1').loginCountsByMechanism()).toEqual({ 'LOGIN:failed': 1, 'XOAUTH2:ok': 1 });
    expect(sandbox.oauth.refreshes(outlook.address)).toBe(1);

    const gmail = await imapSession(seedOf(sandbox, 'gmail'));
    await gmail.logout();
    expect(sandbox.mailbox('gmail-1').logins().map((l) => [l.mechanism, l.ok])).toEqual([['LOGIN', true]]);
  });

  it('the token endpoint: refresh grant per RFC 6749 §6, rotation that keeps old refresh tokens, refusals as OAuth errors', async () => {
    sandbox = await startSandbox({ random: createPrng(12), behaviour: clean(), providers: ['outlook'], accessTokenTtlSeconds: 1 });
    const seed = seedOf(sandbox, 'outlook');
    const o = seed.imap.oauth2!;
    const grant = (over: { clientId?: string; refreshToken?: string } = {}) =>
      refreshGrant(
        { tokenUrl: o.tokenUrl, clientId: over.clientId ?? o.clientId, refreshToken: new SecretValue(over.refreshToken ?? o.refreshToken, 'test') },
        { label: 'test' },
      );

    const first = await grant();
    expect(first.expiresInSeconds).toBe(1);
    expect(first.tokenType).toBe('Bearer');
    expect(first.refreshToken).toBeDefined();
    const rotated = first.refreshToken!.reveal();
    expect(rotated).not.toBe(o.refreshToken);
    // Microsoft keeps the used refresh token valid after rotating it; both work.
    await expect(grant({ refreshToken: rotated })).resolves.toMatchObject({ expiresInSeconds: 1 });
    await expect(grant()).resolves.toMatchObject({ expiresInSeconds: 1 });

    await expect(grant({ refreshToken: 'not-issued-here' })).rejects.toMatchObject({ code: 'OAUTH2_REJECTED', details: { oauthError: 'invalid_grant' } });
    await expect(grant({ clientId: 'someone-else' })).rejects.toMatchObject({ code: 'OAUTH2_REJECTED', details: { oauthError: 'unauthorized_client' } });
    const res = await fetch(o.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' });
    expect(res.status).toBe(400);
    expect(sandbox.oauth.requests().map((r) => [r.status, r.error ?? null])).toEqual([
      [200, null],
      [200, null],
      [200, null],
      [400, 'invalid_grant'],
      [400, 'unauthorized_client'],
      [400, 'unauthorized_client'],
    ]);
    expect(sandbox.oauth.refreshes(seed.address)).toBe(3);

    // A token works until it expires; an expired, foreign or made-up one is refused.
    const token = (await grant()).accessToken.reveal();
    const c = await imapSession(seed, { accessToken: token });
    await c.logout();
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(imapSession(seed, { accessToken: token })).rejects.toMatchObject({ authenticationFailed: true });
    await expect(imapSession(seed, { accessToken: 'sandbox-at-made-up' })).rejects.toMatchObject({ authenticationFailed: true });
    const okAgain = await imapSession(seed); // refreshed
    await okAgain.logout();
    expect(sandbox.mailbox('outlook-1').logins().map((l) => `${l.mechanism}:${l.ok}`)).toEqual(['XOAUTH2:true', 'XOAUTH2:false', 'XOAUTH2:false', 'XOAUTH2:true']);
  });

  it('XOAUTH2 without an initial response (continuation), a wrong user and garbage are handled like a server would', async () => {
    sandbox = await startSandbox({ random: createPrng(13), behaviour: clean(), providers: ['outlook'] });
    const seed = seedOf(sandbox, 'outlook');
    const token = await accessTokenFor(seed);
    const payload = (user: string) => Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    const [cap, login, cont, done, select] = await rawImap(seed.imap.port, [
      { send: 'a CAPABILITY', until: /^a OK/m },
      { send: `b LOGIN ${seed.address} whatever`, until: /^b (OK|NO|BAD)/m },
      { send: 'c AUTHENTICATE XOAUTH2', until: /^\+/m },
      { send: payload(seed.address), until: /^c (OK|NO|BAD)/m },
      { send: 'd SELECT INBOX', until: /^d (OK|NO|BAD)/m },
    ]);
    expect(cap).toMatch(/AUTH=XOAUTH2/);
    expect(cap).toMatch(/SASL-IR/);
    expect(login).toMatch(/^b NO LOGIN failed\./m);
    expect(cont).toMatch(/^\+ ?\r\n/m);
    expect(done).toMatch(/^c OK/m);
    expect(select).toMatch(/^d OK/m);

    const [wrongUser, garbage, cancelled] = await rawImap(seed.imap.port, [
      { send: `a AUTHENTICATE XOAUTH2 ${payload('someone.else@outlook.com')}`, until: /^a (OK|NO|BAD)/m },
      { send: 'b AUTHENTICATE XOAUTH2 bm90IHhvYXV0aDI=', until: /^b (OK|NO|BAD)/m },
      { send: 'c AUTHENTICATE XOAUTH2', until: /^\+/m },
    ]);
    expect(wrongUser).toMatch(/^a NO AUTHENTICATE failed\./m);
    expect(garbage).toMatch(/^b NO/m);
    expect(cancelled).toMatch(/^\+/m);
    expect(sandbox.mailbox('outlook-1').loginCountsByMechanism()).toEqual({ 'LOGIN:failed': 1, 'XOAUTH2:ok': 1, 'XOAUTH2:failed': 2 });
  });

  it('the demo config loads with plain loadConfig (shipped presets), and the agent logs into Outlook with XOAUTH2', async () => {
    sandbox = await startSandbox({ random: createPrng(14), behaviour: clean() });
    tmp = mkdtempSync(join(tmpdir(), 'sandbox-oauth-'));
    const file = join(tmp, 'seedwatch-demo.yaml');
    const yaml = sandbox.configYaml({ listen: '127.0.0.1:0', dataDir: '.', schedule: '*/10 * * * * *', deadline: '60s' });
    writeFileSync(file, yaml);
    expect(yaml).toContain(`env: ${demoRefreshTokenEnv('outlook')}`);
    expect(demoRefreshTokenEnv('outlook')).toBe('SEEDWATCH_DEMO_OUTLOOK_REFRESH_TOKEN');
    const config = loadConfig(file);
    const outlookSeed = config.seeds.find((s) => s.provider === 'outlook')!;
    expect(outlookSeed.preset.auth).toEqual(['oauth2']); // the shipped preset, unchanged
    expect(outlookSeed.imap.auth).toMatchObject({ kind: 'oauth2', clientId: 'seedwatch-demo', tokenUrl: sandbox.oauth.tokenUrl, refreshToken: { env: 'SEEDWATCH_DEMO_OUTLOOK_REFRESH_TOKEN' } });
    for (const s of config.seeds.filter((x) => x.provider !== 'outlook')) expect(s.imap.auth).toMatchObject({ kind: 'password', password: { env: DEMO_PASSWORD_ENV } });

    const env = {
      [DEMO_PASSWORD_ENV]: seedOf(sandbox, 'gmail').imap.password,
      [demoRefreshTokenEnv('outlook')]: seedOf(sandbox, 'outlook').imap.oauth2!.refreshToken,
    };
    const resolve = secretResolver(config, env);
    const tokens = new OAuth2Tokens();
    for (const seed of config.seeds) {
      const r = await inspectSeed(seed, resolve, { oauth2: tokens });
      expect(r, seed.name).toMatchObject({ ok: true });
      expect(r.folders?.spam, seed.name).not.toBeNull();
    }
    expect(sandbox.mailbox('outlook-1').logins().map((l) => [l.mechanism, l.ok])).toEqual([['XOAUTH2', true]]);
    for (const n of ['gmail-1', 'yahoo-1', 'orange-1']) expect(sandbox.mailbox(n).logins().map((l) => [l.mechanism, l.ok]), n).toEqual([['LOGIN', true]]);
    // The request the agent made: its client id and the preset's Outlook IMAP scope.
    expect(sandbox.oauth.requests()).toEqual([
      { grantType: 'refresh_token', clientId: 'seedwatch-demo', scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access', status: 200, user: 'seedwatch.demo1@outlook.com' },
    ]);

    // Delivery to the OAuth2 mailbox is unchanged.
    const sent = await sendProbe(sandbox, 'transit', seedOf(sandbox, 'outlook').address);
    expect(sent.response).toMatch(/^250 /);
    await sandbox.settled();
    expect(sandbox.mailbox('outlook-1').messages('INBOX')).toHaveLength(1);
  });
});
