/**
 * `seedwatch auth` against a loopback stand-in for the authorization server: the test plays the
 * user (and the browser), so each flow runs from its first request to the written token file.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authCommand } from '../../../agent/cli/auth.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

async function until<T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('seedwatch auth', () => {
  let os: OAuthServer;
  let dir: string;
  beforeEach(async () => {
    os = await startOAuthServer({ accounts: [{ user: 'seed@example.test', refreshToken: 'unused' }], clientId: 'my-client', devicePendingPolls: 1 });
    dir = mkdtempSync(join(tmpdir(), 'seedwatch-auth-cli-'));
  });
  afterEach(async () => {
    await os?.close();
  });

  it('outlook: device code flow — first request, the prompt, polling, token file 0600 (its directory created, 0700), config lines without the token', async () => {
    const out = capture();
    const err = capture();
    const file = join(dir, 'secrets', 'o1.token');
    const code = await authCommand(
      { provider: 'outlook', clientId: 'my-client', tenant: 'organizations', out: file, loginHint: 'seed@example.test', deviceCodeUrl: `${os.url}/devicecode`, tokenUrl: os.tokenUrl },
      { stdout: out.stream, stderr: err.stream },
    );
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    // the first request: the device authorization request with the preset's scope
    expect(os.requests[0]).toMatchObject({
      method: 'POST',
      path: '/devicecode',
      form: { client_id: 'my-client', scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access' },
    });
    const polls = os.requests.filter((r) => r.path === '/token');
    expect(polls).toHaveLength(2); // authorization_pending once, then the tokens
    expect(polls[0].form).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'my-client' });
    expect(out.text()).toMatch(/enter the code ABCD-EFGH/);
    const token = os.currentRefreshToken('seed@example.test');
    expect(readFileSync(file, 'utf8')).toBe(`${token}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    expect(out.text()).not.toContain(token);
    expect(out.text()).toContain(`refreshToken: { file: ${file} }`);
    expect(out.text()).toContain('clientId: my-client');
    expect(out.text()).toContain('tenant: organizations');
    expect(out.text()).toContain('user: seed@example.test');
  });

  it('outlook: the default device endpoint is Microsoft\'s, with the tenant filled in (stopped at the first request)', async () => {
    const err = capture();
    const seen: string[] = [];
    const code = await authCommand(
      { provider: 'outlook', clientId: 'my-client', out: join(dir, 'x') },
      {
        stdout: capture().stream,
        stderr: err.stream,
        // never leaves the machine: the stand-in fetch records the URL and refuses
        fetch: (async (url: string | URL | Request) => {
          seen.push(String(url));
          throw new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) });
        }) as typeof fetch,
      },
    );
    expect(seen).toEqual(['https://login.microsoftonline.com/consumers/oauth2/v2.0/devicecode']);
    expect(code).toBe(1);
    expect(err.text()).toMatch(/token endpoint https:\/\/login\.microsoftonline\.com\/consumers\/oauth2\/v2\.0\/devicecode unreachable \(ECONNREFUSED\)/);
  });

  it('gmail: loopback flow with PKCE — the authorization URL, the redirect, the code exchange', async () => {
    const out = capture();
    const err = capture();
    const file = join(dir, 'g1.token');
    const secretFile = join(dir, 'client-secret');
    writeFileSync(secretFile, 'desktop-client-secret\n');
    const running = authCommand(
      { provider: 'gmail', clientId: 'my-client', clientSecretFile: secretFile, out: file, loginHint: 'seed@example.test', authorizeUrl: `${os.url}/authorize`, tokenUrl: os.tokenUrl },
      { stdout: out.stream, stderr: err.stream },
    );
    // the user opens the printed URL: the stand-in authorization server redirects to the loopback
    const printed = await until(() => /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(out.text())?.[1], 'authorization URL');
    const authz = new URL(printed);
    expect(Object.fromEntries(authz.searchParams)).toMatchObject({
      client_id: 'my-client',
      response_type: 'code',
      scope: 'https://mail.google.com/',
      code_challenge_method: 'S256',
      access_type: 'offline',
      prompt: 'consent',
      login_hint: 'seed@example.test',
    });
    expect(authz.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // a forged redirect with the wrong state is ignored
    const forged = new URL(authz.searchParams.get('redirect_uri')!);
    forged.searchParams.set('code', 'forged');
    forged.searchParams.set('state', 'wrong');
    expect((await fetch(forged)).status).toBe(400);
    const redirect = await fetch(printed, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const page = await fetch(redirect.headers.get('location')!);
    expect(await page.text()).toMatch(/Signed in/);
    expect(await running).toBe(0);
    expect(err.text()).toBe('');
    const exchange = os.requests.find((r) => r.path === '/token')!;
    expect(exchange.form).toMatchObject({ grant_type: 'authorization_code', client_id: 'my-client', client_secret: 'desktop-client-secret', redirect_uri: authz.searchParams.get('redirect_uri') });
    expect(exchange.form.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const token = os.currentRefreshToken('seed@example.test');
    expect(readFileSync(file, 'utf8')).toBe(`${token}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.text()).not.toContain(token);
    expect(out.text()).not.toContain('desktop-client-secret');
    expect(out.text()).toContain(`clientSecret: { file: ${secretFile} }`);
  });

  it('refuses bad input before any request, and never overwrites a token file unasked', async () => {
    const err = capture();
    // yahoo accepts OAuth2 logins but its preset declares no sign-in flow: the message names it.
    expect(await authCommand({ provider: 'yahoo', clientId: 'c' }, { stderr: err.stream, stdout: capture().stream })).toBe(2);
    expect(err.text()).toBe('seedwatch auth: --provider: preset "yahoo" declares no OAuth2 sign-in flow (oauth2.flow in its preset file); presets with one: gmail, outlook\n');
    const unknown = capture();
    expect(await authCommand({ provider: 'hotmail', clientId: 'c' }, { stderr: unknown.stream, stdout: capture().stream })).toBe(2);
    expect(unknown.text()).toBe('seedwatch auth: --provider: unknown provider "hotmail" (presets with an OAuth2 sign-in: gmail, outlook)\n');
    const existing = join(dir, 'exists');
    writeFileSync(existing, 'old');
    const err2 = capture();
    expect(await authCommand({ provider: 'gmail', clientId: 'c', out: existing, tokenUrl: os.tokenUrl }, { stderr: err2.stream, stdout: capture().stream })).toBe(2);
    expect(err2.text()).toMatch(/exists; pass --force/);
    expect(readFileSync(existing, 'utf8')).toBe('old');
    expect(os.requests).toHaveLength(0);
  });
});
