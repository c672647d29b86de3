/**
 * A loopback stand-in for an OAuth2 provider (Google / Microsoft identity platform), for tests:
 *   POST /token        grant_type=refresh_token (short-lived access tokens, rotating refresh
 *                      tokens), authorization_code (Google loopback flow, PKCE checked) and
 *                      urn:ietf:params:oauth:grant-type:device_code (Microsoft device flow)
 *   POST /introspect   RFC 7662 token introspection, for Dovecot's oauth2 passdb
 *   POST /devicecode   device authorization (RFC 8628)
 *   GET  /authorize    authorization endpoint: redirects to redirect_uri with a code
 * Every request is recorded (form fields included) so a test can assert what a client sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OAuthAccount {
  /** The mailbox login name (what introspection answers as `username`). */
  user: string;
  /** The refresh token currently valid for this account. */
  refreshToken: string;
  /** Lifetime of this account's access tokens, seconds (default: accessTokenTtlSeconds). */
  accessTokenTtlSeconds?: number;
  /**
   * Rotation keeps the old refresh token valid (Microsoft's behaviour); default false: the used
   * one is revoked (the strict rotation of RFC 9700 §4.14.2).
   */
  keepOldRefreshTokens?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  authorization?: string;
}

export interface OAuthServerOptions {
  accounts: OAuthAccount[];
  /** Lifetime of issued access tokens, seconds. Default 5. */
  accessTokenTtlSeconds?: number;
  /** Return a new refresh token on every refresh (and revoke the used one). Default true. */
  rotateRefreshTokens?: boolean;
  clientId?: string;
  /** When set, /token requires it (client_secret form field). */
  clientSecret?: string;
  /** Device flow: how many polls answer authorization_pending before success. Default 1. */
  devicePendingPolls?: number;
}

export interface OAuthServer {
  url: string;
  tokenUrl: string;
  introspectionUrl: string;
  requests: RecordedRequest[];
  /** Successful refresh_token grants per user. */
  refreshes(user: string): number;
  /** The refresh token currently valid for a user. */
  currentRefreshToken(user: string): string;
  /** Invalidate every refresh token (and access token) of a user. */
  revoke(user: string): void;
  /** Make an access token invalid at introspection (as a server-side revocation would). */
  revokeAccessToken(token: string): void;
  /** Access tokens issued so far (all users), oldest first. */
  issuedAccessTokens(): { user: string; token: string; expiresAtMs: number }[];
  /** Make /token answer this HTTP status (e.g. 503) until cleared with null. */
  failTokenEndpoint(status: number | null): void;
  close(): Promise<void>;
}

interface Grant {
  user: string;
  token: string;
  expiresAtMs: number;
  revoked: boolean;
}

function parseForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body).entries());
}

function tokenString(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

export async function startOAuthServer(opts: OAuthServerOptions): Promise<OAuthServer> {
  const ttl = opts.accessTokenTtlSeconds ?? 5;
  const rotate = opts.rotateRefreshTokens ?? true;
  const refreshTokens = new Map<string, string>(); // token -> user
  const current = new Map<string, string>(); // user -> token
  for (const a of opts.accounts) {
    refreshTokens.set(a.refreshToken, a.user);
    current.set(a.user, a.refreshToken);
  }
  const accessTokens = new Map<string, Grant>();
  const issued: Grant[] = [];
  const refreshCount = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const codes = new Map<string, { user: string; challenge?: string; redirectUri: string }>();
  const deviceCodes = new Map<string, { user: string; pending: number }>();
  let failStatus: number | null = null;

  const issue = (user: string, rotateNow: boolean, res: http.ServerResponse) => {
    const token = tokenString('at');
    const life = opts.accounts.find((a) => a.user === user)?.accessTokenTtlSeconds ?? ttl;
    const grant: Grant = { user, token, expiresAtMs: Date.now() + life * 1000, revoked: false };
    accessTokens.set(token, grant);
    issued.push(grant);
    const body: Record<string, unknown> = { access_token: token, token_type: 'Bearer', expires_in: life, scope: 'mail' };
    if (rotateNow) {
      const old = current.get(user);
      if (old && !opts.accounts.find((a) => a.user === user)?.keepOldRefreshTokens) refreshTokens.delete(old);
      const next = tokenString('rt');
      refreshTokens.set(next, user);
      current.set(user, next);
      body.refresh_token = next;
    }
    json(res, 200, body);
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const form = req.method === 'POST' ? parseForm(body) : {};
      requests.push({
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams.entries()),
        form,
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      const clientOk = () =>
        (opts.clientId === undefined || form.client_id === opts.clientId) &&
        (opts.clientSecret === undefined || form.client_secret === opts.clientSecret);

      if (u.pathname === '/introspect' && req.method === 'POST') {
        const g = accessTokens.get(form.token ?? '');
        if (!g || g.revoked || g.expiresAtMs <= Date.now()) return json(res, 200, { active: false });
        return json(res, 200, { active: true, username: g.user, exp: Math.floor(g.expiresAtMs / 1000) });
      }
      if (u.pathname === '/token' && req.method === 'POST') {
        if (failStatus !== null) return json(res, failStatus, { error: 'temporarily_unavailable' });
        if (!clientOk()) return json(res, 401, { error: 'invalid_client', error_description: 'unknown client' });
        if (form.grant_type === 'refresh_token') {
          const user = refreshTokens.get(form.refresh_token ?? '');
          if (!user) {
            return json(res, 400, {
              error: 'invalid_grant',
              error_description: `Token has been expired or revoked. (${(form.refresh_token ?? '').length} chars)`,
            });
          }
          refreshCount.set(user, (refreshCount.get(user) ?? 0) + 1);
          return issue(user, rotate, res);
        }
        if (form.grant_type === 'authorization_code') {
          const c = codes.get(form.code ?? '');
          if (!c || c.redirectUri !== form.redirect_uri) return json(res, 400, { error: 'invalid_grant' });
          if (c.challenge) {
            const computed = createHash('sha256').update(form.code_verifier ?? '').digest('base64url');
            if (computed !== c.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
          }
          codes.delete(form.code!);
          return issue(c.user, true, res);
        }
        if (form.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
          const d = deviceCodes.get(form.device_code ?? '');
          if (!d) return json(res, 400, { error: 'expired_token' });
          if (d.pending > 0) {
            d.pending--;
            return json(res, 400, { error: 'authorization_pending' });
          }
          deviceCodes.delete(form.device_code!);
          return issue(d.user, true, res);
        }
        return json(res, 400, { error: 'unsupported_grant_type' });
      }
      if (u.pathname === '/devicecode' && req.method === 'POST') {
        if (!clientOk()) return json(res, 400, { error: 'invalid_client' });
        const code = tokenString('dc');
        deviceCodes.set(code, { user: opts.accounts[0]?.user ?? 'nobody', pending: opts.devicePendingPolls ?? 1 });
        return json(res, 200, {
          device_code: code,
          user_code: 'ABCD-EFGH',
          verification_uri: `http://127.0.0.1:${port}/device`,
          expires_in: 900,
          interval: 1,
          message: `To sign in, open http://127.0.0.1:${port}/device and enter the code ABCD-EFGH.`,
        });
      }
      if (u.pathname === '/authorize' && req.method === 'GET') {
        const redirectUri = u.searchParams.get('redirect_uri') ?? '';
        if (u.searchParams.get('client_id') !== (opts.clientId ?? u.searchParams.get('client_id')) || !redirectUri) {
          res.writeHead(400);
          return res.end('bad request');
        }
        const code = tokenString('code');
        codes.set(code, {
          user: opts.accounts[0]?.user ?? 'nobody',
          challenge: u.searchParams.get('code_challenge') ?? undefined,
          redirectUri,
        });
        const target = new URL(redirectUri);
        target.searchParams.set('code', code);
        const state = u.searchParams.get('state');
        if (state !== null) target.searchParams.set('state', state);
        res.writeHead(302, { location: target.toString() });
        return res.end();
      }
      res.writeHead(404);
      res.end('not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tokenUrl: `${url}/token`,
    introspectionUrl: `${url}/introspect`,
    requests,
    refreshes: (user) => refreshCount.get(user) ?? 0,
    currentRefreshToken: (user) => current.get(user) ?? '',
    revoke(user) {
      for (const [t, u] of [...refreshTokens]) if (u === user) refreshTokens.delete(t);
      current.delete(user);
      for (const g of accessTokens.values()) if (g.user === user) g.revoked = true;
    },
    revokeAccessToken(token) {
      const g = accessTokens.get(token);
      if (g) g.revoked = true;
    },
    issuedAccessTokens: () => issued.map((g) => ({ user: g.user, token: g.token, expiresAtMs: g.expiresAtMs })),
    failTokenEndpoint(status) {
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
