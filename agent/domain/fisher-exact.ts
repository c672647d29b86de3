/**
 * Pure: Fisher's exact test of a 2×2 table, two-sided — whether two small groups of probes
 * differ, without the normal approximation that small counts break.
 *
 * R. A. Fisher, Statistical Methods for Research Workers (5th ed., 1934), §21.02, and The
 * Design of Experiments (1935), §2 (the tea-tasting table). With every margin fixed, the count
 * in the first cell is hypergeometric:
 *
 *     P(x) = C(r₁, x)·C(r₂, c₁ − x) / C(N, c₁)
 *
 * The two-sided p-value sums P(x) over every table at most as probable as the observed one
 * (Agresti, Categorical Data Analysis, 2nd ed., §3.5.1), with a relative tolerance of 1e-7 so
 * that tables exactly as probable as the observed one are not lost to rounding — the rule and
 * tolerance of R's fisher.test(). Probabilities are computed in logs (log-factorial.ts), so
 * tables of thousands of probes stay exact.
 */
import { logFactorial } from './log-factorial.js';

/** A table whose probability is within this factor of the observed one counts as "as probable". */
const RELATIVE_TOLERANCE = 1 + 1e-7;

function assertCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`fisherExact: ${name} must be a non-negative integer count, got ${v}`);
}

/**
 * Two-sided p-value of Fisher's exact test for the table
 *
 *     | a  b |    (row 1: a successes, b failures)
 *     | c  d |    (row 2: c successes, d failures)
 *
 * An all-zero table, or one with an empty margin, has a single possible arrangement: p = 1.
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  assertCount('a', a);
  assertCount('b', b);
  assertCount('c', c);
  assertCount('d', d);
  const r1 = a + b;
  const r2 = c + d;
  const c1 = a + c;
  const c2 = b + d;
  const n = r1 + r2;
  const constant = logFactorial(r1) + logFactorial(r2) + logFactorial(c1) + logFactorial(c2) - logFactorial(n);
  const logP = (x: number): number =>
    constant - logFactorial(x) - logFactorial(r1 - x) - logFactorial(c1 - x) - logFactorial(r2 - c1 + x);

  const lo = Math.max(0, c1 - r2);
  const hi = Math.min(r1, c1);
  const logs: number[] = [];
  for (let x = lo; x <= hi; x++) logs.push(logP(x));
  const cutoff = logP(a) + Math.log(RELATIVE_TOLERANCE);
  // Scaled by the most probable table, so that nothing overflows or underflows near the mass;
  // dividing by the sum over the whole support normalises away the log-factorials' rounding.
  let top = -Infinity;
  for (const l of logs) if (l > top) top = l;
  let total = 0;
  let asExtreme = 0;
  for (const l of logs) {
    const w = Math.exp(l - top);
    total += w;
    if (l <= cutoff) asExtreme += w;
  }
  return Math.min(1, asExtreme / total);
}
