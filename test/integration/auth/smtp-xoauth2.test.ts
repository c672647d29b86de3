/** SMTP AUTH XOAUTH2 for relay paths, against a loopback smtp-server and token endpoint. */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import { smtpXOAuth2Auth } from '../../../agent/auth/smtp-xoauth2.js';
import type { PathConfig } from '../../../agent/config/load-config.js';
import { literalSecrets } from '../watch/watch-harness.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

const USER = 'relay-user@sender.test';

describe('relay path XOAUTH2', () => {
  let os: OAuthServer;
  let smtp: SMTPServer;
  let port: number;
  const accepted: string[] = [];
  const refused = new Set<string>();
  beforeAll(async () => {
    os = await startOAuthServer({ accounts: [{ user: USER, refreshToken: 'rt-relay-config-0001' }], accessTokenTtlSeconds: 3600 });
    smtp = new SMTPServer({
      authMethods: ['XOAUTH2'],
      authOptional: false,
      disableReverseLookup: true, // no DNS off loopback (docs/components.md, "smtp-server")
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, cb) {
        const t = auth.accessToken ?? '';
        const valid = auth.method === 'XOAUTH2' && !refused.has(t) && os.issuedAccessTokens().some((i) => i.token === t && i.user === auth.username);
        if (!valid) return cb(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
        accepted.push(t);
        cb(null, { user: auth.username });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    port = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => smtp?.close(() => r()));
    await os?.close();
  });

  const path = (): PathConfig =>
    ({
      name: 'relay-oauth',
      smtp: {
        host: '127.0.0.1',
        port,
        secure: false,
        requireTLS: false,
        tls: { rejectUnauthorized: true },
        maxConnections: 1,
        auth: { user: USER, oauth2: { clientId: 'relay-client', refreshToken: { literal: 'rt-relay-config-0001' }, tokenUrl: os.tokenUrl } },
      },
      headers: {},
      timeout: 10_000,
    }) as PathConfig;

  async function login(auth: ReturnType<typeof smtpXOAuth2Auth>): Promise<void> {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, name: 'localhost', connectionTimeout: 5_000 });
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    try {
      await new Promise<void>((resolve, reject) => conn.login(auth, (err) => (err ? reject(err) : resolve())));
    } finally {
      conn.quit();
    }
  }

  it('logs in with a token from the shared source, reuses it, and refreshes once when the relay refuses it', async () => {
    const tokens = new OAuth2Tokens();
    const source = tokens.forPath(path(), 0, literalSecrets);
    const auth = smtpXOAuth2Auth(source, USER);
    await login(auth);
    await login(auth);
    expect(os.refreshes(USER)).toBe(1);
    expect(accepted).toHaveLength(2);
    expect(accepted[0]).toBe(accepted[1]);
    // the relay stops accepting the token (revoked early): nodemailer asks again with renew
    refused.add(accepted[0]);
    await login(auth);
    expect(os.refreshes(USER)).toBe(2);
    expect(accepted[2]).not.toBe(accepted[0]);
    // the refresh used the rotated refresh token
    expect(os.requests.filter((r) => r.path === '/token').at(-1)!.form).toMatchObject({ client_id: 'relay-client', grant_type: 'refresh_token' });
    expect(os.requests.filter((r) => r.path === '/token').at(-1)!.form.refresh_token).not.toBe('rt-relay-config-0001');
  });

  it('a revoked grant fails the login with the path named and no token in the error', async () => {
    const tokens = new OAuth2Tokens();
    os.revoke(USER);
    const err = (await login(smtpXOAuth2Auth(tokens.forPath(path(), 3, literalSecrets), USER)).catch((e) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/path relay-oauth: cannot refresh the OAuth2 access token: .*invalid_grant/);
    expect(err.message).toMatch(/paths\[3\]\.smtp\.auth\.oauth2\.refreshToken/);
    expect(err.message).not.toContain('rt-relay-config-0001');
  });
});
