/**
 * The weekly trend report: what deliverability teams review. Pure: ledger facts in, plain
 * data out (renderers live in weekly-html.ts, weekly-markdown.ts, weekly-csv.ts,
 * weekly-json.ts, dispatched by render-weekly.ts). Every number is recomputable from the
 * ledger; the cell arithmetic is the domain's placement matrix, so the report, the status page,
 * /api/summary and `seedwatch probe` never disagree.
 */
import { type Ledger, type ProbeFact } from '../ledger/ledger.js';
import {
  byProviderThenPath,
  cellKey,
  cellStats,
  comparePaths,
  groupBy,
  rateOf,
  windowChange,
  type AuthFailureResult,
  type CellStats,
  type PathComparison,
  type ShareComparison,
} from '../domain/placement-matrix.js';
import { OUTCOMES } from '../domain/vocabulary.js';
import { buildWeeklyReputation, readReputationHistories, type WeeklyReputation } from './weekly-reputation.js';

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Gmail's category tabs (the `inbox` outcome is Gmail's primary tab). */
export const TABS = ['promotions', 'social', 'updates', 'forums'] as const;

/** Shares compared week over week, in percentage points. */
export const CHANGE_KEYS = [...OUTCOMES, 'late', 'duplicate'] as const;
export type ChangeKey = (typeof CHANGE_KEYS)[number];

/** One provider x path (or one path across providers) over one period: the matrix's numbers. */
export type PeriodStats = CellStats;
export type { AuthFailureResult };

export interface WeeklyRow {
  /** '*' in `paths` rows: every provider together. */
  provider: string;
  path: string;
  current: PeriodStats;
  previous: PeriodStats;
  /** (current share - previous share) x 100; null when either week resolved nothing. */
  changePp: Record<ChangeKey, number | null>;
  /**
   * The same changes tested: the difference with its 95 % interval and p-value (current
   * against previous); `significant` marks a change that is more than week-to-week noise.
   */
  changeTests: Record<ChangeKey, ShareComparison | null>;
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
  /** The current period: each provider's paths against its best path (spam share). */
  comparisons: PathComparison[];
  /** Reputation by path (DNSBL days listed, SNDS colours, Gmail spam rate), when a source has data in the period. */
  reputation?: WeeklyReputation;
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

/** The stats of a set of facts taken as one cell (any providers, any paths). */
export function periodStats(facts: ProbeFact[]): PeriodStats {
  return cellStats(facts);
}

function weeklyRow(provider: string, path: string, current: ProbeFact[], previous: ProbeFact[]): WeeklyRow {
  const cur = periodStats(current);
  const prev = periodStats(previous);
  const changePp = {} as Record<ChangeKey, number | null>;
  const changeTests = {} as Record<ChangeKey, ShareComparison | null>;
  for (const k of CHANGE_KEYS) {
    const a = rateOf(cur, k);
    const b = rateOf(prev, k);
    changePp[k] = a === null || b === null ? null : round((a - b) * 100, CHANGE_DECIMALS);
    changeTests[k] = windowChange(cur, prev, k);
  }
  const latencyP95ChangeSeconds =
    cur.latencyP95Seconds === null || prev.latencyP95Seconds === null
      ? null
      : round(cur.latencyP95Seconds - prev.latencyP95Seconds, CHANGE_DECIMALS);
  return { provider, path, current: cur, previous: prev, changePp, changeTests, latencyP95ChangeSeconds };
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
  const cellList = [...cells.entries()].sort((a, b) => byProviderThenPath(a[1], b[1]));

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
      const s = cellStats(dayByPath.get(p) ?? []);
      dailyLatency.push({ ...d, path: p, latencyP50Seconds: s.latencyP50Seconds, latencyP95Seconds: s.latencyP95Seconds, samples: s.latencySamples });
    }
  }
  const comparisons = comparePaths(rows.map((r) => ({ provider: r.provider, path: r.path, ...r.current })));
  return { startMs, endMs, previousStartMs, days, rows, paths, daily, dailyLatency, comparisons };
}

/** Reads the two periods' facts from the ledger and builds the report. */
export async function weeklyReportFromLedger(
  ledger: Pick<Ledger, 'probeFacts'> & Partial<Pick<Ledger, 'getState'>>,
  endMs: number,
  opts: { weekStartsMs?: number; progress?: (step: string) => void } = {},
): Promise<WeeklyReport> {
  const startMs = opts.weekStartsMs ?? endMs - WEEK_MS;
  opts.progress?.('reading two weeks of probes from the ledger');
  const facts = await ledger.probeFacts(startMs - (endMs - startMs), endMs);
  opts.progress?.(`aggregating ${facts.length.toLocaleString('en-US')} probes`);
  const report = buildWeeklyReport(facts, { endMs, weekStartsMs: startMs });
  opts.progress?.('reading the reputation history');
  const reputation = buildWeeklyReputation(await readReputationHistories(ledger), report.days.map((d) => d.day));
  return reputation ? { ...report, reputation } : report;
}
