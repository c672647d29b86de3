import SMTPConnection, { type SMTPConnectionAuth, type SMTPConnectionOptions } from 'nodemailer/lib/smtp-connection';
import { Readable } from 'node:stream';
import type { SmtpErrorLike } from './classify-send-error.js';
import type { ProbeEnvelope } from './probe-path.js';

/** A connected (greeted, EHLO'd, STARTTLS'd, logged-in) SMTP session. */
export interface LiveConnection {
  readonly conn: SMTPConnection;
  /** False once the socket closed or errored: never hand it out again. */
  alive: boolean;
  /** Messages sent over it (a reused session may have been dropped by the server meanwhile). */
  messages: number;
  /** "host:port" for messages. */
  remote: string;
}

export type TransactionResult =
  | { ok: true; response: string }
  | { ok: false; error: SmtpErrorLike; dataSent: boolean };

function timeoutError(message: string): SmtpErrorLike & Error {
  return Object.assign(new Error(message), { code: 'ETIMEDOUT' });
}

/**
 * Connect, greet, EHLO, STARTTLS as configured, and log in when `auth` is given.
 * `budgetMs` bounds all of it (nodemailer's own timeouts are set to the same budget; the
 * guard timer catches a phase none of them covers, e.g. a stalled TLS handshake).
 */
export function openConnection(
  options: SMTPConnectionOptions,
  budgetMs: number,
  auth?: SMTPConnectionAuth,
): Promise<LiveConnection> {
  const conn = new SMTPConnection({
    ...options,
    connectionTimeout: budgetMs,
    greetingTimeout: budgetMs,
    socketTimeout: budgetMs,
    // QUIT answered or not, the socket is gone 1 s later: closing must not hold the agent.
    socketCloseTimeout: 1_000,
    logger: false,
  });
  const live: LiveConnection = { conn, alive: true, messages: 0, remote: `${options.host}:${options.port}` };
  // Without a listener an 'error' event would crash the process; the callbacks report errors.
  conn.on('error', () => {
    live.alive = false;
  });
  conn.once('end', () => {
    live.alive = false;
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: SmtpErrorLike) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      conn.removeListener('error', onError);
      if (err) {
        live.alive = false;
        conn.close();
        reject(err);
      } else resolve(live);
    };
    const onError = (err: SmtpErrorLike) => finish(err);
    const guard = setTimeout(
      () => finish(timeoutError(`no SMTP session with ${live.remote} within ${budgetMs} ms`)),
      budgetMs,
    );
    guard.unref();
    conn.once('error', onError);
    conn.connect((err) => {
      if (err) return finish(err);
      if (!auth) return finish();
      conn.login(auth, (loginErr) => finish(loginErr ?? undefined));
    });
  });
}

/**
 * One MAIL FROM / RCPT TO / DATA transaction on a live session. Resolves (never rejects).
 * `dataSent` tells the classifier whether message bytes had started to flow, i.e. whether a
 * lost connection leaves the message's fate unknown. The message is handed over as a lazy
 * stream: nodemailer reads it only after the server's 354, so its first read marks that point.
 */
export function runTransaction(
  live: LiveConnection,
  envelope: ProbeEnvelope,
  message: Buffer,
  budgetMs: number,
): Promise<TransactionResult> {
  let dataSent = false;
  const body = new Readable({
    read() {
      if (dataSent) return;
      dataSent = true;
      this.push(message);
      this.push(null);
    },
  });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: TransactionResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve(r);
    };
    const guard = setTimeout(() => {
      live.alive = false;
      finish({ ok: false, error: timeoutError(`no final reply from ${live.remote} within ${budgetMs} ms`), dataSent });
      // close() drops the send in flight without calling back; the result is already settled.
      live.conn.close();
    }, budgetMs);
    guard.unref();
    live.messages += 1;
    live.conn.send({ from: envelope.from, to: [envelope.to], size: message.length }, body, (err, info) => {
      if (err) finish({ ok: false, error: err as SmtpErrorLike, dataSent });
      else finish({ ok: true, response: info?.response ?? '250' });
    });
  });
}

/** RSET after a refused message, so the session can carry the next one. */
export function resetSession(live: LiveConnection): Promise<boolean> {
  return new Promise((resolve) => live.conn.reset((err) => resolve(!err)));
}

/** QUIT politely; the socket is closed by the server or after socketCloseTimeout. */
export function quitConnection(live: LiveConnection): void {
  live.alive = false;
  try {
    live.conn.quit();
  } catch {
    live.conn.close();
  }
}
