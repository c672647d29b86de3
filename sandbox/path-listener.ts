/**
 * One egress path of the sandbox: an SMTP listener on 127.0.0.1 that the agent uses as its
 * relay (`paths[].smtp`). It plays the path's MTA and the receiving providers at once: it
 * accepts a recipient only at a sandbox seed, answers 250 for the message, then, per recipient,
 * plans what the provider does with it (behaviour.ts) and after the simulated delay deposits
 * the stamped copy (provider-headers.ts) into the seed's mailbox — or drops it.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Clock } from '../agent/clock.js';
import type { Logger } from '../agent/log.js';
import { planDelivery, type BehaviourModel, type SandboxProvider } from './behaviour.js';
import type { SandboxMailbox } from './mailbox-server.js';
import { listenLoopback } from './listen-loopback.js';
import { randomAlnum, type Random } from './prng.js';
import { stampDelivery, type Egress } from './provider-headers.js';
import type { SandboxStats } from './sandbox-stats.js';

/** Bounds one message (probes are a few KiB). */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
/** Bounds an idle client session, like a real MTA's smtpd_timeout. */
export const SMTP_SOCKET_TIMEOUT_MS = 60_000;
/** Bounds stop(): sessions still open then (a client's pooled connection) are closed with 421. */
export const SMTP_CLOSE_TIMEOUT_MS = 1_000;

export interface SeedTarget {
  name: string;
  provider: SandboxProvider;
  mailbox: SandboxMailbox;
}

export interface PathListenerOptions {
  name: string;
  egress: Egress;
  /** Seeds by lower-case address. */
  seeds: Map<string, SeedTarget>;
  /** Domains the sandbox answers for, lower-case → provider. */
  domains: Map<string, SandboxProvider>;
  model: BehaviourModel;
  clock: Clock;
  random: Random;
  stats: SandboxStats;
  log: Logger;
}

type SmtpError = Error & { responseCode?: number };

function smtpError(code: number, message: string): SmtpError {
  const err: SmtpError = new Error(message);
  err.responseCode = code;
  return err;
}

export class PathListener {
  readonly name: string;
  private readonly server: SMTPServer;
  private readonly timers = new Set<NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private portNumber = 0;

  constructor(private readonly opts: PathListenerOptions) {
    this.name = opts.name;
    this.server = new SMTPServer({
      name: opts.egress.helo,
      banner: `${opts.egress.helo} ESMTP seedwatch sandbox (path ${opts.name})`,
      // Never ask the resolver about 127.0.0.1: that is traffic off loopback (docs/components.md, "smtp-server").
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: MAX_MESSAGE_BYTES,
      socketTimeout: SMTP_SOCKET_TIMEOUT_MS,
      closeTimeout: SMTP_CLOSE_TIMEOUT_MS,
      logger: false,
      onRcptTo: (address, _session, callback) => callback(this.checkRecipient(address.address) ?? undefined),
      onData: (stream, session, callback) => this.receive(stream, session, callback),
    });
    this.server.on('error', (err) => opts.log.warn({ path: opts.name, err: err.message }, 'sandbox SMTP listener error'));
  }

  get port(): number {
    return this.portNumber;
  }

  async start(): Promise<number> {
    this.portNumber = await listenLoopback(this.server, this.server.server);
    return this.portNumber;
  }

  /** Stops listening, drops queued deliveries and closes open sessions. */
  stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.release();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves when no delivery is waiting for its simulated delay. */
  settled(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private checkRecipient(address: string): SmtpError | null {
    const lower = address.toLowerCase();
    const domain = lower.slice(lower.lastIndexOf('@') + 1);
    if (!this.opts.domains.has(domain)) return smtpError(550, `5.7.1 <${address}>: Relay access denied (the sandbox serves ${[...this.opts.domains.keys()].join(', ')})`);
    if (!this.opts.seeds.has(lower)) return smtpError(550, `5.1.1 <${address}>: Recipient address rejected: User unknown`);
    return null;
  }

  private receive(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => callback(err));
    stream.on('end', () => {
      if (stream.sizeExceeded) return callback(smtpError(552, `5.3.4 Message size exceeds fixed limit of ${MAX_MESSAGE_BYTES} bytes`));
      const queueId = randomAlnum(this.opts.random, 10);
      try {
        this.dispatch(Buffer.concat(chunks), session);
      } catch (err) {
        this.opts.log.error({ path: this.name, err: (err as Error).message }, 'sandbox dispatch failed');
        return callback(smtpError(451, '4.3.0 Temporary sandbox failure'));
      }
      callback(null, `2.0.0 Ok: queued as ${queueId}`);
    });
  }

  private dispatch(raw: Buffer, session: SMTPServerSession): void {
    const acceptMs = this.opts.clock.nowMs();
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    for (const rcpt of session.envelope.rcptTo) {
      const seed = this.opts.seeds.get(rcpt.address.toLowerCase());
      if (!seed) continue;
      const route = this.opts.model.route(seed.provider, this.name);
      const incident = this.opts.model.activeIncident(seed.provider, this.name, acceptMs);
      const plan = planDelivery(seed.provider, route, incident, this.opts.random);
      this.opts.stats.accepted(seed.provider, this.name, plan);
      if (plan.lost) continue;
      plan.copies.forEach((copy, i) => {
        const arrivalMs = acceptMs + copy.latencyMs;
        const stamped = stampDelivery({
          provider: seed.provider,
          raw,
          rcpt: rcpt.address,
          mailFrom,
          egress: this.opts.egress,
          relayClient: { hostname: session.hostNameAppearsAs || 'localhost', ip: session.remoteAddress },
          acceptMs,
          arrivalMs,
          folder: copy.folder,
          random: this.opts.random,
        });
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          try {
            seed.mailbox.deposit(stamped, copy.folder, new Date(arrivalMs + copy.internalDelayMs), copy.tab);
            this.opts.stats.delivered(seed.provider, this.name, copy, i > 0);
          } catch (err) {
            this.opts.log.error({ path: this.name, seed: seed.name, err: (err as Error).message }, 'sandbox deposit failed');
          }
          if (this.timers.size === 0) this.release();
        }, copy.latencyMs + copy.internalDelayMs);
        // The listener and mailboxes keep the process alive; a pending delivery alone must not.
        timer.unref();
        this.timers.add(timer);
      });
    }
  }
}
