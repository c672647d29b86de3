import type { Resolver } from 'node:dns/promises';
import type { PathConfig } from '../config/load-config.js';
import { heloName } from './helo-name.js';
import { classifySendError, type SmtpErrorLike } from './classify-send-error.js';
import { parseSmtpReply } from './parse-smtp-reply.js';
import type { PathVerifyResult, ProbeEnvelope, ProbePath, SendHooks, SendOutcome } from './probe-path.js';
import { rateLimiter, type RateLimiter } from './rate-limiter.js';
import { createDnsResolver, MxResolveError, resolveAddresses, resolveMx } from './resolve-mx.js';
import { openConnection, quitConnection, runTransaction, type LiveConnection } from './smtp-transaction.js';
import type { PathDeps } from './smtp-path.js';

type SmtpOptions = Parameters<typeof openConnection>[0];

/**
 * Direct-to-MX mode: resolve the seed domain's MX (through `dns.servers` when configured),
 * connect to `mx.port` from `localAddress` with the configured HELO name, STARTTLS when
 * offered. One session per probe. Hosts are tried in MX order only while no session could be
 * established (RFC 5321 §5.1); once a session exists, its one transaction is final.
 */
export class MxPath implements ProbePath {
  readonly mode = 'mx' as const;
  readonly name: string;
  private readonly resolver: Resolver;
  private readonly limiter: RateLimiter;
  private readonly helo: string;

  constructor(
    private readonly cfg: PathConfig,
    index: number,
    private readonly deps: PathDeps & { dnsServers?: string[]; seedDomains?: string[] },
  ) {
    if (!cfg.mx) throw new Error(`paths[${index}] "${cfg.name}" is not a direct (mx) path`);
    this.name = cfg.name;
    this.resolver = createDnsResolver(deps.dnsServers);
    this.limiter = rateLimiter(cfg.rateLimit);
    this.helo = heloName(cfg.mx);
  }

  private options(address: string, mxHost: string): SmtpOptions {
    const mx = this.cfg.mx!;
    const localAddress = mx.localAddress ?? this.cfg.localAddress;
    return {
      host: address,
      port: mx.port,
      secure: false,
      requireTLS: mx.requireTLS,
      name: this.helo,
      tls: { rejectUnauthorized: mx.tls.rejectUnauthorized, servername: mx.tls.servername ?? mxHost },
      ...(localAddress ? { localAddress } : {}),
    };
  }

  /** Open a session with the first reachable MX of `domain`; `tried` collects what failed. */
  private async connectToMx(domain: string, deadline: number, tried: string[]): Promise<LiveConnection | { error: SmtpErrorLike }> {
    let hosts;
    try {
      hosts = await resolveMx(domain, this.resolver);
    } catch (err) {
      const e = err as MxResolveError;
      return { error: { code: 'EDNS', message: e.message, ...(e.code === 'NULL_MX' ? { response: `556 5.1.10 ${e.message}` } : {}) } };
    }
    let last: SmtpErrorLike = { code: 'EDNS', message: `no address for any MX of ${domain}` };
    for (const mx of hosts) {
      const addresses = await resolveAddresses(mx.host, this.resolver);
      if (addresses.length === 0) tried.push(`${mx.host}: no A/AAAA`);
      for (const address of addresses) {
        const budget = deadline - performance.now();
        if (budget <= 0) return { error: { code: 'ETIMEDOUT', message: `no MX of ${domain} reachable in time (${tried.join('; ')})` } };
        try {
          return await openConnection(this.options(address, mx.host), budget);
        } catch (err) {
          last = err as SmtpErrorLike;
          tried.push(`${mx.host} [${address}]:${this.cfg.mx!.port}: ${last.message ?? last.code}`);
        }
      }
    }
    if (tried.length > 1) last = { ...last, message: `${last.message} (tried ${tried.join('; ')})` };
    return { error: last };
  }

  async send(message: Buffer, envelope: ProbeEnvelope, hooks: SendHooks = {}): Promise<SendOutcome> {
    await this.limiter.wait();
    await hooks.beforeTransaction?.();
    const domain = envelope.to.slice(envelope.to.lastIndexOf('@') + 1);
    const deadline = performance.now() + this.cfg.timeout;
    const session = await this.connectToMx(domain, deadline, []);
    if (!('conn' in session)) return this.failure(session.error, false, domain);
    const tx = await runTransaction(session, envelope, message, Math.max(1, deadline - performance.now()));
    quitConnection(session);
    if (!tx.ok) return this.failure(tx.error, tx.dataSent, domain, session.remote);
    const reply = parseSmtpReply(tx.response);
    return {
      remote: session.remote,
      result: {
        ok: true,
        acceptedAtMs: this.deps.clock.nowMs(),
        code: reply?.code ?? 250,
        ...(reply?.enhanced ? { enhanced: reply.enhanced } : {}),
        text: reply?.text ?? tx.response,
        ...(reply?.queueId ? { queueId: reply.queueId } : {}),
      },
    };
  }

  private failure(err: SmtpErrorLike, dataSent: boolean, domain: string, remote?: string): SendOutcome {
    const result = classifySendError(err, { atMs: this.deps.clock.nowMs(), dataSent });
    result.message = `path "${this.name}" (MX of ${domain}${remote ? ` at ${remote}` : ''}): ${result.message}`;
    return { result, ...(remote ? { remote } : {}) };
  }

  async verify(): Promise<PathVerifyResult> {
    const domains = [...new Set(this.deps.seedDomains ?? [])];
    if (domains.length === 0) return { ok: true, detail: 'direct to MX: no seed domains to check' };
    const details: string[] = [];
    let ok = true;
    for (const domain of domains) {
      const tried: string[] = [];
      const s = await this.connectToMx(domain, performance.now() + this.cfg.timeout, tried);
      if ('conn' in s) {
        details.push(`${domain}: MX ${s.remote} EHLO ok, ${s.conn.secure ? 'TLS' : 'no TLS'}`);
        quitConnection(s);
      } else {
        ok = false;
        details.push(`${domain}: ${s.error.message ?? s.error.code}`);
      }
    }
    return { ok, detail: details.join('; ') };
  }

  async close(): Promise<void> {
    this.resolver.cancel();
  }
}
