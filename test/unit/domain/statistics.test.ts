// The statistics of agent/domain against PUBLISHED values (each with its source), never
// against numbers this code produced; then properties that must hold for every count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  detectableDifference,
  fisherExact,
  logFactorial,
  MIN_PROBES_FOR_SHARE,
  normalCdf,
  normalQuantile,
  proportionDifference,
  sampleSizePerGroup,
  twoProportionPower,
  twoProportionTest,
  wilsonInterval,
  Z_95,
} from '../../../agent/domain/statistics.js';

/** |got − want| ≤ half a unit of the last published decimal (plus float noise). */
const closeTo = (got: number, want: number, decimals: number): void => {
  expect(Math.abs(got - want), `${got} vs published ${want}`).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
};

describe('normal distribution', () => {
  // Standard normal table values (e.g. Abramowitz & Stegun 1964, Table 26.1 / 26.5):
  // Φ⁻¹(0.975) = 1.959963985, Φ⁻¹(0.8) = 0.841621234, Φ⁻¹(0.9) = 1.281551566, Φ⁻¹(0.995) = 2.575829304.
  it.each([
    [0.975, 1.959963985],
    [0.8, 0.841621234],
    [0.9, 1.281551566],
    [0.995, 2.575829304],
    [0.025, -1.959963985],
    [0.5, 0],
  ])('Φ⁻¹(%f) = %f', (p, z) => closeTo(normalQuantile(p), z, 9));

  it('Z_95 is Φ⁻¹(0.975)', () => {
    expect(Z_95).toBe(1.959963984540054);
    expect(Math.abs(normalQuantile(0.975) - Z_95)).toBeLessThan(1e-15);
  });

  // Abramowitz & Stegun Table 26.1: Φ(1) = 0.8413447461, Φ(2) = 0.9772498681, Φ(3) = 0.9986501020;
  // the far tail Q(5) = 2.866515719e-7, Q(8) = 6.22096e-16 (Table 26.2, 1 − Φ).
  it.each([
    [1, 0.8413447461, 10],
    [2, 0.9772498681, 10],
    [3, 0.998650102, 10],
    [0, 0.5, 15],
  ])('Φ(%f) = %f', (z, p, d) => closeTo(normalCdf(z), p, d));

  it('keeps relative precision in the tails (p-values of large z)', () => {
    expect(normalCdf(-5) / 2.866515719e-7).toBeCloseTo(1, 8);
    expect(normalCdf(-8) / 6.22096e-16).toBeCloseTo(1, 5);
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(40)).toBe(1);
  });

  it('quantile and distribution function invert each other, including the tails', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1 - 1e-16, noNaN: true }), (p) => {
        const z = normalQuantile(p);
        const back = normalCdf(z);
        return Math.abs(back - p) <= 1e-12 * Math.max(p, 1e-300) + 1e-15;
      }),
    );
  });

  it('rejects probabilities outside [0, 1]', () => {
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
    expect(() => normalQuantile(Number.NaN)).toThrow(RangeError);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
  });
});

describe('logFactorial', () => {
  // 20! = 2432902008176640000 (exact); ln(100!) = 363.73937555556347 (A&S 6.1 / OEIS A000142).
  it('matches exact factorials on both sides of the Stirling switch', () => {
    expect(Math.exp(logFactorial(20)) / 2432902008176640000).toBeCloseTo(1, 12);
    expect(Math.exp(logFactorial(30)) / 2.652528598121911e32).toBeCloseTo(1, 12);
    expect(logFactorial(100)).toBeCloseTo(363.73937555556347, 10);
    expect(logFactorial(0)).toBe(0);
    expect(logFactorial(1)).toBe(0);
  });

  it('is the running sum of ln i', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5000 }), (n) => Math.abs(logFactorial(n) - logFactorial(n - 1) - Math.log(n)) < 1e-9));
  });

  it('rejects non-integers and negatives', () => {
    expect(() => logFactorial(-1)).toThrow(RangeError);
    expect(() => logFactorial(2.5)).toThrow(RangeError);
  });
});

describe('wilsonInterval (Wilson 1927), 95 %', () => {
  // Sources, to 4 decimals:
  // - 0/10 → [0, 0.2775] and 0/20 → [0, 0.1611]: Newcombe 1998b (Stat Med 17:873) Table II,
  //   method 10, examples (f) 0/10 − 0/10 → −0.2775 to 0.2775 and (e) 0/10 − 0/20 → −0.1611 to
  //   0.2775 (with empty cells the interval is [−u₂, u₁], the single-share upper bounds).
  // - 81/263 → [0.2553, 0.3662], 15/148 → [0.0624, 0.1605], 0/20 → [0, 0.1611],
  //   1/29 → [0.0061, 0.1718]: Newcombe 1998a (Stat Med 17:857), Table I, method 3.
  // - 5/20 → [0.1118617, 0.4687009], 50/100 → [0.4038315, 0.5961685]: R's
  //   prop.test(x, n, correct = FALSE)$conf.int (the Wilson interval without correction).
  // - 1/1 → [0.2065, 1]: the closed form for k = n, n/(n + z²) = 1/(1 + 1.959964²) = 0.20655.
  it.each([
    [0, 10, 0, 0.2775, 4],
    [5, 20, 0.1118617, 0.4687009, 7],
    [50, 100, 0.4038315, 0.5961685, 7],
    [1, 1, 0.2065, 1, 4],
    [81, 263, 0.2553, 0.3662, 4],
    [15, 148, 0.0624, 0.1605, 4],
    [0, 20, 0, 0.1611, 4],
    [1, 29, 0.0061, 0.1718, 4],
  ])('%i/%i → [%f, %f]', (k, n, low, high, decimals) => {
    const w = wilsonInterval(k, n);
    expect(w).not.toBeNull();
    closeTo(w![0], low, decimals);
    closeTo(w![1], high, decimals);
  });

  it('is exactly 0 at k = 0 and exactly 1 at k = n', () => {
    expect(wilsonInterval(0, 10)![0]).toBe(0);
    expect(wilsonInterval(7, 7)![1]).toBe(1);
  });

  it('n = 0 has no interval; impossible counts are errors', () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(Number.NaN, 2)).toThrow(RangeError);
  });

  const count = fc.integer({ min: 1, max: 100_000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));

  it('contains the observed share and stays within [0, 1]', () => {
    fc.assert(
      fc.property(count, ([k, n]) => {
        const [low, high] = wilsonInterval(k, n)!;
        return 0 <= low && low <= k / n && k / n <= high && high <= 1;
      }),
    );
  });

  it('narrows as n grows for the same share', () => {
    fc.assert(
      fc.property(count, fc.integer({ min: 2, max: 50 }), ([k, n], m) => {
        const [a, b] = wilsonInterval(k, n)!;
        const [c, d] = wilsonInterval(k * m, n * m)!;
        return d - c < b - a;
      }),
    );
  });

  it('is symmetric: the interval of k/n mirrors that of (n − k)/n', () => {
    fc.assert(
      fc.property(count, ([k, n]) => {
        const [low, high] = wilsonInterval(k, n)!;
        const [low2, high2] = wilsonInterval(n - k, n)!;
        return Math.abs(low - (1 - high2)) < 1e-12 && Math.abs(high - (1 - low2)) < 1e-12;
      }),
    );
  });
});

describe('proportionDifference (Newcombe 1998, method 10)', () => {
  // Newcombe RG, "Interval estimation for the difference between independent proportions:
  // comparison of eleven methods", Statistics in Medicine 17:873–890 (1998), Table II, method 10
  // (score interval without continuity correction), examples (a)–(h); the same rows are
  // reproduced in Garner, "Constructing confidence intervals for the differences of binomial
  // proportions in SAS", WUSS 2016, p. 9.
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339], // (a) — point difference 0.2
    [9, 10, 3, 10, 0.1705, 0.809], // (b)
    [6, 7, 2, 7, 0.0582, 0.8062], // (c)
    [5, 56, 0, 29, -0.0381, 0.1926], // (d)
    [0, 10, 0, 20, -0.1611, 0.2775], // (e)
    [0, 10, 0, 10, -0.2775, 0.2775], // (f)
    [10, 10, 0, 20, 0.6791, 1.0], // (g)
    [10, 10, 0, 10, 0.6075, 1.0], // (h)
  ])('%i/%i − %i/%i → %f to %f', (k1, n1, k2, n2, low, high) => {
    const d = proportionDifference(k1, n1, k2, n2)!;
    expect(d.diff).toBeCloseTo(k1 / n1 - k2 / n2, 12);
    closeTo(d.low, low, 4);
    closeTo(d.high, high, 4);
  });

  it('worked example (a): the difference is 0.2', () => {
    expect(proportionDifference(56, 70, 48, 80)!.diff).toBeCloseTo(0.2, 12);
  });

  it('an empty group has nothing to compare', () => {
    expect(proportionDifference(0, 0, 1, 10)).toBeNull();
    expect(proportionDifference(1, 10, 0, 0)).toBeNull();
  });

  const group = fc.integer({ min: 1, max: 5000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));

  it('contains the point difference and stays within [−1, 1]', () => {
    fc.assert(
      fc.property(group, group, ([k1, n1], [k2, n2]) => {
        const d = proportionDifference(k1, n1, k2, n2)!;
        return -1 <= d.low && d.low <= d.diff + 1e-15 && d.diff - 1e-15 <= d.high && d.high <= 1;
      }),
    );
  });

  it('swapping the groups mirrors the interval', () => {
    fc.assert(
      fc.property(group, group, ([k1, n1], [k2, n2]) => {
        const a = proportionDifference(k1, n1, k2, n2)!;
        const b = proportionDifference(k2, n2, k1, n1)!;
        return Math.abs(a.low + b.high) < 1e-12 && Math.abs(a.high + b.low) < 1e-12;
      }),
    );
  });
});

describe('fisherExact, two-sided', () => {
  // - [[3,1],[1,3]], Fisher's tea-tasting experiment (Design of Experiments, 1935): two-sided
  //   P = 0.486 (Agresti, Categorical Data Analysis, 2nd ed., §3.5.1; = 34/70 = 0.4857).
  // - [[1,9],[11,3]], the dieting / studying example of Wikipedia's "Fisher's exact test":
  //   two-tailed p = 0.002759 (also 0.00276 in QI Macros' Fisher exact test example).
  // - [[4,0],[2,5]], contraceptive / obesity example of Calcugator's chi2_fisherexact:
  //   two-tails probability 0.06060606.
  it.each([
    [3, 1, 1, 3, 0.4857, 4],
    [1, 9, 11, 3, 0.002759, 6],
    [4, 0, 2, 5, 0.06060606, 8],
  ])('[[%i,%i],[%i,%i]] → p = %f', (a, b, c, d, p, decimals) => closeTo(fisherExact(a, b, c, d), p, decimals));

  it('a table with one arrangement, or none, has p = 1', () => {
    expect(fisherExact(0, 0, 0, 0)).toBe(1);
    expect(fisherExact(0, 5, 0, 7)).toBe(1);
  });

  it('stays exact with thousands of probes (log-factorials)', () => {
    // 3/5000 vs 0/5000 is not significant; 40/5000 vs 0/5000 overwhelmingly is.
    const small = fisherExact(3, 4997, 0, 5000);
    expect(small).toBeGreaterThan(0.2);
    expect(small).toBeLessThanOrEqual(1);
    const big = fisherExact(40, 4960, 0, 5000);
    expect(big).toBeGreaterThan(0);
    expect(big).toBeLessThan(1e-10);
  });

  it('is symmetric in rows and columns and within (0, 1]', () => {
    const cell = fc.integer({ min: 0, max: 60 });
    fc.assert(
      fc.property(cell, cell, cell, cell, (a, b, c, d) => {
        const p = fisherExact(a, b, c, d);
        return (
          p > 0 &&
          p <= 1 &&
          Math.abs(p - fisherExact(c, d, a, b)) < 1e-9 &&
          Math.abs(p - fisherExact(a, c, b, d)) < 1e-9
        );
      }),
    );
  });
});

describe('twoProportionTest', () => {
  it('uses Fisher when an expected count is below 5 (the tea-tasting table)', () => {
    const t = twoProportionTest(3, 4, 1, 4)!;
    expect(t.method).toBe('fisher');
    closeTo(t.p, 0.4857, 4);
  });

  it('uses the z-test (= χ² without continuity correction) when every expected count is ≥ 5', () => {
    // [[1,9],[11,3]]: expected counts 5, 5, 7, 7. QI Macros' example reports the chi-square
    // p-value 0.00093 beside Fisher's 0.00276 (χ² = 10.971, 1 df).
    const t = twoProportionTest(1, 10, 11, 14)!;
    expect(t.method).toBe('z');
    closeTo(t.p, 0.00093, 5);
  });

  it('no comparison with an empty group', () => {
    expect(twoProportionTest(0, 0, 3, 10)).toBeNull();
    expect(() => twoProportionTest(5, 4, 0, 1)).toThrow(RangeError);
    expect(() => twoProportionTest(1.5, 4, 0, 1)).toThrow(RangeError);
  });

  it('gives p in [0, 1], the same either way round', () => {
    const group = fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));
    fc.assert(
      fc.property(group, group, ([k1, n1], [k2, n2]) => {
        const a = twoProportionTest(k1, n1, k2, n2)!;
        const b = twoProportionTest(k2, n2, k1, n1)!;
        return a.p >= 0 && a.p <= 1 && a.method === b.method && Math.abs(a.p - b.p) < 1e-9;
      }),
    );
  });

  it('equal shares are never significant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 20 }), (n, m) => {
        const k = Math.floor(n / 3);
        return twoProportionTest(k, n, k * m, n * m)!.p > 0.5;
      }),
    );
  });
});

describe('sample size and power (Fleiss 1981, no continuity correction)', () => {
  // R's power.prop.test() solves this same equation (strict = FALSE); published outputs:
  // - R documentation, ?power.prop.test examples: p1 = .50, p2 = .75, power = .90 → n = 76.7;
  //   n = 50, p1 = .5, power = .90 → p2 = 0.8026; n = 50, p1 = .50, p2 = .75 → power = 0.740.
  // - Geskus, Introduction to Medical Statistics 2026 (OUCRU), exercise class 9:
  //   power.prop.test(p1 = 0.2, p2 = 0.4, power = 0.8) → n = 81.22424; power 0.9 → 108.2.
  it('p1 = 0.5, p2 = 0.75, 90 % power → 76.7 per group', () => closeTo(sampleSizePerGroup(0.5, 0.75, { power: 0.9 }), 76.7, 1));
  it('p1 = 0.2, p2 = 0.4, 80 % power → 81.22424 per group', () =>
    closeTo(sampleSizePerGroup(0.2, 0.4, { power: 0.8 }), 81.22424, 5));
  it('p1 = 0.2, p2 = 0.4, 90 % power → 108.2 per group', () => closeTo(sampleSizePerGroup(0.2, 0.4, { power: 0.9 }), 108.2, 1));
  it('n = 50 at p1 = 0.5 and p2 = 0.75 has power 0.740', () => closeTo(twoProportionPower(50, 0.5, 0.75), 0.74, 3));
  it('n = 50 at p1 = 0.5 detects p2 = 0.8026 with 90 % power (the inverse)', () => {
    // R's uniroot stops at (at least) four significant digits: allow its tolerance too.
    expect(Math.abs(0.5 + detectableDifference(50, 0.5, { power: 0.9 })! - 0.8026)).toBeLessThan(1.5e-4);
  });

  it('p1 = 0.1, p2 = 0.2, 80 % power → 199 per group (rounded up)', () => {
    // By hand: p̄ = 0.15; 1.959964·√(2·0.15·0.85) = 0.989733; 0.841621·√(0.09 + 0.16) = 0.420811;
    // (1.410544)² / 0.1² = 198.96 → 199. Fleiss's corrected formula would give more (219 in his
    // Table A.4), which is why the uncorrected one is named in sample-size.ts.
    expect(Math.ceil(sampleSizePerGroup(0.1, 0.2))).toBe(199);
    expect(sampleSizePerGroup(0.2, 0.1)).toBe(sampleSizePerGroup(0.1, 0.2));
  });

  it('defaults to 80 % power and a two-sided 5 % level', () => {
    expect(sampleSizePerGroup(0.2, 0.4)).toBe(sampleSizePerGroup(0.2, 0.4, { power: 0.8, alpha: 0.05 }));
  });

  it('rejects impossible inputs', () => {
    expect(() => sampleSizePerGroup(-0.1, 0.2)).toThrow(RangeError);
    expect(() => sampleSizePerGroup(0.1, 1.2)).toThrow(RangeError);
    expect(() => sampleSizePerGroup(0.1, 0.2, { power: 1 })).toThrow(RangeError);
    expect(() => sampleSizePerGroup(0.1, 0.2, { alpha: 0 })).toThrow(RangeError);
    expect(sampleSizePerGroup(0.3, 0.3)).toBe(Infinity);
  });

  it('the detectable difference inverts the sample size', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.double({ min: 0.01, max: 0.35, noNaN: true }),
        fc.double({ min: 0.5, max: 0.95, noNaN: true }),
        (p1, delta, power) => {
          const n = Math.ceil(sampleSizePerGroup(p1, p1 + delta, { power }));
          const d = detectableDifference(n, p1, { power });
          // n is rounded up, so n probes resolve δ or a little less, never more.
          return d !== null && d <= delta + 1e-9 && twoProportionPower(n, p1, p1 + delta) >= power - 1e-9;
        },
      ),
    );
  });

  it('the detectable difference shrinks as probes accumulate; too few probes detect nothing', () => {
    const day = detectableDifference(288, 0.02)!;
    const week = detectableDifference(7 * 288, 0.02)!;
    expect(week).toBeLessThan(day);
    expect(detectableDifference(1, 0.5, { power: 0.99 })).toBeNull();
    expect(detectableDifference(0, 0.02)).toBeNull();
  });
});

describe('MIN_PROBES_FOR_SHARE', () => {
  it('is where a share stops being anecdote: 5 of 10 is still 24–76 %', () => {
    expect(MIN_PROBES_FOR_SHARE).toBe(10);
    const [low, high] = wilsonInterval(5, MIN_PROBES_FOR_SHARE)!;
    expect(high - low).toBeGreaterThan(0.5);
  });
});
