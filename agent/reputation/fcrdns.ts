/**
 * Forward-confirmed reverse DNS of one egress IP: its PTR names, each looked up forward (A for
 * IPv4, AAAA for IPv6); confirmed when one of them resolves back to the IP. Receivers (Gmail,
 * Microsoft, most filters) penalise or refuse mail from an IP without one. For a direct-to-MX
 * path, its HELO name should be one of the confirmed names too. A lookup that fails (timeout,
 * SERVFAIL) makes the result an error, not a "no": the check says only what DNS said.
 */
import { canonicalIp } from '../analyze/ingress-ip.js';
import { dnsErrorKind, dnsErrorMessage, isNoAnswer, type DnsErrorKind, type DnsResolver } from './dns-resolver.js';
import { dnsblQueryName } from './dnsbl.js';

export type FcrdnsResult =
  | { status: 'ok' | 'fail'; ptr: string[]; confirmed: string[] }
  | { status: 'error'; kind: DnsErrorKind; message: string; ptr: string[] };

/** PTR names looked up forward at most (a PTR set is one or two names in practice). */
const MAX_PTR_NAMES = 5;

const norm = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** The PTR name of an address: in-addr.arpa (octets reversed) or ip6.arpa (nibbles reversed). */
export function reverseName(ip: string): string {
  return dnsblQueryName(ip, ip.includes(':') ? 'ip6.arpa' : 'in-addr.arpa');
}

export async function checkFcrdns(resolver: Pick<DnsResolver, 'resolvePtr' | 'resolve4' | 'resolve6'>, ip: string): Promise<FcrdnsResult> {
  const canon = canonicalIp(ip) ?? ip;
  let ptr: string[];
  try {
    // A PTR query, not reverse(): c-ares' reverse lookup reports a SERVFAIL as "not found".
    ptr = (await resolver.resolvePtr(reverseName(canon))).map(norm).slice(0, MAX_PTR_NAMES);
  } catch (err) {
    if (isNoAnswer(err)) return { status: 'fail', ptr: [], confirmed: [] };
    return { status: 'error', kind: dnsErrorKind(err), message: dnsErrorMessage(err), ptr: [] };
  }
  const confirmed: string[] = [];
  let failure: unknown = null;
  for (const name of ptr) {
    try {
      const addrs = canon.includes(':') ? await resolver.resolve6(name) : await resolver.resolve4(name);
      if (addrs.some((a) => canonicalIp(a) === canon)) confirmed.push(name);
    } catch (err) {
      if (!isNoAnswer(err)) failure = err;
    }
  }
  if (confirmed.length > 0) return { status: 'ok', ptr, confirmed };
  // No name confirmed, and one of them could not be looked up: DNS has not said "no".
  if (failure !== null) return { status: 'error', kind: dnsErrorKind(failure), message: dnsErrorMessage(failure), ptr };
  return { status: 'fail', ptr, confirmed };
}

/** The HELO name of a direct-to-MX path is one of the IP's forward-confirmed PTR names. */
export function heloMatches(helo: string, fcrdns: FcrdnsResult): boolean | null {
  if (fcrdns.status === 'error') return null;
  return fcrdns.confirmed.includes(norm(helo));
}
