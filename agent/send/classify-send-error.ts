import type { SendResult } from '../ledger/ledger.js';
import type { SendFailureReason } from '../domain/vocabulary.js';
import { parseSmtpReply } from './parse-smtp-reply.js';

/** The fields of a nodemailer SMTP error this classifier reads (all optional: any Error fits). */
export interface SmtpErrorLike {
  message?: string;
  /** Nodemailer's code: ECONNECTION, ETIMEDOUT, ESOCKET, ETLS, EAUTH, EENVELOPE, EMESSAGE, EPROTOCOL, … */
  code?: string;
  /** The system error code nodemailer replaced, e.g. ECONNREFUSED, ERR_SSL_WRONG_VERSION_NUMBER. */
  originalCode?: string;
  responseCode?: number;
  /** The server's reply (multi-line replies joined with "\n"). */
  response?: string;
  /** The SMTP command in flight: CONN, EHLO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA, API. */
  command?: string;
}

export interface ClassifyContext {
  /** When the failure was seen (epoch ms). */
  atMs: number;
  /**
   * True once the server answered DATA with 354 and message bytes started to flow. A connection
   * lost or timed out from then on, without a final reply, may still have delivered the message.
   */
  dataSent: boolean;
}

type Failure = Extract<SendResult, { ok: false }>;

const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
const TLS_CODES = new Set(['ETLS', 'EREQUIRETLS']);
/** Errors that end the connection rather than answer the message. */
const CONNECTION_LOSS_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EPROTOCOL']);
/** System codes of a failed TLS handshake or certificate check (Node/OpenSSL). */
const TLS_SYSTEM_CODE_RE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_(GET|VERIFY)|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_CERT|HOSTNAME_MISMATCH|EPROTO$)/;
const TLS_MESSAGE_RE = /certificate|wrong version number|ssl|tls|handshake/i;

/**
 * Turn a failed SMTP attempt into the ledger's SendResult. Pure: no I/O, no clock.
 *
 * Order of decisions: a server reply decides when there is one (4xx deferred, 5xx rejected),
 * except that a refused login is `auth` and a refused STARTTLS is `tls`. Without a reply, a
 * connection lost or timed out after the message data started is `ambiguous` (the relay may
 * have queued it; seedwatch never retries it), otherwise tls / timeout / connection.
 */
export function classifySendError(err: SmtpErrorLike, ctx: ClassifyContext): Failure {
  const reply = err.response ? parseSmtpReply(err.response) : null;
  const codes = reply
    ? { code: reply.code, ...(reply.enhanced !== undefined ? { enhanced: reply.enhanced } : {}), text: reply.text }
    : {};
  const base = (reason: SendFailureReason, message: string): Failure => ({
    ok: false,
    reason,
    atMs: ctx.atMs,
    ...codes,
    message,
  });
  const detail = describe(err);
  const code = err.code ?? '';
  const command = err.command ?? '';

  if (AUTH_CODES.has(code) || command.startsWith('AUTH')) return base('auth', `authentication failed: ${detail}`);
  if (TLS_CODES.has(code)) return base('tls', `TLS failed: ${detail}`);
  if (reply && reply.code >= 400 && reply.code < 600) {
    const where = command && command !== 'CONN' && command !== 'API' ? ` to ${command}` : '';
    return base(reply.code >= 500 ? 'rejected' : 'deferred', `${reply.code >= 500 ? 'rejected' : 'deferred'}${where}: ${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`.trimEnd());
  }
  if (isTlsFailure(err)) return base('tls', `TLS failed: ${detail}`);
  if (ctx.dataSent && (CONNECTION_LOSS_CODES.has(code) || code === '')) {
    return base(
      'ambiguous',
      `connection ${code === 'ETIMEDOUT' ? 'timed out' : 'lost'} after the message data was sent, before the final reply; the relay may have accepted it (not retried): ${detail}`,
    );
  }
  if (code === 'ETIMEDOUT') return base('timeout', `timed out: ${detail}`);
  if (code === 'EENVELOPE' || code === 'EMESSAGE') return base('rejected', `refused before sending: ${detail}`);
  return base('connection', `connection failed: ${detail}`);
}

function isTlsFailure(err: SmtpErrorLike): boolean {
  if (err.originalCode && TLS_SYSTEM_CODE_RE.test(err.originalCode)) return true;
  return (err.code === 'ESOCKET' || err.code === 'ECONNECTION') && TLS_MESSAGE_RE.test(err.message ?? '');
}

function describe(err: SmtpErrorLike): string {
  const parts = [err.message ?? 'unknown error'];
  const extra = [err.code, err.originalCode].filter((c): c is string => !!c && !parts[0].includes(c));
  if (extra.length > 0) parts.push(`(${extra.join(', ')})`);
  return parts.join(' ');
}
