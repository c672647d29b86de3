/**
 * Pure: is the difference between two shares (one path's spam share against another's) more
 * than chance? A p-value from the test that suits the counts.
 *
 * - Any expected cell count below 5 (Cochran's rule: W. G. Cochran, "Some methods for
 *   strengthening the common χ² tests", Biometrics 10, 417–451 (1954)): Fisher's exact test
 *   (fisher-exact.ts), since the normal approximation is poor there.
 * - Otherwise the pooled two-proportion z-test, z = (p₁ − p₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)) with
 *   p̄ = (k₁ + k₂)/(n₁ + n₂), two-sided p = 2Φ(−|z|). z² is Pearson's χ² of the 2×2 table
 *   without continuity correction, so p equals R's prop.test(correct = FALSE).
 */
import { fisherExact } from './fisher-exact.js';
import { normalCdf } from './normal-cdf.js';

export interface TwoProportionTest {
  /** Two-sided p-value, 0..1. */
  p: number;
  method: 'fisher' | 'z';
}

/** Smallest expected count for which the z-test is trusted (Cochran 1954). */
export const MIN_EXPECTED_FOR_Z = 5;

/**
 * Two-sided test of k₁/n₁ against k₂/n₂ (integer counts). Either group empty → null.
 */
export function twoProportionTest(k1: number, n1: number, k2: number, n2: number): TwoProportionTest | null {
  for (const [name, k, n] of [['1', k1, n1], ['2', k2, n2]] as const) {
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) {
      throw new RangeError(`twoProportionTest: need integer counts 0 ≤ k${name} ≤ n${name}, got ${k} of ${n}`);
    }
  }
  if (n1 === 0 || n2 === 0) return null;
  const n = n1 + n2;
  const successes = k1 + k2;
  const failures = n - successes;
  const smallestExpected = (Math.min(n1, n2) * Math.min(successes, failures)) / n;
  if (smallestExpected < MIN_EXPECTED_FOR_Z) {
    return { p: fisherExact(k1, n1 - k1, k2, n2 - k2), method: 'fisher' };
  }
  const pooled = successes / n;
  const z = (k1 / n1 - k2 / n2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return { p: Math.min(1, 2 * normalCdf(-Math.abs(z))), method: 'z' };
}
