/**
 * One HTTP request of a reputation client (SNDS, Postmaster Tools) with Node's fetch: bounded
 * by a timeout, failures sorted into the kinds of reputation-errors.ts, and messages that name
 * the endpoint without its query string (the SNDS key travels in it).
 */
import { safeUrl, type FetchLike } from '../auth/token-endpoint.js';
import type { SourceErrorKind } from './reputation-errors.js';

/** Bounds one request (connect, TLS, the whole answer). SNDS and Google answer in seconds. */
export const REPUTATION_HTTP_TIMEOUT_MS = 30_000;
/** Bounds what is quoted of an error body in a message. */
const BODY_EXCERPT_CHARS = 160;

export type HttpAnswer = { ok: true; status: number; text: string } | { ok: false; kind: SourceErrorKind; status?: number; message: string };

export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Values that must not appear in a message even if the server echoes them. */
  secrets?: string[];
}

export function kindOfStatus(status: number): SourceErrorKind {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  return 'server_error';
}

function scrub(text: string, secrets: string[]): string {
  let out = text.replace(/[\r\n\t]+/g, ' ').trim();
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.length > BODY_EXCERPT_CHARS ? `${out.slice(0, BODY_EXCERPT_CHARS)}…` : out;
}

export async function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const where = safeUrl(url);
  const timeoutMs = opts.timeoutMs ?? REPUTATION_HTTP_TIMEOUT_MS;
  const secrets = opts.secrets ?? [];
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      body: opts.body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return { ok: false, kind: 'timeout', message: `${where} did not answer within ${Math.round(timeoutMs / 100) / 10} s` };
    }
    const code = typeof e.cause?.code === 'string' ? ` (${e.cause.code})` : '';
    return { ok: false, kind: 'unreachable', message: `${where} unreachable${code}` };
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, text };
  const excerpt = scrub(text, secrets);
  return { ok: false, kind: kindOfStatus(res.status), status: res.status, message: `${where} answered HTTP ${res.status}${excerpt ? `: ${excerpt}` : ''}` };
}
