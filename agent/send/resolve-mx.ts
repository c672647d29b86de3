import { Resolver } from 'node:dns/promises';
import type { ErrorCode } from '../errors.js';

/** Bounds one DNS query (per try); c-ares retries `DNS_TRIES` times per server. */
export const DNS_TIMEOUT_MS = 5_000;
export const DNS_TRIES = 2;

export interface MxHost {
  /** The MX exchange name (or the domain itself for the implicit MX of RFC 5321 §5.1). */
  host: string;
  priority: number;
  /** True when the domain has no MX and its A/AAAA records are used instead. */
  implicit: boolean;
}

export class MxResolveError extends Error {
  constructor(readonly code: Extract<ErrorCode, 'NULL_MX' | 'DNS_FAILED'>, message: string) {
    super(message);
    this.name = 'MxResolveError';
  }
}

/** A resolver that asks `servers` ("127.0.0.1:5353", "[::1]:53", "10.0.0.2") or the system's. */
export function createDnsResolver(servers?: string[]): Resolver {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (servers && servers.length > 0) resolver.setServers(servers);
  return resolver;
}

/**
 * The hosts to try for `domain`, most preferred first (RFC 5321 §5.1): MX records by
 * priority, equal priorities in random order; no MX → the domain itself (A/AAAA); a null MX
 * (RFC 7505, "MX 0 .") → NULL_MX, the domain accepts no mail.
 */
export async function resolveMx(domain: string, resolver: Resolver, random: () => number = Math.random): Promise<MxHost[]> {
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return [{ host: domain, priority: 0, implicit: true }];
    throw new MxResolveError('DNS_FAILED', `MX lookup for ${domain} failed (${code ?? (err as Error).message})`);
  }
  if (records.length === 0) return [{ host: domain, priority: 0, implicit: true }];
  if (records.length === 1 && (records[0].exchange === '' || records[0].exchange === '.')) {
    throw new MxResolveError('NULL_MX', `${domain} publishes a null MX (RFC 7505): it accepts no mail`);
  }
  return records
    .filter((r) => r.exchange !== '' && r.exchange !== '.')
    .map((r) => ({ r, k: random() }))
    .sort((a, b) => a.r.priority - b.r.priority || a.k - b.k)
    .map(({ r }) => ({ host: r.exchange.replace(/\.$/, ''), priority: r.priority, implicit: false }));
}

/** IPv4 then IPv6 addresses of an MX host; an empty list when it has neither. */
export async function resolveAddresses(host: string, resolver: Resolver): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
}
