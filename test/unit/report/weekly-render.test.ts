import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import type { ProbeFact } from '../../../agent/ledger/ledger.js';
import { escapeHtml } from '../../../agent/html/escape-html.js';
import { html, rawHtml } from '../../../agent/report/html.js';
import { csvField, renderWeeklyCsv, WEEKLY_CSV_COLUMNS } from '../../../agent/report/weekly-csv.js';
import { renderWeeklyHtml } from '../../../agent/report/weekly-html.js';
import { renderWeeklyJson, WEEKLY_JSON_SCHEMA } from '../../../agent/report/weekly-json.js';
import { mdText, renderWeeklyMarkdown, tabsSummary } from '../../../agent/report/weekly-markdown.js';
import { cellStats } from '../../../agent/domain/placement-matrix.js';
import { buildWeeklyReport, type WeeklyReport } from '../../../agent/report/weekly-report.js';
import { END_MS, fillTwoWeeks } from '../../fixtures/report/two-weeks.js';

/** A strict RFC 4180 reader: records end in CRLF; quoted fields may hold commas, quotes and CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (field += c), i++;
    } else if (c === '"' && field === '') (quoted = true), i++;
    else if (c === ',') row.push(field), (field = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    else if (c === '\n' || c === '\r' || c === '"') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    else (field += c), i++;
  }
  if (field !== '' || row.length) throw new Error('last record not terminated by CRLF');
  return rows;
}

let report: WeeklyReport;
let facts: ProbeFact[];
const HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';

beforeAll(async () => {
  const ledger = SqliteLedger.open(':memory:');
  await fillTwoWeeks(ledger);
  facts = await ledger.probeFacts(END_MS - 14 * 86_400_000, END_MS);
  report = buildWeeklyReport(facts, { endMs: END_MS });
  await ledger.close();
});

/** The fixture plus one probe whose header-derived verdict and whose names are hostile. */
function hostileReport(): WeeklyReport {
  const extra: ProbeFact = {
    id: '01KZZZZZZZZZZZZZZZZZZZZZZZ', path: 'pipe|path', seed: 's', provider: '=HYPERLINK("x"),evil', createdAtMs: END_MS - 3_600_000,
    status: 'accepted', errorReason: null, smtpCode: 250, outcome: 'spam', copies: 1, late: false, deliveryLatencySeconds: 3,
    auth: { spf: 'pass', dkim: 'pass', dmarc: HOSTILE },
  };
  return buildWeeklyReport([...facts, extra], { endMs: END_MS });
}

describe('CSV (RFC 4180)', () => {
  it('one header row, every record the same fields, CRLF line ends', () => {
    const rows = parseCsv(renderWeeklyCsv(report));
    expect(rows[0]).toEqual([...WEEKLY_CSV_COLUMNS]);
    for (const r of rows) expect(r).toHaveLength(WEEKLY_CSV_COLUMNS.length);
    // 4 cells + 2 paths for each week, 7 days x 4 cells.
    expect(rows).toHaveLength(1 + 6 + 6 + 28);
    expect(rows.filter((r) => r[0] === 'week')).toHaveLength(6);
  });

  it('carries the exact numbers', () => {
    const rows = parseCsv(renderWeeklyCsv(report));
    const col = (name: string) => WEEKLY_CSV_COLUMNS.indexOf(name as (typeof WEEKLY_CSV_COLUMNS)[number]);
    const gt = rows.find((r) => r[0] === 'week' && r[3] === 'gmail' && r[4] === 'transit')!;
    expect(gt[col('from')]).toBe('2026-11-16T00:00:00.000Z');
    expect(gt[col('until')]).toBe('2026-11-23T00:00:00.000Z');
    expect(gt[col('spam')]).toBe('21');
    expect(gt[col('spam_share')]).toBe('0.3');
    expect(gt[col('inbox_change_pp')]).toBe('-30');
    expect(gt[col('latency_p95_seconds')]).toBe('30');
    expect(gt[col('auth_fail_dkim')]).toBe('21');
    const ot = rows.find((r) => r[0] === 'week' && r[3] === 'outlook' && r[4] === 'transit')!;
    expect(ot[col('send_errors')]).toBe('7');
    expect(ot[col('inbox_share')]).toBe('0.888889');
    expect(ot[col('duplicates')]).toBe('7');
    const peering = rows.find((r) => r[0] === 'week' && r[3] === '*' && r[4] === 'peering')!;
    expect(peering[col('probes')]).toBe('141');
    const prev = rows.find((r) => r[0] === 'previous_week' && r[3] === 'gmail' && r[4] === 'peering')!;
    expect(prev[col('inbox_share')]).toBe('0.8');
    expect(prev[col('inbox_change_pp')]).toBe('');
    const day = rows.find((r) => r[0] === 'day' && r[1] === '2026-11-19T00:00:00.000Z' && r[3] === 'gmail' && r[4] === 'transit')!;
    expect(day[col('spam')]).toBe('3');
    expect(day[col('until')]).toBe('2026-11-20T00:00:00.000Z');
  });

  it('carries the 95 % intervals, the week-over-week p-values and the comparison with the best path', () => {
    const rows = parseCsv(renderWeeklyCsv(report));
    const col = (name: string) => WEEKLY_CSV_COLUMNS.indexOf(name as (typeof WEEKLY_CSV_COLUMNS)[number]);
    // The columns of the first release keep their positions; the new ones follow.
    expect(WEEKLY_CSV_COLUMNS.indexOf('duplicate_change_pp')).toBe(col('inbox_low') - 1);
    const gt = rows.find((r) => r[0] === 'week' && r[3] === 'gmail' && r[4] === 'transit')!;
    // Wilson 95 % of 21/70: 20.5366–41.5443 % (computed by hand from the formula).
    expect(gt[col('spam_low')]).toBe('0.205366');
    expect(gt[col('spam_high')]).toBe('0.415443');
    expect(gt[col('too_few_probes')]).toBe('false');
    // 21/70 against 0/70 last week: z = 4.97, p = 6.7e-7 (6 decimals).
    expect(gt[col('spam_change_p')]).toBe('0.000001');
    expect(gt[col('spam_best_path')]).toBe('peering');
    expect(gt[col('spam_vs_best_pp')]).toBe('30');
    expect(gt[col('spam_vs_best_low_pp')]).toBe('19.200934');
    // outlook/transit 7/63 spam against peering's 0/70: Fisher's exact p = 0.004448.
    const ot = rows.find((r) => r[0] === 'week' && r[3] === 'outlook' && r[4] === 'transit')!;
    expect(ot[col('spam_vs_best_p')]).toBe('0.004448');
    expect(ot[col('spam_vs_best_high_pp')]).toBe('21.204656');
    // The best path itself, a path total, a previous week and a day carry no comparison.
    const gp = rows.find((r) => r[0] === 'week' && r[3] === 'gmail' && r[4] === 'peering')!;
    expect(gp[col('spam_best_path')]).toBe('');
    expect(rows.slice(1).filter((r) => r[0] !== 'week').every((r) => r[col('spam_change_p')] === '' && r[col('spam_best_path')] === '')).toBe(true);
  });

  it('quotes commas and quotes, and defuses spreadsheet formulas, in names', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\r\nbreak')).toBe('"line\r\nbreak"');
    expect(csvField(-30)).toBe('-30');
    const rows = parseCsv(renderWeeklyCsv(hostileReport()));
    const evil = rows.find((r) => r[0] === 'week' && r[4] === 'pipe|path' && r[3] !== '*')!;
    expect(evil[3]).toBe(`'=HYPERLINK("x"),evil`);
  });
});

describe('Markdown', () => {
  it('has the tables with the numbers and week-over-week changes', () => {
    const md = renderWeeklyMarkdown(report);
    expect(md).toContain('# seedwatch weekly report');
    expect(md).toContain('**2026-11-16 00:00:00 UTC → 2026-11-23 00:00:00 UTC**');
    // Intervals by hand (Wilson 95 %): 49/70 58.5–79.5 %, 21/70 20.5–41.5 %, 0/70 0–5.2 %.
    // Both changes of gmail/transit are significant (z = 4.97, p < 0.001): marked \*.
    expect(md).toContain('| gmail | transit | 70 | 70.0% (58–79%) | −30.0 pp \\* | 30.0% (21–42%) | +30.0 pp \\* | – | 0.0% (0–5.2%) | ±0.0 pp | 0.0% (0–5.2%) | 0.0% (0–5.2%) | 15 s | 30 s | 0 / 21 / 0 | 0 |');
    // 63/70 inbox against 56/70: z = 1.66, p = 0.098, not significant; spam 0/70 against
    // 7/70: Fisher's p = 0.013, significant. The promotions tab, 7/70, has its interval as every
    // share (Wilson 95 % by hand: 4.93–19.23 %).
    expect(md).toContain('| gmail | peering | 70 | 90.0% (81–95.1%) | +10.0 pp | 0.0% (0–5.2%) | −10.0 pp \\* | promotions 10.0% (4.9–19%) |');
    expect(md).toContain('| peering | 141 | 90.0% (84–93.9%) |');
    expect(md).toContain('- outlook / transit: dmarc=fail ×7, spf=softfail ×7');
    expect(md).toContain('- outlook / transit: rejected ×7');
    expect(md).toContain('| 2026-11-19 | gmail | transit | 10 | 70.0% (40–89%) | 30.0% (11–60%) |');
    expect(md).toContain('- transit is worse than peering for gmail: spam +30.0 pp (19.2–41.5 pp), p &lt; 0.001');
    expect(md).toContain('- transit is worse than peering for outlook: spam +11.1 pp (3.5–21.2 pp), p = 0.004');
    // Every table row has the header's number of cells.
    const tables = md.split('\n\n').filter((b) => b.startsWith('|'));
    expect(tables).toHaveLength(3);
    for (const t of tables) {
      const lines = t.trim().split('\n');
      const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
      for (const l of lines) expect(cells(l)).toBe(cells(lines[0]));
    }
  });

  it('neutralises pipes, emphasis and inline HTML in data', () => {
    expect(mdText('a|b')).toBe('a\\|b');
    expect(mdText('<b>*x*</b>')).toBe('&lt;b&gt;\\*x\\*&lt;/b&gt;');
    const md = renderWeeklyMarkdown(hostileReport());
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<img');
    expect(md).toContain('dmarc=&lt;script&gt;alert(1)&lt;/script&gt;"&gt;&lt;img src=x onerror=alert(2)&gt; ×1');
    expect(md).toContain('pipe\\|path');
  });
});

describe('JSON', () => {
  it('is the report itself, with its schema and ISO bounds', () => {
    const doc = JSON.parse(renderWeeklyJson(report));
    expect(doc.schema).toBe(WEEKLY_JSON_SCHEMA);
    expect(doc.start).toBe('2026-11-16T00:00:00.000Z');
    expect(doc.end).toBe('2026-11-23T00:00:00.000Z');
    expect(doc.previousStart).toBe('2026-11-09T00:00:00.000Z');
    const { schema, start, end, previousStart, ...rest } = doc;
    expect(rest).toEqual(JSON.parse(JSON.stringify(report)));
    expect(doc.rows[1].changePp.spam).toBe(30);
    expect(doc.rows[1].current.intervals.spam).toEqual([expect.closeTo(0.205366, 6), expect.closeTo(0.415443, 6)]);
    expect(doc.comparisons.map((c: { provider: string; path: string; bestPath: string }) => `${c.provider}/${c.path}<${c.bestPath}`)).toEqual(['gmail/transit<peering', 'outlook/transit<peering']);
  });
});

describe('HTML', () => {
  it('is self-contained: inline style, two inline SVG charts, no script, nothing external', () => {
    const page = renderWeeklyHtml(report, { nonce: 'abc123' });
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page.match(/<svg /g)).toHaveLength(2);
    expect(page).toContain('<style nonce="abc123">');
    expect(page).not.toMatch(/<script|<link|<img|src=|@import|url\(/i);
    expect(page).not.toMatch(/style="/);
    expect(page).toContain('Daily inbox share per provider × path');
    expect(page).toContain('Delivery latency per path');
    // One line per provider x path in the inbox chart, two per path in the latency chart.
    expect(page.match(/<g class="series">/g)).toHaveLength(4 + 4);
  });

  it('shows the numbers in the provider x path table', () => {
    const page = renderWeeklyHtml(report);
    const row = page.match(/<tr data-row="outlook\|transit">.*?<\/tr>/)![0];
    // 56/63: Wilson 78.8–94.5 %; the change from 70/70 is significant (Fisher's p = 0.0044).
    expect(row).toContain('<td class="warn" data-k="inbox">88.9%<span class="ci"> (79–94.5%)</span></td>');
    expect(row).toContain('<td class="bad" data-k="d-inbox" data-sig="yes" title="−11.1 pp (−21.2 to −3.5 pp), p = 0.004: significant">−11.1 pp<span class="sig"> *</span></td>');
    expect(row).toContain('<td class="muted" data-k="d-missing" data-sig="no"');
    expect(row).toContain('<td data-k="p95">40 s</td>');
    expect(row).toContain('data-k="auth" class="bad">7 / 0 / 7</td>');
    expect(row).toContain('data-k="errors" class="bad">7</td>');
    // A tab's share carries its interval as every other share: 7/70 promotions, 4.93–19.23 %.
    const gp = page.match(/<tr data-row="gmail\|peering">.*?<\/tr>/)![0];
    expect(gp).toContain('<td data-k="tabs">promotions 10.0%<span class="ci"> (4.9–19%)</span></td>');
  });

  it('says which path is worse, per provider', () => {
    const page = renderWeeklyHtml(report);
    expect(page).toContain('<li data-compare="gmail|transit" data-verdict="worse" class="bad">transit is worse than peering for gmail: spam +30.0 pp (19.2–41.5 pp), p &lt; 0.001</li>');
    expect(page).toContain('<li data-compare="outlook|transit" data-verdict="worse" class="bad">transit is worse than peering for outlook: spam +11.1 pp (3.5–21.2 pp), p = 0.004</li>');
  });

  it('holds the intervals back below the minimum count, with a muted note', () => {
    const few = buildWeeklyReport(facts.filter((f) => f.createdAtMs >= END_MS - 86_400_000), { endMs: END_MS });
    const row = renderWeeklyHtml(few).match(/<tr data-row="gmail\|transit">.*?<\/tr>/)![0];
    expect(row).toContain('<td data-k="probes">10</td>');
    const fewer = buildWeeklyReport(facts.filter((f) => f.createdAtMs >= END_MS - 86_400_000 && f.createdAtMs < END_MS - 3_600_000 * 15), { endMs: END_MS });
    const r2 = renderWeeklyHtml(fewer).match(/<tr data-row="gmail\|transit">.*?<\/tr>/)![0];
    expect(r2).toContain('<td data-k="probes">9<span class="few" title="fewer than 10 resolved probes: shares shown without their intervals"> too few probes</span></td>');
    expect(r2).not.toContain('class="ci"');
    expect(renderWeeklyMarkdown(fewer)).toContain('| gmail | transit | 9 (too few probes) | 33.3% |');
    // Too few probes: a tab's share is bare as every other share (1 of 9 in promotions, 1 in social).
    const tabs = (n: number) =>
      cellStats(Array.from({ length: n }, (_, i) => ({ ...facts[0], status: 'accepted' as const, outcome: i === 0 ? ('promotions' as const) : i === 1 ? ('social' as const) : ('inbox' as const) })));
    expect(tabsSummary(tabs(9))).toBe('promotions 11.1%, social 11.1%');
    // With a tenth probe the intervals show: 1/10 is 1.79–40.4 % (Wilson 95 % by hand).
    expect(tabsSummary(tabs(10))).toBe('promotions 10.0% (1.8–40%), social 10.0% (1.8–40%)');
  });

  it('escapes header-derived text and names', () => {
    const page = renderWeeklyHtml(hostileReport());
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('dmarc=&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(page).toContain('data-row="=HYPERLINK(&quot;x&quot;),evil|pipe|path"');
  });

  it('html`` escapes values and keeps SafeHtml', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html`<p title="${'"x'}">${['<b>', rawHtml('<i>ok</i>'), 3, null, undefined, false]}</p>`.value).toBe('<p title="&quot;x">&lt;b&gt;<i>ok</i>3</p>');
  });
});
