/**
 * One DNSBL lookup of one IP in one zone (RFC 5782): the A record of the reversed address
 * under the zone says "listed" (with a return code in 127.0.0.0/8), NXDOMAIN says "not
 * listed", and the TXT record, when there is one, says why. Everything else is an error and
 * stays one:
 *   - a lookup that times out, is refused, or finds no server;
 *   - an answer outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN to an ad server);
 *   - 127.255.255.x: Spamhaus' (and others') "query refused" codes — 252 typo in the zone,
 *     254 public or open resolver, 255 over the free-use limit — not a listing;
 *   - 127.0.0.1, which RFC 5782 §5 forbids as a listing (lists use it to signal refusal).
 */
import { canonicalIp } from '../analyze/ingress-ip.js';
import { dnsErrorKind, dnsErrorMessage, isNoAnswer, type DnsErrorKind, type DnsResolver } from './dns-resolver.js';

export type DnsblAnswer =
  | { status: 'listed'; codes: string[]; reasons: string[] }
  | { status: 'clear' }
  | { status: 'error'; kind: DnsErrorKind; message: string };

/** Bounds the TXT reason kept per listing (shown in the API and on the status page). */
const MAX_REASON_CHARS = 300;

/** The IPv6 address as its 32 nibbles, most significant first. */
function ipv6Nibbles(ip: string): string[] {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => g.padStart(4, '0').split(''));
}

/**
 * The name to look up: `2.0.192.192.zone` for 192.0.2.2 (octets reversed), and for IPv6 the 32
 * nibbles reversed (RFC 5782 §2.4): `1.0.0.0.…8.b.d.0.1.0.0.2.zone` for 2001:db8::1.
 */
export function dnsblQueryName(ip: string, zone: string): string {
  const canon = canonicalIp(ip);
  if (canon === null) throw new RangeError(`not an IP address: ${ip}`);
  const z = zone.replace(/\.$/, '');
  if (!canon.includes(':')) return `${canon.split('.').reverse().join('.')}.${z}`;
  return `${ipv6Nibbles(canon).reverse().join('.')}.${z}`;
}

/** What the A records of a lookup mean (see the module comment). */
export function classifyDnsblCodes(addresses: readonly string[]): DnsblAnswer {
  if (addresses.length === 0) return { status: 'clear' };
  const outside = addresses.find((a) => !a.startsWith('127.'));
  if (outside !== undefined) return { status: 'error', kind: 'bad_answer', message: `answer ${outside} is outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN?)` };
  const refused = addresses.find((a) => a.startsWith('127.255.255.') || a === '127.0.0.1');
  if (refused !== undefined) return { status: 'error', kind: 'refused', message: `the list refused the query (${refused}: public or open resolver, or over the query limit)` };
  return { status: 'listed', codes: [...addresses].sort(), reasons: [] };
}

export async function lookupDnsbl(resolver: Pick<DnsResolver, 'resolve4' | 'resolveTxt'>, ip: string, zone: string): Promise<DnsblAnswer> {
  const name = dnsblQueryName(ip, zone);
  let addresses: string[];
  try {
    addresses = await resolver.resolve4(name);
  } catch (err) {
    if (isNoAnswer(err)) return { status: 'clear' };
    return { status: 'error', kind: dnsErrorKind(err), message: dnsErrorMessage(err) };
  }
  const answer = classifyDnsblCodes(addresses);
  if (answer.status !== 'listed') return answer;
  try {
    const txt = await resolver.resolveTxt(name);
    answer.reasons = txt.map((chunks) => chunks.join('').replace(/[\r\n\t]+/g, ' ').slice(0, MAX_REASON_CHARS));
  } catch {
    // The listing stands without its reason: many lists publish no TXT.
  }
  return answer;
}
