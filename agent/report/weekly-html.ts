/**
 * The report as one self-contained HTML document: inline CSS, inline SVG charts, no script,
 * no external asset — it can be mailed or archived as a single file. Every value from the
 * ledger goes through html`` (escaped); header-derived verdicts are attacker-controlled text.
 */
import { VERSION } from '../version.js';
import {
  describePathComparison,
  formatDiffInterval,
  formatInterval,
  formatPercent,
  formatPp,
  formatPValue,
  formatSeconds,
  formatShareInterval,
  formatUtc,
  TOO_FEW_PROBES,
} from './format.js';
import { html, rawHtml, type SafeHtml } from './html.js';
import { BASE_CSS } from './style.js';
import { lineChart, type ChartSeries } from './svg-chart.js';
import { tabShares, type TabStats } from './weekly-markdown.js';
import { rateOf, type PathComparison, type RateKey, type ShareComparison } from '../domain/placement-matrix.js';
import { MIN_PROBES_FOR_SHARE } from '../domain/statistics.js';
import type { ChangeKey, PeriodStats, WeeklyReport, WeeklyRow } from './weekly-report.js';
import { reputationHtml } from './weekly-reputation-html.js';

export interface WeeklyHtmlOptions {
  title?: string;
  /** CSP nonce for the <style> element when served over HTTP. */
  nonce?: string;
  /** Links to the other formats (the HTTP route passes them). */
  links?: { label: string; href: string }[];
  generatedAtMs?: number;
}

/** CSS class of an inbox share: the colour a reader should notice. */
export function inboxClass(share: number | null): string {
  if (share === null) return 'muted';
  return share >= 0.9 ? 'ok' : share >= 0.7 ? 'warn' : 'bad';
}

/** CSS class of a bad-outcome share (spam, missing, late, duplicate). */
export function badShareClass(share: number | null): string {
  if (share === null) return 'muted';
  return share === 0 ? 'ok' : share < 0.05 ? 'warn' : 'bad';
}

/**
 * Δ of a share where up is good (inbox) or bad (spam, missing): coloured, and marked " *",
 * only when the test and the interval agree it is more than noise (p < 0.05, interval
 * excluding 0: ShareComparison.clear); muted otherwise. `pp` is the
 * change in points, `t` the same change tested (windowChange in placement-matrix.ts).
 */
export function changeTd(pp: number | null, t: ShareComparison | null, key: string, upIsGood: boolean): SafeHtml {
  if (pp === null || !t) return html`<td class="muted" data-k="${key}">${formatPp(pp)}</td>`;
  const cls = !t.clear || Math.abs(pp) < 0.05 ? 'muted' : pp > 0 === upIsGood ? 'ok' : 'bad';
  const verdict = t.clear ? ': significant' : t.significant || t.low > 0 || t.high < 0 ? ': unclear (the test and the interval disagree)' : ': not significant';
  const title = `${formatDiffInterval(t.diff, t.low, t.high)}, ${formatPValue(t.p)}${verdict}`;
  return html`<td class="${cls}" data-k="${key}" data-sig="${t.clear ? 'yes' : 'no'}" title="${title}">${formatPp(pp)}${t.clear ? html`<span class="sig"> *</span>` : ''}</td>`;
}

function changeCell(r: WeeklyRow, k: ChangeKey, upIsGood: boolean): SafeHtml {
  return changeTd(r.changePp[k], r.changeTests[k], `d-${k}`, upIsGood);
}

/** A share and, in a muted span, its 95 % interval (held back when there are too few probes). */
export function shareWithInterval(share: number | null, iv: readonly [number, number] | null, tooFew: boolean): SafeHtml {
  if (share === null || tooFew || !iv) return html`${formatPercent(share)}`;
  return html`${formatPercent(share)}<span class="ci"> (${formatInterval(iv)})</span>`;
}

/** The probe count, with a muted "too few probes" when the shares beside it say little. */
export function probesWithNote(probes: number, tooFew: boolean): SafeHtml {
  return tooFew ? html`${probes}<span class="few" title="fewer than ${MIN_PROBES_FOR_SHARE} resolved probes: shares shown without their intervals"> ${TOO_FEW_PROBES}</span>` : html`${probes}`;
}

/** One path against its provider's best path, as a list item: bad when worse, warn when test and interval disagree. */
export function comparisonItem(c: PathComparison): SafeHtml {
  const cls = c.verdict === 'worse' ? 'bad' : c.verdict === 'unclear' ? 'warn' : 'muted';
  return html`<li data-compare="${c.provider}|${c.path}" data-verdict="${c.verdict}" class="${cls}">${describePathComparison(c)}</li>`;
}

/** The tabs / other cell: each tab holding a probe with its share and interval (text as tabsSummary). */
export function tabsTd(s: TabStats): SafeHtml {
  const tabs = tabShares(s);
  if (tabs.length === 0) return html`<td data-k="tabs" class="muted">–</td>`;
  return html`<td data-k="tabs">${tabs.map((t, i) => html`${i ? ', ' : ''}${t.tab} ${shareWithInterval(t.share, t.interval, s.tooFewProbes)}`)}</td>`;
}

function shareCell(s: PeriodStats, key: RateKey, cls: string): SafeHtml {
  return html`<td class="${cls}" data-k="${key}">${shareWithInterval(rateOf(s, key), s.intervals[key], s.tooFewProbes)}</td>`;
}

function statsCells(s: PeriodStats): SafeHtml[] {
  return [
    html`<td data-k="probes">${probesWithNote(s.probes, s.tooFewProbes)}</td>`,
    shareCell(s, 'inbox', inboxClass(s.shares.inbox)),
    shareCell(s, 'spam', badShareClass(s.shares.spam)),
    tabsTd(s),
    shareCell(s, 'missing', badShareClass(s.shares.missing)),
    shareCell(s, 'late', badShareClass(s.lateShare)),
    shareCell(s, 'duplicate', badShareClass(s.duplicateShare)),
    html`<td data-k="p50">${formatSeconds(s.latencyP50Seconds)}</td>`,
    html`<td data-k="p95">${formatSeconds(s.latencyP95Seconds)}</td>`,
  ];
}

const STATS_HEAD = html`<th>probes</th><th>inbox</th><th>spam</th><th title="Gmail tabs (promotions, social, updates, forums) and other folders">tabs / other</th><th>missing</th><th>late</th><th>dup.</th><th>p50</th><th>p95</th>`;

function weekTable(rows: WeeklyRow[], withProvider: boolean, id: string): SafeHtml {
  const body = rows.map((r) => {
    const c = r.current;
    const a = c.authFailures;
    return html`<tr data-row="${r.provider}|${r.path}">${withProvider ? html`<td class="l">${r.provider}</td>` : ''}<td class="l">${r.path}</td>${statsCells(c)}${changeCell(r, 'inbox', true)}${changeCell(r, 'spam', false)}${changeCell(r, 'missing', false)}<td data-k="d-p95" class="muted">${r.latencyP95ChangeSeconds === null ? '–' : `${r.latencyP95ChangeSeconds > 0 ? '+' : r.latencyP95ChangeSeconds < 0 ? '−' : '±'}${formatSeconds(Math.abs(r.latencyP95ChangeSeconds))}`}</td><td data-k="auth" class="${a.spf + a.dkim + a.dmarc ? 'bad' : 'muted'}">${a.spf} / ${a.dkim} / ${a.dmarc}</td><td data-k="errors" class="${c.sendErrors ? 'bad' : 'muted'}">${c.sendErrors}</td></tr>`;
  });
  return html`<div class="table-wrap"><table id="${id}"><thead><tr>${withProvider ? html`<th class="l">provider</th>` : ''}<th class="l">path</th>${STATS_HEAD}<th>Δ inbox</th><th>Δ spam</th><th>Δ missing</th><th>Δ p95</th><th title="probes whose SPF / DKIM / DMARC verdict was not pass">auth fail</th><th>send err.</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

function headline(r: WeeklyRow): SafeHtml {
  const c = r.current;
  const few = c.tooFewProbes;
  const ci = few ? html` · <span class="few">${TOO_FEW_PROBES}</span>` : html` · 95 %: ${formatInterval(c.intervals.inbox)}`;
  return html`<div class="card" data-path="${r.path}"><div class="label">${r.path} · inbox</div><div class="value ${inboxClass(c.shares.inbox)}">${formatPercent(c.shares.inbox)}</div><div class="detail">${formatPp(r.changePp.inbox)} vs previous week${r.changeTests.inbox?.clear ? ' (significant)' : ''}${ci} · spam ${formatShareInterval(c.shares.spam, c.intervals.spam, few)} · missing ${formatShareInterval(c.shares.missing, c.intervals.missing, few)} · p95 ${formatSeconds(c.latencyP95Seconds)} · ${c.probes} probes</div></div>`;
}

const formatDays = (ms: number) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000} days` : formatSeconds(ms / 1000));

export function renderWeeklyHtml(report: WeeklyReport, opts: WeeklyHtmlOptions = {}): string {
  const title = opts.title ?? 'seedwatch weekly report';
  const labels = report.days.map((d) => d.day.slice(5));
  const inboxSeries: ChartSeries[] = report.rows.map((r) => ({
    name: `${r.provider} / ${r.path}`,
    values: report.days.map((d) => report.daily.find((x) => x.fromMs === d.fromMs && x.provider === r.provider && x.path === r.path)?.stats.shares.inbox ?? null),
  }));
  const latencySeries: ChartSeries[] = report.paths.flatMap((p, i) =>
    (['p95', 'p50'] as const).map((q) => ({
      name: `${p.path} ${q}`,
      dashed: q === 'p50',
      colorGroup: i,
      values: report.days.map((d) => {
        const l = report.dailyLatency.find((x) => x.fromMs === d.fromMs && x.path === p.path);
        return (q === 'p95' ? l?.latencyP95Seconds : l?.latencyP50Seconds) ?? null;
      }),
    })),
  );

  const authList = report.rows
    .filter((r) => r.current.authFailureResults.length)
    .map((r) => html`<li><b>${r.provider} / ${r.path}</b>: ${r.current.authFailureResults.map((a, i) => html`${i ? ', ' : ''}<span class="mono">${a.method}=${a.result}</span> ×${a.count}`)}</li>`);
  const errorList = report.rows
    .filter((r) => r.current.sendErrors)
    .map((r) => html`<li><b>${r.provider} / ${r.path}</b>: ${Object.entries(r.current.sendErrorsByReason).map(([reason, n], i) => html`${i ? ', ' : ''}${reason} ×${n}`)}</li>`);

  const dailyRows = report.daily.map(
    (d) => html`<tr data-day="${d.day}" data-row="${d.provider}|${d.path}"><td class="l">${d.day}</td><td class="l">${d.provider}</td><td class="l">${d.path}</td>${statsCells(d.stats)}</tr>`,
  );

  const nonce = opts.nonce ? html` nonce="${opts.nonce}"` : '';
  const body =
    report.rows.length === 0
      ? html`<section><p class="muted">No probes in either period.</p></section>${reputationHtml(report)}`
      : html`
<section><div class="cards">${report.paths.map(headline)}</div></section>
<section class="grid2">
${lineChart({ title: 'Daily inbox share per provider × path', labels, series: inboxSeries, yMax: 1, format: (v) => `${Math.round(v * 100)}%` })}
${lineChart({ title: 'Delivery latency per path (p95 solid, p50 dashed)', labels, series: latencySeries, format: (v) => formatSeconds(v) })}
</section>
<section><h2>By path <span class="hint">all providers</span></h2>${weekTable(report.paths, false, 'by-path')}</section>
<section><h2>By provider × path <span class="hint">shares of resolved probes with their 95 % intervals; Δ vs the previous period in percentage points, * where the change is significant (p &lt; 0.05 and its 95 % interval excludes 0)</span></h2>${weekTable(report.rows, true, 'by-cell')}</section>
<section><h2>Is one path worse? <span class="hint">spam share of each path against the provider's best path: difference with its 95 % interval, two-sided p; worse when both say so (p &lt; 0.05 and the interval above 0), "may be worse" when only one does</span></h2>${report.comparisons.length ? html`<ul class="plain compare" id="comparisons">${report.comparisons.map(comparisonItem)}</ul>` : html`<p class="muted" id="comparisons">No provider was probed over two paths.</p>`}</section>
${reputationHtml(report)}
<section class="grid2">
<div><h2>Authentication failures <span class="hint">verdicts as recorded</span></h2>${authList.length ? html`<ul class="plain" id="auth-failures">${authList}</ul>` : html`<p class="muted">None: every verdict recorded was a pass.</p>`}</div>
<div><h2>Send errors</h2>${errorList.length ? html`<ul class="plain" id="send-errors">${errorList}</ul>` : html`<p class="muted">None.</p>`}</div>
</section>
<section><h2>Per day <span class="hint">UTC</span></h2><div class="table-wrap"><table id="daily"><thead><tr><th class="l">day</th><th class="l">provider</th><th class="l">path</th>${STATS_HEAD}</tr></thead><tbody>${dailyRows}</tbody></table></div></section>`;

  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${formatUtc(report.startMs)} → ${formatUtc(report.endMs)}</title>
<style${nonce}>${rawHtml(BASE_CSS)}</style></head>
<body>
<header class="top"><h1>${title}</h1><span class="sub" id="period">${formatUtc(report.startMs)} → ${formatUtc(report.endMs)} · compared with the ${formatDays(report.startMs - report.previousStartMs)} before</span>${opts.links?.length ? html`<nav>${opts.links.map((l) => html`<a href="${l.href}">${l.label}</a>`)}</nav>` : ''}</header>
<main>${body}</main>
<footer>Shares are of resolved probes (accepted, and seen or past their deadline); the range beside a share is its 95 % Wilson interval, where the true share lies with 95 % confidence given the probes seen (held back below ${MIN_PROBES_FOR_SHARE} probes: too few to say). Latency: SMTP accept → arrival at the provider; nearest-rank percentiles. Generated by seedwatch ${VERSION}${opts.generatedAtMs !== undefined ? html` at ${formatUtc(opts.generatedAtMs)}` : ''}.</footer>
</body></html>
`;
  return doc.value;
}
