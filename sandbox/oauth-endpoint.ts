/**
 * The sandbox's OAuth2 token endpoint (a stand-in for login.microsoftonline.com) on 127.0.0.1:
 *   POST /token   grant_type=refresh_token (RFC 6749 §6), form-encoded, answered with JSON:
 *                 { access_token, token_type, expires_in, scope, refresh_token }.
 * Like Microsoft's identity platform it rotates refresh tokens at every refresh and keeps the
 * earlier ones valid. The access tokens it issues are what the sandbox's OAuth2 mailboxes accept
 * over SASL XOAUTH2 (xoauth2-plugin.ts asks `validAccessToken`). Nothing leaves loopback; no
 * token is ever logged.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { silentLogger, type Logger } from '../agent/log.js';
import { listenLoopback, SANDBOX_HOST } from './listen-loopback.js';

/** The client id the sandbox's token endpoint knows (the demo config's `oauth2.clientId`). */
export const SANDBOX_OAUTH2_CLIENT_ID = 'seedwatch-demo';
/** Default lifetime of issued access tokens, seconds (Microsoft's are 60–90 min). */
export const SANDBOX_ACCESS_TOKEN_TTL_SECONDS = 3600;
/** Bounds the request body (a refresh grant is well under 1 KiB). */
const MAX_BODY_BYTES = 16 * 1024;

export interface SandboxOAuthAccount {
  /** The mailbox login name the tokens are for. */
  user: string;
  /** The refresh token the account starts with (the config's). */
  refreshToken: string;
}

export interface SandboxOAuthOptions {
  accounts: SandboxOAuthAccount[];
  clientId?: string;
  /** Lifetime of issued access tokens, seconds. Default SANDBOX_ACCESS_TOKEN_TTL_SECONDS. */
  accessTokenTtlSeconds?: number;
  logger?: Logger;
}

/** What the endpoint answered, per request (tests): never a token value. */
export interface SandboxTokenRequest {
  grantType: string;
  clientId: string;
  scope?: string;
  status: number;
  error?: string;
  user?: string;
}

interface AccessGrant {
  user: string;
  expiresAtMs: number;
}

/** Keeps this many recorded requests (the demo runs for hours). */
const MAX_RECORDED_REQUESTS = 200;

export class SandboxTokenEndpoint {
  private readonly clientId: string;
  private readonly ttlSeconds: number;
  private readonly log: Logger;
  /** refresh token → user; rotated ones stay valid (Microsoft's behaviour). */
  private readonly refreshTokens = new Map<string, string>();
  private readonly accessTokens = new Map<string, AccessGrant>();
  private readonly recorded: SandboxTokenRequest[] = [];
  private readonly refreshCount = new Map<string, number>();
  private readonly server: http.Server;
  private portNumber = 0;

  constructor(opts: SandboxOAuthOptions) {
    this.clientId = opts.clientId ?? SANDBOX_OAUTH2_CLIENT_ID;
    this.ttlSeconds = opts.accessTokenTtlSeconds ?? SANDBOX_ACCESS_TOKEN_TTL_SECONDS;
    if (!(this.ttlSeconds > 0)) throw new Error('SandboxTokenEndpoint: accessTokenTtlSeconds must be > 0');
    this.log = opts.logger ?? silentLogger();
    for (const a of opts.accounts) this.refreshTokens.set(a.refreshToken, a.user);
    this.server = http.createServer((req, res) => this.handle(req, res));
    // The agent's fetch keeps connections alive; do not let one hold the sandbox's stop.
    this.server.keepAliveTimeout = 1_000;
  }

  get port(): number {
    return this.portNumber;
  }

  get tokenUrl(): string {
    return `http://${SANDBOX_HOST}:${this.portNumber}/token`;
  }

  async start(): Promise<number> {
    this.portNumber = await listenLoopback(this.server, this.server);
    return this.portNumber;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** True when `token` was issued here for `user` and has not expired. */
  validAccessToken(user: string, token: string): boolean {
    const g = this.accessTokens.get(token);
    if (!g) return false;
    if (g.expiresAtMs <= Date.now()) {
      this.accessTokens.delete(token);
      return false;
    }
    return g.user.toLowerCase() === user.toLowerCase();
  }

  /** Successful refresh grants for a user. */
  refreshes(user: string): number {
    return this.refreshCount.get(user.toLowerCase()) ?? 0;
  }

  /** The requests answered so far, oldest first (the last MAX_RECORDED_REQUESTS). */
  requests(): SandboxTokenRequest[] {
    return this.recorded.map((r) => ({ ...r }));
  }

  private record(r: SandboxTokenRequest): void {
    this.recorded.push(r);
    if (this.recorded.length > MAX_RECORDED_REQUESTS) this.recorded.shift();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      const json = (status: number, body: Record<string, unknown>) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
        res.end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
      if (path !== '/token') return json(404, { error: 'not_found' });
      if (req.method !== 'POST') return json(405, { error: 'invalid_request', error_description: 'POST only' });
      if (tooLarge) return json(413, { error: 'invalid_request', error_description: 'body too large' });
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded') {
        return json(400, { error: 'invalid_request', error_description: 'expected application/x-www-form-urlencoded' });
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const grantType = form.get('grant_type') ?? '';
      const clientId = form.get('client_id') ?? '';
      const scope = form.get('scope') ?? undefined;
      const fail = (status: number, error: string, description: string) => {
        this.record({ grantType, clientId, ...(scope !== undefined ? { scope } : {}), status, error });
        this.log.warn({ grantType, status, error }, 'sandbox token endpoint refused a request');
        json(status, { error, error_description: description });
      };
      if (clientId !== this.clientId) return fail(400, 'unauthorized_client', 'The client does not exist or is not enabled for consumers.');
      if (grantType !== 'refresh_token') return fail(400, 'unsupported_grant_type', 'Only the refresh_token grant is served by the sandbox.');
      const user = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!user) return fail(400, 'invalid_grant', 'The refresh token has expired or is invalid.');

      const now = Date.now();
      for (const [t, g] of this.accessTokens) if (g.expiresAtMs <= now) this.accessTokens.delete(t);
      const accessToken = `sandbox-at-${randomBytes(24).toString('base64url')}`;
      const refreshToken = `sandbox-rt-${randomBytes(24).toString('base64url')}`;
      this.accessTokens.set(accessToken, { user, expiresAtMs: now + this.ttlSeconds * 1000 });
      this.refreshTokens.set(refreshToken, user);
      this.refreshCount.set(user.toLowerCase(), this.refreshes(user) + 1);
      this.record({ grantType, clientId, ...(scope !== undefined ? { scope } : {}), status: 200, user });
      this.log.info({ user, expiresInSeconds: this.ttlSeconds }, 'sandbox token endpoint issued an access token');
      json(200, {
        token_type: 'Bearer',
        scope: scope ?? 'https://outlook.office.com/IMAP.AccessAsUser.All',
        expires_in: this.ttlSeconds,
        ext_expires_in: this.ttlSeconds,
        access_token: accessToken,
        refresh_token: refreshToken,
      });
    });
  }
}
