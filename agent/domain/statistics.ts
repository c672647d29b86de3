/**
 * Pure: the statistics every surface shows beside a share — one implementation behind
 * `/api/summary`, `seedwatch probe`, the status page, the weekly report, `seedwatch plan` and
 * (as PromQL of the same formula) the alert rules. Math only, no I/O. Each function lives in
 * its own file with its formula and source:
 *
 * - wilson.ts                 Wilson score interval of one share (Wilson 1927)
 * - proportion-difference.ts  difference of two shares, Newcombe's hybrid score interval (1998)
 * - two-proportion-test.ts    p-value: Fisher's exact test for small counts, else the z-test
 * - fisher-exact.ts           Fisher's exact test, two-sided
 * - sample-size.ts            probes per group to detect a difference (Fleiss 1981), and power
 * - detectable-difference.ts  the smallest difference n probes per group resolve
 * - normal-quantile.ts, normal-cdf.ts, log-factorial.ts  the numerical building blocks
 */
export { wilsonInterval, Z_95, type ShareInterval } from './wilson.js';
export { proportionDifference, type ProportionDifference } from './proportion-difference.js';
export { twoProportionTest, MIN_EXPECTED_FOR_Z, type TwoProportionTest } from './two-proportion-test.js';
export { fisherExact } from './fisher-exact.js';
export { sampleSizePerGroup, twoProportionPower, DEFAULT_ALPHA, DEFAULT_POWER, type PowerOptions } from './sample-size.js';
export { detectableDifference } from './detectable-difference.js';
export { normalQuantile } from './normal-quantile.js';
export { normalCdf } from './normal-cdf.js';
export { logFactorial } from './log-factorial.js';

/**
 * Below this many probes a surface shows "too few probes" (muted) instead of a bare share.
 * At 10 the 95 % Wilson interval of a share is still about 50 points wide around 50 % (5 of 10:
 * 24–76 %) and one probe moves the share by 10 points; below it a share is anecdote. It is
 * also the alerts' minimum (dashboards/src/config.ts, spamHigh.minProbes), so a share the
 * pages call "too few" can never page, and one that pages is never called "too few".
 */
export const MIN_PROBES_FOR_SHARE = 10;
