/**
 * The status page rendered from data (no ledger, no browser): the change column marks a
 * significant change, and late and duplicate rates carry their intervals. The Chromium test
 * (test/integration/pages) checks the same page against a ledger.
 */
import { describe, expect, it } from 'vitest';
import { placementMatrix, type MatrixFact } from '../../../agent/domain/placement-matrix.js';
import type { StatusData } from '../../../agent/pages/status-data.js';
import { renderStatusPage } from '../../../agent/pages/status-page.js';

const NOW = Date.UTC(2026, 10, 23);

/** n probes of gmail/transit, the first `spam` in spam, the first `late` late, the first `dup` arriving twice. */
function facts(n: number, o: { spam?: number; late?: number; dup?: number; atMs: number }): MatrixFact[] {
  return Array.from({ length: n }, (_, i) => ({
    provider: 'gmail', path: 'transit', createdAtMs: o.atMs, status: 'accepted', errorReason: null,
    outcome: i < (o.spam ?? 0) ? 'spam' : 'inbox', copies: i < (o.dup ?? 0) ? 2 : 1, late: i < (o.late ?? 0), deliveryLatencySeconds: 3,
  }));
}

function page(current: MatrixFact[], previous: MatrixFact[] | undefined): string {
  const data: StatusData = {
    nowMs: NOW,
    hour: { sinceMs: NOW - 3_600_000, cells: [] },
    day: { sinceMs: NOW - 86_400_000, cells: placementMatrix(current), previousCells: previous && placementMatrix(previous) },
    latest: [],
    mailboxes: [],
  };
  return renderStatusPage(data);
}

const cell = (html: string, k: string) => html.match(new RegExp(`<tr data-row="gmail\\|transit">.*?(<td[^>]*data-k="${k}"[^>]*>.*?</td>)`))![1];

describe('status page, last 24 hours', () => {
  it('marks a significant change of the spam share against the 24 hours before', () => {
    // 21/70 against 0/70 (by hand): Newcombe 19.20–41.54 points, pooled z = 4.97, p = 6.7e-7.
    const html = page(facts(70, { spam: 21, atMs: NOW - 3_600_000 }), facts(70, { atMs: NOW - 25 * 3_600_000 }));
    expect(cell(html, 'd-spam')).toBe(
      '<td class="bad" data-k="d-spam" data-sig="yes" title="+30.0 pp (19.2–41.5 pp), p &lt; 0.001: significant">+30.0 pp<span class="sig"> *</span></td>',
    );
  });

  it('leaves an insignificant change unmarked, and shows "–" without probes the window before', () => {
    // 1/10 against 0/10: Fisher's p = 1 (10/20 either way round).
    const html = page(facts(10, { spam: 1, atMs: NOW - 3_600_000 }), facts(10, { atMs: NOW - 25 * 3_600_000 }));
    expect(cell(html, 'd-spam')).toMatch(/^<td class="muted" data-k="d-spam" data-sig="no" title="\+10\.0 pp \(.*\), p = 1\.00: not significant">\+10\.0 pp<\/td>$/);
    expect(cell(page(facts(10, { atMs: NOW }), []), 'd-spam')).toBe('<td class="muted" data-k="d-spam">–</td>');
    // Without a previous window at all, the column is not drawn.
    expect(page(facts(10, { atMs: NOW }), undefined)).not.toContain('d-spam');
  });

  it('shows late and duplicate as rates with their 95 % intervals, the counts on hover', () => {
    // 7/70 late: Wilson 4.93–19.23 %; 3/70 arrived twice: 1.47–11.86 % (by hand).
    const html = page(facts(70, { late: 7, dup: 3, atMs: NOW }), []);
    expect(cell(html, 'late')).toBe(
      '<td data-k="late" class="bad" title="7 of 70 resolved probes had a copy after the deadline">10.0%<span class="ci"> (4.9–19%)</span></td>',
    );
    expect(cell(html, 'duplicate')).toBe(
      '<td data-k="duplicate" class="warn" title="3 of 70 resolved probes arrived more than once (3 extra copies)">4.3%<span class="ci"> (1.5–12%)</span></td>',
    );
  });
});
