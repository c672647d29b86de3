/**
 * Pure: the placement matrix provider × path over a window, from probe facts. The one
 * aggregation behind `seedwatch probe` (table and --json), `/api/summary`, the status page and
 * the weekly report, so no two surfaces can disagree on a number. No I/O: facts in, numbers out.
 *
 * Denominators (what a reader checks by hand):
 *   - placement shares (inbox, spam, tabs, other, missing), the late and duplicate rates: of
 *     the resolved probes (accepted, and a first copy seen or past the deadline);
 *   - the send-failure rate: of all probes.
 */
import type { AuthSummary, Outcome, ProbeStatus, SendFailureReason } from './vocabulary.js';
import { OUTCOMES } from './vocabulary.js';
import {
  DEFAULT_ALPHA,
  detectableDifference,
  MIN_PROBES_FOR_SHARE,
  proportionDifference,
  twoProportionTest,
  wilsonInterval,
  type ShareInterval,
} from './statistics.js';

/** What the matrix needs of one probe (the ledger's ProbeFact has all of it). */
export interface MatrixFact {
  provider: string;
  path: string;
  createdAtMs: number;
  status: ProbeStatus;
  errorReason?: SendFailureReason | null;
  /** First placement, or 'missing'; null while in flight (or never accepted). */
  outcome: Outcome | null;
  copies: number;
  /** A copy arrived after the deadline. */
  late?: boolean;
  deliveryLatencySeconds: number | null;
  /** The provider's verdicts on the first copy. */
  auth?: AuthSummary;
}

export interface MatrixOptions {
  /**
   * The window is over (`seedwatch probe` after its wait): an accepted probe not seen counts
   * as missing, and one still marked sending as a send failure — nothing is left in flight.
   */
  closed?: boolean;
}

/** The rates that carry a share (and, with the statistics, an interval). */
export const RATE_KEYS = [...OUTCOMES, 'late', 'duplicate', 'failed'] as const;
export type RateKey = (typeof RATE_KEYS)[number];

export interface AuthFailureResult {
  method: 'spf' | 'dkim' | 'dmarc';
  /** The provider's verdict as recorded (header-derived: untrusted text). */
  result: string;
  count: number;
}

/** The numbers of one group of probes (a provider × path, a path, a day, everything). */
export interface CellStats {
  /** Probes created in the window. */
  probes: number;
  /** Accepted by the first SMTP hop. */
  accepted: number;
  /** Probes whose send failed (failed or ambiguous; in a closed window, also still sending). */
  sendErrors: number;
  sendErrorsByReason: Partial<Record<SendFailureReason, number>>;
  /** Accepted and resolved (a first copy seen, or missing): the denominator of the shares. */
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
  /** sendErrors / probes; null when there is no probe. */
  failedShare: number | null;
  /**
   * The 95 % Wilson interval of every share and rate (wilson.ts), keyed like `shares` plus
   * late, duplicate and failed; null where the share is null.
   */
  intervals: Record<RateKey, ShareInterval | null>;
  /** Fewer than MIN_PROBES_FOR_SHARE (statistics.ts) resolved probes: the surfaces say "too few probes". */
  tooFewProbes: boolean;
  latencyP50Seconds: number | null;
  latencyP95Seconds: number | null;
  /** Delivery latencies behind the percentiles (first copies of probes not missing). */
  latencySamples: number;
  /** Resolved probes whose first copy had spf, dkim or dmarc other than pass. */
  authFailures: { spf: number; dkim: number; dmarc: number };
  authFailureResults: AuthFailureResult[];
  lastProbeAtMs: number | null;
}

/** One cell of the matrix. */
export interface MatrixCell extends CellStats {
  provider: string;
  path: string;
}

/** Nearest-rank percentile (what a reader can check by hand), of a sorted copy. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function emptyOutcomes<T>(v: T): Record<Outcome, T> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, v])) as Record<Outcome, T>;
}

const AUTH_CHECKED = ['spf', 'dkim', 'dmarc'] as const;

/** The stats of a set of facts taken as one group (any providers, any paths). */
export function cellStats(facts: readonly MatrixFact[], opts: MatrixOptions = {}): CellStats {
  const counts = emptyOutcomes(0);
  const sendErrorsByReason: CellStats['sendErrorsByReason'] = {};
  const authFailures = { spf: 0, dkim: 0, dmarc: 0 };
  const authResults = new Map<string, AuthFailureResult>();
  const latencies: number[] = [];
  let probes = 0;
  let accepted = 0;
  let sendErrors = 0;
  let resolved = 0;
  let inFlight = 0;
  let late = 0;
  let duplicates = 0;
  let duplicatedProbes = 0;
  let lastProbeAtMs: number | null = null;
  for (const f of facts) {
    probes++;
    duplicates += Math.max(0, f.copies - 1);
    if (f.status === 'failed' || f.status === 'ambiguous' || (opts.closed && f.status === 'sending')) {
      sendErrors++;
      if (f.errorReason) sendErrorsByReason[f.errorReason] = (sendErrorsByReason[f.errorReason] ?? 0) + 1;
    }
    if (f.status !== 'accepted') continue;
    accepted++;
    lastProbeAtMs = Math.max(lastProbeAtMs ?? 0, f.createdAtMs);
    const outcome = f.outcome ?? (opts.closed ? 'missing' : null);
    if (outcome === null) {
      inFlight++;
      continue;
    }
    resolved++;
    counts[outcome]++;
    // Rates count resolved probes only, so each is a proportion of its denominator. (Copies
    // and late copies exist only for accepted probes that resolved: no number changes.)
    if (f.copies > 1) duplicatedProbes++;
    if (f.late) late++;
    if (outcome !== 'missing' && f.deliveryLatencySeconds != null) latencies.push(f.deliveryLatencySeconds);
    for (const method of AUTH_CHECKED) {
      const result = f.auth?.[method];
      if (!result || result === 'pass') continue;
      authFailures[method]++;
      const key = `${method}\u0000${result}`;
      const r = authResults.get(key) ?? { method, result, count: 0 };
      r.count++;
      authResults.set(key, r);
    }
  }
  const ofResolved = (n: number) => (resolved > 0 ? n / resolved : null);
  const shares = emptyOutcomes<number | null>(null);
  for (const o of OUTCOMES) shares[o] = ofResolved(counts[o]);
  const intervals = {} as Record<RateKey, ShareInterval | null>;
  for (const o of OUTCOMES) intervals[o] = wilsonInterval(counts[o], resolved);
  intervals.late = wilsonInterval(late, resolved);
  intervals.duplicate = wilsonInterval(duplicatedProbes, resolved);
  intervals.failed = wilsonInterval(sendErrors, probes);
  return {
    probes,
    accepted,
    sendErrors,
    sendErrorsByReason,
    resolved,
    inFlight,
    counts,
    shares,
    late,
    lateShare: ofResolved(late),
    duplicates,
    duplicatedProbes,
    duplicateShare: ofResolved(duplicatedProbes),
    failedShare: probes > 0 ? sendErrors / probes : null,
    intervals,
    tooFewProbes: resolved < MIN_PROBES_FOR_SHARE,
    latencyP50Seconds: percentile(latencies, 50),
    latencyP95Seconds: percentile(latencies, 95),
    latencySamples: latencies.length,
    authFailures,
    authFailureResults: [...authResults.values()].sort(
      (a, b) => a.method.localeCompare(b.method) || b.count - a.count || a.result.localeCompare(b.result),
    ),
    lastProbeAtMs,
  };
}

/** The share of one rate key: outcomes of the resolved probes, failed of all probes. */
export function rateOf(s: CellStats, k: RateKey): number | null {
  if (k === 'late') return s.lateShare;
  if (k === 'duplicate') return s.duplicateShare;
  if (k === 'failed') return s.failedShare;
  return s.shares[k];
}

/** The count behind one rate key, and its denominator. */
export function rateCounts(s: CellStats, k: RateKey): { count: number; of: number } {
  if (k === 'late') return { count: s.late, of: s.resolved };
  if (k === 'duplicate') return { count: s.duplicatedProbes, of: s.resolved };
  if (k === 'failed') return { count: s.sendErrors, of: s.probes };
  return { count: s.counts[k], of: s.resolved };
}

export const cellKey = (f: { provider: string; path: string }): string => `${f.provider}\u0000${f.path}`;

export const byProviderThenPath = (a: { provider: string; path: string }, b: { provider: string; path: string }): number =>
  a.provider.localeCompare(b.provider) || a.path.localeCompare(b.path);

/** Facts grouped by a key, in first-seen order. */
export function groupBy<F, K>(facts: readonly F[], key: (f: F) => K): Map<K, F[]> {
  const m = new Map<K, F[]>();
  for (const f of facts) {
    const k = key(f);
    const list = m.get(k);
    if (list) list.push(f);
    else m.set(k, [f]);
  }
  return m;
}

/** The matrix provider × path, sorted by provider then path (a cell per pair that has a probe). */
export function placementMatrix(facts: readonly MatrixFact[], opts: MatrixOptions = {}): MatrixCell[] {
  const cells: MatrixCell[] = [];
  for (const group of groupBy(facts, cellKey).values()) {
    cells.push({ provider: group[0].provider, path: group[0].path, ...cellStats(group, opts) });
  }
  return cells.sort(byProviderThenPath);
}

/** The additive numbers of a whole matrix (every cell together), with the outcomes' intervals. */
export interface MatrixTotal extends Pick<CellStats, 'probes' | 'accepted' | 'sendErrors' | 'resolved' | 'inFlight' | 'counts' | 'shares' | 'tooFewProbes'> {
  intervals: Record<Outcome, ShareInterval | null>;
}

/** Every cell together: counts add up; shares and intervals are recomputed from the sums. */
export function matrixTotal(cells: readonly CellStats[]): MatrixTotal {
  const counts = emptyOutcomes(0);
  let probes = 0;
  let accepted = 0;
  let sendErrors = 0;
  let resolved = 0;
  let inFlight = 0;
  for (const c of cells) {
    probes += c.probes;
    accepted += c.accepted;
    sendErrors += c.sendErrors;
    resolved += c.resolved;
    inFlight += c.inFlight;
    for (const o of OUTCOMES) counts[o] += c.counts[o];
  }
  const shares = emptyOutcomes<number | null>(null);
  const intervals = emptyOutcomes<ShareInterval | null>(null);
  for (const o of OUTCOMES) {
    shares[o] = resolved > 0 ? counts[o] / resolved : null;
    intervals[o] = wilsonInterval(counts[o], resolved);
  }
  return { probes, accepted, sendErrors, resolved, inFlight, counts, shares, intervals, tooFewProbes: resolved < MIN_PROBES_FOR_SHARE };
}

/** Two shares compared: the difference with its 95 % interval, and the test's p-value. */
export interface ShareComparison {
  /** share₁ − share₂, −1..1 (×100 for percentage points). */
  diff: number;
  /** Newcombe's hybrid score interval of the difference (proportion-difference.ts). */
  low: number;
  high: number;
  /** Two-sided p-value: Fisher's exact test for small counts, else the z-test. */
  p: number;
  method: 'fisher' | 'z';
  /** p below DEFAULT_ALPHA (0.05): the test's verdict alone (the interval may still span 0). */
  significant: boolean;
  /**
   * The test and the interval agree on a difference (p < 0.05 and the interval excludes 0):
   * what the surfaces mark as a change. Near the line the two methods can disagree (see
   * PathVerdict); a mark next to an interval that spans 0 would contradict what is shown.
   */
  clear: boolean;
}

/** k₁/n₁ against k₂/n₂; null when either side has no probe. */
export function compareShares(k1: number, n1: number, k2: number, n2: number): ShareComparison | null {
  const d = proportionDifference(k1, n1, k2, n2);
  const t = twoProportionTest(k1, n1, k2, n2);
  if (d === null || t === null) return null;
  const significant = t.p < DEFAULT_ALPHA;
  return { diff: d.diff, low: d.low, high: d.high, p: t.p, method: t.method, significant, clear: significant && (d.low > 0 || d.high < 0) };
}

/**
 * One rate of a group in a window against the same group in the window before it (the weekly
 * report's week over week, the status page's hour and day over the previous one): current
 * minus previous, with the interval and p-value of compareShares. Null when either window
 * has no denominator.
 */
export function windowChange(current: CellStats, previous: CellStats, key: RateKey): ShareComparison | null {
  const x = rateCounts(current, key);
  const y = rateCounts(previous, key);
  return compareShares(x.count, x.of, y.count, y.of);
}

/**
 * How a path stands against its provider's best path.
 * - 'worse': the test and the interval agree — p < 0.05 and the 95 % interval of the
 *   difference lies above 0;
 * - 'unclear': only one of them sees a difference. They are different methods (Fisher's or the
 *   z-test against Newcombe's interval) and can disagree near the line: 4/10 against 0/10 has
 *   the interval 3.8–68.7 points but Fisher's p = 0.087; 9/27 against 3/27 has p = 0.0495 but
 *   the interval −0.2 to +42.4 points. Neither "worse" nor "the same" is true to both;
 * - 'indistinguishable': neither sees one.
 */
export type PathVerdict = 'worse' | 'unclear' | 'indistinguishable';

/** The verdict of one comparison with the best path (diff = this path's share − the best's). */
export function pathVerdict(c: Pick<ShareComparison, 'diff' | 'low' | 'significant'>): PathVerdict {
  if (c.diff <= 0) return 'indistinguishable';
  if (c.significant && c.low > 0) return 'worse';
  return c.significant || c.low > 0 ? 'unclear' : 'indistinguishable';
}

/** One path of a provider against the provider's best path for a rate (spam by default). */
export interface PathComparison extends ShareComparison {
  provider: string;
  key: RateKey;
  path: string;
  share: number;
  /** The probes behind the share (its denominator). */
  n: number;
  /** The provider's best path: the lowest share of `key` (ties: more probes, then name). */
  bestPath: string;
  bestShare: number;
  bestN: number;
  /** verdict === 'worse': the test and the interval agree that this path lands in spam more. */
  worse: boolean;
  verdict: PathVerdict;
}

/**
 * For each provider with two or more paths that resolved probes: every other path's share of
 * `key` against the best path's ("transit is worse than peering for outlook"). Sorted by
 * provider, then path.
 */
export function comparePaths(cells: readonly MatrixCell[], key: RateKey = 'spam'): PathComparison[] {
  const out: PathComparison[] = [];
  for (const group of groupBy(cells, (c) => c.provider).values()) {
    const measured = group
      .map((c) => ({ cell: c, share: rateOf(c, key), ...rateCounts(c, key) }))
      .filter((x): x is typeof x & { share: number } => x.share !== null);
    if (measured.length < 2) continue;
    const [best, ...rest] = [...measured].sort((a, b) => a.share - b.share || b.of - a.of || a.cell.path.localeCompare(b.cell.path));
    for (const x of rest) {
      const c = compareShares(x.count, x.of, best.count, best.of);
      if (c === null) continue;
      const verdict = pathVerdict(c);
      out.push({
        provider: x.cell.provider, key, path: x.cell.path, share: x.share, n: x.of,
        bestPath: best.cell.path, bestShare: best.share, bestN: best.of,
        ...c, worse: verdict === 'worse', verdict,
      });
    }
  }
  return out.sort(byProviderThenPath);
}

/** How fine a difference between a provider's paths the current counts can tell apart. */
export interface ResolvableDifference {
  provider: string;
  key: RateKey;
  /** Paths with resolved probes. */
  paths: number;
  /** The probes per path behind the answer: the smallest path's denominator. */
  n: number;
  /** The best path's share, the baseline a worse path is told apart from. */
  baseline: number;
  /**
   * The smallest difference (0..1) a two-sided test at α = 0.05 detects with 80 % power between
   * two paths of n probes each (detectable-difference.ts); null when even 100 % is not.
   */
  difference: number | null;
}

/** Per provider probed over two or more paths: the smallest difference of `key` the data resolves. */
export function resolvableDifferences(cells: readonly MatrixCell[], key: RateKey = 'spam'): ResolvableDifference[] {
  const out: ResolvableDifference[] = [];
  for (const group of groupBy(cells, (c) => c.provider).values()) {
    const measured = group.map((c) => ({ share: rateOf(c, key), n: rateCounts(c, key).of })).filter((x) => x.share !== null);
    if (measured.length < 2) continue;
    const n = Math.min(...measured.map((x) => x.n));
    const baseline = Math.min(...measured.map((x) => x.share as number));
    // A baseline of 1 leaves no room above it: nothing worse can be detected.
    const difference = baseline < 1 ? detectableDifference(n, baseline) : null;
    out.push({ provider: group[0].provider, key, paths: measured.length, n, baseline, difference });
  }
  return out.sort((a, b) => a.provider.localeCompare(b.provider));
}
