/**
 * Pure: how many probes per group (per provider × path) it takes to tell two shares apart.
 *
 * The normal-approximation formula without continuity correction, J. L. Fleiss, Statistical
 * Methods for Rates and Proportions (2nd ed., 1981), eq. (3.14) without the correction of
 * (3.15); also what R's power.prop.test() solves (strict = FALSE):
 *
 *     n = [z_{1−α/2}·√(2·p̄·q̄) + z_{1−β}·√(p₁q₁ + p₂q₂)]² / (p₂ − p₁)²,   p̄ = (p₁ + p₂)/2, q = 1 − p
 *
 * for a two-sided test at level α with power 1 − β. Without the correction because the
 * comparison the probes get is the uncorrected z-test (two-proportion-test.ts); Fleiss's
 * correction adds about 2/|p₂ − p₁| per group and would overstate what is needed.
 */
import { normalCdf } from './normal-cdf.js';
import { normalQuantile } from './normal-quantile.js';

export interface PowerOptions {
  /** Probability of detecting a true difference of that size (default 0.8). */
  power?: number;
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
}

export const DEFAULT_POWER = 0.8;
export const DEFAULT_ALPHA = 0.05;

function checkShare(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a share within [0, 1], got ${p}`);
}

function checkOptions(o: PowerOptions): { power: number; alpha: number } {
  const power = o.power ?? DEFAULT_POWER;
  const alpha = o.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be within (0, 1), got ${alpha}`);
  if (!(power > alpha / 2 && power < 1)) throw new RangeError(`power must be within (${alpha / 2}, 1), got ${power}`);
  return { power, alpha };
}

/**
 * Probes per group to detect p₁ against p₂ (two-sided). Not rounded: a planner rounds up
 * (Math.ceil). p₁ = p₂ → Infinity.
 */
export function sampleSizePerGroup(p1: number, p2: number, options: PowerOptions = {}): number {
  checkShare('p1', p1);
  checkShare('p2', p2);
  const { power, alpha } = checkOptions(options);
  const delta = Math.abs(p2 - p1);
  if (delta === 0) return Infinity;
  const mean = (p1 + p2) / 2;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  const root = zAlpha * Math.sqrt(2 * mean * (1 - mean)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return (root * root) / (delta * delta);
}

/**
 * Power of the two-sided test with n probes per group when the shares are p₁ and p₂ — the
 * formula above solved for 1 − β (the opposite tail, below α/2, is left out as R does with
 * strict = FALSE).
 */
export function twoProportionPower(n: number, p1: number, p2: number, options: Omit<PowerOptions, 'power'> = {}): number {
  checkShare('p1', p1);
  checkShare('p2', p2);
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(n > 0)) return 0;
  const mean = (p1 + p2) / 2;
  const spread = Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  if (spread === 0) return p1 === p2 ? 0 : 1;
  const zAlpha = normalQuantile(1 - alpha / 2);
  return normalCdf((Math.sqrt(n) * Math.abs(p2 - p1) - zAlpha * Math.sqrt(2 * mean * (1 - mean))) / spread);
}
