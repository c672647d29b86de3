import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import type { ProbeFact } from '../../../agent/ledger/ledger.js';
import { buildWeeklyReport, weeklyReportFromLedger, type WeeklyReport, type WeeklyRow } from '../../../agent/report/weekly-report.js';
import { DAY, END_MS, fillTwoWeeks } from '../../fixtures/report/two-weeks.js';

let report: WeeklyReport;
let facts: ProbeFact[];
const row = (provider: string, path: string): WeeklyRow => {
  const r = (provider === '*' ? report.paths : report.rows).find((x) => x.provider === provider && x.path === path);
  if (!r) throw new Error(`no row ${provider}/${path}`);
  return r;
};

beforeAll(async () => {
  const ledger = SqliteLedger.open(':memory:');
  await fillTwoWeeks(ledger);
  report = await weeklyReportFromLedger(ledger, END_MS);
  facts = await ledger.probeFacts(0, END_MS + DAY);
  await ledger.close();
});

describe('weekly report from a known two-week ledger', () => {
  it('covers the 7 days before the end and the 7 days before those, as UTC days', () => {
    expect(report.startMs).toBe(Date.UTC(2026, 10, 16));
    expect(report.previousStartMs).toBe(Date.UTC(2026, 10, 9));
    expect(report.days.map((d) => d.day)).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22']);
    expect(report.rows.map((r) => `${r.provider}/${r.path}`)).toEqual(['gmail/peering', 'gmail/transit', 'outlook/peering', 'outlook/transit']);
    expect(report.paths.map((r) => r.path)).toEqual(['peering', 'transit']);
  });

  it('gmail/peering: 63/70 inbox, 7/70 promotions; previous week 80% inbox, 10% spam', () => {
    const r = row('gmail', 'peering');
    // The probe created exactly at END is outside; the one at 2026-11-16T00:00 is inside.
    expect(r.current.probes).toBe(70);
    expect(r.current.counts.inbox).toBe(63);
    expect(r.current.counts.promotions).toBe(7);
    expect(r.current.shares.inbox).toBe(0.9);
    expect(r.current.shares.promotions).toBe(0.1);
    expect(r.current.shares.spam).toBe(0);
    // Latencies 1..10 s, seven times each: rank ceil(.5*70)=35 -> 5; rank ceil(.95*70)=67 -> 10.
    expect(r.current.latencyP50Seconds).toBe(5);
    expect(r.current.latencyP95Seconds).toBe(10);
    expect(r.current.latencySamples).toBe(70);
    // Previous week (the probe 1 ms before it starts is outside): 56 inbox, 7 promotions, 7 spam.
    expect(r.previous.probes).toBe(70);
    expect(r.previous.shares.inbox).toBe(0.8);
    expect(r.previous.shares.spam).toBe(0.1);
    expect(r.previous.latencyP50Seconds).toBe(10);
    expect(r.previous.latencyP95Seconds).toBe(20);
    expect(r.changePp.inbox).toBe(10);
    expect(r.changePp.spam).toBe(-10);
    expect(r.changePp.promotions).toBe(0);
    expect(r.latencyP95ChangeSeconds).toBe(-10);
  });

  it('gmail/transit: spam rises through the week (0+1+..+6 = 21 of 70), each with dkim=fail', () => {
    const r = row('gmail', 'transit');
    expect(r.current.counts.spam).toBe(21);
    expect(r.current.shares.spam).toBe(0.3);
    expect(r.current.shares.inbox).toBe(0.7);
    expect(r.changePp.inbox).toBe(-30);
    expect(r.changePp.spam).toBe(30);
    expect(r.current.authFailures).toEqual({ spf: 0, dkim: 21, dmarc: 0 });
    expect(r.current.authFailureResults).toEqual([{ method: 'dkim', result: 'fail', count: 21 }]);
    expect(r.current.latencyP50Seconds).toBe(15);
    expect(r.current.latencyP95Seconds).toBe(30);
    expect(r.previous.latencyP95Seconds).toBe(60);
  });

  it('outlook/peering: 7 missing of 70 resolved, 3 of them late, one probe still in flight', () => {
    const r = row('outlook', 'peering');
    expect(r.current.probes).toBe(71);
    expect(r.current.accepted).toBe(71);
    expect(r.current.inFlight).toBe(1);
    expect(r.current.resolved).toBe(70);
    expect(r.current.counts.missing).toBe(7);
    expect(r.current.shares.missing).toBe(0.1);
    expect(r.current.late).toBe(3);
    expect(r.current.lateShare).toBe(3 / 70);
    expect(r.changePp.missing).toBe(10);
    expect(r.changePp.late).toBeCloseTo(4.285714, 6);
    // Missing probes have no latency: 2,4,..,18 seven times each (63): ranks 32 -> 10, 60 -> 18.
    expect(r.current.latencySamples).toBe(63);
    expect(r.current.latencyP50Seconds).toBe(10);
    expect(r.current.latencyP95Seconds).toBe(18);
  });

  it('outlook/transit: 7 send errors, shares over the 63 accepted, duplicates and auth failures', () => {
    const r = row('outlook', 'transit');
    expect(r.current.probes).toBe(70);
    expect(r.current.accepted).toBe(63);
    expect(r.current.sendErrors).toBe(7);
    expect(r.current.sendErrorsByReason).toEqual({ rejected: 7 });
    expect(r.current.resolved).toBe(63);
    expect(r.current.shares.inbox).toBe(56 / 63);
    expect(r.current.shares.spam).toBe(7 / 63);
    expect(r.current.duplicates).toBe(7);
    expect(r.current.duplicatedProbes).toBe(7);
    expect(r.current.duplicateShare).toBe(7 / 63);
    expect(r.current.authFailures).toEqual({ spf: 7, dkim: 0, dmarc: 7 });
    expect(r.current.authFailureResults).toEqual([
      { method: 'dmarc', result: 'fail', count: 7 },
      { method: 'spf', result: 'softfail', count: 7 },
    ]);
    // 8,12,..,40 seven times each (63): rank 32 -> 24, rank 60 -> 40.
    expect(r.current.latencyP50Seconds).toBe(24);
    expect(r.current.latencyP95Seconds).toBe(40);
    expect(r.changePp.inbox).toBe(-11.111111);
    expect(r.changePp.duplicate).toBe(11.111111);
    expect(r.previous.sendErrors).toBe(0);
  });

  it('per path, all providers together', () => {
    const p = row('*', 'peering');
    expect(p.current.probes).toBe(141);
    expect(p.current.resolved).toBe(140);
    expect(p.current.shares.inbox).toBe(0.9);
    expect(p.current.shares.promotions).toBe(0.05);
    expect(p.current.shares.missing).toBe(0.05);
    // 133 samples: 1..10 (x7) and 2..18 even (x7): rank 67 -> 7, rank 127 -> 18.
    expect(p.current.latencyP50Seconds).toBe(7);
    expect(p.current.latencyP95Seconds).toBe(18);
    const t = row('*', 'transit');
    expect(t.current.resolved).toBe(133);
    expect(t.current.counts.inbox).toBe(105);
    expect(t.current.counts.spam).toBe(28);
    expect(t.previous.shares.inbox).toBe(1);
  });

  it('per-day rows: every day x provider x path, numbers of that UTC day only', () => {
    expect(report.daily).toHaveLength(7 * 4);
    const day = (d: string, provider: string, path: string) => report.daily.find((x) => x.day === d && x.provider === provider && x.path === path)!.stats;
    for (let k = 0; k < 7; k++) {
      const d = `2026-11-${16 + k}`;
      expect(day(d, 'gmail', 'transit').counts.spam).toBe(k);
      expect(day(d, 'gmail', 'transit').shares.spam).toBe(k / 10);
      expect(day(d, 'outlook', 'peering').late).toBe(k % 2);
    }
    expect(day('2026-11-19', 'gmail', 'transit').shares.inbox).toBe(0.7);
    expect(day('2026-11-22', 'outlook', 'peering').probes).toBe(11);
    expect(day('2026-11-22', 'outlook', 'peering').inFlight).toBe(1);
    expect(day('2026-11-20', 'outlook', 'transit').sendErrors).toBe(1);
    expect(day('2026-11-20', 'outlook', 'transit').shares.inbox).toBe(8 / 9);
    // Per path per day, 19 peering samples: 1..10 and 2..18 even: rank 10 -> 7, rank 19 -> 18.
    const lat = report.dailyLatency.find((x) => x.day === '2026-11-18' && x.path === 'peering')!;
    expect(lat).toMatchObject({ samples: 19, latencyP50Seconds: 7, latencyP95Seconds: 18 });
    expect(report.dailyLatency).toHaveLength(14);
  });

  it('every share carries its 95 % Wilson interval (values computed by hand from the counts)', () => {
    const gt = row('gmail', 'transit').current;
    // 21/70 spam: 20.5366–41.5443 %; 49/70 inbox: the complement, 58.4557–79.4634 %.
    expect(gt.intervals.spam![0]).toBeCloseTo(0.205366, 6);
    expect(gt.intervals.spam![1]).toBeCloseTo(0.415443, 6);
    expect(gt.intervals.inbox![0]).toBeCloseTo(0.584557, 6);
    expect(gt.intervals.inbox![1]).toBeCloseTo(0.794634, 6);
    // 0/70: from exactly 0 to 5.2023 %.
    expect(gt.intervals.missing).toEqual([0, expect.closeTo(0.052023, 6)]);
    // Rates too: outlook/peering late 3/70 (1.4682–11.8597 %), outlook/transit duplicates 7/63
    // (5.4875–21.2047 %), send failures 7/70 of all probes (4.9294–19.2329 %).
    const op = row('outlook', 'peering').current;
    expect(op.intervals.late![0]).toBeCloseTo(0.0146815, 6);
    expect(op.intervals.late![1]).toBeCloseTo(0.118597, 6);
    const ot = row('outlook', 'transit').current;
    expect(ot.intervals.duplicate![0]).toBeCloseTo(0.054875, 6);
    expect(ot.intervals.failed![1]).toBeCloseTo(0.192329, 6);
    expect(gt.tooFewProbes).toBe(false);
    // A day of 10 probes is at the minimum; an empty cell has no interval.
    expect(report.daily.every((d) => d.stats.tooFewProbes === (d.stats.resolved < 10))).toBe(true);
    expect(buildWeeklyReport([], { endMs: END_MS }).rows).toEqual([]);
  });

  it('tests each week-over-week change: gmail/transit spam is significant, gmail/peering inbox is not', () => {
    // 21/70 against 0/70: pooled z = 4.9705, p = 6.678e-7 (z-test: every expected count >= 5).
    const gt = row('gmail', 'transit').changeTests.spam!;
    expect(gt).toMatchObject({ method: 'z', significant: true });
    expect(gt.p).toBeCloseTo(6.678e-7, 9);
    expect(gt.diff).toBeCloseTo(0.3, 12);
    // 63/70 against 56/70: z = 1.657, p = 0.0976: not significant.
    const gp = row('gmail', 'peering').changeTests;
    expect(gp.inbox).toMatchObject({ method: 'z', significant: false });
    expect(gp.inbox!.p).toBeCloseTo(0.097553, 6);
    // 0/70 against 7/70: an expected count of 3.5, so Fisher's exact test: p = 0.013350.
    expect(gp.spam).toMatchObject({ method: 'fisher', significant: true });
    expect(gp.spam!.p).toBeCloseTo(0.01335, 6);
    expect(gp.spam!.low).toBeCloseTo(-0.192329, 6);
    expect(gp.spam!.high).toBeCloseTo(-0.02735, 6);
  });

  it("compares each provider's paths with its best path (spam)", () => {
    expect(report.comparisons).toHaveLength(2);
    const [g, o] = report.comparisons;
    expect(g).toMatchObject({ provider: 'gmail', path: 'transit', bestPath: 'peering', key: 'spam', n: 70, bestN: 70, worse: true, method: 'z' });
    expect(g.low).toBeCloseTo(0.192009, 6);
    expect(g.high).toBeCloseTo(0.415443, 6);
    // 7/63 against 0/70: Fisher's exact p = 0.0044476.
    expect(o).toMatchObject({ provider: 'outlook', path: 'transit', bestPath: 'peering', n: 63, bestN: 70, worse: true, method: 'fisher' });
    expect(o.p).toBeCloseTo(0.0044476, 7);
    expect(o.diff).toBeCloseTo(1 / 9, 12);
  });

  it('buildWeeklyReport on the same facts is the same report (the ledger only supplies facts)', () => {
    expect(buildWeeklyReport(facts, { endMs: END_MS })).toEqual(report);
  });

  it('a period not on midnight is cut into partial UTC days; a custom start sets both periods', () => {
    const r = buildWeeklyReport(facts, { endMs: END_MS - 12 * 3_600_000 });
    expect(r.days).toHaveLength(8);
    expect(r.days[0]).toMatchObject({ day: '2026-11-15', fromMs: Date.UTC(2026, 10, 15, 12), untilMs: Date.UTC(2026, 10, 16) });
    expect(r.days[7]).toMatchObject({ day: '2026-11-22', fromMs: Date.UTC(2026, 10, 22), untilMs: Date.UTC(2026, 10, 22, 12) });
    const three = buildWeeklyReport(facts, { endMs: END_MS, weekStartsMs: END_MS - 3 * DAY });
    expect(three.previousStartMs).toBe(END_MS - 6 * DAY);
    // gmail/transit: days k=4,5,6 -> 15 spam of 30; previous k=1,2,3 -> 6 of 30.
    const gt = three.rows.find((x) => x.provider === 'gmail' && x.path === 'transit')!;
    expect(gt.current.shares.spam).toBe(0.5);
    expect(gt.previous.shares.spam).toBe(0.2);
    expect(gt.changePp.spam).toBe(30);
    expect(() => buildWeeklyReport(facts, { endMs: END_MS, weekStartsMs: END_MS })).toThrow(RangeError);
  });

  it('an empty ledger gives an empty report, not an error', () => {
    const r = buildWeeklyReport([], { endMs: END_MS });
    expect(r.rows).toEqual([]);
    expect(r.daily).toEqual([]);
    expect(r.days).toHaveLength(7);
  });
});
