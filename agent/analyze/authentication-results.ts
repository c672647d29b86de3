/**
 * The provider's own authentication verdict (RFC 8601 Authentication-Results).
 *
 * Trust rule (RFC 8601 §5): any Authentication-Results below the provider's own hops was
 * written before the provider got the message, possibly by the sender to look good. So we
 * read exactly one header: walking down from the top, the first whose authserv-id matches
 * the provider's trusted list (simple globs, `*` = any run of characters, case-insensitive:
 * `mx.google.com`, `*.yahoo.com`). Copies further down are ignored even when they carry
 * the same authserv-id.
 *
 * Microsoft (Outlook.com, Exchange Online) writes its header WITHOUT an authserv-id:
 *   Authentication-Results: spf=pass (sender IP is 209.85.219.169)
 *    smtp.mailfrom=gmail.com; dkim=pass (signature was verified) header.d=gmail.com;dmarc=pass
 *    action=none header.from=gmail.com;compauth=pass reason=100
 * and places it just above the Received header of its Internet ingress hop
 * (`by XXXX.mail.protection.outlook.com ... via Frontend Transport`), below several internal
 * `*.prod.outlook.com` hops. "Above the topmost Received" would therefore never match a real
 * Microsoft message. Our rule, enabled by `providerReceivedHosts` (globs of the `by` host of
 * the provider's own hops: the `receivedHosts` of the seed's provider preset, e.g. the outlook
 * preset's, in seed-accounts/providers/; this module holds no provider's hosts):
 *   - the provider's hops are the unbroken run of Received headers from the top whose `by`
 *     host matches; the last of them is the ingress hop (everything above it was prepended by
 *     the provider, everything below by the sender or relays);
 *   - an Authentication-Results without authserv-id is trusted only if it sits above that
 *     ingress hop, and it is the topmost such header;
 *   - when the option is set, headers below the ingress hop are never trusted, even with a
 *     trusted authserv-id.
 * A forged id-less header added by the sender sits below the ingress hop and is ignored.
 *
 * ARC-Authentication-Results (RFC 8617) is only secondary evidence (`arcEvidence`): the
 * topmost one whose authserv-id is trusted. It never fills the main fields.
 */
import type { ParsedHeaders } from './parse-headers.js';

/** Bounds the copy of a header kept as evidence (stored as JSON in the ledger). */
export const MAX_RAW_EVIDENCE_CHARS = 8 * 1024;

export interface MethodResult {
  /** Lower-case method (`spf`, `dkim`, `dmarc`, `arc`, `compauth`, ...), version suffix removed. */
  method: string;
  /** Lower-case result keyword (`pass`, `fail`, `softfail`, `bestguesspass`, ...). */
  result: string;
  reason?: string;
  /** Comments of this resinfo, e.g. `p=NONE sp=NONE dis=NONE` or `sender IP is 192.0.2.1`. */
  comments: string[];
  /** Properties keyed lower-case: `smtp.mailfrom`, `header.d`, `header.i`, `header.from`, `action`... */
  props: Record<string, string>;
}

/** Main results, lower-case. `dkim` is the summary: `pass` if any signature passed. */
export interface AuthSummary {
  spf?: string;
  dkim?: string;
  dmarc?: string;
  arc?: string;
  compauth?: string;
}

export interface ArcEvidence extends AuthSummary {
  instance: number;
  authservId: string;
  raw: string;
}

export type AuthTrust = 'authserv-id' | 'ingress-position';

export interface AuthVerdictNotFound {
  found: false;
  arcEvidence?: ArcEvidence;
}

export interface AuthVerdictUnparsed {
  found: true;
  unparsed: true;
  reason: string;
  authservId: string | null;
  /** null only when the analysis itself failed (internal error). */
  trust: AuthTrust | null;
  raw: string;
  arcEvidence?: ArcEvidence;
}

export interface AuthVerdictParsed extends AuthSummary {
  found: true;
  unparsed: false;
  /** null for Microsoft's id-less header. */
  authservId: string | null;
  trust: AuthTrust;
  /** Every DKIM result, in header order. */
  dkimResults: MethodResult[];
  /** Every method result, in header order (including spf/dkim/dmarc/...). */
  results: MethodResult[];
  /** Segments that were skipped (not `method=result`), e.g. Hotmail's stray `hotmail.com`. */
  ignored: string[];
  raw: string;
  arcEvidence?: ArcEvidence;
}

export type AuthVerdict = AuthVerdictNotFound | AuthVerdictUnparsed | AuthVerdictParsed;

export interface AuthTrustOptions {
  /** Globs of the `by` host of the provider's own Received hops; enables the position rule above. */
  providerReceivedHosts?: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Tokenizer / parser

type Tok =
  | { kind: 'word' | 'quoted'; text: string; wsBefore: boolean }
  | { kind: ';' | '='; wsBefore: boolean };

interface Segment {
  toks: Tok[];
  comments: string[];
}

type Tokenized = { segments: Segment[] } | { error: string };

const WORD_STOP = new Set([' ', '\t', '\r', '\n', ';', '=', '(', ')', '"']);

function tokenize(value: string): Tokenized {
  const segments: Segment[] = [{ toks: [], comments: [] }];
  let cur = segments[0];
  let ws = false;
  let i = 0;
  const n = value.length;
  while (i < n) {
    const c = value[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      ws = true;
      i++;
    } else if (c === '(') {
      let depth = 1;
      let text = '';
      i++;
      while (i < n && depth > 0) {
        const d = value[i];
        if (d === '\\' && i + 1 < n) {
          text += value[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
        text += d;
        i++;
      }
      if (depth > 0) return { error: 'unterminated comment' };
      cur.comments.push(text.trim());
      ws = true;
    } else if (c === ')') {
      return { error: 'unbalanced ")"' };
    } else if (c === '"') {
      let text = '';
      i++;
      let closed = false;
      while (i < n) {
        const d = value[i];
        if (d === '\\' && i + 1 < n) {
          text += value[i + 1];
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        text += d;
        i++;
      }
      if (!closed) return { error: 'unterminated quoted string' };
      cur.toks.push({ kind: 'quoted', text, wsBefore: ws });
      ws = false;
    } else if (c === ';') {
      cur = { toks: [], comments: [] };
      segments.push(cur);
      ws = false;
      i++;
    } else if (c === '=') {
      cur.toks.push({ kind: '=', wsBefore: ws });
      ws = false;
      i++;
    } else {
      const start = i;
      while (i < n && !WORD_STOP.has(value[i])) i++;
      cur.toks.push({ kind: 'word', text: value.slice(start, i), wsBefore: ws });
      ws = false;
    }
  }
  return { segments };
}

interface Pair {
  key: string;
  value?: string;
}

/** `key = value` pairs and bare words of one segment; a value runs on over glued `=`/words (`b=ab+c=`). */
function pairs(toks: Tok[]): Pair[] {
  const out: Pair[] = [];
  let i = 0;
  while (i < toks.length) {
    const t = toks[i];
    if (t.kind !== 'word' && t.kind !== 'quoted') {
      i++;
      continue;
    }
    const next = toks[i + 1];
    if (next && next.kind === '=') {
      let value = '';
      let j = i + 2;
      const v = toks[j];
      if (v && (v.kind === 'word' || v.kind === 'quoted')) {
        value = v.text;
        j++;
        while (j < toks.length && !toks[j].wsBefore && toks[j].kind !== ';') {
          const g = toks[j];
          value += g.kind === '=' ? '=' : g.kind === 'word' || g.kind === 'quoted' ? g.text : '';
          j++;
        }
      }
      out.push({ key: t.text, value });
      i = j;
    } else {
      out.push({ key: t.text });
      i++;
    }
  }
  return out;
}

const METHOD_RE = /^([a-z0-9][a-z0-9_.-]*)(?:\/[0-9]+)?$/i;
const RESULT_RE = /^[a-z0-9][a-z0-9_-]*$/i;

export interface ParsedAr {
  authservId: string | null;
  results: MethodResult[];
  ignored: string[];
  error?: string;
}

function describe(seg: Segment): string {
  const s = seg.toks
    .map((t) => (t.kind === 'word' ? t.text : t.kind === 'quoted' ? `"${t.text}"` : t.kind))
    .join(' ');
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** Parses an Authentication-Results value (also the part of ARC-A-R after `i=N;`). */
export function parseAuthResValue(value: string): ParsedAr {
  const tk = tokenize(value);
  if ('error' in tk) {
    // Still report the authserv-id when the start is readable, for the trust decision.
    const m = /^\s*([^\s;=()"]+)\s*(=)?/.exec(value);
    return { authservId: m && !m[2] ? m[1] : null, results: [], ignored: [], error: tk.error };
  }
  const segs = tk.segments;
  const results: MethodResult[] = [];
  const ignored: string[] = [];
  let authservId: string | null = null;
  let first = 0;
  const head = segs[0];
  const headPairs = pairs(head.toks);
  if (headPairs.length === 0) {
    return { authservId: null, results, ignored, error: 'missing authserv-id' };
  }
  if (headPairs[0].value === undefined) {
    // authserv-id [version] — anything else in this segment (old Yahoo `from=...`) is noise.
    authservId = headPairs[0].key;
    first = 1;
  }
  let explicitNone = false;
  for (let s = first; s < segs.length; s++) {
    const seg = segs[s];
    if (seg.toks.length === 0) continue;
    const ps = pairs(seg.toks);
    const m0 = ps[0];
    if (ps.length === 1 && m0.value === undefined && m0.key.toLowerCase() === 'none') {
      explicitNone = true;
      continue;
    }
    const mm = m0.value !== undefined ? METHOD_RE.exec(m0.key) : null;
    if (!mm || !RESULT_RE.test(m0.value ?? '')) {
      ignored.push(describe(seg));
      continue;
    }
    const r: MethodResult = {
      method: mm[1].toLowerCase(),
      result: (m0.value as string).toLowerCase(),
      comments: seg.comments,
      props: {},
    };
    for (const p of ps.slice(1)) {
      if (p.value === undefined) continue;
      const k = p.key.toLowerCase();
      if (k === 'reason') r.reason = p.value;
      else if (!(k in r.props)) r.props[k] = p.value;
    }
    results.push(r);
  }
  if (results.length === 0 && !explicitNone) {
    return { authservId, results, ignored, error: 'no method=result found' };
  }
  return { authservId, results, ignored };
}

// ---------------------------------------------------------------------------------------
// Trust

function globToRegExp(glob: string): RegExp {
  const src = glob
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^\\s;]*');
  return new RegExp(`^${src}$`, 'i');
}

function matcher(globs: readonly string[] | undefined): (s: string) => boolean {
  const res = (Array.isArray(globs) ? globs : [])
    .filter((g): g is string => typeof g === 'string' && g.length > 0)
    .map(globToRegExp);
  return (s) => res.some((r) => r.test(s));
}

const BY_HOST_RE = /(?:^|[\s)])by\s+([^\s;()]+)/i;

/** Field index of the provider's ingress hop, or -1 when the topmost Received is not the provider's. */
function ingressIndex(headers: ParsedHeaders, isProviderHost: (s: string) => boolean): number {
  let ingress = -1;
  const fields = headers.fields;
  for (let i = 0; i < fields.length; i++) {
    if (fields[i].lname !== 'received') continue;
    const m = BY_HOST_RE.exec(fields[i].value);
    if (m && isProviderHost(m[1])) ingress = i;
    else break;
  }
  return ingress;
}

function truncateRaw(raw: string): string {
  return raw.length > MAX_RAW_EVIDENCE_CHARS ? `${raw.slice(0, MAX_RAW_EVIDENCE_CHARS)}…` : raw;
}

function dkimSummary(dkim: MethodResult[]): string | undefined {
  if (dkim.length === 0) return undefined;
  if (dkim.some((r) => r.result === 'pass')) return 'pass';
  const informative = dkim.find((r) => r.result !== 'none');
  return (informative ?? dkim[0]).result;
}

function summarize(results: MethodResult[]): AuthSummary & { dkimResults: MethodResult[] } {
  const firstOf = (m: string) => results.find((r) => r.method === m)?.result;
  const dkimResults = results.filter((r) => r.method === 'dkim');
  const out: AuthSummary & { dkimResults: MethodResult[] } = { dkimResults };
  const spf = firstOf('spf');
  const dkim = dkimSummary(dkimResults);
  const dmarc = firstOf('dmarc');
  const arc = firstOf('arc');
  const compauth = firstOf('compauth');
  if (spf !== undefined) out.spf = spf;
  if (dkim !== undefined) out.dkim = dkim;
  if (dmarc !== undefined) out.dmarc = dmarc;
  if (arc !== undefined) out.arc = arc;
  if (compauth !== undefined) out.compauth = compauth;
  return out;
}

function arcEvidence(
  headers: ParsedHeaders,
  isTrustedId: (s: string) => boolean,
  lowestIndex: number,
): ArcEvidence | undefined {
  const fields = headers.fields;
  for (let i = 0; i < fields.length && i <= lowestIndex; i++) {
    if (fields[i].lname !== 'arc-authentication-results') continue;
    const m = /^\s*i\s*=\s*([0-9]{1,3})\s*;/i.exec(fields[i].value);
    if (!m) continue;
    const parsed = parseAuthResValue(fields[i].value.slice(m[0].length));
    if (parsed.error || parsed.authservId === null || !isTrustedId(parsed.authservId)) continue;
    const { dkimResults: _unused, ...summary } = summarize(parsed.results);
    return { instance: Number(m[1]), authservId: parsed.authservId, ...summary, raw: truncateRaw(fields[i].value) };
  }
  return undefined;
}

export function authenticationResults(
  headers: ParsedHeaders,
  trustedAuthservIds: string[],
  options: AuthTrustOptions = {},
): AuthVerdict {
  try {
    if (!headers || !Array.isArray(headers.fields)) return { found: false };
    const isTrustedId = matcher(trustedAuthservIds);
    const hosts = options && Array.isArray(options.providerReceivedHosts) ? options.providerReceivedHosts : [];
    const ingress = hosts.length > 0 ? ingressIndex(headers, matcher(hosts)) : -1;
    // With the position rule on and the provider's hops visible, nothing below the ingress hop counts.
    const lowest = ingress >= 0 ? ingress : headers.fields.length - 1;
    const arc = arcEvidence(headers, isTrustedId, lowest);
    const withArc = <T extends object>(v: T): T => (arc ? { ...v, arcEvidence: arc } : v);

    const fields = headers.fields;
    for (let i = 0; i <= lowest; i++) {
      if (fields[i].lname !== 'authentication-results') continue;
      const raw = fields[i].value;
      const parsed = parseAuthResValue(raw);
      let trust: AuthTrust | null = null;
      if (parsed.authservId !== null && isTrustedId(parsed.authservId)) trust = 'authserv-id';
      else if (ingress >= 0 && i < ingress && parsed.authservId === null) {
        // Above the provider's ingress hop: the provider wrote it (Microsoft's id-less form).
        trust = 'ingress-position';
      }
      if (trust === null) continue;
      const authservId = parsed.authservId;
      if (parsed.error) {
        return withArc({ found: true, unparsed: true, reason: parsed.error, authservId, trust, raw: truncateRaw(raw) });
      }
      const summary = summarize(parsed.results);
      return withArc({
        found: true,
        unparsed: false,
        authservId,
        trust,
        ...summary,
        results: parsed.results,
        ignored: parsed.ignored,
        raw: truncateRaw(raw),
      });
    }
    return withArc({ found: false });
  } catch (err) {
    // Defensive: parsing is written not to throw; if it ever does, the watcher must go on.
    return { found: true, unparsed: true, reason: `internal error: ${String(err)}`, authservId: null, trust: null, raw: '' };
  }
}
