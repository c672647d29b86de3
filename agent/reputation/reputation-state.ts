/**
 * What the reputation sources found, as plain data: the latest answer per path IP (DNSBL,
 * hygiene), per IP (SNDS) and per domain (Postmaster Tools), and a daily history for the weekly
 * report. Each source keeps its state under its own key of the ledger's key/value store (JSON),
 * so a restart shows the last answers at once and the report can look back; sources never write
 * each other's keys. Pure: no I/O here.
 */
import type { DnsErrorKind } from './dns-resolver.js';
import type { SourceError } from './reputation-errors.js';
import type { PostmasterCompliance } from './postmaster.js';
import type { SndsFilterResult, SndsRow } from './snds.js';

/** Keys of the ledger's key/value store, one per source. */
export const STATE_KEYS = {
  dnsbl: 'reputation.dnsbl',
  hygiene: 'reputation.hygiene',
  snds: 'reputation.snds',
  postmaster: 'reputation.postmaster',
} as const;

/**
 * Key of the reputation error counts (`seedwatch_dnsbl_errors_total`,
 * `seedwatch_reputation_errors_total`): one per agent in a fleet, where every agent exports what
 * it counted itself (README, "Fleet"); one for the single agent, whatever its name (a hostname
 * that changes with the container must not reset its counters), as the agent's other counters.
 */
export function errorCountsKey(agent?: string): string {
  return agent === undefined ? 'reputation.errors' : `reputation.errors.agent.${agent}`;
}

/** Errors counted so far: zone (DNSBL) or source → kind → count. */
export type ErrorTally = Record<string, Record<string, number>>;

export interface ErrorCounts {
  dnsbl: ErrorTally;
  sources: ErrorTally;
}

/** Days of history kept per source (the weekly report compares two weeks; a month to spare). */
export const HISTORY_DAYS = 45;

export interface ErrorNote {
  kind: string;
  message: string;
  atMs: number;
}

export interface DnsblEntry {
  path: string;
  ip: string;
  zone: string;
  /** The last conclusive answer; `unknown` until there is one. */
  status: 'listed' | 'clear' | 'unknown';
  /** Return codes (127.0.0.x) and TXT reasons while listed. */
  codes: string[];
  reasons: string[];
  /** When the last conclusive answer came. */
  checkedAtMs: number | null;
  /** Since when the IP has been seen listed (first listed answer of the current listing). */
  listedSinceMs: number | null;
  /** The last lookup failed (the status above is older). */
  error?: ErrorNote & { kind: DnsErrorKind };
}

export interface DnsblState {
  entries: DnsblEntry[];
  /** day (YYYY-MM-DD UTC) → `path|ip|zone` → conclusive lookups that day, and how many said listed. */
  history: Record<string, Record<string, { checks: number; listed: number }>>;
  lastRunAtMs: number | null;
}

export interface HygieneEntry {
  path: string;
  ip: string;
  fcrdns: { status: 'ok' | 'fail' | 'unknown'; ptr: string[]; confirmed: string[] };
  /** Direct-to-MX paths only: the HELO name they send (mx.helo, else the default, send/helo-name.ts). */
  helo?: { name: string; ok: boolean | null };
  spf: { status: 'pass' | 'not_pass' | 'unknown'; result?: string; domain: string };
  checkedAtMs: number | null;
  error?: ErrorNote;
}

export interface HygieneState {
  entries: HygieneEntry[];
  lastRunAtMs: number | null;
}

export interface SndsIpEntry extends SndsRow {
  /** The path the IP belongs to, or null for IPs of the SNDS key that are no path's. */
  path: string | null;
  /** From ipStatus.aspx; null while it could not be read and no earlier answer is known. */
  blocked: boolean | null;
  blockedReason?: string;
  fetchedAtMs: number;
}

export interface SndsState {
  ips: SndsIpEntry[];
  malformed: { feed: 'data' | 'ipStatus'; line: number; reason: string }[];
  /** day → ip → that day's row. */
  history: Record<string, Record<string, { path: string | null; filter: SndsFilterResult; complaintRate: number | null; trapHits: number; recipients: number }>>;
  lastRunAtMs: number | null;
  lastSuccessAtMs: number | null;
  error?: ErrorNote;
}

export interface PostmasterDomainState {
  domain: string;
  /** From v2/domains, when the token may read it (scope postmaster.domain). */
  verificationState?: string;
  permission?: string;
  /** The latest day with a spam rate. */
  latestDay: string | null;
  spamRate: number | null;
  authSuccess: Partial<Record<'spf' | 'dkim' | 'dmarc', number>>;
  tlsEncryption: number | null;
  /** `type/reason` (reason `all` for the type as a whole) → rate, of each metric's latest day. */
  deliveryErrors: Record<string, number>;
  compliance?: PostmasterCompliance;
  fetchedAtMs: number | null;
  error?: ErrorNote;
}

export interface PostmasterState {
  domains: PostmasterDomainState[];
  /** day → domain → spam rate. */
  history: Record<string, Record<string, { spamRate: number }>>;
  lastRunAtMs: number | null;
  /** Why the domain list could not be read (a token without the postmaster.domain scope). */
  domainListNote?: string;
}

export interface ReputationSnapshot {
  paths: { name: string; ips: string[] }[];
  dnsbl?: DnsblState & { zones: string[] };
  hygiene?: HygieneState;
  snds?: SndsState;
  postmaster?: PostmasterState;
  /** The latest failures of every source, newest first. */
  errors: SourceError[];
}

/** YYYY-MM-DD (UTC) of a time. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Drops history days older than HISTORY_DAYS before `nowMs`. */
export function pruneHistory<T>(history: Record<string, T>, nowMs: number): Record<string, T> {
  const oldest = utcDay(nowMs - HISTORY_DAYS * 86_400_000);
  return Object.fromEntries(Object.entries(history).filter(([day]) => day >= oldest));
}

/** A stored state, or null when the key is empty or holds something else (a format of an older version). */
export function parseStored<T extends object>(text: string | null, required: readonly string[]): T | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    return required.every((k) => k in v) ? (v as T) : null;
  } catch {
    return null;
  }
}
