/**
 * The weekly trend report: what deliverability teams review. Pure: ledger facts in, plain
 * data out (renderers live in weekly-html.ts, weekly-markdown.ts, weekly-csv.ts,
 * weekly-json.ts). Every number is recomputable from the ledger; the cell arithmetic is
 * summarize()'s, so the report, the status page and /api/summary never disagree.
 */
import { type Ledger, type ProbeFact } from '../ledger/ledger.js';
import { OUTCOMES, type Outcome, type SendFailureReason } from '../domain/vocabulary.js';
import { percentile, summarize, type MatrixCell } from './summarize.js';

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Gmail's category tabs (the `inbox` outcome is Gmail's primary tab). */
export const TABS = ['promotions', 'social', 'updates', 'forums'] as const;

/** Shares compared week over week, in percentage points. */
export const CHANGE_KEYS = [...OUTCOMES, 'late', 'duplicate'] as const;
export type ChangeKey = (typeof CHANGE_KEYS)[number];

export interface AuthFailureResult {
  method: 'spf' | 'dkim' | 'dmarc';
  /** The provider's verdict as recorded (header-derived: untrusted text). */
  result: string;
  count: number;
}

/** One provider x path (or one path across providers) over one period. */
export interface PeriodStats {
  probes: number;
  accepted: number;
  sendErrors: number;
  sendErrorsByReason: Partial<Record<SendFailureReason, number>>;
  /** Accepted and resolved (first copy seen, or missing): the denominator of every share. */
  resolved: number;
  inFlight: number;
  counts: Record<Outcome, number>;
  /** counts / resolved, 0..1; null when nothing resolved. */
  shares: Record<Outcome, number | null>;
  /** Probes counted missing whose copy arrived after the deadline. */
  late: number;
  lateShare: number | null;
  /** Copies beyond the first (as the metric seedwatch_duplicates_total counts them). */
  duplicates: number;
  /** Probes that arrived more than once. */
  duplicatedProbes: number;
  duplicateShare: number | null;
  latencyP50Seconds: number | null;
  latencyP95Seconds: number | null;
  /** Delivery latencies behind the percentiles (first copies of probes not missing). */
  latencySamples: number;
  /** Resolved probes whose first copy had spf, dkim or dmarc other than pass. */
  authFailures: { spf: number; dkim: number; dmarc: number };
  authFailureResults: AuthFailureResult[];
  lastProbeAtMs: number | null;
}

export interface WeeklyRow {
  /** '*' in `paths` rows: every provider together. */
  provider: string;
  path: string;
  current: PeriodStats;
  previous: PeriodStats;
  /** (current share - previous share) x 100; null when either week resolved nothing. */
  changePp: Record<ChangeKey, number | null>;
  latencyP95ChangeSeconds: number | null;
}

export interface ReportDay {
  /** UTC date, YYYY-MM-DD. */
  day: string;
  fromMs: number;
  untilMs: number;
}

export interface DailyRow extends ReportDay {
  provider: string;
  path: string;
  stats: PeriodStats;
}

export interface DailyLatency extends ReportDay {
  path: string;
  latencyP50Seconds: number | null;
  latencyP95Seconds: number | null;
  samples: number;
}

export interface WeeklyReport {
  /** The report covers [startMs, endMs); the previous period is [previousStartMs, startMs). */
  startMs: number;
  endMs: number;
  previousStartMs: number;
  days: ReportDay[];
  /** Per provider x path, sorted by provider then path. */
  rows: WeeklyRow[];
  /** Per path, all providers together. */
  paths: WeeklyRow[];
  /** Per UTC day of the current period x provider x path (empty days included). */
  daily: DailyRow[];
  /** Per UTC day x path, all providers together. */
  dailyLatency: DailyLatency[];
}

export interface WeeklyReportOptions {
  /** End of the report, exclusive. */
  endMs: number;
  /** Start of the current period; default endMs - 7 days. The previous period is as long. */
  weekStartsMs?: number;
}

/** Week-over-week changes are rounded to this many decimals of a point (hides float noise). */
const CHANGE_DECIMALS = 6;

function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

function emptyOutcomes<T>(v: T): Record<Outcome, T> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, v])) as Record<Outcome, T>;
}

/** The stats of a set of facts taken as one cell (any providers, any paths). */
export function periodStats(facts: ProbeFact[]): PeriodStats {
  // summarize() groups by provider x path: relabel so everything falls into one cell.
  const [cell]: (MatrixCell | undefined)[] = summarize(facts.map((f) => ({ ...f, provider: '', path: '' })));
  const sendErrorsByReason: PeriodStats['sendErrorsByReason'] = {};
  const authResults = new Map<string, AuthFailureResult>();
  let duplicatedProbes = 0;
  let latencySamples = 0;
  for (const f of facts) {
    if (f.copies > 1) duplicatedProbes++;
    if ((f.status === 'failed' || f.status === 'ambiguous') && f.errorReason) {
      sendErrorsByReason[f.errorReason] = (sendErrorsByReason[f.errorReason] ?? 0) + 1;
    }
    if (f.status !== 'accepted' || f.outcome === null) continue;
    if (f.outcome !== 'missing' && f.deliveryLatencySeconds != null) latencySamples++;
    for (const method of ['spf', 'dkim', 'dmarc'] as const) {
      const result = f.auth[method];
      if (!result || result === 'pass') continue;
      const key = `${method}\u0000${result}`;
      const r = authResults.get(key) ?? { method, result, count: 0 };
      r.count++;
      authResults.set(key, r);
    }
  }
  const resolved = cell?.resolved ?? 0;
  const late = cell?.late ?? 0;
  return {
    probes: cell?.probes ?? 0,
    accepted: cell?.accepted ?? 0,
    sendErrors: cell?.sendErrors ?? 0,
    sendErrorsByReason,
    resolved,
    inFlight: cell?.inFlight ?? 0,
    counts: cell ? { ...cell.counts } : emptyOutcomes(0),
    shares: cell ? { ...cell.shares } : emptyOutcomes<number | null>(null),
    late,
    lateShare: resolved > 0 ? late / resolved : null,
    duplicates: cell?.duplicates ?? 0,
    duplicatedProbes,
    duplicateShare: resolved > 0 ? duplicatedProbes / resolved : null,
    latencyP50Seconds: cell?.latencyP50Seconds ?? null,
    latencyP95Seconds: cell?.latencyP95Seconds ?? null,
    latencySamples,
    authFailures: cell ? { ...cell.authFailures } : { spf: 0, dkim: 0, dmarc: 0 },
    authFailureResults: [...authResults.values()].sort(
      (a, b) => a.method.localeCompare(b.method) || b.count - a.count || a.result.localeCompare(b.result),
    ),
    lastProbeAtMs: cell?.lastProbeAtMs ?? null,
  };
}

function shareOf(s: PeriodStats, k: ChangeKey): number | null {
  if (k === 'late') return s.lateShare;
  if (k === 'duplicate') return s.duplicateShare;
  return s.shares[k];
}

function weeklyRow(provider: string, path: string, current: ProbeFact[], previous: ProbeFact[]): WeeklyRow {
  const cur = periodStats(current);
  const prev = periodStats(previous);
  const changePp = {} as Record<ChangeKey, number | null>;
  for (const k of CHANGE_KEYS) {
    const a = shareOf(cur, k);
    const b = shareOf(prev, k);
    changePp[k] = a === null || b === null ? null : round((a - b) * 100, CHANGE_DECIMALS);
  }
  const latencyP95ChangeSeconds =
    cur.latencyP95Seconds === null || prev.latencyP95Seconds === null
      ? null
      : round(cur.latencyP95Seconds - prev.latencyP95Seconds, CHANGE_DECIMALS);
  return { provider, path, current: cur, previous: prev, changePp, latencyP95ChangeSeconds };
}

/** UTC days overlapping [startMs, endMs), clipped to it. */
export function utcDays(startMs: number, endMs: number): ReportDay[] {
  const days: ReportDay[] = [];
  for (let from = startMs; from < endMs; ) {
    const nextMidnight = Math.floor(from / DAY_MS) * DAY_MS + DAY_MS;
    const until = Math.min(nextMidnight, endMs);
    days.push({ day: new Date(from).toISOString().slice(0, 10), fromMs: from, untilMs: until });
    from = until;
  }
  return days;
}

function groupBy<K extends string>(facts: ProbeFact[], key: (f: ProbeFact) => K): Map<K, ProbeFact[]> {
  const m = new Map<K, ProbeFact[]>();
  for (const f of facts) {
    const k = key(f);
    const list = m.get(k);
    if (list) list.push(f);
    else m.set(k, [f]);
  }
  return m;
}

const cellKey = (f: { provider: string; path: string }) => `${f.provider}\u0000${f.path}`;
const byName = (a: { provider: string; path: string }, b: { provider: string; path: string }) =>
  a.provider.localeCompare(b.provider) || a.path.localeCompare(b.path);

export function buildWeeklyReport(facts: ProbeFact[], opts: WeeklyReportOptions): WeeklyReport {
  const endMs = opts.endMs;
  const startMs = opts.weekStartsMs ?? endMs - WEEK_MS;
  if (!Number.isFinite(endMs) || !Number.isFinite(startMs) || startMs >= endMs) {
    throw new RangeError(`weekly report: the period must start before it ends (start ${startMs}, end ${endMs})`);
  }
  const previousStartMs = startMs - (endMs - startMs);
  const current = facts.filter((f) => f.createdAtMs >= startMs && f.createdAtMs < endMs);
  const previous = facts.filter((f) => f.createdAtMs >= previousStartMs && f.createdAtMs < startMs);

  const curByCell = groupBy(current, cellKey);
  const prevByCell = groupBy(previous, cellKey);
  const cells = new Map<string, { provider: string; path: string }>();
  for (const f of [...current, ...previous]) if (!cells.has(cellKey(f))) cells.set(cellKey(f), { provider: f.provider, path: f.path });
  const cellList = [...cells.entries()].sort((a, b) => byName(a[1], b[1]));

  const rows = cellList.map(([k, c]) => weeklyRow(c.provider, c.path, curByCell.get(k) ?? [], prevByCell.get(k) ?? []));

  const pathNames = [...new Set(cellList.map(([, c]) => c.path))].sort((a, b) => a.localeCompare(b));
  const curByPath = groupBy(current, (f) => f.path);
  const prevByPath = groupBy(previous, (f) => f.path);
  const paths = pathNames.map((p) => weeklyRow('*', p, curByPath.get(p) ?? [], prevByPath.get(p) ?? []));

  const days = utcDays(startMs, endMs);
  const daily: DailyRow[] = [];
  const dailyLatency: DailyLatency[] = [];
  for (const d of days) {
    const inDay = current.filter((f) => f.createdAtMs >= d.fromMs && f.createdAtMs < d.untilMs);
    const dayByCell = groupBy(inDay, cellKey);
    for (const [k, c] of cellList) daily.push({ ...d, provider: c.provider, path: c.path, stats: periodStats(dayByCell.get(k) ?? []) });
    const dayByPath = groupBy(inDay, (f) => f.path);
    for (const p of pathNames) {
      const lat = (dayByPath.get(p) ?? [])
        .filter((f) => f.status === 'accepted' && f.outcome !== null && f.outcome !== 'missing' && f.deliveryLatencySeconds != null)
        .map((f) => f.deliveryLatencySeconds as number);
      dailyLatency.push({ ...d, path: p, latencyP50Seconds: percentile(lat, 50), latencyP95Seconds: percentile(lat, 95), samples: lat.length });
    }
  }
  return { startMs, endMs, previousStartMs, days, rows, paths, daily, dailyLatency };
}

/** Reads the two periods' facts from the ledger and builds the report. */
export async function weeklyReportFromLedger(
  ledger: Pick<Ledger, 'probeFacts'>,
  endMs: number,
  opts: { weekStartsMs?: number } = {},
): Promise<WeeklyReport> {
  const startMs = opts.weekStartsMs ?? endMs - WEEK_MS;
  const facts = await ledger.probeFacts(startMs - (endMs - startMs), endMs);
  return buildWeeklyReport(facts, { endMs, weekStartsMs: startMs });
}
