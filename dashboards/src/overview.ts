// Seedwatch / Overview: the SRE's first screen — where probes land, how fast, how
// authentication and SMTP look, and whether the agent itself is healthy.

import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { matchers, type MixinConfig } from './config.js';
import { filters, heatmapPanel, seedwatchDashboard, statPanel, tablePanel, timeseriesPanel } from './panels.js';
import { deltaToBestPath, latencyQuantile, placementShare } from './queries.js';

export function overviewDashboard(cfg: MixinConfig): DashboardBuilder {
  const d = cfg.dashboards;
  const f = filters(cfg);
  const ri = '$__rate_interval';
  return seedwatchDashboard(cfg, { title: 'Seedwatch / Overview', slug: 'overview', tag: 'overview', description: 'Inbox placement of seedwatch probes per provider and egress path, delivery latency, authentication, SMTP replies and agent health.' })
    .withRow(new RowBuilder('Placement'))
    .withPanel(
      statPanel({
        title: 'Inbox share per provider × path',
        description:
          'Share of probes that reached the inbox (Gmail: primary tab) over the selected time range, per provider and path. Red below 80 %, amber below 95 %.',
        targets: [{ expr: placementShare(cfg, 'inbox', 'provider, path', '$__range'), legend: '{{provider}} / {{path}}', instant: true }],
        unit: 'percentunit',
        min: 0,
        max: 1,
        steps: [
          { value: null, color: 'red' },
          { value: 0.8, color: 'orange' },
          { value: 0.95, color: 'green' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Placement share over time',
        description:
          'Where probes landed (inbox, spam, Gmail tabs, other, missing), as shares of all placements counted in each interval; the stack adds up to 100 %. Missing is counted at the probe deadline.',
        targets: [
          {
            expr: `sum by (placement) (increase(seedwatch_placements_total${f}[${ri}]))\n/ on () group_left () sum (increase(seedwatch_placements_total${f}[${ri}]))`,
            legend: '{{placement}}',
          },
        ],
        unit: 'percentunit',
        stack: true,
        min: 0,
        max: 1,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Spam share per provider and path',
        description: 'Share of probes that landed in the spam folder, per provider and egress path. The SeedwatchSpamPlacement* alerts watch the 1-hour version of this.',
        targets: [{ expr: placementShare(cfg, 'spam', 'provider, path', ri), legend: '{{provider}} / {{path}}' }],
        unit: 'percentunit',
        min: 0,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Missing and late probes',
        description:
          'Probes not seen by their deadline (missing) and probes seen after it (late; already counted missing), per provider and path.',
        targets: [
          { expr: `sum by (provider, path) (increase(seedwatch_placements_total${filters(cfg, {}, 'placement="missing"')}[${ri}]))`, legend: 'missing {{provider}} / {{path}}' },
          { expr: `sum by (provider, path) (increase(seedwatch_late_arrivals_total${f}[${ri}]))`, legend: 'late {{provider}} / {{path}}' },
        ],
        unit: 'short',
        min: 0,
        bars: true,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Duplicate deliveries',
        description: 'Copies of a probe beyond the first, per provider and path. Usually a retry after an ambiguous SMTP reply or a timeout.',
        targets: [{ expr: `sum by (provider, path) (increase(seedwatch_duplicates_total${f}[${ri}]))`, legend: '{{provider}} / {{path}}' }],
        unit: 'short',
        min: 0,
        bars: true,
        interval: d.minShareInterval,
      }),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseriesPanel({
        title: 'Delivery latency p50 / p95 per path',
        description: 'Time from SMTP accept by the first hop to arrival at the provider, 50th and 95th percentile per egress path.',
        targets: [
          { expr: latencyQuantile(cfg, 'seedwatch_delivery_latency_seconds', 0.5, 'path', ri), legend: 'p50 {{path}}' },
          { expr: latencyQuantile(cfg, 'seedwatch_delivery_latency_seconds', 0.95, 'path', ri), legend: 'p95 {{path}}' },
        ],
        unit: 's',
        min: 0,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      heatmapPanel({
        title: 'Delivery latency heatmap',
        description: 'Distribution of delivery latency (SMTP accept → arrival) across all selected providers and paths; each cell counts probes per latency bucket.',
        targets: [{ expr: `sum by (le) (increase(seedwatch_delivery_latency_seconds_bucket${f}[${ri}]))`, legend: '{{le}}', format: 'heatmap' }],
        unit: 's',
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Detection delay p95 per provider',
        description: 'Time from arrival at the provider to observation by the agent (IMAP IDLE or poll). High values delay every other signal; they are agent-side, not deliverability.',
        targets: [{ expr: latencyQuantile(cfg, 'seedwatch_detection_delay_seconds', 0.95, 'provider', ri), legend: 'p95 {{provider}}' }],
        unit: 's',
        min: 0,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'p95 latency delta to the best path',
        description: 'Per provider, how much slower each path delivers (p95) than the fastest path to the same provider. 0 marks the fastest path.',
        targets: [{ expr: deltaToBestPath(latencyQuantile(cfg, 'seedwatch_delivery_latency_seconds', 0.95, 'provider, path', ri)), legend: '{{provider}} / {{path}}' }],
        unit: 's',
        interval: d.minShareInterval,
      }),
    )
    .withRow(new RowBuilder('Authentication and SMTP'))
    .withPanel(
      timeseriesPanel({
        title: 'Authentication failures per method',
        description: `Results other than "${cfg.alerts.authFailing.passResults}" in the provider's Authentication-Results, per method (${cfg.alerts.authFailing.methods}) and path. ARC is left out: "none" is normal without forwarding.`,
        targets: [
          {
            expr: `sum by (method, path) (increase(seedwatch_auth_results_total${filters(cfg, {}, `method=~"${cfg.alerts.authFailing.methods}"`, `result!~"${cfg.alerts.authFailing.passResults}"`)}[${ri}]))`,
            legend: '{{method}} {{path}}',
          },
        ],
        unit: 'short',
        min: 0,
        bars: true,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'SMTP replies by class',
        description: 'Final SMTP reply codes of probe sends grouped by class (2xx accepted, 4xx deferred, 5xx rejected), per path.',
        targets: [
          {
            expr: `sum by (class, path) (label_replace(increase(seedwatch_smtp_replies_total${f}[${ri}]), "class", "\${1}xx", "code", "([0-9]).*"))`,
            legend: '{{class}} {{path}}',
          },
        ],
        unit: 'short',
        min: 0,
        bars: true,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Send errors by reason',
        description: 'Probes the first SMTP hop did not accept, by reason (rejected, deferred, connection, timeout, tls, auth, ambiguous) and path.',
        targets: [{ expr: `sum by (reason, path) (increase(seedwatch_probe_send_errors_total${f}[${ri}]))`, legend: '{{reason}} {{path}}' }],
        unit: 'short',
        min: 0,
        bars: true,
        interval: d.minShareInterval,
      }),
    )
    .withRow(new RowBuilder('Agent'))
    .withPanel(
      tablePanel({
        title: 'Mailbox health',
        description: 'Per seed: 1 while its IMAP session is healthy, 0 when not (SeedwatchMailboxDown), and IMAP errors by kind over the time range.',
        targets: [
          { expr: `max by (provider, seed) (seedwatch_mailbox_up${filters(cfg, { path: false })})`, instant: true, format: 'table' },
          { expr: `sum by (provider, seed) (increase(seedwatch_mailbox_errors_total${filters(cfg, { path: false })}[$__range]))`, instant: true, format: 'table' },
        ],
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Probes in flight',
        description: 'Probes sent and not yet seen whose deadline has not passed, per path. A steady climb means probes stop arriving.',
        targets: [{ expr: `sum by (path) (seedwatch_probes_in_flight${f})`, legend: '{{path}}' }],
        unit: 'short',
        min: 0,
        w: 6,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Since last probe cycle',
        description: `Time since the agent last completed a probe cycle. SeedwatchNotProbing pages after ${cfg.alerts.notProbing.missedCycles} missed cycles.`,
        targets: [{ expr: `time() - max (seedwatch_last_cycle_timestamp_seconds${matchers(cfg)})`, instant: true }],
        unit: 's',
        w: 6,
        h: 8,
        steps: [
          { value: null, color: 'green' },
          { value: cfg.cycleIntervalSeconds * 1.5, color: 'orange' },
          { value: cfg.cycleIntervalSeconds * cfg.alerts.notProbing.missedCycles, color: 'red' },
        ],
      }),
    )
    // Gmail Postmaster Tools: Google's own numbers for the sending domains (daily, 1–3 days late).
    .withRow(new RowBuilder('Gmail Postmaster Tools'))
    .withPanel(
      timeseriesPanel({
        title: 'Gmail user-reported spam rate',
        description: `Per sending domain, the user-reported spam rate of the latest day Postmaster Tools has. SeedwatchGmailSpamRateHigh opens a ticket from ${cfg.alerts.gmailSpamRate.ticket * 100}% and pages from ${cfg.alerts.gmailSpamRate.page * 100}% (Google's bulk-sender limit).`,
        targets: [{ expr: `max by (domain) (seedwatch_gmail_postmaster_spam_rate${matchers(cfg)})`, legend: '{{domain}}' }],
        unit: 'percentunit',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gmail authentication success',
        description: 'Per domain and mechanism (SPF, DKIM, DMARC): the share of the latest day\'s traffic that passed, as Gmail judged it.',
        targets: [{ expr: `max by (domain, auth_type) (seedwatch_gmail_postmaster_auth_success_rate${matchers(cfg)})`, legend: '{{domain}} {{auth_type}}' }],
        unit: 'percentunit',
        min: 0,
        max: 1,
        w: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gmail delivery errors',
        description: 'Per domain: the share of the latest day\'s traffic Gmail rejected (reject) or deferred (temp_fail), all reasons together.',
        targets: [{ expr: `max by (domain, error_type) (seedwatch_gmail_postmaster_delivery_error_rate${matchers(cfg, 'error_reason="all"')})`, legend: '{{domain}} {{error_type}}' }],
        unit: 'percentunit',
        min: 0,
        w: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Gmail sender-requirements compliance',
        description: "Per domain and requirement (SPF, DKIM, DMARC, one-click unsubscribe, user-reported spam rate, …): 1 COMPLIANT, 0 NEEDS_WORK, as Postmaster Tools' compliance status reports it.",
        targets: [{ expr: `min by (domain, requirement) (seedwatch_gmail_postmaster_compliant${matchers(cfg)})`, instant: true, format: 'table' }],
        unit: 'short',
        w: 12,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gmail TLS and data freshness',
        description: 'Per domain: share of the latest day\'s inbound traffic sent over TLS, and the age in days of that latest day (Postmaster Tools lags 1–3 days; more means no fresh data).',
        targets: [
          { expr: `max by (domain) (seedwatch_gmail_postmaster_tls_encryption_rate${matchers(cfg)})`, legend: '{{domain}} TLS' },
          { expr: `(time() - max by (domain) (seedwatch_gmail_postmaster_data_timestamp_seconds${matchers(cfg)})) / 86400`, legend: '{{domain}} data age (days)' },
        ],
        unit: 'short',
        min: 0,
        w: 12,
      })
        // The TLS share is a ratio (0.999 = 99.9 %), the age a number of days: each unit gets its own axis.
        .overrideByQuery('A', [{ id: 'unit', value: 'percentunit' }]),
    );
}
