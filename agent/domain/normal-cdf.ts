/**
 * Pure: the standard normal distribution function Φ(z), for the p-values of the two-proportion
 * z-test and for power. Computed through the complementary error function,
 * Φ(z) = erfc(−z/√2) / 2, so that tail probabilities (a p-value of 1e-12) keep their relative
 * precision instead of vanishing in 1 − Φ(|z|).
 *
 * erfc(x) = Q(½, x²), the regularized upper incomplete gamma function, evaluated as in
 * Press et al., Numerical Recipes (3rd ed., 2007), §6.2: the power series of P(a, x) below
 * x² < a + 1 and Lentz's continued fraction of Q(a, x) above, each to double precision.
 */

const SQRT_PI = Math.sqrt(Math.PI);
/** Relative precision at which a series or continued fraction stops. */
const EPS = 1e-16;
/** Guards Lentz's method against division by zero. */
const TINY = 1e-300;
/** Both expansions converge in far fewer steps; this only bounds a bug. */
const MAX_ITERATIONS = 10_000;

/** erfc(x) for x ≥ 0. */
function erfcNonNegative(x: number): number {
  if (x === 0) return 1;
  if (x > 27) return 0; // erfc(27) < 1e-318: below the smallest double
  const y = x * x;
  // e^(−x²) · x^(2a) / Γ(a) with a = ½: the prefactor both expansions share.
  const prefactor = (Math.exp(-y) * x) / SQRT_PI;
  if (y < 1.5) {
    // P(½, y) = prefactor · Σ y^n / (½·(3/2)·…·(n + ½)); erfc = 1 − P.
    let term = 2;
    let sum = term;
    for (let ap = 0.5, i = 0; i < MAX_ITERATIONS; i++) {
      ap += 1;
      term *= y / ap;
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - prefactor * sum;
  }
  // Q(½, y) = prefactor · 1/(y + ½ − (1·½)/(y + 5/2 − (2·3/2)/(y + 9/2 − …))), modified Lentz.
  let b = y + 0.5;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - 0.5);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return prefactor * h;
}

/** Φ(z) = P(Z ≤ z) for a standard normal Z; NaN stays NaN. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const x = -z / Math.SQRT2;
  return x >= 0 ? erfcNonNegative(x) / 2 : 1 - erfcNonNegative(-x) / 2;
}
