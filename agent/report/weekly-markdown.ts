/** The report as GitHub-flavoured Markdown (tables), for a wiki page or a pull request. */
import { MIN_PROBES_FOR_SHARE, type ShareInterval } from '../domain/statistics.js';
import { describePathComparison, formatPp, formatSeconds, formatShareInterval, formatUtc, TOO_FEW_PROBES } from './format.js';
import { TABS, type ChangeKey, type PeriodStats, type WeeklyReport, type WeeklyRow } from './weekly-report.js';
import { formatRate } from './weekly-reputation-html.js';

/**
 * Text from data (names, header-derived verdicts) as inert Markdown: table pipes, emphasis,
 * links and inline HTML (which Markdown renderers pass through) are neutralised.
 */
export function mdText(s: string): string {
  return s
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|#!~]/g, (c) => `\\${c}`);
}

/** What the tab columns need of a cell. */
export type TabStats = Pick<PeriodStats, 'counts' | 'shares' | 'intervals' | 'tooFewProbes'>;

/** The Gmail tabs, then other folders, that hold a probe: each with its share and 95 % interval. */
export function tabShares(s: TabStats): { tab: (typeof TABS)[number] | 'other'; share: number | null; interval: ShareInterval | null }[] {
  return [...TABS, 'other' as const].filter((t) => s.counts[t] > 0).map((t) => ({ tab: t, share: s.shares[t], interval: s.intervals[t] }));
}

/**
 * Non-zero tab shares, each with its interval as every other share ("promotions 10.0% (4.9–19%)";
 * bare when there are too few probes), Gmail tabs then other folders; "–" when none.
 */
export function tabsSummary(s: TabStats): string {
  const parts = tabShares(s).map((t) => `${t.tab} ${formatShareInterval(t.share, t.interval, s.tooFewProbes)}`);
  return parts.length ? parts.join(', ') : '–';
}

function authText(s: PeriodStats): string {
  const a = s.authFailures;
  return `${a.spf} / ${a.dkim} / ${a.dmarc}`;
}

/** A share with its interval (held back when there are too few probes). */
function share(s: PeriodStats, k: 'inbox' | 'spam' | 'missing'): string {
  return formatShareInterval(s.shares[k], s.intervals[k], s.tooFewProbes);
}

function rate(s: PeriodStats, k: 'late' | 'duplicate'): string {
  return formatShareInterval(k === 'late' ? s.lateShare : s.duplicateShare, s.intervals[k], s.tooFewProbes);
}

function probes(s: PeriodStats): string {
  return s.tooFewProbes ? `${s.probes} (${TOO_FEW_PROBES})` : String(s.probes);
}

/** A week-over-week change, marked \* when significant (p < 0.05 and its interval excludes 0). */
function change(r: WeeklyRow, k: ChangeKey): string {
  return `${formatPp(r.changePp[k])}${r.changeTests[k]?.clear ? ' \\*' : ''}`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function weekTable(rows: WeeklyRow[], withProvider: boolean): string[] {
  const head = [
    ...(withProvider ? ['provider'] : []),
    'path',
    'probes',
    'inbox',
    'Δ inbox',
    'spam',
    'Δ spam',
    'tabs',
    'missing',
    'Δ missing',
    'late',
    'duplicates',
    'p50',
    'p95',
    'SPF / DKIM / DMARC fail',
    'send errors',
  ];
  const out = [row(head), row(head.map(() => '---'))];
  for (const r of rows) {
    const c = r.current;
    out.push(
      row([
        ...(withProvider ? [mdText(r.provider)] : []),
        mdText(r.path),
        probes(c),
        share(c, 'inbox'),
        change(r, 'inbox'),
        share(c, 'spam'),
        change(r, 'spam'),
        tabsSummary(c),
        share(c, 'missing'),
        change(r, 'missing'),
        rate(c, 'late'),
        rate(c, 'duplicate'),
        formatSeconds(c.latencyP50Seconds),
        formatSeconds(c.latencyP95Seconds),
        authText(c),
        String(c.sendErrors),
      ]),
    );
  }
  return out;
}

export function renderWeeklyMarkdown(report: WeeklyReport, opts: { title?: string } = {}): string {
  const out: string[] = [];
  out.push(`# ${mdText(opts.title ?? 'seedwatch weekly report')}`, '');
  out.push(
    `**${formatUtc(report.startMs)} → ${formatUtc(report.endMs)}**, compared with ${formatUtc(report.previousStartMs)} → ${formatUtc(report.startMs)}.`,
    '',
    'Shares are of resolved probes (accepted, and seen or past their deadline); the range in brackets is the share\'s 95 % interval: where the true share lies with 95 % confidence given the probes seen (held back below ' +
      `${MIN_PROBES_FOR_SHARE} probes: too few to say). Δ is the change from the previous period in percentage points, \\* where it is significant (p < 0.05 and its 95 % interval excludes 0). Latency: SMTP accept → arrival at the provider.`,
    '',
  );
  if (report.rows.length === 0) {
    out.push('No probes in either period.', '', ...reputationMarkdown(report));
    return out.join('\n');
  }
  out.push('## By path (all providers)', '', ...weekTable(report.paths, false), '');
  out.push('## By provider × path', '', ...weekTable(report.rows, true), '');

  out.push('## Is one path worse?', '', "Spam share of each path against the provider's best path: difference with its 95 % interval, two-sided p. A path is worse when both say so (p < 0.05 and the interval above 0), and \"may be worse\" when only one does.", '');
  if (report.comparisons.length === 0) out.push('No provider was probed over two paths.', '');
  for (const c of report.comparisons) out.push(`- ${mdText(describePathComparison(c))}`);
  if (report.comparisons.length) out.push('');

  const auth = report.rows.filter((r) => r.current.authFailureResults.length > 0);
  out.push('## Authentication failures', '');
  if (auth.length === 0) out.push('None: every verdict recorded was a pass.', '');
  for (const r of auth) {
    const list = r.current.authFailureResults.map((a) => `${a.method}=${mdText(a.result)} ×${a.count}`).join(', ');
    out.push(`- ${mdText(r.provider)} / ${mdText(r.path)}: ${list}`);
  }
  if (auth.length) out.push('');

  const errs = report.rows.filter((r) => r.current.sendErrors > 0);
  out.push('## Send errors', '');
  if (errs.length === 0) out.push('None.', '');
  for (const r of errs) {
    const list = Object.entries(r.current.sendErrorsByReason).map(([reason, n]) => `${reason} ×${n}`).join(', ');
    out.push(`- ${mdText(r.provider)} / ${mdText(r.path)}: ${list}`);
  }
  if (errs.length) out.push('');

  out.push(...reputationMarkdown(report));

  out.push('## Per day (UTC)', '');
  const head = ['day', 'provider', 'path', 'probes', 'inbox', 'spam', 'tabs', 'missing', 'late', 'duplicates', 'p50', 'p95'];
  out.push(row(head), row(head.map(() => '---')));
  for (const d of report.daily) {
    const s = d.stats;
    out.push(
      row([
        d.day,
        mdText(d.provider),
        mdText(d.path),
        probes(s),
        share(s, 'inbox'),
        share(s, 'spam'),
        tabsSummary(s),
        share(s, 'missing'),
        rate(s, 'late'),
        rate(s, 'duplicate'),
        formatSeconds(s.latencyP50Seconds),
        formatSeconds(s.latencyP95Seconds),
      ]),
    );
  }
  out.push('');
  return out.join('\n');
}

/** "Reputation by path" (weekly-reputation.ts), when a source has data in the period. */
function reputationMarkdown(report: WeeklyReport): string[] {
  const r = report.reputation;
  if (!r) return [];
  const out = ['## Reputation by path', ''];
  out.push('### DNSBL listings', '');
  if (r.dnsbl.length === 0) out.push('No DNSBL lookups in this period.', '');
  else {
    out.push(row(['path', 'IP', 'zone', 'days listed', 'listed on']), row(['---', '---', '---', '---', '---']));
    for (const x of r.dnsbl) out.push(row([mdText(x.path), x.ip, mdText(x.zone), `${x.daysListed} of ${x.daysChecked}`, x.listedDays.join(', ') || '–']));
    out.push('');
  }
  out.push('### Microsoft SNDS (filter result per day: G green, Y yellow, R red, – no data)', '');
  if (r.snds.length === 0) out.push('No Microsoft SNDS data in this period.', '');
  else {
    const head = ['path', 'IP', ...report.days.map((d) => d.day.slice(5)), 'trap hits', 'max complaints'];
    out.push(row(head), row(head.map(() => '---')));
    for (const x of r.snds) out.push(row([x.path ? mdText(x.path) : '(no path)', x.ip, ...x.days.map((c) => (c ? c[0] : '–')), String(x.trapHits), formatRate(x.maxComplaintRate)]));
    out.push('');
  }
  out.push("### Gmail Postmaster Tools (user-reported spam rate per day; Google's line: 0.30 %)", '');
  if (r.postmaster.length === 0) out.push('No Gmail Postmaster Tools data in this period.', '');
  else {
    const head = ['domain', ...report.days.map((d) => d.day.slice(5)), 'highest'];
    out.push(row(head), row(head.map(() => '---')));
    for (const p of r.postmaster) out.push(row([mdText(p.domain), ...p.days.map(formatRate), formatRate(p.max)]));
    out.push('');
  }
  return out;
}
