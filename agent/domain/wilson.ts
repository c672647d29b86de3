/**
 * Pure: the Wilson score interval of a share k/n — how far the true share can plausibly be
 * from what a handful of probes showed.
 *
 * E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
 * J. Amer. Statist. Assoc. 22(158), 209–212 (1927); method 3 (score, no continuity
 * correction) of R. G. Newcombe, "Two-sided confidence intervals for the single proportion:
 * comparison of seven methods", Statistics in Medicine 17, 857–872 (1998). With p = k/n:
 *
 *     (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n)
 *
 * computed here, multiplied through by n, as
 *
 *     low(k, n)  = (k + z²/2 − z·√(k(n − k)/n + z²/4)) / (n + z²)
 *     high(k, n) = 1 − low(n − k, n)          (the same bound of the complementary share)
 *
 * The complement form makes high exactly 1 at k = n (as low is exactly 0 at k = 0) without a
 * special case, and it is the operation-for-operation form of the Prometheus recording rules
 * (dashboards/src/rules.ts): the alert and every page compute the same double, which a
 * promtool test checks bit for bit. Chosen over the textbook Wald interval p ± z·√(p(1−p)/n)
 * because Wald collapses to [0, 0] for 0 of 10 and spills out of [0, 1] for small n; Wilson
 * stays inside [0, 1] and keeps its coverage for the small counts a seed list gives.
 */

/** z for a two-sided 95 % interval: Φ⁻¹(0.975), to double precision. */
export const Z_95 = 1.959963984540054;

/** A confidence interval of a share: [low, high], 0 ≤ low ≤ high ≤ 1. */
export type ShareInterval = readonly [low: number, high: number];

/**
 * The Wilson score interval of k successes in n trials (95 % unless `z` says otherwise).
 * n = 0 → null (no probes: no share, no interval). k and n may be non-integer counts (a
 * Prometheus increase()); k outside [0, n] is a RangeError.
 */
export function wilsonInterval(k: number, n: number, z: number = Z_95): ShareInterval | null {
  if (!(n >= 0) || !(k >= 0) || k > n || !Number.isFinite(n)) {
    throw new RangeError(`wilsonInterval: need 0 ≤ k ≤ n, got k=${k}, n=${n}`);
  }
  if (n === 0) return null;
  const z2 = z * z;
  // x = 0 is exactly 0 by the algebra; for z = Z_95 the floating-point formula gives 0 as well
  // (z·√(z²/4) rounds to z²/2), the guard keeps it so for any z.
  const lowerBound = (x: number): number =>
    x === 0 ? 0 : (x + z2 / 2 - z * Math.sqrt((x * (n - x)) / n + z2 / 4)) / (n + z2);
  return [Math.max(0, lowerBound(k)), Math.min(1, 1 - lowerBound(n - k))];
}
