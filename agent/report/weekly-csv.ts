/**
 * The report as one RFC 4180 table (CRLF line ends, a header row, every row the same fields)
 * for spreadsheets: a `scope` column tells week, previous week and per-day rows apart, and
 * provider `*` marks a path's total over all providers. Shares are ratios 0..1.
 */
import type { PathComparison } from '../domain/placement-matrix.js';
import { OUTCOMES } from '../domain/vocabulary.js';
import { CHANGE_KEYS, type PeriodStats, type WeeklyReport, type WeeklyRow } from './weekly-report.js';

/** The rates whose 95 % interval is a pair of columns (`<rate>_low`, `<rate>_high`). */
const INTERVAL_KEYS = [...OUTCOMES, 'late', 'duplicate'] as const;

type Cell = string | number | null;

/** Ratios and seconds keep this many decimals (enough to recompute any count). */
const CSV_DECIMALS = 6;

function num(v: number | null): string {
  if (v === null) return '';
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(CSV_DECIMALS)));
}

/** RFC 4180 quoting, plus a leading apostrophe on text a spreadsheet would run as a formula. */
export function csvField(v: Cell): string {
  if (v === null) return '';
  let s = typeof v === 'number' ? num(v) : v;
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const WEEKLY_CSV_COLUMNS = [
  'scope',
  'from',
  'until',
  'provider',
  'path',
  'probes',
  'accepted',
  'send_errors',
  'resolved',
  'in_flight',
  ...OUTCOMES,
  ...OUTCOMES.map((o) => `${o}_share`),
  'late',
  'late_share',
  'duplicates',
  'duplicated_probes',
  'duplicate_share',
  'latency_p50_seconds',
  'latency_p95_seconds',
  'auth_fail_spf',
  'auth_fail_dkim',
  'auth_fail_dmarc',
  ...CHANGE_KEYS.map((k) => `${k}_change_pp`),
  // Added with the intervals; appended so that the columns above keep their positions.
  ...INTERVAL_KEYS.flatMap((k) => [`${k}_low`, `${k}_high`]),
  'too_few_probes',
  ...CHANGE_KEYS.map((k) => `${k}_change_p`),
  'spam_best_path',
  'spam_vs_best_pp',
  'spam_vs_best_low_pp',
  'spam_vs_best_high_pp',
  'spam_vs_best_p',
] as const;

function statsFields(s: PeriodStats): Cell[] {
  return [
    s.probes,
    s.accepted,
    s.sendErrors,
    s.resolved,
    s.inFlight,
    ...OUTCOMES.map((o) => s.counts[o]),
    ...OUTCOMES.map((o) => s.shares[o]),
    s.late,
    s.lateShare,
    s.duplicates,
    s.duplicatedProbes,
    s.duplicateShare,
    s.latencyP50Seconds,
    s.latencyP95Seconds,
    s.authFailures.spf,
    s.authFailures.dkim,
    s.authFailures.dmarc,
  ];
}

/** Ratios (the intervals) and the minimum-count flag, after the change columns. */
function intervalFields(s: PeriodStats): Cell[] {
  return [...INTERVAL_KEYS.flatMap((k) => [s.intervals[k]?.[0] ?? null, s.intervals[k]?.[1] ?? null]), s.tooFewProbes ? 'true' : 'false'];
}

const pp = (v: number) => v * 100;

function comparisonFields(c: PathComparison | undefined): Cell[] {
  return c ? [c.bestPath, pp(c.diff), pp(c.low), pp(c.high), c.p] : [null, null, null, null, null];
}

function changePFields(r: WeeklyRow | null): Cell[] {
  return CHANGE_KEYS.map((k) => r?.changeTests[k]?.p ?? null);
}

export function renderWeeklyCsv(report: WeeklyReport): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const noChange: Cell[] = CHANGE_KEYS.map(() => null);
  const noComparison = comparisonFields(undefined);
  const comparison = (r: WeeklyRow) => report.comparisons.find((c) => c.provider === r.provider && c.path === r.path);
  const lines: Cell[][] = [[...WEEKLY_CSV_COLUMNS]];
  for (const r of [...report.rows, ...report.paths]) {
    lines.push([
      'week',
      iso(report.startMs),
      iso(report.endMs),
      r.provider,
      r.path,
      ...statsFields(r.current),
      ...CHANGE_KEYS.map((k) => r.changePp[k]),
      ...intervalFields(r.current),
      ...changePFields(r),
      ...comparisonFields(comparison(r)),
    ]);
  }
  for (const r of [...report.rows, ...report.paths]) {
    lines.push(['previous_week', iso(report.previousStartMs), iso(report.startMs), r.provider, r.path, ...statsFields(r.previous), ...noChange, ...intervalFields(r.previous), ...changePFields(null), ...noComparison]);
  }
  for (const d of report.daily) {
    lines.push(['day', iso(d.fromMs), iso(d.untilMs), d.provider, d.path, ...statsFields(d.stats), ...noChange, ...intervalFields(d.stats), ...changePFields(null), ...noComparison]);
  }
  return lines.map((l) => l.map(csvField).join(',')).join('\r\n') + '\r\n';
}
