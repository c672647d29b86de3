import { describe, expect, it } from 'vitest';
import { buildProbeReport, renderProbeTable } from '../../../agent/cli/probe.js';
import { parseThresholds } from '../../../agent/domain/thresholds.js';
import type { ProbeRow } from '../../../agent/ledger/ledger.js';

const row = (id: string, path: string, provider: string, over: Partial<ProbeRow> = {}): ProbeRow => ({
  id, path, seed: `${provider}-1`, provider, messageId: `<${id}@x>`, cycleId: 'C', status: 'accepted', createdAtMs: 0,
  sendStartedAtMs: 0, acceptedAtMs: 0, deadlineAtMs: 1, smtpCode: 250, smtpEnhanced: '2.0.0', smtpText: 'ok', queueId: null,
  errorReason: null, errorMessage: null, outcome: 'inbox', resolvedAtMs: 1, copies: 1, ...over,
});

describe('probe report', () => {
  const rows = [
    row('A', 'peering', 'gmail'),
    row('B', 'transit', 'gmail', { outcome: 'spam' }),
    row('C', 'peering', 'outlook', { outcome: null }), // not seen within --wait → missing
    row('D', 'transit', 'outlook', { status: 'failed', outcome: null, smtpCode: 550, errorReason: 'rejected', copies: 0 }),
    row('E', 'transit', 'outlook', { copies: 2 }),
  ];
  const latency = new Map<string, number | null>([['A', 2], ['B', 4], ['E', 30]]);

  it('computes shares per provider x path and evaluates thresholds', () => {
    const r = buildProbeReport(rows, latency, parseThresholds('spam>0.2,missing>0'), 10, 'C');
    const cell = (p: string, path: string) => r.cells.find((c) => c.provider === p && c.path === path)!;
    expect(cell('gmail', 'transit').shares.spam).toBe(1);
    expect(cell('outlook', 'peering').shares.missing).toBe(1);
    expect(cell('outlook', 'transit')).toMatchObject({ probes: 2, accepted: 1, duplicates: 1, counts: { failed: 1, inbox: 1 } });
    expect(cell('outlook', 'transit').shares.failed).toBe(0.5);
    expect(r.ok).toBe(false);
    expect(r.thresholds.filter((t) => t.failed).map((t) => `${t.provider}/${t.path}:${t.rule}`)).toEqual(['gmail/transit:spam>0.2', 'outlook/peering:missing>0']);
    const text = renderProbeTable(r);
    // One probe per cell: shares without intervals, and the row says why.
    expect(text).toMatch(/^provider\s+path\s+probes\s+inbox\s+spam\s+tabs\s+other\s+missing\s+failed\s+late\s+dup\s+p50\s+p95$/m);
    expect(text).toMatch(/^gmail\s+transit\s+1\s+0%\s+100%\s+0%\s+0%\s+0%\s+0%\s+0%\s+0%\s+4\.0s\s+4\.0s\s+too few probes$/m);
    expect(text).toContain('THRESHOLDS FAILED');
    expect(cell('gmail', 'transit').tooFewProbes).toBe(true);
  });

  it('shows each share with its 95 % interval once there are enough probes, and compares the paths', () => {
    const many = [
      ...Array.from({ length: 12 }, (_, i) => row(`P${i}`, 'peering', 'gmail')),
      ...Array.from({ length: 12 }, (_, i) => row(`T${i}`, 'transit', 'gmail', { outcome: i < 3 ? 'spam' : 'inbox' })),
    ];
    const r = buildProbeReport(many, new Map(), [], 30, 'C');
    const transit = r.cells.find((c) => c.path === 'transit')!;
    // Wilson 95 % by hand: 3/12 is 8.894–53.230 %, 9/12 is 46.770–91.106 %, 0/12 is 0–24.249 %.
    expect(transit.tooFewProbes).toBe(false);
    expect(transit.intervals.spam![0]).toBeCloseTo(0.088942, 6);
    expect(transit.intervals.spam![1]).toBeCloseTo(0.532305, 6);
    expect(transit.intervals.failed).toEqual([0, expect.closeTo(0.242494, 6)]);
    const text = renderProbeTable(r);
    expect(text).toMatch(/^gmail\s+transit\s+12\s+75% \(47–91\.1%\)\s+25% \(8\.9–53%\)\s+0% \(0–24%\)/m);
    expect(text).not.toContain('too few probes');
    // 3/12 against 0/12: Newcombe -4.11 to 53.23 points, Fisher's exact p = 0.2174.
    expect(text).toContain('  transit is not distinguishable from peering for gmail: spam +25.0 pp (−4.1 to +53.2 pp), p = 0.22\n');
    expect(r.comparisons).toEqual([expect.objectContaining({ provider: 'gmail', path: 'transit', bestPath: 'peering', worse: false, method: 'fisher', p: expect.closeTo(0.217391, 6) })]);
    // The JSON carries the intervals beside the shares.
    const json = JSON.parse(JSON.stringify(r));
    expect(json.cells[1].intervals.inbox).toEqual([expect.closeTo(0.467695, 6), expect.closeTo(0.911058, 6)]);
  });

  it('shows the late and duplicate rates with their intervals, in the table and the JSON', () => {
    // 12 probes: the first 3 arrived twice (one of them three times), 2 had a copy after the deadline.
    const many = Array.from({ length: 12 }, (_, i) => row(`L${i}`, 'peering', 'gmail', { copies: i === 0 ? 3 : i < 3 ? 2 : 1 }));
    const r = buildProbeReport(many, new Map(), [], 30, 'C', new Set(['L3', 'L4']));
    const cell = r.cells[0];
    // Wilson 95 % by hand: 2/12 is 4.6965–44.8031 %, 3/12 is 8.8942–53.2305 %.
    expect(cell.counts).toMatchObject({ late: 2, duplicate: 3 });
    expect(cell.shares.late).toBeCloseTo(2 / 12, 12);
    expect(cell.shares.duplicate).toBe(0.25);
    expect(cell.intervals.late![0]).toBeCloseTo(0.046965, 6);
    expect(cell.intervals.late![1]).toBeCloseTo(0.448031, 6);
    expect(cell.intervals.duplicate![0]).toBeCloseTo(0.088942, 6);
    // The copies beyond the first keep their own field (as seedwatch_duplicates_total counts them).
    expect(cell.duplicates).toBe(4);
    const json = JSON.parse(JSON.stringify(r));
    expect(Object.keys(json.cells[0].intervals)).toEqual(expect.arrayContaining(['late', 'duplicate']));
    const line = renderProbeTable(r).split('\n').find((l) => l.startsWith('gmail'))!;
    // Columns are two or more spaces apart; 12/12 inbox is 75.8–100 %, 0/12 is 0–24.2 %.
    expect(line.split(/\s{2,}/)).toEqual(['gmail', 'peering', '12', '100% (76–100%)', '0% (0–24%)', '0% (0–24%)', '0% (0–24%)', '0% (0–24%)', '0% (0–24%)', '16.7% (4.7–45%)', '25% (8.9–53%)', '-', '-']);
  });

  it('shows intervals exactly when the row is not "too few probes" (the matrix\'s flag), whatever the denominator', () => {
    // 10 probes, 6 send failures: the failure rate has 10 probes behind it, but only 4 resolved.
    const rows10 = Array.from({ length: 10 }, (_, i) =>
      row(`F${i}`, 'transit', 'gmail', i < 6 ? { status: 'failed', outcome: null, smtpCode: 550, errorReason: 'rejected', copies: 0 } : {}),
    );
    const r = buildProbeReport(rows10, new Map(), [], 1, null);
    expect(r.cells[0]).toMatchObject({ probes: 10, tooFewProbes: true });
    const line = renderProbeTable(r).split('\n').find((l) => l.startsWith('gmail'))!;
    expect(line).not.toContain('(');
    expect(line.split(/\s{2,}/)).toEqual(['gmail', 'transit', '10', '100%', '0%', '0%', '0%', '0%', '60%', '0%', '0%', '-', '-', 'too few probes']);
  });

  it('holds when no cell breaks a threshold', () => {
    const r = buildProbeReport([rows[0]], latency, parseThresholds('spam>0.2'), 1, null);
    expect(r.ok).toBe(true);
    expect(renderProbeTable(r)).toContain('thresholds held (spam>0.2)');
  });

  it('a provider x path whose every send failed does not pass placement thresholds', () => {
    const r = buildProbeReport(
      [row('X', 'transit', 'gmail', { status: 'failed', outcome: null, smtpCode: 421, errorReason: 'deferred', copies: 0 }), row('Y', 'peering', 'gmail')],
      new Map(),
      parseThresholds('spam>0.2,missing>0'),
      1,
      null,
    );
    expect(r.ok).toBe(false);
    expect(r.thresholds.filter((t) => t.failed)).toEqual([
      { rule: 'spam>0.2', provider: 'gmail', path: 'transit', share: null, failed: true, note: 'no probe accepted' },
      { rule: 'missing>0', provider: 'gmail', path: 'transit', share: null, failed: true, note: 'no probe accepted' },
    ]);
    expect(renderProbeTable(r)).toContain('gmail / transit: spam>0.2 (no probe accepted)');
  });
});
