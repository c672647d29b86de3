/**
 * Pure: the smallest difference two groups of n probes can resolve — the inverse of
 * sample-size.ts. "With 288 probes a day per path and 2 % spam on the good path, a path with
 * more than X % spam is told apart within a day."
 *
 * There is no closed form (the variances depend on the difference itself), so the power
 * equation of sample-size.ts is solved for p₂ = baseline + δ by bisection on δ ∈ (0, 1 − p₁],
 * as R's power.prop.test(n, p1, power) does with uniroot.
 */
import { DEFAULT_POWER, twoProportionPower, type PowerOptions } from './sample-size.js';

/** Bisection halves the bracket each step; 60 steps take a bracket of 1 below 1e-18. */
const BISECTION_STEPS = 60;

/**
 * The smallest δ > 0 such that baseline vs baseline + δ is detected with the given power by
 * n probes per group, or null when no difference up to a share of 1 is (too few probes).
 */
export function detectableDifference(n: number, baseline: number, options: PowerOptions = {}): number | null {
  if (!(baseline >= 0 && baseline < 1)) throw new RangeError(`baseline must be a share within [0, 1), got ${baseline}`);
  const power = options.power ?? DEFAULT_POWER;
  const alphaOnly = options.alpha === undefined ? {} : { alpha: options.alpha };
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be within (0, 1), got ${power}`);
  const reaches = (delta: number): boolean => twoProportionPower(n, baseline, baseline + delta, alphaOnly) >= power;
  let hi = 1 - baseline;
  if (!(n > 0) || !reaches(hi)) return null;
  let lo = 0;
  for (let i = 0; i < BISECTION_STEPS; i++) {
    const mid = (lo + hi) / 2;
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
