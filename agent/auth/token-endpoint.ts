/**
 * One request to an OAuth2 token-style endpoint (RFC 6749 §3.2, RFC 8628 §3.1): a form POST
 * answered with JSON. Plain `fetch` — the refresh grant is one form POST, and the providers'
 * libraries (google-auth-library, @azure/msal-node) would bring their own token caches and
 * storage we would have to bypass to persist rotated refresh tokens in the ledger.
 */
import { OAuth2Error } from './oauth2-error.js';
import { SecretValue } from '../config/secret.js';

/** Bounds one token request (connect, TLS, answer). Providers answer in well under a second. */
export const TOKEN_REQUEST_TIMEOUT_MS = 30_000;
/** Bounds what is quoted of a provider's error_description in a message. */
const DESCRIPTION_MAX_CHARS = 200;

export type FetchLike = typeof fetch;

export interface TokenEndpointOptions {
  /** Who the request is for, first in every message: e.g. `seed gmail-1`. */
  label: string;
  /** What is being done, for messages: e.g. `refresh the access token`. */
  action: string;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Values that must never appear in a message even if the provider echoes them. */
  secrets?: string[];
}

export interface TokenResponse {
  accessToken: SecretValue;
  /** Seconds, when the provider said (RFC 6749 §5.1 recommends it). */
  expiresInSeconds?: number;
  /** A new refresh token (rotation), when the provider issued one. */
  refreshToken?: SecretValue;
  scope?: string;
  tokenType?: string;
}

/** The endpoint as it may appear in a message: scheme, host, path; no query, no userinfo. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A provider's free-text error description, bounded and scrubbed of anything we sent. */
export function scrubDescription(text: unknown, secrets: string[]): string | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  let out = text.replace(/[\r\n\t]+/g, ' ');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  // Anything that looks like a bearer/JWT token is dropped too (defence in depth).
  out = out.replace(/\b(ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_.-]+|[A-Za-z0-9_\-./+]{80,})\b/g, '[redacted]');
  return out.length > DESCRIPTION_MAX_CHARS ? `${out.slice(0, DESCRIPTION_MAX_CHARS)}…` : out;
}

/** An OAuth error code as sent by the provider, if it looks like one (RFC 6749 §5.2: ASCII). */
function oauthErrorCode(v: unknown): string | undefined {
  return typeof v === 'string' && /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(v) ? v : undefined;
}

/**
 * POST `form` to `url` and return the parsed JSON body when the status is 2xx; throws
 * OAuth2Error otherwise. `raw` callers (device flow polling) get the provider's error code in
 * `oauthError` to decide what to do.
 */
export async function postForm(url: string, form: Record<string, string>, opts: TokenEndpointOptions): Promise<Record<string, unknown>> {
  const where = safeUrl(url);
  const secrets = opts.secrets ?? [];
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(opts.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new OAuth2Error(
        'OAUTH2_ENDPOINT_TIMEOUT',
        `${opts.label}: cannot ${opts.action}: token endpoint ${where} did not answer within ${Math.round((opts.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS) / 1000)} s`,
      );
    }
    const code = typeof e.cause?.code === 'string' ? ` (${e.cause.code})` : '';
    throw new OAuth2Error('OAUTH2_ENDPOINT_UNREACHABLE', `${opts.label}: cannot ${opts.action}: token endpoint ${where} unreachable${code}`);
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* treated as an empty body below */
  }
  let body: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    body = null;
  }
  if (res.ok && body) return body;
  const oauthError = oauthErrorCode(body?.error);
  const description = scrubDescription(body?.error_description, secrets);
  const said = oauthError ? ` (${oauthError}${description ? `: ${description}` : ''})` : '';
  // RFC 6749 §5.2: a refused grant or client is a 400 (401 for client authentication) with an
  // `error`. 429 and 5xx are the endpoint's trouble, not the credentials': retried normally.
  const refused = (res.status === 400 || res.status === 401 || res.status === 403) && oauthError !== undefined && oauthError !== 'temporarily_unavailable';
  if (refused) {
    throw new OAuth2Error('OAUTH2_REJECTED', `${opts.label}: cannot ${opts.action}: token endpoint ${where} refused it${said}`, {
      status: res.status,
      oauthError,
    });
  }
  throw new OAuth2Error(
    'OAUTH2_ENDPOINT_ERROR',
    `${opts.label}: cannot ${opts.action}: token endpoint ${where} answered HTTP ${res.status}${body ? '' : ' without a JSON body'}${said}`,
    { status: res.status, ...(oauthError ? { oauthError } : {}) },
  );
}

/** Read an RFC 6749 §5.1 access token response. */
export function parseTokenResponse(body: Record<string, unknown>, url: string, opts: Pick<TokenEndpointOptions, 'label' | 'action'>): TokenResponse {
  const at = body.access_token;
  if (typeof at !== 'string' || at === '') {
    throw new OAuth2Error('OAUTH2_ENDPOINT_ERROR', `${opts.label}: cannot ${opts.action}: token endpoint ${safeUrl(url)} answered without an access_token`);
  }
  const expires = typeof body.expires_in === 'number' ? body.expires_in : typeof body.expires_in === 'string' ? Number(body.expires_in) : NaN;
  const rt = body.refresh_token;
  return {
    accessToken: new SecretValue(at, 'token endpoint'),
    ...(Number.isFinite(expires) && expires > 0 ? { expiresInSeconds: expires } : {}),
    ...(typeof rt === 'string' && rt !== '' ? { refreshToken: new SecretValue(rt, 'token endpoint') } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    ...(typeof body.token_type === 'string' ? { tokenType: body.token_type } : {}),
  };
}

/** The refresh grant (RFC 6749 §6). */
export async function refreshGrant(
  req: { tokenUrl: string; clientId: string; clientSecret?: SecretValue; refreshToken: SecretValue; scope?: string },
  opts: Omit<TokenEndpointOptions, 'action' | 'secrets'> & { action?: string },
): Promise<TokenResponse> {
  const action = opts.action ?? 'refresh the OAuth2 access token';
  const form: Record<string, string> = {
    grant_type: 'refresh_token',
    client_id: req.clientId,
    refresh_token: req.refreshToken.reveal(),
  };
  if (req.clientSecret) form.client_secret = req.clientSecret.reveal();
  if (req.scope) form.scope = req.scope;
  const secrets = [req.refreshToken.reveal(), ...(req.clientSecret ? [req.clientSecret.reveal()] : [])];
  const body = await postForm(req.tokenUrl, form, { ...opts, action, secrets });
  return parseTokenResponse(body, req.tokenUrl, { label: opts.label, action });
}
