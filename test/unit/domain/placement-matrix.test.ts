import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeTd } from '../../../agent/report/weekly-html.js';
import {
  cellStats,
  comparePaths,
  compareShares,
  matrixTotal,
  percentile,
  placementMatrix,
  rateCounts,
  rateOf,
  RATE_KEYS,
  resolvableDifferences,
  type MatrixFact,
} from '../../../agent/domain/placement-matrix.js';
import { describePathComparison } from '../../../agent/report/format.js';
import { detectableDifference } from '../../../agent/domain/statistics.js';
import { OUTCOMES, PROBE_STATUSES, SEND_FAILURE_REASONS } from '../../../agent/domain/vocabulary.js';

const fact = (provider: string, path: string, over: Partial<MatrixFact> = {}): MatrixFact => ({
  provider, path, createdAtMs: 1_000, status: 'accepted', errorReason: null, outcome: 'inbox', copies: 1, late: false,
  deliveryLatencySeconds: 2, auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass' }, ...over,
});

describe('placement matrix', () => {
  // gmail/transit by hand: 4 probes; 1 rejected; of the 3 accepted, 1 in flight; resolved 2:
  // 1 spam (dkim=fail, 2 copies), 1 missing (a late copy came).
  const facts: MatrixFact[] = [
    fact('gmail', 'transit', { outcome: 'spam', copies: 2, deliveryLatencySeconds: 7, auth: { dkim: 'fail' }, createdAtMs: 5_000 }),
    fact('gmail', 'transit', { outcome: 'missing', copies: 1, late: true, deliveryLatencySeconds: null, createdAtMs: 6_000 }),
    fact('gmail', 'transit', { outcome: null, copies: 0, deliveryLatencySeconds: null, createdAtMs: 9_000 }),
    fact('gmail', 'transit', { status: 'failed', errorReason: 'rejected', outcome: null, copies: 0, deliveryLatencySeconds: null, createdAtMs: 10_000 }),
    fact('gmail', 'peering'),
    fact('aol', 'peering', { outcome: 'promotions', deliveryLatencySeconds: 4 }),
  ];

  it('one cell per provider x path, sorted by provider then path', () => {
    expect(placementMatrix(facts).map((c) => `${c.provider}/${c.path}`)).toEqual(['aol/peering', 'gmail/peering', 'gmail/transit']);
  });

  it('counts, shares of the resolved probes, send errors of all probes', () => {
    const c = placementMatrix(facts).find((x) => x.path === 'transit')!;
    expect(c).toMatchObject({ probes: 4, accepted: 3, sendErrors: 1, resolved: 2, inFlight: 1, late: 1, duplicates: 1, duplicatedProbes: 1 });
    expect(c.sendErrorsByReason).toEqual({ rejected: 1 });
    expect(c.counts).toMatchObject({ spam: 1, missing: 1, inbox: 0 });
    expect(c.shares).toMatchObject({ spam: 0.5, missing: 0.5, inbox: 0 });
    expect(c.lateShare).toBe(0.5);
    expect(c.duplicateShare).toBe(0.5);
    expect(c.failedShare).toBe(0.25);
    // The missing probe has no latency; the in-flight one is not resolved.
    expect([c.latencyP50Seconds, c.latencyP95Seconds, c.latencySamples]).toEqual([7, 7, 1]);
    expect(c.authFailures).toEqual({ spf: 0, dkim: 1, dmarc: 0 });
    expect(c.authFailureResults).toEqual([{ method: 'dkim', result: 'fail', count: 1 }]);
    // The last accepted probe, not the rejected one.
    expect(c.lastProbeAtMs).toBe(9_000);
  });

  it('a closed window counts the unseen as missing and a probe still sending as a send failure', () => {
    const c = cellStats([...facts.slice(0, 4), fact('gmail', 'transit', { status: 'sending', outcome: null, copies: 0 })], { closed: true });
    expect(c).toMatchObject({ probes: 5, accepted: 3, sendErrors: 2, resolved: 3, inFlight: 0 });
    expect(c.counts.missing).toBe(2);
    expect(c.shares.missing).toBe(2 / 3);
    expect(c.failedShare).toBe(0.4);
  });

  it('nothing resolved: shares are null, not 0', () => {
    const c = cellStats([fact('g', 'p', { outcome: null })]);
    expect(c.shares.inbox).toBeNull();
    expect(c.lateShare).toBeNull();
    expect(cellStats([]).failedShare).toBeNull();
  });

  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });
});

describe('intervals, path comparison, resolvable difference', () => {
  /** n probes of provider x path, the first k of them in spam. */
  const cell = (provider: string, path: string, k: number, n: number): MatrixFact[] =>
    Array.from({ length: n }, (_, i) => fact(provider, path, { outcome: i < k ? 'spam' : 'inbox' }));

  it('every share carries its 95 % Wilson interval; fewer than 10 resolved probes are too few', () => {
    // 3 of 12 (by hand from the formula): 8.8942–53.2305 %; 9 of 12 the complement.
    const c = cellStats(cell('g', 'p', 3, 12));
    expect(c.intervals.spam![0]).toBeCloseTo(0.088942, 6);
    expect(c.intervals.spam![1]).toBeCloseTo(0.532305, 6);
    expect(c.intervals.inbox![0]).toBeCloseTo(1 - 0.532305, 6);
    expect(c.intervals.missing).toEqual([0, expect.closeTo(0.242494, 6)]);
    expect(c.tooFewProbes).toBe(false);
    expect(cellStats(cell('g', 'p', 3, 9)).tooFewProbes).toBe(true);
    expect(cellStats(cell('g', 'p', 3, 10)).tooFewProbes).toBe(false);
    expect(cellStats([]).intervals.spam).toBeNull();
    const total = matrixTotal([cellStats(cell('g', 'p', 3, 6)), cellStats(cell('g', 't', 0, 6))]);
    expect(total).toMatchObject({ resolved: 12, tooFewProbes: false, counts: { spam: 3 } });
    expect(total.intervals.spam![1]).toBeCloseTo(0.532305, 6);
  });

  it('compares each path with its provider\'s best path', () => {
    const cells = placementMatrix([...cell('gmail', 'peering', 0, 70), ...cell('gmail', 'transit', 21, 70), ...cell('gmail', 'direct', 1, 70), ...cell('aol', 'peering', 1, 5)]);
    const cmp = comparePaths(cells);
    expect(cmp.map((c) => `${c.provider}/${c.path}<${c.bestPath}:${c.worse}`)).toEqual(['gmail/direct<peering:false', 'gmail/transit<peering:true']);
    // 21/70 against 0/70 by hand: Newcombe 19.2009–41.5443 points; pooled z = 4.9705, p = 6.678e-7.
    const t = cmp[1];
    expect(t).toMatchObject({ diff: expect.closeTo(0.3, 12), n: 70, bestN: 70, share: 0.3, bestShare: 0, method: 'z', significant: true, clear: true });
    expect(t.low).toBeCloseTo(0.192009, 6);
    expect(t.high).toBeCloseTo(0.415443, 6);
    expect(t.p).toBeCloseTo(6.678e-7, 9);
    // 1/70 against 0/70: Fisher's exact p = 1.
    expect(cmp[0]).toMatchObject({ method: 'fisher', p: 1, significant: false });
    // Ties go to the path with more probes; a side without probes cannot be compared.
    const tie = comparePaths(placementMatrix([...cell('g', 'a', 0, 5), ...cell('g', 'b', 0, 9)]));
    expect(tie.map((c) => c.bestPath)).toEqual(['b']);
    expect(compareShares(0, 0, 0, 3)).toBeNull();
  });

  it('calls a path worse only when the test and the interval agree', () => {
    // 4/10 against 0/10. Newcombe's hybrid score interval by hand: Wilson 4/10 is 16.82–68.73 %,
    // 0/10 is 0–27.75 %; low = 0.4 − √(0.2318² + 0.2775²) = 3.84 points, high = 0.4 + 0.2873 =
    // 68.73 points: above 0. Fisher's exact test (expected count 2 < 5): the hypergeometric
    // C(10,k)·C(10,4−k)/C(20,4) = 210, 1200, 2025, 1200, 210 of 4845 for k = 0..4; two-sided p
    // sums the tables as likely as the observed one or less: (210 + 210)/4845 = 0.0867.
    const [a] = comparePaths(placementMatrix([...cell('outlook', 'peering', 0, 10), ...cell('outlook', 'transit', 4, 10)]));
    expect(a).toMatchObject({ path: 'transit', bestPath: 'peering', method: 'fisher', significant: false, clear: false, worse: false, verdict: 'unclear' });
    expect(a.p).toBeCloseTo(0.086687, 6);
    expect(a.low).toBeCloseTo(0.038386, 6);
    expect(a.high).toBeCloseTo(0.687326, 6);
    expect(describePathComparison(a)).toBe('transit may be worse than peering for outlook: spam +40.0 pp (3.8–68.7 pp), p = 0.09 (interval and test disagree)');
    // The other way round: 9/27 against 3/27, pooled z = 0.2222/√(0.2222·0.7778·2/27) = 1.9640,
    // p = 0.0495 < 0.05; but the Wilson lower bound of 9/27 is 18.64 %, the upper of 3/27 28.06 %,
    // so low = 0.2222 − √(0.1469² + 0.1695²) = −0.21 points: the interval reaches below 0.
    const [b] = comparePaths(placementMatrix([...cell('outlook', 'peering', 3, 27), ...cell('outlook', 'transit', 9, 27)]));
    expect(b).toMatchObject({ method: 'z', significant: true, clear: false, worse: false, verdict: 'unclear' });
    // A change marked on the surfaces needs both too: 9/27 against 3/27 as a week-over-week change
    // is shown unmarked, muted, with the disagreement in its title.
    const td = String(changeTd(22.2, compareShares(9, 27, 3, 27), 'd-spam', false));
    expect(td).toContain('data-sig="no"');
    expect(td).toContain('class="muted"');
    expect(td).not.toContain('class="sig"');
    expect(td).toContain('p = 0.05: unclear (the test and the interval disagree)');
    expect(b.p).toBeCloseTo(0.049535, 6);
    expect(b.low).toBeCloseTo(-0.002052, 6);
    expect(describePathComparison(b)).toBe('transit may be worse than peering for outlook: spam +22.2 pp (−0.2 to +42.4 pp), p = 0.05 (interval and test disagree)');
    // Both agree (21/70 against 0/70 above): worse; neither (3/12 against 0/12, p = 0.217, interval
    // −4.1 to +53.2 points): not distinguishable.
    const [c] = comparePaths(placementMatrix([...cell('g', 'peering', 0, 70), ...cell('g', 'transit', 21, 70)]));
    expect(c).toMatchObject({ worse: true, verdict: 'worse' });
    expect(describePathComparison(c)).toMatch(/^transit is worse than peering for g: /);
    const [d] = comparePaths(placementMatrix([...cell('g', 'peering', 0, 12), ...cell('g', 'transit', 3, 12)]));
    expect(d).toMatchObject({ worse: false, verdict: 'indistinguishable' });
    expect(describePathComparison(d)).toBe('transit is not distinguishable from peering for g: spam +25.0 pp (−4.1 to +53.2 pp), p = 0.22');
  });

  it('says how fine a difference the counts resolve', () => {
    const cells = placementMatrix([...cell('gmail', 'peering', 1, 15), ...cell('gmail', 'transit', 6, 10), ...cell('aol', 'peering', 0, 4)]);
    expect(resolvableDifferences(cells)).toEqual([
      { provider: 'gmail', key: 'spam', paths: 2, n: 10, baseline: 1 / 15, difference: detectableDifference(10, 1 / 15) },
    ]);
    // 10 probes per path from 6.7 % spam: more than 50 points (power 80 %, alpha 0.05).
    expect(resolvableDifferences(cells)[0].difference).toBeGreaterThan(0.5);
    expect(resolvableDifferences(placementMatrix([...cell('g', 'a', 1, 1), ...cell('g', 'b', 1, 1)]))[0].difference).toBeNull();
  });
});

const arbFact: fc.Arbitrary<MatrixFact> = fc.record({
  provider: fc.constantFrom('gmail', 'outlook', 'yahoo'),
  path: fc.constantFrom('peering', 'transit'),
  createdAtMs: fc.integer({ min: 0, max: 1e6 }),
  status: fc.constantFrom(...PROBE_STATUSES),
  errorReason: fc.option(fc.constantFrom(...SEND_FAILURE_REASONS)),
  outcome: fc.option(fc.constantFrom(...OUTCOMES)),
  copies: fc.integer({ min: 0, max: 3 }),
  late: fc.boolean(),
  deliveryLatencySeconds: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true })),
  auth: fc.record({ spf: fc.constantFrom('pass', 'fail'), dkim: fc.constantFrom('pass', 'fail'), dmarc: fc.constantFrom('pass', 'fail') }),
});

describe('placement matrix properties', () => {
  it('every probe is in exactly one cell; the cells add up to the whole', () => {
    fc.assert(
      fc.property(fc.array(arbFact, { maxLength: 60 }), fc.boolean(), (facts, closed) => {
        const cells = placementMatrix(facts, { closed });
        const all = cellStats(facts, { closed });
        const total = matrixTotal(cells);
        expect(cells.reduce((n, c) => n + c.probes, 0)).toBe(facts.length);
        for (const k of ['probes', 'accepted', 'sendErrors', 'resolved', 'inFlight'] as const) expect(total[k]).toBe(all[k]);
        expect(total.counts).toEqual(all.counts);
        expect(total.shares).toEqual(all.shares);
      }),
    );
  });

  it('resolved outcomes add up; shares are in [0, 1] and sum to 1; a closed window leaves nothing in flight', () => {
    fc.assert(
      fc.property(fc.array(arbFact, { maxLength: 60 }), fc.boolean(), (facts, closed) => {
        for (const c of placementMatrix(facts, { closed })) {
          expect(OUTCOMES.reduce((n, o) => n + c.counts[o], 0)).toBe(c.resolved);
          expect(c.resolved + c.inFlight).toBe(c.accepted);
          if (closed) expect(c.inFlight).toBe(0);
          for (const k of RATE_KEYS) {
            const r = rateOf(c, k);
            const { count, of } = rateCounts(c, k);
            expect(r).toBe(of > 0 ? count / of : null);
            if (r !== null) expect(r >= 0 && r <= 1).toBe(true);
          }
          if (c.resolved > 0) expect(OUTCOMES.reduce((n, o) => n + (c.shares[o] ?? 0), 0)).toBeCloseTo(1, 9);
          if (c.latencyP50Seconds !== null) expect(c.latencyP50Seconds).toBeLessThanOrEqual(c.latencyP95Seconds!);
        }
      }),
    );
  });
});
