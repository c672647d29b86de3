/**
 * The status page: server-side rendered, inline CSS, one small inline script (CSP nonce)
 * that re-fetches the page and swaps <main> so it stays current without losing scroll.
 * Pure: StatusData in, HTML out. Everything from a mail header (subject, verdicts, Microsoft
 * stamps, folder names) or a remote server (SMTP replies, IMAP errors) is escaped by html``.
 */
import { cellKey, comparePaths, matrixTotal, resolvableDifferences, windowChange, type MatrixCell } from '../domain/placement-matrix.js';
import type { FleetView } from '../fleet/fleet.js';
import { MIN_PROBES_FOR_SHARE } from '../domain/statistics.js';
import { formatAgo, formatInterval, formatPercent, formatPp, formatSeconds, formatUtc, formatUtcTime, TOO_FEW_PROBES } from '../report/format.js';
import { html, rawHtml, type SafeHtml } from '../report/html.js';
import { BASE_CSS } from '../report/style.js';
import { badShareClass, changeTd, comparisonItem, inboxClass, probesWithNote, shareWithInterval, tabsTd } from '../report/weekly-html.js';
import type { ProbeWithEvidence, StatusData, StatusWindow } from './status-data.js';
import { egressVerdict } from '../analyze/ingress-ip.js';
import { renderReputationBlock, summarizeEgress } from './reputation-block.js';

export interface StatusPageOptions {
  title?: string;
  nonce?: string;
  /** How often the page refreshes itself. */
  refreshSeconds?: number;
}

/** Default self-refresh period: about one probe cycle of the demo, cheap for the ledger. */
export const DEFAULT_REFRESH_SECONDS = 15;

/**
 * Script refreshing <main> in place; pauses while the tab is hidden; marks the page stale on
 * failure. Only <main> is parsed (in an inert <template>): parsing the whole new page would
 * meet its <style> with a different nonce and log a CSP violation. Data cannot forge the
 * <main> markers: every value in the page is escaped.
 */
function refreshScript(seconds: number): string {
  return `(function(){
var ms=${Math.max(2, Math.round(seconds)) * 1000};
function tick(){
  if(document.hidden)return;
  fetch(location.href,{cache:'no-store',credentials:'same-origin',headers:{Accept:'text/html'}})
    .then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.text();})
    .then(function(t){
      var a=t.indexOf('<main>'),b=t.lastIndexOf('</main>');
      if(a<0||b<a)throw new Error('no main');
      var tpl=document.createElement('template');
      tpl.innerHTML=t.slice(a,b+7);
      document.querySelector('main').replaceWith(tpl.content.firstElementChild);
      document.body.classList.remove('is-stale');
    })
    .catch(function(){document.body.classList.add('is-stale');});
}
setInterval(tick,ms);
document.addEventListener('visibilitychange',function(){if(!document.hidden)tick();});
})();`;
}

function card(label: string, value: string, cls: string, detail: string, key: string): SafeHtml {
  return html`<div class="card" data-card="${key}"><div class="label">${label}</div><div class="value ${cls}">${value}</div><div class="detail">${detail}</div></div>`;
}

/**
 * A row's Δ spam: the change of its spam share against the window of the same length before
 * (the weekly report's week-over-week test, windowChange), * where significant; "–" when either
 * window resolved nothing.
 */
function spamChange(c: MatrixCell, previous: ReadonlyMap<string, MatrixCell> | null): SafeHtml | '' {
  if (previous === null) return '';
  const before = previous.get(cellKey(c));
  const t = before ? windowChange(c, before, 'spam') : null;
  return changeTd(t ? t.diff * 100 : null, t, 'd-spam', false);
}

function matrix(w: StatusWindow, nowMs: number, id: string, before: string): SafeHtml {
  const cells = w.cells;
  if (cells.length === 0) return html`<p class="muted" id="${id}">No probes in this window.</p>`;
  const previous = w.previousCells ? new Map(w.previousCells.map((c) => [cellKey(c), c])) : null;
  const rows = cells.map((c) => {
    const a = c.authFailures;
    const few = c.tooFewProbes;
    // Late and duplicate are rates of the resolved probes, with intervals as every share; the
    // counts behind them are in the hover text.
    const dupTitle = `${c.duplicatedProbes} of ${c.resolved} resolved probes arrived more than once (${c.duplicates} extra copies)`;
    const lateTitle = `${c.late} of ${c.resolved} resolved probes had a copy after the deadline`;
    return html`<tr data-row="${c.provider}|${c.path}"><td class="l"><b>${c.provider}</b></td><td class="l">${c.path}</td><td data-k="probes">${probesWithNote(c.probes, few)}</td><td data-k="inbox" class="${inboxClass(c.shares.inbox)}">${shareWithInterval(c.shares.inbox, c.intervals.inbox, few)}</td><td data-k="spam" class="${badShareClass(c.shares.spam)}">${shareWithInterval(c.shares.spam, c.intervals.spam, few)}</td>${spamChange(c, previous)}${tabsTd(c)}<td data-k="missing" class="${badShareClass(c.shares.missing)}">${shareWithInterval(c.shares.missing, c.intervals.missing, few)}</td><td data-k="inflight" class="muted">${c.inFlight}</td><td data-k="duplicate" class="${badShareClass(c.duplicateShare)}" title="${dupTitle}">${shareWithInterval(c.duplicateShare, c.intervals.duplicate, few)}</td><td data-k="late" class="${badShareClass(c.lateShare)}" title="${lateTitle}">${shareWithInterval(c.lateShare, c.intervals.late, few)}</td><td data-k="p95">${formatSeconds(c.latencyP95Seconds)}</td><td data-k="auth" class="${a.spf + a.dkim + a.dmarc ? 'bad' : 'muted'}">${a.spf} / ${a.dkim} / ${a.dmarc}</td><td data-k="errors" class="${c.sendErrors ? 'bad' : 'muted'}">${c.sendErrors}</td><td data-k="last" class="l" title="${formatUtc(c.lastProbeAtMs)}">${formatAgo(c.lastProbeAtMs, nowMs)}</td></tr>`;
  });
  const compared = comparePaths(cells);
  const comparisons = compared.length ? html`<ul class="plain compare" id="${id}-compare">${compared.map(comparisonItem)}</ul>` : '';
  const changeHead = previous ? html`<th title="spam share against ${before}, in points; * where the change is significant (p &lt; 0.05 and its 95 % interval excludes 0); hover for its 95 % interval">Δ spam</th>` : '';
  return html`<div class="table-wrap"><table id="${id}"><thead><tr><th class="l">provider</th><th class="l">path</th><th>probes</th><th>inbox</th><th>spam</th>${changeHead}<th title="Gmail tabs (promotions, social, updates, forums) and other folders">tabs / other</th><th>missing</th><th>in flight</th><th title="share of resolved probes that arrived more than once">dup.</th><th title="share of resolved probes with a copy after the deadline">late</th><th>p95 latency</th><th title="probes whose SPF / DKIM / DMARC verdict was not pass">auth fail</th><th>send err.</th><th class="l">last probe</th></tr></thead><tbody>${rows}</tbody></table></div>${comparisons}`;
}

/**
 * Per provider probed over two paths: the smallest spam difference between its paths that the
 * counts of the window can resolve (80 % power, two-sided α = 0.05) — what a reader needs to
 * know before reading "not distinguishable" as "the same".
 */
function resolvable(cells: MatrixCell[]): SafeHtml | '' {
  const list = resolvableDifferences(cells);
  if (list.length === 0) return '';
  const items = list.map(
    (r) =>
      html`<li data-provider="${r.provider}">${r.provider}: ${r.difference === null ? 'none yet' : html`${formatPp(r.difference * 100).replace('+', '')} or more`} <span class="muted">(${r.n} probes on the smallest path, best path at ${formatPercent(r.baseline)} spam)</span></li>`,
  );
  return html`<p class="muted">Smallest spam difference between paths these 24 hours can resolve (80 % power, p &lt; 0.05):</p><ul class="plain" id="resolvable">${items}</ul>`;
}

function str(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function authPart(v: string | undefined, key: string): SafeHtml {
  if (!v) return html`<span data-k="${key}" class="muted">–</span>`;
  return html`<span data-k="${key}" class="${v === 'pass' ? 'ok' : 'bad'}">${v}</span>`;
}

function resultBadge(p: ProbeWithEvidence['probe']): SafeHtml {
  if (p.status === 'failed' || p.status === 'ambiguous') return html`<span class="badge bad">${p.status === 'ambiguous' ? 'ambiguous' : `send ${p.errorReason ?? 'error'}`}</span>`;
  if (p.status === 'sending') return html`<span class="badge">sending</span>`;
  if (p.outcome === null) return html`<span class="badge">in flight</span>`;
  const cls = p.outcome === 'inbox' ? 'ok' : p.outcome === 'spam' || p.outcome === 'missing' ? 'bad' : 'warn';
  return html`<span class="badge ${cls}">${p.outcome}</span>`;
}

/** One of the four timestamps: HH:MM:SS shown, the exact time and the offset from t1 on hover. */
function timeCell(ms: number | null | undefined, t1: number | null, key: string): SafeHtml {
  if (ms === null || ms === undefined) return html`<td class="mono muted" data-k="${key}">–</td>`;
  const offset = t1 !== null && key !== 't1' ? ` (t1 ${ms >= t1 ? '+' : '−'}${formatSeconds(Math.abs(ms - t1) / 1000)})` : '';
  return html`<td class="mono" data-k="${key}" data-ms="${ms}" title="${new Date(ms).toISOString()}${offset}">${formatUtcTime(ms).slice(0, 8)}</td>`;
}

/** The IP the provider saw the first copy come from, coloured by whether it is one of the path's. */
function ingressCell(x: ProbeWithEvidence, egressIps: Readonly<Record<string, readonly string[]>>): SafeHtml {
  const first = x.observations.find((o) => o.copyNumber === 1);
  if (!first) return html`<td class="l mono muted" data-k="ingress">–</td>`;
  const ip = str(first.evidence.ingressIp);
  const v = egressVerdict(ip, egressIps[x.probe.path]);
  const why = str(first.evidence.ingressIpUnknown);
  if (ip === undefined) return html`<td class="l muted" data-k="ingress" data-verdict="${v}" title="${why ?? ''}">unknown</td>`;
  const cls = v === 'match' ? 'ok' : v === 'mismatch' ? 'bad' : '';
  const title = v === 'mismatch' ? `not one of the ${x.probe.path} path's IPs (${(egressIps[x.probe.path] ?? []).join(', ')})` : `recorded by ${str(first.evidence.ingressHop) ?? 'the provider'}`;
  return html`<td class="l mono ${cls}" data-k="ingress" data-verdict="${v}" title="${title}">${ip}</td>`;
}

function probeRow(x: ProbeWithEvidence, nowMs: number, egressIps: Readonly<Record<string, readonly string[]>>): SafeHtml {
  const p = x.probe;
  const first = x.observations[0];
  const ev = (first?.evidence ?? {}) as Record<string, unknown>;
  const ms = ev.microsoft && typeof ev.microsoft === 'object' ? (ev.microsoft as Record<string, unknown>) : {};
  const scl = str(ms.scl);
  const bcl = str(ms.bcl);
  const subject = str(ev.subject);
  // The latency the ledger recorded (the domain's, with whole-second stamps taken as mid-second),
  // so the page says what /api/summary and the metrics say.
  const latency = first && first.kind === 'first' && first.deliveryLatencyMs !== null ? first.deliveryLatencyMs / 1000 : null;
  const extra = x.observations.length > 1 ? html` <span class="badge warn">${x.observations.length} copies</span>` : '';
  const lateNote = x.observations.some((o) => o.kind === 'late') ? html` <span class="badge warn">late</span>` : '';
  const detail =
    p.status === 'failed' || p.status === 'ambiguous'
      ? html`<span class="bad">${p.errorMessage ?? `${p.smtpCode ?? ''} ${p.smtpText ?? ''}`}</span>`
      : html`${subject ?? ''}`;
  return html`<tr data-probe="${p.id}"><td class="l" title="${formatUtc(p.createdAtMs)}, ${formatAgo(p.createdAtMs, nowMs)}">${formatUtcTime(p.createdAtMs).slice(0, 8)}</td><td class="l mono"><a href="api/probes/${p.id}" title="${p.id} (JSON with every copy's evidence)">…${p.id.slice(-8)}</a></td><td class="l">${p.path}</td><td class="l" title="${p.provider}">${p.seed}</td><td class="l" data-k="result">${resultBadge(p)}${extra}${lateNote}</td><td class="l wrap narrow" data-k="folder">${first?.folder ?? '–'}</td>${ingressCell(x, egressIps)}<td class="l wrap narrow" data-k="auth">${authPart(first?.auth.spf, 'spf')} / ${authPart(first?.auth.dkim, 'dkim')} / ${authPart(first?.auth.dmarc, 'dmarc')}</td><td class="wrap narrow" data-k="scl"><span class="${scl !== undefined && Number(scl) >= 5 ? 'bad' : ''}">${scl ?? '–'}</span>${bcl !== undefined ? html`<span class="muted"> / ${bcl}</span>` : ''}</td>${timeCell(p.acceptedAtMs, p.acceptedAtMs, 't1')}${timeCell(first?.arrivedAtMs, p.acceptedAtMs, 't2')}${timeCell(first?.internalDateMs, p.acceptedAtMs, 't3')}${timeCell(first?.observedAtMs, p.acceptedAtMs, 't4')}<td data-k="latency">${latency !== null && Number.isFinite(latency) ? formatSeconds(Math.max(0, latency)) : '–'}</td><td class="l wrap" data-k="subject">${detail}</td></tr>`;
}

/** Fleet mode: every live agent with the seeds whose lease it holds (this one marked). */
function fleetSection(f: FleetView, nowMs: number): SafeHtml {
  const rows = f.agents.map(
    (a) =>
      html`<tr data-agent="${a.name}"><td class="l"><b>${a.name}</b>${a.name === f.agent ? html` <span class="muted">(this agent)</span>` : ''}</td><td>${a.heartbeatAtMs > 0 ? `${Math.max(0, Math.round((nowMs - a.heartbeatAtMs) / 1000))} s ago` : '-'}</td><td class="l wrap" data-k="seeds">${a.seeds.join(', ') || '-'}</td></tr>`,
  );
  return html`<section><h2>Fleet <span class="hint">agents sharing the PostgreSQL ledger; each seed is watched by the agent holding its lease</span></h2><div class="table-wrap"><table id="fleet"><thead><tr><th class="l">agent</th><th>heartbeat</th><th class="l">seeds held</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

export function renderStatusPage(d: StatusData, opts: StatusPageOptions = {}): string {
  const title = opts.title ?? 'seedwatch';
  const refresh = opts.refreshSeconds ?? DEFAULT_REFRESH_SECONDS;
  const nonce = opts.nonce ? html` nonce="${opts.nonce}"` : '';
  const h = matrixTotal(d.hour.cells);
  const up = d.mailboxes.filter((m) => m.up).length;

  /** "4 of 7 resolved · 95 %: 25–84%" (or "· too few probes"). */
  const detail = (o: 'inbox' | 'spam' | 'missing') =>
    `${h.counts[o]} of ${h.resolved} resolved · ${h.tooFewProbes ? TOO_FEW_PROBES : `95 %: ${formatInterval(h.intervals[o])}`}`;
  const cards = [
    card('probes, last hour', String(h.probes), '', `${h.resolved} resolved · ${h.inFlight} in flight`, 'probes'),
    card('inbox, last hour', formatPercent(h.shares.inbox), inboxClass(h.shares.inbox), detail('inbox'), 'inbox'),
    card('spam, last hour', formatPercent(h.shares.spam), badShareClass(h.shares.spam), detail('spam'), 'spam'),
    card('missing, last hour', formatPercent(h.shares.missing), badShareClass(h.shares.missing), detail('missing'), 'missing'),
    card('send errors, last hour', String(h.sendErrors), h.sendErrors ? 'bad' : 'ok', 'rejected, deferred, connection, …', 'errors'),
    card('mailboxes up', `${up} / ${d.mailboxes.length}`, d.mailboxes.length === 0 ? 'muted' : up === d.mailboxes.length ? 'ok' : 'bad', 'IMAP sessions healthy', 'mailboxes'),
  ];

  const mailboxRows = d.mailboxes.map((m) => {
    const state = m.up ? html`<span class="up">up</span>` : m.connectedOnce ? html`<span class="down">down</span>` : html`<span class="warn">connecting</span>`;
    return html`<tr data-seed="${m.seed}"><td class="l"><b>${m.seed}</b></td><td class="l">${m.provider}</td><td class="l" data-k="state">${state}</td><td class="l wrap" data-k="error">${m.lastError?.message ?? ''}</td></tr>`;
  });

  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · status</title>
<noscript><meta http-equiv="refresh" content="${refresh * 2}"></noscript>
<style${nonce}>${rawHtml(BASE_CSS)}</style></head>
<body>
<header class="top"><h1>${title}</h1><span class="sub">inbox placement per egress path</span><span class="stale">· refresh failed, data may be stale</span>
<nav><a href="report/weekly">weekly report</a><a href="report/weekly?format=csv">CSV</a><a href="api/summary?window=1h">API</a><a href="metrics">metrics</a></nav></header>
<main>
<p class="muted" id="updated">Updated ${formatUtc(d.nowMs)} · refreshes every ${refresh} s</p>
<section><div class="cards">${cards}</div></section>
<section><h2>Placement, last hour <span class="hint">provider × path; shares of resolved probes with their 95 % intervals; Δ spam against the hour before, * where significant; paths compared on spam share</span></h2>${matrix(d.hour, d.nowMs, 'matrix-hour', 'the hour before')}</section>
<section><h2>Placement, last 24 hours <span class="hint">Δ spam against the 24 hours before</span></h2>${matrix(d.day, d.nowMs, 'matrix-day', 'the 24 hours before')}${resolvable(d.day.cells)}</section>
${renderReputationBlock(d.reputation ?? null, summarizeEgress(d.latest, d.egressIps ?? {}), d.nowMs)}
<section><h2>Latest probes <span class="hint">evidence of the first copy; times UTC (hover for milliseconds and the offset from t1); the id links to the JSON</span></h2>
${d.latest.length === 0 ? html`<p class="muted">No probes yet.</p>` : html`<div class="table-wrap"><table id="probes"><thead><tr><th class="l">created</th><th class="l">probe</th><th class="l">path</th><th class="l">seed</th><th class="l">result</th><th class="l">folder</th><th class="l" title="the connecting IP recorded by the provider's ingress hop (first copy); red when it is not one of the path's ips">ingress IP</th><th class="l">SPF / DKIM / DMARC</th><th>SCL / BCL</th><th title="SMTP accept">t1 accepted</th><th title="topmost Received at the provider">t2 arrived</th><th title="IMAP INTERNALDATE">t3 internal</th><th title="seen by the agent">t4 observed</th><th>latency</th><th class="l">subject / error</th></tr></thead><tbody>${d.latest.map((x) => probeRow(x, d.nowMs, d.egressIps ?? {}))}</tbody></table></div>`}</section>
${d.fleet && d.fleet.mode === 'postgres' ? fleetSection(d.fleet, d.nowMs) : ''}
<section><h2>Mailbox health</h2>${d.mailboxes.length === 0 ? html`<p class="muted">No mailboxes are watched by this agent.</p>` : html`<div class="table-wrap"><table id="mailboxes"><thead><tr><th class="l">seed</th><th class="l">provider</th><th class="l">IMAP</th><th class="l">last error</th></tr></thead><tbody>${mailboxRows}</tbody></table></div>`}</section>
</main>
<footer>Served by seedwatch from its ledger. Shares are of resolved probes (accepted, and seen or past their deadline); the range beside a share is its 95 % Wilson interval, where the true share lies with 95 % confidence given the probes seen (held back below ${MIN_PROBES_FOR_SHARE} probes: too few to say). A path is worse than its provider's best path when the two-sided test (p &lt; 0.05) and the 95 % interval of the difference (above 0) both say so; "may be worse" when only one does.</footer>
<script${nonce}>${rawHtml(refreshScript(refresh))}</script>
</body></html>
`;
  return doc.value;
}
