/**
 * The DNS resolvers of the reputation checks: node:dns (c-ares) Resolvers with their own
 * servers and bounds, never the process-wide defaults, and one vocabulary for what went wrong.
 * An answer that says "no such name" (NXDOMAIN, NODATA) is an answer; everything else that
 * stops a lookup is an error, counted and shown as one — never read as "not listed".
 */
import { Resolver } from 'node:dns/promises';

/** Bounds one DNS query attempt (c-ares timeout); a DNSBL answers in milliseconds or not at all. */
export const DNS_QUERY_TIMEOUT_MS = 3_000;
/** Attempts per query (c-ares tries): one retry over UDP loss. */
export const DNS_QUERY_TRIES = 2;

/** What stopped a lookup. Bounded: these are metric label values. */
export const DNS_ERROR_KINDS = ['timeout', 'servfail', 'refused', 'unreachable', 'bad_answer', 'other'] as const;
export type DnsErrorKind = (typeof DNS_ERROR_KINDS)[number];

/** The part of node's Resolver the checks use (tests may pass a real Resolver pointed at loopback). */
export type DnsResolver = Pick<Resolver, 'resolve4' | 'resolve6' | 'resolveTxt' | 'resolvePtr' | 'resolve'>;

/** A Resolver on `servers` (IP or IP:port, `[v6]:port`), or on the system's servers when none are given. */
export function createResolver(servers?: readonly string[], opts: { timeoutMs?: number; tries?: number } = {}): Resolver {
  const r = new Resolver({ timeout: opts.timeoutMs ?? DNS_QUERY_TIMEOUT_MS, tries: opts.tries ?? DNS_QUERY_TRIES });
  if (servers && servers.length > 0) r.setServers([...servers]);
  return r;
}

/** "No such name" or "no record of that type": an answer, not an error. */
export function isNoAnswer(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

/** The error kind of a node:dns failure (c-ares codes as node reports them). */
export function dnsErrorKind(err: unknown): DnsErrorKind {
  switch ((err as { code?: string } | null)?.code) {
    case 'ETIMEOUT':
      return 'timeout';
    case 'ESERVFAIL':
      return 'servfail';
    case 'EREFUSED':
      return 'refused';
    // A dead server on loopback answers the UDP query with ICMP port unreachable.
    case 'ECONNREFUSED':
      return 'unreachable';
    case 'EBADRESP':
    case 'EFORMERR':
    case 'EBADFAMILY':
      return 'bad_answer';
    default:
      return 'other';
  }
}

/** A short description of a node:dns failure for the API (code and the name asked; never more). */
export function dnsErrorMessage(err: unknown): string {
  const e = err as { code?: string; hostname?: string; message?: string } | null;
  return e?.code ? `${e.code}${e.hostname ? ` ${e.hostname}` : ''}` : String(e?.message ?? err).slice(0, 200);
}
