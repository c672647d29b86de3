/**
 * "Reputation by path" in the weekly report's HTML (Markdown: weekly-markdown.ts; the JSON
 * carries `reputation` as built by weekly-reputation.ts). Names, IPs, days and numbers only,
 * escaped by html`` all the same.
 */
import { html, type SafeHtml } from './html.js';
import { lineChart } from './svg-chart.js';
import type { WeeklyReport } from './weekly-report.js';

/** Google's bulk-sender line for the user-reported spam rate, and the early-warning line. */
export const GMAIL_SPAM_RATE_LIMIT = 0.003;
export const GMAIL_SPAM_RATE_WARN = 0.001;

/** A ratio as a percentage with two decimals (spam rates live around 0.1 %). */
export function formatRate(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${(Math.round(v * 10_000) / 100).toFixed(2)}%`;
}

const rateClass = (v: number | null) => (v === null ? 'muted' : v >= GMAIL_SPAM_RATE_LIMIT ? 'bad' : v >= GMAIL_SPAM_RATE_WARN ? 'warn' : 'ok');

export function reputationHtml(report: WeeklyReport): SafeHtml | '' {
  const r = report.reputation;
  if (!r) return '';
  const labels = report.days.map((d) => d.day.slice(5));
  const dnsbl = r.dnsbl.length
    ? html`<div class="table-wrap"><table id="rep-dnsbl"><thead><tr><th class="l">path</th><th class="l">IP</th><th class="l">zone</th><th>days listed</th><th class="l">listed on</th></tr></thead><tbody>${r.dnsbl.map(
        (x) =>
          html`<tr data-row="${x.path}|${x.ip}|${x.zone}"><td class="l">${x.path}</td><td class="l mono">${x.ip}</td><td class="l">${x.zone}</td><td data-k="listed" class="${x.daysListed ? 'bad' : 'ok'}">${x.daysListed} of ${x.daysChecked}</td><td class="l" data-k="days">${x.listedDays.map((d) => d.slice(5)).join(', ') || '–'}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No DNSBL lookups in this period.</p>`;
  const snds = r.snds.length
    ? html`<div class="table-wrap"><table id="rep-snds"><thead><tr><th class="l">path</th><th class="l">IP</th>${labels.map((l) => html`<th>${l}</th>`)}<th>trap hits</th><th>max complaints</th></tr></thead><tbody>${r.snds.map(
        (x) =>
          html`<tr data-row="${x.path ?? ''}|${x.ip}"><td class="l">${x.path ?? html`<span class="muted">(no path)</span>`}</td><td class="l mono">${x.ip}</td>${x.days.map((c, i) => html`<td data-day="${report.days[i].day}" data-k="snds" title="${c ?? 'no data'}"><span class="swatch ${c ?? ''}"></span></td>`)}<td data-k="traps" class="${x.trapHits ? 'bad' : 'muted'}">${x.trapHits}</td><td data-k="complaints">${formatRate(x.maxComplaintRate)}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No Microsoft SNDS data in this period.</p>`;
  const postmaster = r.postmaster.length
    ? html`${lineChart({
        title: 'Gmail user-reported spam rate per day (Postmaster Tools)',
        labels,
        series: r.postmaster.map((p) => ({ name: p.domain, values: p.days })),
        format: (v) => formatRate(v),
      })}<div class="table-wrap"><table id="rep-postmaster"><thead><tr><th class="l">domain</th><th>latest</th><th>highest</th></tr></thead><tbody>${r.postmaster.map(
        (p) => html`<tr data-row="${p.domain}"><td class="l">${p.domain}</td><td data-k="latest" class="${rateClass(p.latest)}">${formatRate(p.latest)}</td><td data-k="max" class="${rateClass(p.max)}">${formatRate(p.max)}</td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="muted">No Gmail Postmaster Tools data in this period.</p>`;
  return html`<section id="reputation"><h2>Reputation by path <span class="hint">days each egress IP was seen on a DNSBL, Microsoft SNDS filter result per day (green, yellow, red), Gmail's user-reported spam rate (keep it below 0.30 %)</span></h2>
<section class="grid2"><div><h3>DNSBL listings</h3>${dnsbl}</div><div><h3>Gmail Postmaster Tools</h3>${postmaster}</div></section>
<h3>Microsoft SNDS</h3>${snds}</section>`;
}
