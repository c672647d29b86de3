import type { SMTPConnectionAuth, SMTPConnectionOptions } from 'nodemailer/lib/smtp-connection';
import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import { smtpXOAuth2Auth } from '../auth/smtp-xoauth2.js';
import type { Clock } from '../clock.js';
import type { PathConfig, SecretResolver } from '../config/load-config.js';
import type { Logger } from '../log.js';
import { classifySendError, type SmtpErrorLike } from './classify-send-error.js';
import { ConnectionPool } from './connection-pool.js';
import { parseSmtpReply } from './parse-smtp-reply.js';
import type { PathVerifyResult, ProbeEnvelope, ProbePath, SendHooks, SendOutcome } from './probe-path.js';
import { rateLimiter, type RateLimiter } from './rate-limiter.js';
import { openConnection, resetSession, runTransaction, type LiveConnection } from './smtp-transaction.js';

export interface PathDeps {
  clock: Clock;
  logger: Logger;
  resolveSecret: SecretResolver;
  /**
   * The agent's OAuth2 token store (rotated refresh tokens persisted). Needed only by an OAuth2
   * relay, which throws at construction without it (no private store is made up here).
   */
  oauth2?: OAuth2Tokens;
}

/**
 * Relay mode: a pool of up to `smtp.maxConnections` sessions to the configured relay, from
 * `localAddress` when set, rate-limited per path. One transaction per probe.
 */
export class SmtpPath implements ProbePath {
  readonly mode = 'smtp' as const;
  readonly name: string;
  readonly setupError?: string;
  private readonly options: SMTPConnectionOptions;
  private readonly auth?: SMTPConnectionAuth;
  private readonly pool: ConnectionPool;
  private readonly limiter: RateLimiter;
  private readonly timeoutMs: number;
  private readonly remote: string;

  constructor(cfg: PathConfig, index: number, private readonly deps: PathDeps) {
    if (!cfg.smtp) throw new Error(`paths[${index}] "${cfg.name}" is not a relay (smtp) path`);
    const smtp = cfg.smtp;
    this.name = cfg.name;
    this.timeoutMs = cfg.timeout;
    this.remote = `${smtp.host}:${smtp.port}`;
    this.options = {
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTLS,
      tls: {
        rejectUnauthorized: smtp.tls.rejectUnauthorized,
        ...(smtp.tls.servername ? { servername: smtp.tls.servername } : {}),
      },
      ...(cfg.localAddress ? { localAddress: cfg.localAddress } : {}),
    };
    try {
      this.auth = buildAuth(cfg, index, deps);
    } catch (err) {
      // The message names the field and the env var or file, never a value (SecretError).
      this.setupError = `path "${cfg.name}": ${(err as Error).message}`;
    }
    this.pool = new ConnectionPool(smtp.maxConnections, () => openConnection(this.options, this.timeoutMs, this.auth));
    this.limiter = rateLimiter(cfg.rateLimit);
  }

  async send(message: Buffer, envelope: ProbeEnvelope, hooks: SendHooks = {}): Promise<SendOutcome> {
    const { clock } = this.deps;
    if (this.setupError) {
      return { result: { ok: false, reason: 'connection', atMs: clock.nowMs(), message: this.setupError }, remote: this.remote };
    }
    await this.limiter.wait();
    await hooks.beforeTransaction?.();
    let live: LiveConnection;
    try {
      live = await this.pool.acquire();
    } catch (err) {
      return this.failure(err as SmtpErrorLike, false);
    }
    let tx = await runTransaction(live, envelope, message, this.timeoutMs);
    if (!tx.ok && live.messages > 1 && !tx.dataSent && isSilentDrop(tx.error)) {
      // A reused session the relay had dropped while idle: no byte of the message left and no
      // reply came, so the relay holds no transaction. One fresh session carries it instead;
      // this is not a retry of a delivery attempt (nothing could have been delivered).
      this.pool.release(live, false);
      try {
        live = await this.pool.acquire();
      } catch (err) {
        return this.failure(err as SmtpErrorLike, false);
      }
      tx = await runTransaction(live, envelope, message, this.timeoutMs);
    }
    if (tx.ok) {
      this.pool.release(live, true);
      const reply = parseSmtpReply(tx.response);
      return {
        remote: this.remote,
        result: {
          ok: true,
          acceptedAtMs: clock.nowMs(),
          code: reply?.code ?? 250,
          ...(reply?.enhanced ? { enhanced: reply.enhanced } : {}),
          text: reply?.text ?? tx.response,
          ...(reply?.queueId ? { queueId: reply.queueId } : {}),
        },
      };
    }
    // A refused message leaves a usable session (RSET it); anything else ends the session.
    const refused =
      (tx.error.code === 'EENVELOPE' || tx.error.code === 'EMESSAGE') && tx.error.responseCode !== 421 && live.alive;
    if (refused && (await resetSession(live))) this.pool.release(live, true);
    else this.pool.release(live, false);
    return this.failure(tx.error, tx.dataSent);
  }

  private failure(err: SmtpErrorLike, dataSent: boolean): SendOutcome {
    const result = classifySendError(err, { atMs: this.deps.clock.nowMs(), dataSent });
    result.message = `path "${this.name}" (relay ${this.remote}): ${result.message}`;
    return { result, remote: this.remote };
  }

  async verify(): Promise<PathVerifyResult> {
    if (this.setupError) return { ok: false, detail: this.setupError };
    try {
      const live = await openConnection(this.options, this.timeoutMs, this.auth);
      const tls = live.conn.secure ? 'TLS' : 'no TLS';
      live.conn.quit();
      return { ok: true, detail: `relay ${this.remote}: EHLO ok, ${tls}${this.auth ? ', login ok' : ''}` };
    } catch (err) {
      const r = classifySendError(err as SmtpErrorLike, { atMs: this.deps.clock.nowMs(), dataSent: false });
      return { ok: false, detail: `relay ${this.remote}: ${r.reason}: ${r.message}` };
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function isSilentDrop(err: SmtpErrorLike): boolean {
  return (err.code === 'ECONNECTION' || err.code === 'ESOCKET') && !err.responseCode;
}

function buildAuth(cfg: PathConfig, index: number, deps: PathDeps): SMTPConnectionAuth | undefined {
  const auth = cfg.smtp?.auth;
  if (!auth) return undefined;
  const field = `paths[${index}].smtp.auth`;
  if (auth.pass) return { user: auth.user, pass: deps.resolveSecret(auth.pass, `${field}.pass`).reveal() };
  // The composition root's token store (rotated refresh tokens live in the ledger); never a
  // throw-away one made up here, which would refresh with a revoked token after a rotation.
  if (!deps.oauth2) throw new Error(`${field}.oauth2: an OAuth2 relay needs the agent's token store, and none was given`);
  return smtpXOAuth2Auth(deps.oauth2.forPath(cfg, index, deps.resolveSecret), auth.user);
}
