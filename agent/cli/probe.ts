import { parseDuration, formatDuration } from '../config/duration.js';
import { ConfigError } from '../config/load-config.js';
import { EXIT_ERROR, EXIT_FAILED, EXIT_OK } from '../exit-codes.js';
import type { ProbeRow } from '../ledger/ledger.js';
import { comparePaths, placementMatrix, RATE_KEYS, rateCounts, rateOf, type MatrixCell, type PathComparison, type RateKey } from '../domain/placement-matrix.js';
import { wilsonInterval, type ShareInterval } from '../domain/statistics.js';
import { evaluateThresholds, parseThresholds, ThresholdError, type Threshold, type ThresholdCheck } from '../domain/thresholds.js';
import type { Outcome } from '../domain/vocabulary.js';
import { createLogger } from '../log.js';
import { describePathComparison, formatInterval, TOO_FEW_PROBES } from '../report/format.js';
import { formatTable, loadConfigOrReport } from './common.js';

/** How often the ledger is read while waiting for probes. */
const PROGRESS_POLL_MS = 250;
/** How long to wait for every mailbox to log in before sending anyway. */
const MAILBOX_READY_WAIT_MS = 30_000;

export interface ProbeCell {
  provider: string;
  path: string;
  probes: number;
  accepted: number;
  /**
   * Per outcome, send failures (`failed`), probes with a late copy (`late`) and probes that
   * arrived more than once (`duplicate`): the count behind each share.
   */
  counts: Record<RateKey, number>;
  /** counts over their denominator: accepted probes (all resolved once the wait is over), all probes for `failed`. */
  shares: Record<RateKey, number>;
  /** 95 % Wilson interval of each share (null without a denominator). */
  intervals: Record<RateKey, ShareInterval | null>;
  /** Fewer resolved probes than the minimum (the matrix's flag): the table shows shares without intervals. */
  tooFewProbes: boolean;
  /** Copies beyond the first (as seedwatch_duplicates_total counts them). */
  duplicates: number;
  latencyP50Seconds: number | null;
  latencyP95Seconds: number | null;
}

export interface ProbeReport {
  cycleId: string | null;
  waitedSeconds: number;
  probes: { id: string; path: string; seed: string; provider: string; status: string; smtp: string | null; outcome: Outcome | 'failed'; latencySeconds: number | null; copies: number; error: string | null }[];
  cells: ProbeCell[];
  thresholds: ThresholdCheck[];
  /** Each provider's paths against its best path (spam share). */
  comparisons: PathComparison[];
  ok: boolean;
}

/**
 * The JSON and table shape of one cell (the first release's keys kept; late and duplicate
 * added): every rate key with a count and a share, 0 when there is no denominator. The numbers
 * are the matrix's.
 */
function probeCell(c: MatrixCell): ProbeCell {
  const counts = Object.fromEntries(RATE_KEYS.map((k) => [k, rateCounts(c, k).count])) as Record<RateKey, number>;
  const shares = Object.fromEntries(RATE_KEYS.map((k) => [k, rateOf(c, k) ?? 0])) as Record<RateKey, number>;
  const intervals = Object.fromEntries(RATE_KEYS.map((k) => [k, c.intervals[k]])) as Record<RateKey, ShareInterval | null>;
  return {
    provider: c.provider, path: c.path, probes: c.probes, accepted: c.accepted, counts, shares, intervals, tooFewProbes: c.tooFewProbes,
    duplicates: c.duplicates,
    latencyP50Seconds: c.latencyP50Seconds, latencyP95Seconds: c.latencyP95Seconds,
  };
}

/**
 * Build the table of one cycle. Probes not seen within the wait count as missing. `latency`
 * and `late` (ids of probes with a copy after their deadline) are the ledger's probe facts,
 * which a ProbeRow does not carry.
 */
export function buildProbeReport(
  rows: ProbeRow[],
  latency: ReadonlyMap<string, number | null>,
  thresholds: Threshold[],
  waitedSeconds: number,
  cycleId: string | null,
  late: ReadonlySet<string> = new Set(),
): ProbeReport {
  const probes: ProbeReport['probes'] = rows.map((r) => ({
    id: r.id, path: r.path, seed: r.seed, provider: r.provider, status: r.status,
    smtp: r.smtpCode != null ? `${r.smtpCode}${r.smtpEnhanced ? ' ' + r.smtpEnhanced : ''}` : null,
    outcome: r.status !== 'accepted' ? 'failed' : (r.outcome ?? 'missing'),
    latencySeconds: latency.get(r.id) ?? null, copies: r.copies, error: r.errorMessage,
  }));
  // The wait is over: the window is closed (unseen = missing, still sending = failed).
  const matrix = placementMatrix(
    rows.map((r) => ({ ...r, deliveryLatencySeconds: latency.get(r.id) ?? null, late: late.has(r.id) })),
    { closed: true },
  );
  const checks = evaluateThresholds(matrix, thresholds);
  return {
    cycleId, waitedSeconds, probes, cells: matrix.map(probeCell), thresholds: checks, comparisons: comparePaths(matrix),
    ok: checks.every((c) => !c.failed),
  };
}

function notSentRow(p: { id?: string | null; path: string; seed: string; provider: string; error?: string }, cycleId: string): ProbeRow {
  return {
    id: p.id ?? '-', path: p.path, seed: p.seed, provider: p.provider, messageId: '', cycleId, status: 'failed', createdAtMs: 0,
    sendStartedAtMs: null, acceptedAtMs: null, deadlineAtMs: null, smtpCode: null, smtpEnhanced: null, smtpText: null, queueId: null,
    errorReason: null, errorMessage: p.error ?? 'not sent', outcome: null, resolvedAtMs: null, copies: 0,
  };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
const secs = (x: number | null) => (x == null ? '-' : x < 10 ? `${x.toFixed(1)}s` : `${Math.round(x)}s`);

/**
 * A share with its 95 % interval, "12.5% (4.3–31%)" (3 of 24); the bare share when the cell has
 * too few probes — the matrix's tooFewProbes, the same flag as the row's "too few probes" tag,
 * so a row never shows intervals and that tag together.
 */
function shareText(share: number, iv: ShareInterval | null, tooFew: boolean): string {
  return !tooFew && iv ? `${pct(share)} (${formatInterval(iv)})` : pct(share);
}

export function renderProbeTable(r: ProbeReport): string {
  const table = formatTable(
    ['provider', 'path', 'probes', 'inbox', 'spam', 'tabs', 'other', 'missing', 'failed', 'late', 'dup', 'p50', 'p95', ''],
    r.cells.map((c) => {
      const s = (k: RateKey) => shareText(c.shares[k], c.intervals[k], c.tooFewProbes);
      // The four Gmail tabs as one column: their summed count over the same denominator.
      const tabs = c.counts.promotions + c.counts.social + c.counts.updates + c.counts.forums;
      return [
        c.provider, c.path, String(c.probes), s('inbox'), s('spam'),
        shareText(c.shares.promotions + c.shares.social + c.shares.updates + c.shares.forums, wilsonInterval(tabs, c.accepted), c.tooFewProbes),
        s('other'), s('missing'), s('failed'), s('late'), s('duplicate'), secs(c.latencyP50Seconds), secs(c.latencyP95Seconds),
        c.tooFewProbes ? TOO_FEW_PROBES : '',
      ];
    }),
  );
  const failed = r.thresholds.filter((t) => t.failed);
  const verdict = r.thresholds.length === 0 ? '' : failed.length === 0
    ? `\nthresholds held (${[...new Set(r.thresholds.map((t) => t.rule))].join(', ')})\n`
    : `\nTHRESHOLDS FAILED:\n${failed.map((t) => `  ${t.provider} / ${t.path}: ${t.rule} (${t.share === null ? t.note : `share ${pct(t.share)}`})`).join('\n')}\n`;
  const compared = r.comparisons.length === 0 ? '' : `\npaths against the best path per provider (95 % interval, two-sided p):\n${r.comparisons.map((c) => `  ${describePathComparison(c)}`).join('\n')}\n`;
  return table + compared + verdict;
}

export async function probeCommand(opts: { config: string; json?: boolean; wait?: string; failOn?: string; sendOnly?: boolean }): Promise<number> {
  const config = loadConfigOrReport(opts.config);
  if (!config) return EXIT_ERROR;
  if (opts.sendOnly) {
    const { probeSendOnly } = await import('./probe-send-only.js');
    return probeSendOnly(config, { json: opts.json });
  }
  let thresholds: Threshold[] = [];
  try {
    thresholds = opts.failOn ? parseThresholds(opts.failOn) : [];
  } catch (err) {
    if (err instanceof ThresholdError) {
      process.stderr.write(`seedwatch probe: ${err.message}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
  const waitMs = opts.wait ? parseDuration(opts.wait) : config.deadline;
  if (waitMs === null) {
    process.stderr.write(`seedwatch probe: --wait: expected a duration such as 30s or 10m, got "${opts.wait}"\n`);
    return EXIT_ERROR;
  }
  const logger = createLogger({ level: process.env.SEEDWATCH_LOG_LEVEL ?? 'warn' });
  const tty = process.stderr.isTTY === true;
  let expected = new Set<string>();
  let seen = 0;
  const { startAgent } = await import('../agent.js');
  let agent;
  try {
    agent = await startAgent({
      config, logger, schedule: false, http: false,
      events: {
        observed: (r) => {
          if (!r.probe || !expected.has(r.probe.id) || r.kind !== 'first') return;
          seen++;
          const line = `seen ${seen}/${expected.size}: ${r.probe.provider} ${r.probe.seed} via ${r.probe.path} → ${r.placement}`;
          process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
        },
      },
    });
  } catch (err) {
    process.stderr.write(`seedwatch probe: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    return EXIT_ERROR;
  }
  try {
    const readyBy = Date.now() + MAILBOX_READY_WAIT_MS;
    while (!agent.watchers.ready() && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 100));
    for (const h of agent.mailboxes()) if (!h.connectedOnce) process.stderr.write(`warning: mailbox ${h.seed} not connected: ${h.lastError?.message ?? 'no session yet'}\n`);
    const started = Date.now();
    const cycle = await agent.runCycleNow();
    const sent = cycle.probes.map((p) => p.row).filter((r): r is ProbeRow => r !== null);
    expected = new Set(sent.filter((r) => r.status === 'accepted').map((r) => r.id));
    process.stderr.write(`sent ${expected.size} of ${sent.length} probes; waiting up to ${formatDuration(waitMs)}\n`);
    // This cycle's probes, with the ledger's own delivery latency: one query per read.
    const cycleFacts = async () =>
      (await agent.ledger.probeFacts(cycle.startedAtMs, cycle.finishedAtMs + 1)).filter((f) => expected.has(f.id));
    const until = Date.now() + waitMs;
    while ((await cycleFacts()).some((f) => f.outcome === null) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, PROGRESS_POLL_MS));
    }
    await agent.watchers.scanNow().catch(() => undefined);
    if (tty) process.stderr.write('\n');
    const rows = (await Promise.all(sent.map((r) => agent.ledger.getProbe(r.id)))).filter((r): r is ProbeRow => r !== null);
    // Probes that could not even be sent (bad template, broken path) have no ledger row; they
    // still count, as failed, so a broken path cannot vanish from the go/no-go table.
    for (const p of cycle.probes.filter((x) => x.row === null)) rows.push(notSentRow(p, cycle.cycleId));
    const facts = await cycleFacts();
    const latency = new Map(facts.map((f) => [f.id, f.deliveryLatencySeconds]));
    const late = new Set(facts.filter((f) => f.late).map((f) => f.id));
    const report = buildProbeReport(rows, latency, thresholds, (Date.now() - started) / 1000, cycle.cycleId, late);
    process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : renderProbeTable(report));
    return report.ok ? EXIT_OK : EXIT_FAILED;
  } catch (err) {
    process.stderr.write(`seedwatch probe: ${(err as Error).message}\n`);
    return EXIT_ERROR;
  } finally {
    await agent.stop();
  }
}
