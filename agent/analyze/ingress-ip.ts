/**
 * Which IP address the provider saw: the connecting IP that the provider's ingress hop (the
 * first of its servers to take the message from outside) recorded in its Received header.
 * Pure: header fields in, an address or the reason there is none out; never a guess.
 *
 * The provider's hops are found by the `by` host of their Received headers, matched against
 * simple globs (`*` = any run of characters, case-insensitive): the preset's `receivedHosts`,
 * else the seed's trusted authserv-ids (RFC 8601 §2.5: the authserv-id names the receiving
 * MTA, e.g. Gmail's `mx.google.com`), chosen by the caller. Walking down from the top:
 *   - hops above the first provider hop are the provider's too (everything above its ingress
 *     was prepended by it: Gmail's `Received: by 2002:a05:…` mailbox-store hop, say);
 *   - the provider's hops are the unbroken run from that first match down, where a hop also
 *     belongs to the run when its `by` host is a private address literal (RFC 1918, RFC 6598,
 *     ULA, link-local: Yahoo's `by 10.217.135.75` front end);
 *   - the last hop of the run is the ingress; the IP it recorded for its client is the one
 *     in the `from` clause: a `[address literal]` in the TCP-info comment (Postfix, Gmail,
 *     sendmail: `from helo (rdns [192.0.2.10])`), else a bare address in a comment
 *     (Microsoft: `from helo (198.51.100.7) by …`), else the from-domain itself when it is an
 *     address (Yahoo: `from 192.0.2.10 (EHLO helo)`, Exim: `from [192.0.2.10] (helo=…)`).
 * The TCP-info comment is what the receiving server saw on the connection; the from-domain
 * is the client's own HELO claim, so it comes last.
 */
import type { ParsedHeaders } from './parse-headers.js';

export type IngressIp =
  /** `hop`: index of the ingress hop among the Received headers, 0 = topmost. */
  | { ip: string; hop: number; by: string }
  | { ip: null; reason: string };

/** Bounds the Received header text looked at (a Received header is a few hundred characters). */
const MAX_RECEIVED_CHARS = 4_000;

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An IP address in one canonical spelling, or null when `text` is not one: IPv4 dotted quad
 * (no leading zeros), IPv6 as RFC 5952 (lower case, `::` compression — WHATWG URL's IPv6
 * serializer), IPv4-mapped IPv6 (`::ffff:192.0.2.1`, how a dual-stack socket shows an IPv4
 * client) as the IPv4 address. So `2001:DB8:0::1` in a header equals `2001:db8::1` in the config.
 */
export function canonicalIp(text: string): string | null {
  const s = text.trim();
  if (IPV4_RE.test(s)) return s;
  if (!s.includes(':') || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  let host: string;
  try {
    host = new URL(`http://[${s}]/`).hostname;
  } catch {
    return null;
  }
  const v6 = host.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return v6;
}

/** Private address literals of the provider's internal front ends (never an Internet client). */
function isPrivateAddress(host: string): boolean {
  const ip = canonicalIp(host.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, ''));
  if (ip === null) return false;
  if (!ip.includes(':')) {
    const [a, b] = ip.split('.').map(Number);
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  return /^f[cd][0-9a-f]{0,2}:/.test(ip) || /^fe[89ab][0-9a-f]?:/.test(ip);
}

function globMatcher(globs: readonly string[]): (host: string) => boolean {
  const res = globs
    .filter((g) => typeof g === 'string' && g.length > 0)
    .map((g) => new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^\\s;]*')}$`, 'i'));
  return (host) => res.some((r) => r.test(host));
}

/** The clauses of one Received header: the from-domain and its comments, and the by-domain. */
export interface ReceivedClauses {
  from?: { domain: string; comments: string[] };
  by?: string;
}

const CLAUSE_WORDS = new Set(['from', 'by', 'via', 'with', 'id', 'for']);

/**
 * Splits a Received value (RFC 5321 §4.4) into its clauses, reading comments (nested
 * parentheses) as units, up to the `;` before the date. Tolerant: unknown words are skipped.
 */
export function receivedClauses(value: string): ReceivedClauses {
  const text = value.length > MAX_RECEIVED_CHARS ? value.slice(0, MAX_RECEIVED_CHARS) : value;
  type Token = { word: string } | { comment: string };
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ';') break;
    if (/\s/.test(c) || c === ')') {
      // A stray ")" closes nothing: skipped like white space.
      i++;
    } else if (c === '(') {
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '\\') j++;
        else if (text[j] === '(') depth++;
        else if (text[j] === ')' && --depth === 0) break;
      }
      tokens.push({ comment: text.slice(i + 1, j) });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s();]/.test(text[j])) j++;
      tokens.push({ word: text.slice(i, j) });
      i = j;
    }
  }
  const out: ReceivedClauses = {};
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (!('word' in t)) continue;
    const kw = t.word.toLowerCase();
    const next = tokens[k + 1];
    if (!CLAUSE_WORDS.has(kw) || !next || !('word' in next) || CLAUSE_WORDS.has(next.word.toLowerCase())) continue;
    if (kw === 'from' && out.from === undefined && out.by === undefined) {
      const comments: string[] = [];
      for (let m = k + 2; m < tokens.length; m++) {
        const u = tokens[m];
        if ('comment' in u) comments.push(u.comment);
        else break;
      }
      out.from = { domain: next.word, comments };
    } else if (kw === 'by' && out.by === undefined) {
      out.by = next.word.replace(/\.$/, '');
    }
  }
  return out;
}

/** The client address the hop recorded in its from clause (see the module comment for the order). */
export function fromClauseIp(from: NonNullable<ReceivedClauses['from']>): string | null {
  for (const c of from.comments) {
    for (const m of c.matchAll(/\[([^\]\s]{2,60})\]/g)) {
      const ip = canonicalIp(m[1].replace(/^ipv6:/i, ''));
      if (ip) return ip;
    }
  }
  for (const c of from.comments) {
    for (const word of c.split(/[\s,;=]+/)) {
      const ip = canonicalIp(word.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, ''));
      if (ip) return ip;
    }
  }
  return canonicalIp(from.domain.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, ''));
}

/**
 * The connecting IP recorded by the provider's ingress hop, or why there is none.
 * `providerHosts`: globs of the provider's own `by` hosts (see the module comment).
 */
export function findIngressIp(headers: ParsedHeaders, providerHosts: readonly string[]): IngressIp {
  try {
    if (!headers || !Array.isArray(headers.fields)) return { ip: null, reason: 'no headers' };
    const hosts = (Array.isArray(providerHosts) ? providerHosts : []).filter((h) => typeof h === 'string' && h !== '');
    if (hosts.length === 0) return { ip: null, reason: "the provider's Received hosts are not known (preset receivedHosts, seed authservIds)" };
    const isProvider = globMatcher(hosts);
    const hops = headers.fields.filter((f) => f.lname === 'received').map((f) => receivedClauses(f.value));
    if (hops.length === 0) return { ip: null, reason: 'no Received header' };
    const start = hops.findIndex((h) => h.by !== undefined && isProvider(h.by));
    if (start === -1) return { ip: null, reason: `no Received header by the provider's hosts (${hosts.slice(0, 4).join(', ')})` };
    let end = start;
    while (end + 1 < hops.length) {
      const by = hops[end + 1].by;
      if (by === undefined || !(isProvider(by) || isPrivateAddress(by))) break;
      end++;
    }
    const ingress = hops[end];
    if (!ingress.from) return { ip: null, reason: `the provider's ingress hop (by ${ingress.by}) has no from clause` };
    const ip = fromClauseIp(ingress.from);
    if (ip === null) return { ip: null, reason: `the provider's ingress hop (by ${ingress.by}) names no client IP address` };
    return { ip, hop: end, by: ingress.by! };
  } catch (err) {
    // Defensive: parsing is written not to throw; if it ever does, the watcher must go on.
    return { ip: null, reason: `internal error: ${String(err)}` };
  }
}

export type EgressVerdict = 'match' | 'mismatch' | 'unknown' | 'unchecked';

/**
 * What a copy's ingress IP says about its path: `unchecked` when the path configures no ips,
 * `unknown` when the copy names no ingress IP, else whether it is one of the path's ips.
 */
export function egressVerdict(ingressIp: unknown, pathIps: readonly string[] | undefined): EgressVerdict {
  if (!pathIps || pathIps.length === 0) return 'unchecked';
  if (typeof ingressIp !== 'string' || ingressIp === '') return 'unknown';
  const ip = canonicalIp(ingressIp);
  return ip !== null && pathIps.includes(ip) ? 'match' : 'mismatch';
}
