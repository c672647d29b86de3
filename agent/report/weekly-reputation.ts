/**
 * The weekly report's "Reputation by path": per path IP and DNSBL zone the days it was seen
 * listed, per IP the Microsoft SNDS colour of each day, per domain Gmail's user-reported spam
 * rate of each day. Pure: the reputation sources' stored history (reputation-state.ts) in, plain
 * data out; the renderers (HTML, Markdown, JSON) show it.
 */
import { parseStored, STATE_KEYS, type DnsblState, type PostmasterState, type SndsState } from '../reputation/reputation-state.js';
import type { SndsFilterResult } from '../reputation/snds.js';
import type { Ledger } from '../ledger/ledger.js';

export interface WeeklyReputation {
  /** Per path x IP x zone with at least one conclusive lookup in the period. */
  dnsbl: { path: string; ip: string; zone: string; daysChecked: number; daysListed: number; listedDays: string[] }[];
  /** Per IP with SNDS data in the period: the filter result of each report day (null: no data that day). */
  snds: { path: string | null; ip: string; days: (SndsFilterResult | null)[]; trapHits: number; maxComplaintRate: number | null }[];
  /** Per domain with Postmaster data in the period: the spam rate of each report day. */
  postmaster: { domain: string; days: (number | null)[]; max: number | null; latest: number | null }[];
}

export interface ReputationHistories {
  dnsbl: DnsblState | null;
  snds: SndsState | null;
  postmaster: PostmasterState | null;
}

/** Orders rows by path (rows of no path last), then IP. */
const byPathIp = (a: { path: string | null; ip: string }, b: { path: string | null; ip: string }) =>
  (a.path ?? '\uffff').localeCompare(b.path ?? '\uffff') || a.ip.localeCompare(b.ip);

/** The section for the report days (YYYY-MM-DD), or null when no source has data in them. */
export function buildWeeklyReputation(h: ReputationHistories, days: readonly string[]): WeeklyReputation | null {
  const inPeriod = new Set(days);
  const dnsbl = new Map<string, WeeklyReputation['dnsbl'][number]>();
  for (const [day, perKey] of Object.entries(h.dnsbl?.history ?? {})) {
    if (!inPeriod.has(day)) continue;
    for (const [key, c] of Object.entries(perKey)) {
      if (c.checks <= 0) continue;
      const [path, ip, zone] = key.split('|');
      const row = dnsbl.get(key) ?? { path, ip, zone, daysChecked: 0, daysListed: 0, listedDays: [] };
      row.daysChecked++;
      if (c.listed > 0) {
        row.daysListed++;
        row.listedDays.push(day);
      }
      dnsbl.set(key, row);
    }
  }
  const snds = new Map<string, WeeklyReputation['snds'][number]>();
  for (const [day, perIp] of Object.entries(h.snds?.history ?? {})) {
    const i = days.indexOf(day);
    if (i < 0) continue;
    for (const [ip, r] of Object.entries(perIp)) {
      const row = snds.get(ip) ?? { path: r.path, ip, days: days.map(() => null), trapHits: 0, maxComplaintRate: null };
      row.days[i] = r.filter;
      row.trapHits += r.trapHits;
      if (r.complaintRate !== null) row.maxComplaintRate = Math.max(row.maxComplaintRate ?? 0, r.complaintRate);
      snds.set(ip, row);
    }
  }
  const postmaster = new Map<string, WeeklyReputation['postmaster'][number]>();
  for (const [day, perDomain] of Object.entries(h.postmaster?.history ?? {})) {
    const i = days.indexOf(day);
    if (i < 0) continue;
    for (const [domain, r] of Object.entries(perDomain)) {
      const row = postmaster.get(domain) ?? { domain, days: days.map(() => null), max: null, latest: null };
      row.days[i] = r.spamRate;
      postmaster.set(domain, row);
    }
  }
  for (const row of postmaster.values()) {
    const known = row.days.filter((v): v is number => v !== null);
    row.max = known.length ? Math.max(...known) : null;
    row.latest = [...row.days].reverse().find((v) => v !== null) ?? null;
  }
  if (dnsbl.size + snds.size + postmaster.size === 0) return null;
  return {
    dnsbl: [...dnsbl.values()].sort((a, b) => byPathIp(a, b) || a.zone.localeCompare(b.zone)).map((r) => ({ ...r, listedDays: r.listedDays.sort() })),
    snds: [...snds.values()].sort(byPathIp),
    postmaster: [...postmaster.values()].sort((a, b) => a.domain.localeCompare(b.domain)),
  };
}

/** The sources' stored histories; a ledger without a key/value store, or a key not read, counts as no data. */
export async function readReputationHistories(ledger: Partial<Pick<Ledger, 'getState'>>): Promise<ReputationHistories> {
  const read = async (key: string): Promise<string | null> => {
    try {
      return ledger.getState ? await ledger.getState(key) : null;
    } catch {
      return null;
    }
  };
  return {
    dnsbl: parseStored<DnsblState>(await read(STATE_KEYS.dnsbl), ['entries', 'history']),
    snds: parseStored<SndsState>(await read(STATE_KEYS.snds), ['ips', 'history']),
    postmaster: parseStored<PostmasterState>(await read(STATE_KEYS.postmaster), ['domains', 'history']),
  };
}
