/**
 * Authorization code flow for installed apps with a loopback redirect (RFC 8252 §7.3) and PKCE
 * (RFC 7636): listen on 127.0.0.1, send the user to the authorization URL, receive the code on
 * the redirect, exchange it. Used by `seedwatch auth` for presets with `oauth2.flow: loopback`
 * (gmail).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Error } from './oauth2-error.js';
import type { SecretValue } from '../config/secret.js';
import { parseTokenResponse, postForm, type FetchLike, type TokenResponse } from './token-endpoint.js';

/** Bounds the wait for the user to finish in the browser. */
export const AUTHORIZATION_TIMEOUT_MS = 5 * 60_000;

export interface LoopbackFlowOptions {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret?: SecretValue;
  scope: string;
  /**
   * Extra query parameters of the authorization request, from the preset (Google issues a
   * refresh token only with access_type=offline, and again only with prompt=consent).
   */
  authorizeParams?: Record<string, string>;
  loginHint?: string;
  /** Loopback port of the redirect; 0 = any free one (Google accepts any port on 127.0.0.1). */
  port?: number;
  /** Shows the user the URL to open. */
  prompt: (text: string, authorizationUrl: string) => void;
  fetch?: FetchLike;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const PAGE_DONE = '<!doctype html><title>seedwatch</title><p>Signed in. You can close this window and return to the terminal.</p>';
const PAGE_FAILED = '<!doctype html><title>seedwatch</title><p>Sign-in failed; see the terminal.</p>';

export async function loopbackFlow(o: LoopbackFlowOptions): Promise<TokenResponse> {
  const label = 'seedwatch auth';
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');

  let settle!: { resolve: (code: string) => void; reject: (err: Error) => void };
  const codeP = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  codeP.catch(() => undefined); // awaited below; a rejection before that must not go unhandled
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/' || (!u.searchParams.has('code') && !u.searchParams.has('error'))) {
      res.writeHead(404).end();
      return;
    }
    if (u.searchParams.get('state') !== state) {
      // Not the answer to our request (a stale tab, or someone else's page): ignore it.
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE_FAILED);
      return;
    }
    const error = u.searchParams.get('error');
    const code = u.searchParams.get('code');
    if (error || !code) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE_FAILED);
      const safe = (error ?? 'no code').replace(/[^\x20-\x7e]/g, '').slice(0, 64);
      settle.reject(new OAuth2Error('OAUTH2_REJECTED', `${label}: the authorization server refused (${safe})`, { oauthError: safe }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE_DONE);
    settle.resolve(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const timer = setTimeout(
    () => settle.reject(new OAuth2Error('OAUTH2_REJECTED', `${label}: no answer from the browser within ${Math.round((o.timeoutMs ?? AUTHORIZATION_TIMEOUT_MS) / 1000)} s`)),
    o.timeoutMs ?? AUTHORIZATION_TIMEOUT_MS,
  );
  const onAbort = () => settle.reject(new Error(`${label}: aborted`));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const url = new URL(o.authorizeUrl);
    url.searchParams.set('client_id', o.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', o.scope);
    url.searchParams.set('code_challenge', challenge);
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    for (const [k, v] of Object.entries(o.authorizeParams ?? {})) {
      // The protocol's own parameters above are not the preset's to change.
      if (!url.searchParams.has(k)) url.searchParams.set(k, v);
    }
    if (o.loginHint) url.searchParams.set('login_hint', o.loginHint);
    o.prompt(`Open this URL in a browser on this machine and sign in as the seed mailbox:\n\n  ${url.toString()}\n`, url.toString());
    const code = await codeP;
    const form: Record<string, string> = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: o.clientId,
      code_verifier: verifier,
    };
    if (o.clientSecret) form.client_secret = o.clientSecret.reveal();
    const action = 'exchange the authorization code';
    const body = await postForm(o.tokenUrl, form, {
      label,
      action,
      fetch: o.fetch,
      secrets: [code, verifier, ...(o.clientSecret ? [o.clientSecret.reveal()] : [])],
    });
    return parseTokenResponse(body, o.tokenUrl, { label, action });
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
