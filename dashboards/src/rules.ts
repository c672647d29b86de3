// Prometheus recording and alerting rules of the seedwatch mixin, as typed objects.
// Every number, window and selector comes from MixinConfig; nothing is hard-coded here
// except the shape of the expressions, which a shortened test config keeps.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Z_95 } from '../../agent/domain/statistics.js';
import { defaultConfig, matchers, runbookUrl, type MixinConfig } from './config.js';

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'page' | 'ticket' };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  interval: string;
  rules: Array<RecordingRule | AlertingRule>;
}

export interface RuleFile {
  /** File name inside dashboards/prometheus/. */
  file: string;
  content: { groups: RuleGroup[] };
}

/**
 * Names of the recorded series. The suffixes name the *role* of the window (1h short,
 * 1d daily, 7d baseline) and are a contract for dashboards; a shortened test config
 * changes the durations inside the expressions, never these names.
 */
export const recorded = {
  increase: (w: WindowName) => `provider_path_placement:seedwatch_placements:increase${w}`,
  total: (w: WindowName) => `provider_path:seedwatch_placements:increase${w}`,
  share: (w: WindowName) => `provider_path_placement:seedwatch_placement_share:ratio${w}`,
  /** Lower bound of the share's 95 % Wilson interval (agent/domain/wilson.ts). */
  lower: (w: WindowName) => `provider_path_placement:seedwatch_placement_share_lower95:ratio${w}`,
  /** Upper bound of the share's 95 % Wilson interval. */
  upper: (w: WindowName) => `provider_path_placement:seedwatch_placement_share_upper95:ratio${w}`,
} as const;

export type WindowName = '1h' | '1d' | '7d';
export const windowNames: readonly WindowName[] = ['1h', '1d', '7d'];

const Z2 = Z_95 * Z_95;
/** Matches a per-placement vector with the per-provider × path total on its right. */
const toTotal = 'ignoring (placement) group_left ()';
/** Matches the total on the left with a per-placement vector on its right. */
const fromTotal = 'ignoring (placement) group_right ()';

/**
 * The Wilson lower bound low(x, N) = (x + z²/2 − z·√(x(N − x)/N + z²/4)) / (N + z²) in PromQL,
 * operation for operation as agent/domain/wilson.ts computes it (same constants, printed from
 * the same doubles; same order of operations), so a recorded bound is the very double the pages
 * show for the same counts — test/unit/dashboards/wilson-rules.test.ts checks it with promtool.
 * `x` has the placement label, `total` does not; `(total > 0)` drops a provider × path without
 * probes instead of recording NaN.
 */
function wilsonLowerExpr(x: string, total: string): string {
  return (
    `(\n  ${x} + ${Z2 / 2}\n` +
    `  - ${Z_95} * sqrt(${x} * (${total} - ${fromTotal} ${x}) / ${toTotal} (${total} > 0) + ${Z2 / 4})\n)\n` +
    `/ ${toTotal}\n(${total} + ${Z2})`
  );
}

function recordingRules(cfg: MixinConfig): RecordingRule[] {
  const w = cfg.windows;
  const rules: RecordingRule[] = [
    {
      record: recorded.increase('1h'),
      expr: `sum by (provider, path, placement) (increase(seedwatch_placements_total${matchers(cfg)}[${w.short}]))`,
    },
  ];
  // The day and week counts tile the short-window counts (a subquery at step = short
  // window) instead of running increase() over 1d/7d of raw samples for every seed:
  // the same numbers for a fraction of the cost. Numerators and denominators are both
  // sums of counts, divided only at the end. Prometheus 2.x subquery ranges are closed,
  // so [7d:1h] sums 169 hourly windows (7d + 1h of data): 0.6 % more probes on both
  // sides of every share, which leaves the shares themselves unchanged in practice.
  for (const [name, range] of [['1d', w.day], ['7d', w.week]] as const) {
    rules.push({
      record: recorded.increase(name),
      expr: `sum_over_time(${recorded.increase('1h')}[${range}:${w.step}])`,
    });
  }
  for (const name of windowNames) {
    rules.push({
      record: recorded.total(name),
      expr: `sum by (provider, path) (${recorded.increase(name)})`,
    });
  }
  for (const name of windowNames) {
    // `> 0` keeps a provider × path without probes out instead of recording NaN.
    rules.push({
      record: recorded.share(name),
      expr: `${recorded.increase(name)}\n  / ignoring (placement) group_left ()\n(${recorded.total(name)} > 0)`,
    });
  }
  // The 95 % Wilson interval of every share, from the same counts: the alerts page on the
  // lower bound (sure it is at least this bad), the path comparison uses both bounds. The upper
  // bound is 1 − the lower bound of the complementary share, as in wilson.ts.
  for (const name of windowNames) {
    const k = recorded.increase(name);
    const n = recorded.total(name);
    rules.push({ record: recorded.lower(name), expr: `clamp_min(\n${wilsonLowerExpr(k, n)},\n0)` });
    rules.push({
      record: recorded.upper(name),
      expr: `clamp_max(\n1 - ${wilsonLowerExpr(`(${n} - ${fromTotal} ${k})`, n)},\n1)`,
    });
  }
  return rules;
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

function alertRules(cfg: MixinConfig): AlertingRule[] {
  const a = cfg.alerts;
  const w = cfg.windows;
  const sel = (...extra: string[]): string => matchers(cfg, ...extra);
  const spam1h = `${recorded.share('1h')}{placement="spam"}`;
  const spam7d = `${recorded.share('7d')}{placement="spam"}`;
  const spamLower1h = `${recorded.lower('1h')}{placement="spam"}`;
  const spamLower1d = `${recorded.lower('1d')}{placement="spam"}`;
  const spamUpper1d = `${recorded.upper('1d')}{placement="spam"}`;
  // Template snippets: the recorded share and probe count of the alert's provider × path.
  const shareOf = (w: WindowName): string =>
    `{{ with printf "${recorded.share(w)}{placement='spam',provider='%s',path='%s'}" $labels.provider $labels.path | query }}` +
    `{{ . | first | value | humanizePercentage }}{{ end }}`;
  const probesOf = (w: WindowName): string =>
    `{{ with printf "${recorded.total(w)}{provider='%s',path='%s'}" $labels.provider $labels.path | query }}` +
    `{{ . | first | value | printf "%.0f" }}{{ end }}`;
  const where = '{{ $labels.provider }} over the {{ $labels.path }} path';
  const rule = (
    alert: string,
    severity: 'page' | 'ticket',
    forDur: string,
    expr: string,
    summary: string,
    description: string,
  ): AlertingRule => ({
    alert,
    expr,
    for: forDur,
    labels: { severity },
    annotations: { summary, description, runbook_url: runbookUrl(cfg, alert) },
  });

  const sendAttempts =
    `sum by (provider, path) (increase(seedwatch_probes_sent_total${sel()}[${a.sendFailing.window}]))\n` +
    `  + sum by (provider, path) (increase(seedwatch_probe_send_errors_total${sel()}[${a.sendFailing.window}]))`;
  const authAll = `sum by (provider, path, method) (increase(seedwatch_auth_results_total${sel(`method=~"${a.authFailing.methods}"`)}[${w.short}]))`;
  const seedAll = `sum by (provider, path, seed) (increase(seedwatch_placements_total${sel()}[${w.short}]))`;
  const notProbingSeconds = a.notProbing.missedCycles * cfg.cycleIntervalSeconds;
  // The upper bounds of the paths with enough probes for the daily comparison.
  const bestUpper1d = `${spamUpper1d} and on (provider, path) ${recorded.total('1d')} >= ${a.pathDivergence.minProbes}`;

  return [
    rule(
      'SeedwatchSpamPlacementHigh',
      'page',
      a.spamHigh.for,
      `${spamLower1h} > ${a.spamHigh.threshold}\n` +
        `and on (provider, path) ${recorded.total('1h')} >= ${a.spamHigh.minProbes}`,
      'Probes land in the spam folder.',
      `${shareOf('1h')} of ${probesOf('1h')} probes to ${where} landed in spam over the last ${w.short}: ` +
        `with 95% confidence at least {{ $value | humanizePercentage }} ` +
        `(pages when that lower bound exceeds ${pct(a.spamHigh.threshold)}, from ${a.spamHigh.minProbes} probes).`,
    ),
    rule(
      'SeedwatchSpamPlacementSpike',
      'page',
      a.spamSpike.for,
      `${spam1h} > on (provider, path, placement) (${spam7d} * ${a.spamSpike.factor})\n` +
        `and on (provider, path, placement) ${spam1h} - on (provider, path, placement) ${spam7d} > ${a.spamSpike.minDelta}\n` +
        `and on (provider, path) ${recorded.total('1h')} >= ${a.spamSpike.minProbes}\n` +
        `and on (provider, path) ${recorded.total('7d')} >= ${a.spamSpike.minBaselineProbes}`,
      'Spam-folder share far above its own 7-day baseline.',
      `Spam share of ${where} is {{ $value | humanizePercentage }} over the last ${w.short}, ` +
        `{{ with printf "${recorded.share('7d')}{placement='spam',provider='%s',path='%s'}" $labels.provider $labels.path | query }}` +
        `{{ . | first | value | humanizePercentage }}{{ end }} over the last ${w.week} ` +
        `(fires above ${a.spamSpike.factor}× the baseline and ${pct(a.spamSpike.minDelta)} above it).`,
    ),
    rule(
      'SeedwatchPathDivergence',
      'ticket',
      a.pathDivergence.for,
      `${spamLower1d}\n` +
        `  > on (provider) group_left ()\n` +
        `    min by (provider) (${bestUpper1d})\n` +
        `and on (provider, path) ${recorded.total('1d')} >= ${a.pathDivergence.minProbes}`,
      'One egress path lands in spam more often than another for the same provider.',
      `Over the last ${w.day}, ${shareOf('1d')} of ${probesOf('1d')} probes to ${where} landed in spam: ` +
        `with 95% confidence at least {{ $value | humanizePercentage }}, while the best path to {{ $labels.provider }} ` +
        `is at most {{ with printf "min(${recorded.upper('1d')}{placement='spam',provider='%s'} and on (provider, path) ` +
        `${recorded.total('1d')} >= ${a.pathDivergence.minProbes})" $labels.provider | query }}` +
        `{{ . | first | value | humanizePercentage }}{{ end }}: the 95% intervals no longer overlap.`,
    ),
    rule(
      'SeedwatchProbesMissing',
      'page',
      a.probesMissing.for,
      `sum by (provider, path, seed) (increase(seedwatch_placements_total${sel('placement="missing"')}[${w.short}]))\n` +
        `  / ${seedAll}\n` +
        `> ${a.probesMissing.threshold}\n` +
        `and on (provider, path, seed) ${seedAll} >= ${a.probesMissing.minProbes}`,
      'Probes never arrive in a seed mailbox.',
      `{{ $value | humanizePercentage }} of probes to seed {{ $labels.seed }} at ${where} were still missing at their deadline ` +
        `over the last ${w.short} (threshold ${pct(a.probesMissing.threshold)}).`,
    ),
    rule(
      'SeedwatchDeliverySlow',
      'ticket',
      a.deliverySlow.for,
      `histogram_quantile(${a.deliverySlow.quantile}, sum by (provider, path, le) (rate(seedwatch_delivery_latency_seconds_bucket${sel()}[${w.short}])))\n` +
        `> ${a.deliverySlow.thresholdSeconds}\n` +
        `and on (provider, path) sum by (provider, path) (increase(seedwatch_delivery_latency_seconds_count${sel()}[${w.short}])) >= ${a.deliverySlow.minSamples}`,
      'Probes take long from SMTP accept to the mailbox.',
      `p${Math.round(a.deliverySlow.quantile * 100)} delivery latency to ${where} is {{ $value | humanizeDuration }} ` +
        `over the last ${w.short} (threshold ${a.deliverySlow.thresholdSeconds}s).`,
    ),
    rule(
      'SeedwatchDuplicateDeliveries',
      'ticket',
      a.duplicates.for,
      `sum by (provider, path) (increase(seedwatch_duplicates_total${sel()}[${w.short}]))\n` +
        `  / on (provider, path) ${recorded.total('1h')}\n` +
        `> ${a.duplicates.threshold}\n` +
        `and on (provider, path) ${recorded.total('1h')} >= ${a.duplicates.minProbes}`,
      'Probes arrive more than once.',
      `Probes to ${where} arrived with {{ $value | humanize }} extra copies per probe over the last ${w.short} ` +
        `(threshold ${a.duplicates.threshold}).`,
    ),
    rule(
      'SeedwatchAuthFailing',
      'ticket',
      a.authFailing.for,
      `sum by (provider, path, method) (increase(seedwatch_auth_results_total${sel(`method=~"${a.authFailing.methods}"`, `result!~"${a.authFailing.passResults}"`)}[${w.short}]))\n` +
        `  / ${authAll}\n` +
        `> ${a.authFailing.threshold}\n` +
        `and on (provider, path, method) ${authAll} >= ${a.authFailing.minResults}`,
      'The provider does not see SPF, DKIM or DMARC passing.',
      `{{ $value | humanizePercentage }} of {{ $labels.method }} results for ${where} did not pass ` +
        `over the last ${w.short} (threshold ${pct(a.authFailing.threshold)}).`,
    ),
    rule(
      'SeedwatchSendFailing',
      'page',
      a.sendFailing.for,
      `sum by (provider, path) (increase(seedwatch_probe_send_errors_total${sel()}[${a.sendFailing.window}]))\n` +
        `  / (\n  ${sendAttempts}\n  )\n` +
        `> ${a.sendFailing.threshold}\n` +
        `and on (provider, path) (\n  ${sendAttempts}\n  ) >= ${a.sendFailing.minAttempts}`,
      'Probes cannot be handed to the first SMTP hop.',
      `{{ $value | humanizePercentage }} of send attempts to ${where} failed over the last ${a.sendFailing.window} ` +
        `(threshold ${pct(a.sendFailing.threshold)}); see seedwatch_probe_send_errors_total by reason.`,
    ),
    rule(
      'SeedwatchMailboxDown',
      'ticket',
      a.mailboxDown.for,
      `seedwatch_mailbox_up${sel()} == 0`,
      'seedwatch cannot watch a seed mailbox.',
      `The IMAP session of seed {{ $labels.seed }} ({{ $labels.provider }}) has been unhealthy for at least ${a.mailboxDown.for}; ` +
        `its probes will be counted missing.`,
    ),
    rule(
      'SeedwatchNotProbing',
      'page',
      a.notProbing.for,
      `time() - seedwatch_last_cycle_timestamp_seconds${sel()} > ${notProbingSeconds}\n` +
        `or absent(seedwatch_last_cycle_timestamp_seconds${sel()})`,
      'seedwatch has not completed a probe cycle.',
      `{{ if lt $value 2.0 }}seedwatch exports no cycle timestamp at all (agent down or not scraped).` +
        `{{ else }}The last successful probe cycle finished {{ $value | humanizeDuration }} ago ` +
        `(${a.notProbing.missedCycles} cycles are ${notProbingSeconds}s).{{ end }}`,
    ),
  ];
}

/**
 * What the providers' own signals say about each egress path (reputation metrics of the agent:
 * DNSBLs, Microsoft SNDS, Gmail Postmaster Tools, FCrDNS/HELO/SPF, and the ingress IP of every
 * probe). Each series exists only where its source is configured, so these rules stay silent
 * for an agent without a `reputation` block or paths without `ips`.
 */
function reputationAlertRules(cfg: MixinConfig): AlertingRule[] {
  const a = cfg.alerts;
  const sel = (...extra: string[]): string => matchers(cfg, ...extra);
  const rule = (alert: string, severity: 'page' | 'ticket', forDur: string, expr: string, summary: string, description: string): AlertingRule => ({
    alert,
    expr,
    for: forDur,
    labels: { severity },
    annotations: { summary, description, runbook_url: runbookUrl(cfg, alert) },
  });
  const path = '{{ if $labels.path }}the {{ $labels.path }} path{{ else }}no configured path{{ end }}';
  const spamRate = `max by (domain) (seedwatch_gmail_postmaster_spam_rate${sel()})`;
  // Only a rate of a recent day counts: Postmaster Tools lags 1–3 days, an old day is no news.
  const fresh = `and on (domain) time() - max by (domain) (seedwatch_gmail_postmaster_data_timestamp_seconds${sel()}) < ${a.gmailSpamRate.maxDataAgeSeconds}`;
  const gmailDescription = (level: string) =>
    `Gmail users reported {{ $value | humanizePercentage }} of the mail from {{ $labels.domain }} as spam on the latest day Postmaster Tools has (${level}; Google's bulk-sender limit is ${Math.round(a.gmailSpamRate.page * 1000) / 10}%).`;
  const broken = (metric: string, check: string) => `label_replace(min by (path, ip) (${metric}${sel()}) == 0, "check", "${check}", "", "")`;
  return [
    rule(
      'SeedwatchEgressListed',
      'page',
      a.egressListed.for,
      `max by (path, ip, zone) (seedwatch_dnsbl_listed${sel()}) == 1`,
      'An egress IP is listed on a DNS blocklist.',
      'Egress IP {{ $labels.ip }} of the {{ $labels.path }} path is listed on {{ $labels.zone }}: receivers that use this list refuse or filter its mail. The listing reason is in /api/reputation.',
    ),
    rule(
      'SeedwatchSndsRed',
      'page',
      a.sndsFilter.for,
      `max by (path, ip) (seedwatch_snds_filter_result${sel()}) == 2`,
      'Microsoft SNDS rates an egress IP RED.',
      `Microsoft SNDS rates {{ $labels.ip }} (${path}) RED: most of its mail to Outlook.com was judged spam on the last reported day.`,
    ),
    rule(
      'SeedwatchSndsYellow',
      'ticket',
      a.sndsFilter.for,
      `max by (path, ip) (seedwatch_snds_filter_result${sel()}) == 1`,
      'Microsoft SNDS rates an egress IP YELLOW.',
      `Microsoft SNDS rates {{ $labels.ip }} (${path}) YELLOW: part of its mail to Outlook.com was judged spam on the last reported day.`,
    ),
    rule(
      'SeedwatchGmailSpamRateHigh',
      'ticket',
      a.gmailSpamRate.for,
      `${spamRate} >= ${a.gmailSpamRate.ticket} < ${a.gmailSpamRate.page}\n${fresh}`,
      "Gmail users report the domain's mail as spam.",
      gmailDescription(`ticket from ${Math.round(a.gmailSpamRate.ticket * 1000) / 10}%`),
    ),
    rule(
      'SeedwatchGmailSpamRateHigh',
      'page',
      a.gmailSpamRate.for,
      `${spamRate} >= ${a.gmailSpamRate.page}\n${fresh}`,
      "Gmail users report the domain's mail as spam.",
      gmailDescription(`page from ${Math.round(a.gmailSpamRate.page * 1000) / 10}%`),
    ),
    rule(
      'SeedwatchEgressMismatch',
      'page',
      a.egressMismatch.for,
      `sum by (provider, path) (increase(seedwatch_egress_ip_mismatch_total${sel()}[${a.egressMismatch.window}])) > ${a.egressMismatch.threshold}`,
      "Probes of a path reach the provider from an IP that is not the path's.",
      `Over the last ${a.egressMismatch.window}, {{ $value | humanize }} of the probes sent over the {{ $labels.path }} path reached {{ $labels.provider }} from an IP that is not one of the path's ips: they left over another route, and the path comparison is wrong until it is fixed.`,
    ),
    rule(
      'SeedwatchPathDnsBroken',
      'ticket',
      a.pathDnsBroken.for,
      `${broken('seedwatch_path_fcrdns_ok', 'fcrdns')}\nor ${broken('seedwatch_path_helo_ok', 'helo')}\nor ${broken('seedwatch_path_spf_pass', 'spf')}`,
      'An egress IP fails forward-confirmed reverse DNS, HELO or SPF.',
      'The {{ $labels.check }} check fails for {{ $labels.ip }} of the {{ $labels.path }} path (fcrdns: no PTR that resolves back; helo: the HELO name is not that PTR; spf: the sender domain does not authorize the IP). Details in /api/reputation.',
    ),
  ];
}

/** The rule files (recording, alerting, reputation alerting) as plain objects, ready for YAML. */
export function buildRules(cfg: MixinConfig = defaultConfig): RuleFile[] {
  return [
    {
      file: 'seedwatch-recording.yml',
      content: { groups: [{ name: 'seedwatch.placement-shares', interval: cfg.ruleInterval, rules: recordingRules(cfg) }] },
    },
    {
      file: 'seedwatch-alerts.yml',
      content: { groups: [{ name: 'seedwatch.alerts', interval: cfg.ruleInterval, rules: alertRules(cfg) }] },
    },
    {
      file: 'seedwatch-reputation.yml',
      content: { groups: [{ name: 'seedwatch.reputation', interval: cfg.ruleInterval, rules: reputationAlertRules(cfg) }] },
    },
  ];
}

const header =
  '# Generated by dashboards/src (buildRules); do not edit by hand.\n' +
  '# Regenerate: npx tsc -p tsconfig.json && node dist/dashboards/src/generate.js\n';

/** YAML text of one rule file, exactly as committed. */
export function renderRuleFile(file: RuleFile): string {
  return header + stringify(file.content, { lineWidth: 0 });
}

/** Writes every rule file of `cfg` into `dir`; returns the written paths. */
export function writeRules(dir: string, cfg: MixinConfig = defaultConfig): string[] {
  mkdirSync(dir, { recursive: true });
  return buildRules(cfg).map((f) => {
    const path = join(dir, f.file);
    writeFileSync(path, renderRuleFile(f));
    return path;
  });
}
