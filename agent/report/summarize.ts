import { type ProbeFact } from '../ledger/ledger.js';
import { OUTCOMES, type Outcome } from '../domain/vocabulary.js';

/** One cell of the placement matrix (provider x path), computed from ledger facts only. */
export interface MatrixCell {
  provider: string;
  path: string;
  /** Probes created in the window. */
  probes: number;
  /** Accepted by the first SMTP hop. */
  accepted: number;
  sendErrors: number;
  /** Accepted and resolved (a first copy seen, or missing): the denominator of the shares. */
  resolved: number;
  inFlight: number;
  counts: Record<Outcome, number>;
  /** counts / resolved, 0..1; null when nothing resolved. */
  shares: Record<Outcome, number | null>;
  duplicates: number;
  late: number;
  latencyP50Seconds: number | null;
  latencyP95Seconds: number | null;
  /** Probes whose first copy had spf, dkim or dmarc other than pass. */
  authFailures: { spf: number; dkim: number; dmarc: number };
  lastProbeAtMs: number | null;
}

/** Nearest-rank percentile (what a reader can check by hand), of a sorted copy. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function emptyOutcomes<T>(v: T): Record<Outcome, T> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, v])) as Record<Outcome, T>;
}

export function summarize(facts: ProbeFact[]): MatrixCell[] {
  const cells = new Map<string, { cell: MatrixCell; latencies: number[] }>();
  for (const f of facts) {
    const key = `${f.provider}\u0000${f.path}`;
    let entry = cells.get(key);
    if (!entry) {
      entry = {
        cell: {
          provider: f.provider,
          path: f.path,
          probes: 0,
          accepted: 0,
          sendErrors: 0,
          resolved: 0,
          inFlight: 0,
          counts: emptyOutcomes(0),
          shares: emptyOutcomes<number | null>(null),
          duplicates: 0,
          late: 0,
          latencyP50Seconds: null,
          latencyP95Seconds: null,
          authFailures: { spf: 0, dkim: 0, dmarc: 0 },
          lastProbeAtMs: null,
        },
        latencies: [],
      };
      cells.set(key, entry);
    }
    const c = entry.cell;
    c.probes++;
    c.duplicates += Math.max(0, f.copies - 1);
    if (f.late) c.late++;
    if (f.status === 'failed' || f.status === 'ambiguous') c.sendErrors++;
    if (f.status !== 'accepted') continue;
    c.accepted++;
    c.lastProbeAtMs = Math.max(c.lastProbeAtMs ?? 0, f.createdAtMs);
    if (f.outcome === null) {
      c.inFlight++;
      continue;
    }
    c.resolved++;
    c.counts[f.outcome]++;
    if (f.deliveryLatencySeconds != null && f.outcome !== 'missing') entry.latencies.push(f.deliveryLatencySeconds);
    for (const m of ['spf', 'dkim', 'dmarc'] as const) if (f.auth[m] && f.auth[m] !== 'pass') c.authFailures[m]++;
  }
  const out: MatrixCell[] = [];
  for (const { cell, latencies } of cells.values()) {
    for (const o of OUTCOMES) cell.shares[o] = cell.resolved > 0 ? cell.counts[o] / cell.resolved : null;
    cell.latencyP50Seconds = percentile(latencies, 50);
    cell.latencyP95Seconds = percentile(latencies, 95);
    out.push(cell);
  }
  return out.sort((a, b) => a.provider.localeCompare(b.provider) || a.path.localeCompare(b.path));
}
