import type { MailboxErrorKind } from '../domain/vocabulary.js';
import type { ErrorCode } from '../errors.js';

export type WatchErrorCode = Extract<ErrorCode, 'OAUTH2_UNSUPPORTED' | 'SECRET_UNAVAILABLE' | 'SESSION_CLOSED' | 'NO_INBOX'>;

/** An error raised by the watch module itself (imapflow's own errors pass through unchanged). */
export class WatchError extends Error {
  constructor(
    readonly code: WatchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WatchError';
  }
}

const TIMEOUT_CODES = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ETIMEOUT', 'ETIMEDOUT', 'LockTimeout', 'OAUTH2_ENDPOINT_TIMEOUT']);
const CONNECTION_CODES = new Set([
  'NoConnection',
  'EConnectionClosed',
  'ClosedAfterConnectText',
  'ClosedAfterConnectTLS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'SESSION_CLOSED',
  // the OAuth2 token endpoint (a refused grant sets authenticationFailed: login)
  'OAUTH2_ENDPOINT_UNREACHABLE',
]);

interface ImapErrorShape {
  code?: unknown;
  authenticationFailed?: unknown;
  responseStatus?: unknown;
  serverResponseCode?: unknown;
}

/**
 * Maps any failure of an IMAP session to the bounded `kind` label of
 * seedwatch_mailbox_errors_total. Login problems (wrong password, unsupported auth, missing
 * secret) are `login`: they are retried slowly, never in a tight loop.
 */
export function mailboxErrorKind(err: unknown): MailboxErrorKind {
  const e = (err ?? {}) as ImapErrorShape;
  const code = typeof e.code === 'string' ? e.code : '';
  if (e.authenticationFailed === true) return 'login';
  if (code === 'OAUTH2_UNSUPPORTED' || code === 'SECRET_UNAVAILABLE') return 'login';
  if (typeof e.serverResponseCode === 'string' && /^(AUTHENTICATIONFAILED|AUTHORIZATIONFAILED)$/i.test(e.serverResponseCode)) {
    return 'login';
  }
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (CONNECTION_CODES.has(code)) return 'connection';
  // TLS failures (certificate not trusted, wrong host name) are connection problems; the
  // message says which.
  if (/^(ERR_TLS_|ERR_SSL_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|CERT_)/.test(code)) return 'connection';
  return 'protocol';
}

/** A short, secret-free description of an error for logs, health and the ledger. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & ImapErrorShape & { responseText?: unknown };
    const parts = [e.message];
    if (typeof e.code === 'string' && !e.message.includes(e.code)) parts.push(`(${e.code})`);
    if (typeof e.responseText === 'string' && e.responseText && !e.message.includes(e.responseText)) parts.push(`: ${e.responseText}`);
    return parts.join(' ').slice(0, 500);
  }
  return String(err).slice(0, 500);
}
