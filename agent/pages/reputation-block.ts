/**
 * The status page's "Reputation" block: per path IP what the DNSBLs, DNS (FCrDNS, HELO, SPF)
 * and Microsoft SNDS say, which IPs the providers saw the latest probes come from, Gmail
 * Postmaster Tools per domain, and the latest failures of the sources. Pure: data in, escaped
 * markup out (TXT reasons, SNDS comments and error messages come from other servers: untrusted).
 */
import { egressVerdict } from '../analyze/ingress-ip.js';
import { formatAgo, formatUtc } from '../report/format.js';
import { html, type SafeHtml } from '../report/html.js';
import { formatRate, GMAIL_SPAM_RATE_LIMIT, GMAIL_SPAM_RATE_WARN } from '../report/weekly-reputation-html.js';
import type { DnsblEntry, HygieneEntry, ReputationSnapshot, SndsIpEntry } from '../reputation/reputation-state.js';
import type { ProbeWithEvidence } from './status-data.js';

/** Per path: the ingress IPs of the latest probes' first copies against the path's ips. */
export interface EgressSummary {
  path: string;
  ips: readonly string[];
  match: number;
  mismatch: number;
  unknown: number;
  /** IPs seen that are not the path's, with how many copies. */
  foreign: Record<string, number>;
}

export function summarizeEgress(latest: readonly ProbeWithEvidence[], egressIps: Readonly<Record<string, readonly string[]>>): EgressSummary[] {
  const out = new Map<string, EgressSummary>();
  for (const [path, ips] of Object.entries(egressIps)) if (ips.length > 0) out.set(path, { path, ips, match: 0, mismatch: 0, unknown: 0, foreign: {} });
  for (const x of latest) {
    const s = out.get(x.probe.path);
    const first = x.observations.find((o) => o.copyNumber === 1);
    if (!s || !first) continue;
    const ip = first.evidence.ingressIp;
    const v = egressVerdict(ip, s.ips);
    if (v === 'match') s.match++;
    else if (v === 'unknown') s.unknown++;
    else if (v === 'mismatch') {
      s.mismatch++;
      s.foreign[String(ip)] = (s.foreign[String(ip)] ?? 0) + 1;
    }
  }
  return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function dnsblCell(entries: DnsblEntry[], zones: number): SafeHtml {
  if (zones === 0) return html`<td class="muted" data-k="dnsbl">not checked</td>`;
  const listed = entries.filter((e) => e.status === 'listed');
  const failing = entries.filter((e) => e.error);
  const unknown = entries.filter((e) => e.status === 'unknown');
  const items = listed.map(
    (e) => html`<div class="bad" data-zone="${e.zone}" title="${e.reasons.join(' · ') || e.codes.join(', ')}">listed on ${e.zone}${e.listedSinceMs !== null ? html` <span class="muted">since ${formatUtc(e.listedSinceMs)}</span>` : ''}${e.reasons.length ? html`<div class="muted wrap-text">${e.reasons[0]}</div>` : ''}</div>`,
  );
  const clear = entries.length - listed.length - unknown.length;
  const note = failing.length ? html`<div class="warn" title="${failing.map((e) => `${e.zone}: ${e.error!.message}`).join(' · ')}">${failing.length} lookup(s) failing</div>` : '';
  if (listed.length === 0) {
    return html`<td data-k="dnsbl"><span class="${unknown.length === entries.length ? 'muted' : 'ok'}">${unknown.length === entries.length ? 'not known yet' : `clear on ${clear} of ${zones}`}</span>${note}</td>`;
  }
  return html`<td data-k="dnsbl">${items}${note}</td>`;
}

function hygieneCells(h: HygieneEntry | undefined, enabled: boolean): SafeHtml {
  if (!enabled) return html`<td class="muted" data-k="fcrdns">–</td><td class="muted" data-k="helo">–</td><td class="muted" data-k="spf">–</td>`;
  if (!h) return html`<td class="muted" data-k="fcrdns">not known yet</td><td class="muted" data-k="helo">–</td><td class="muted" data-k="spf">–</td>`;
  const f = h.fcrdns;
  const fcrdns =
    f.status === 'ok'
      ? html`<td data-k="fcrdns" class="ok" title="PTR ${f.ptr.join(', ')}">ok · ${f.confirmed[0]}</td>`
      : f.status === 'fail'
        ? html`<td data-k="fcrdns" class="bad" title="${f.ptr.length ? `PTR ${f.ptr.join(', ')} does not resolve back` : 'no PTR'}">${f.ptr.length ? `${f.ptr[0]} does not confirm` : 'no PTR'}</td>`
        : html`<td data-k="fcrdns" class="muted">unknown</td>`;
  const helo = h.helo
    ? html`<td data-k="helo" class="${h.helo.ok === null ? 'muted' : h.helo.ok ? 'ok' : 'bad'}">${h.helo.name}${h.helo.ok === false ? ' ≠ PTR' : ''}</td>`
    : html`<td data-k="helo" class="muted">relay</td>`;
  const spf =
    h.spf.status === 'unknown'
      ? html`<td data-k="spf" class="muted">unknown</td>`
      : html`<td data-k="spf" class="${h.spf.status === 'pass' ? 'ok' : 'bad'}" title="SPF of ${h.spf.domain}">${h.spf.result ?? h.spf.status}</td>`;
  return html`${fcrdns}${helo}${spf}`;
}

function sndsCell(e: SndsIpEntry | undefined, enabled: boolean): SafeHtml {
  if (!enabled) return html`<td class="muted" data-k="snds">–</td>`;
  if (!e) return html`<td class="muted" data-k="snds">no data</td>`;
  const cls = e.filterResult === 'GREEN' ? 'ok' : e.filterResult === 'YELLOW' ? 'warn' : 'bad';
  return html`<td data-k="snds"><span class="badge ${cls}">${e.filterResult}</span> <span class="muted">${e.day} · complaints ${e.complaintRateText || '–'} · traps ${e.trapHits} · ${e.recipients} rcpt</span>${e.blocked ? html` <span class="badge bad" title="${e.blockedReason ?? ''}">blocked</span>` : ''}</td>`;
}

function egressCell(s: EgressSummary | undefined, ip: string): SafeHtml {
  if (!s) return html`<td class="muted" data-k="egress">–</td>`;
  const seen = s.match + s.mismatch + s.unknown;
  if (seen === 0) return html`<td class="muted" data-k="egress">no copies yet</td>`;
  const foreign = Object.entries(s.foreign);
  const title = `${s.match} of ${seen} latest first copies came from the path's IPs (${s.ips.join(', ')})`;
  // One line per path (on its first IP's row).
  if (ip !== s.ips[0]) return html`<td class="muted" data-k="egress">″</td>`;
  return html`<td data-k="egress" class="${s.mismatch ? 'bad' : s.unknown ? 'warn' : 'ok'}" title="${title}">${s.match}/${seen} from its IPs${foreign.length ? html`<div>${foreign.map(([fip, n], i) => html`${i ? ', ' : ''}${n} from ${fip}`)}</div>` : ''}${s.unknown ? html`<div class="muted">${s.unknown} without ingress IP</div>` : ''}</td>`;
}

function postmasterSection(r: ReputationSnapshot): SafeHtml | '' {
  const pm = r.postmaster;
  if (!pm) return '';
  const rows = pm.domains.map((d) => {
    const c = d.compliance;
    const needsWork = c ? Object.entries(c.requirements).filter(([, s]) => s === 'NEEDS_WORK').map(([k]) => k) : [];
    const total = c ? Object.keys(c.requirements).length : 0;
    const spamCls = d.spamRate === null ? 'muted' : d.spamRate >= GMAIL_SPAM_RATE_LIMIT ? 'bad' : d.spamRate >= GMAIL_SPAM_RATE_WARN ? 'warn' : 'ok';
    const reject = d.deliveryErrors['reject/all'];
    const temp = d.deliveryErrors['temp_fail/all'];
    return html`<tr data-domain="${d.domain}"><td class="l"><b>${d.domain}</b>${d.verificationState && d.verificationState !== 'VERIFIED' ? html` <span class="badge warn">${d.verificationState}</span>` : ''}</td><td data-k="spam" class="${spamCls}">${formatRate(d.spamRate)}</td><td data-k="day" class="muted">${d.latestDay ?? '–'}</td><td data-k="auth">${formatRate(d.authSuccess.spf)} / ${formatRate(d.authSuccess.dkim)} / ${formatRate(d.authSuccess.dmarc)}</td><td data-k="tls">${formatRate(d.tlsEncryption)}</td><td data-k="errors">${formatRate(reject)} / ${formatRate(temp)}</td><td data-k="compliance" class="l ${needsWork.length ? 'bad' : total ? 'ok' : 'muted'}">${total === 0 ? '–' : needsWork.length ? `needs work: ${needsWork.join(', ')}` : `compliant (${total} requirements)`}</td><td class="l wrap" data-k="error">${d.error ? html`<span class="bad">${d.error.message}</span>` : ''}</td></tr>`;
  });
  return html`<h3>Gmail Postmaster Tools <span class="hint">latest day with data (it lags 1–3 days); Google's bulk-sender line is 0.30 % user-reported spam</span></h3>
<div class="table-wrap"><table id="postmaster"><thead><tr><th class="l">domain</th><th>spam rate</th><th>day</th><th>SPF / DKIM / DMARC pass</th><th>TLS</th><th>reject / temp-fail</th><th class="l">compliance</th><th class="l">last error</th></tr></thead><tbody>${rows}</tbody></table></div>${pm.domainListNote ? html`<p class="muted">${pm.domainListNote}</p>` : ''}`;
}

/** The block, or '' when neither a reputation source nor any path's ips are configured. */
export function renderReputationBlock(r: ReputationSnapshot | null, egress: readonly EgressSummary[], nowMs: number): SafeHtml | '' {
  if (r === null && egress.length === 0) return '';
  const paths = r?.paths ?? egress.map((e) => ({ name: e.path, ips: [...e.ips] }));
  const zones = r?.dnsbl?.zones.length ?? 0;
  const rows = paths.flatMap((p) =>
    p.ips.map((ip) => {
      const dnsbl = (r?.dnsbl?.entries ?? []).filter((e) => e.path === p.name && e.ip === ip);
      const hyg = r?.hygiene?.entries.find((e) => e.path === p.name && e.ip === ip);
      const snds = r?.snds?.ips.find((e) => e.ip === ip);
      return html`<tr data-row="${p.name}|${ip}"><td class="l"><b>${p.name}</b></td><td class="l mono" data-k="ip">${ip}</td>${egressCell(egress.find((e) => e.path === p.name), ip)}${dnsblCell(dnsbl, zones)}${hygieneCells(hyg, r?.hygiene !== undefined)}${sndsCell(snds, r?.snds !== undefined)}</tr>`;
    }),
  );
  const noIps = paths.filter((p) => p.ips.length === 0).map((p) => p.name);
  const checked = [
    r?.dnsbl ? `DNSBLs ${r.dnsbl.lastRunAtMs ? formatAgo(r.dnsbl.lastRunAtMs, nowMs) : 'not yet'}` : null,
    r?.hygiene ? `DNS ${r.hygiene.lastRunAtMs ? formatAgo(r.hygiene.lastRunAtMs, nowMs) : 'not yet'}` : null,
    r?.snds ? `SNDS ${r.snds.lastSuccessAtMs ? formatAgo(r.snds.lastSuccessAtMs, nowMs) : 'not yet'}` : null,
    r?.postmaster ? `Postmaster ${r.postmaster.lastRunAtMs ? formatAgo(r.postmaster.lastRunAtMs, nowMs) : 'not yet'}` : null,
  ].filter((x) => x !== null);
  const errors = (r?.errors ?? []).slice(0, 5).map((e) => html`<li><span class="mono">${formatUtc(e.atMs)}</span> <b>${e.source}</b> ${e.kind}: ${e.message}</li>`);
  return html`<section id="reputation"><h2>Reputation <span class="hint">what the providers see of each egress IP${checked.length ? ` · checked: ${checked.join(', ')}` : ''}</span></h2>
${rows.length ? html`<div class="table-wrap"><table id="reputation-ips"><thead><tr><th class="l">path</th><th class="l">egress IP</th><th class="l" title="ingress IP of the latest probes' first copies, as the provider recorded it">seen by the providers</th><th class="l">DNSBL</th><th class="l">FCrDNS</th><th class="l">HELO</th><th class="l">SPF</th><th class="l">Microsoft SNDS</th></tr></thead><tbody>${rows}</tbody></table></div>` : html`<p class="muted">No path has egress IPs: set paths[].ips (or localAddress).</p>`}
${noIps.length ? html`<p class="muted">Without egress IPs (not checked): ${noIps.join(', ')}</p>` : ''}
${r ? postmasterSection(r) : ''}
${errors.length ? html`<h3>Latest failures</h3><ul class="plain" id="reputation-errors">${errors}</ul>` : ''}</section>`;
}
