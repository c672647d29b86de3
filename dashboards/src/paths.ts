// Seedwatch / Paths: peering vs transit (or any set of egress paths) side by side for
// each provider — where one path lands in spam, is slower, or gets other replies.

import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { matchers, type MixinConfig as Cfg, type MixinConfig } from './config.js';
import { filters, recordedFilters, seedwatchDashboard, statPanel, tablePanel, timeseriesPanel } from './panels.js';
import { deltaToBestPath, latencyQuantile, placementShare } from './queries.js';
import { recorded } from './rules.js';

/** How an interval bound is drawn beside its share: thin, dashed, unfilled. */
const intervalBound = [
  { id: 'custom.lineStyle', value: { fill: 'dash', dash: [6, 4] } },
  { id: 'custom.fillOpacity', value: 0 },
];

export function pathsDashboard(cfg: MixinConfig): DashboardBuilder {
  const d = cfg.dashboards;
  const ri = '$__rate_interval';
  return seedwatchDashboard(cfg, { title: 'Seedwatch / Paths', slug: 'paths', tag: 'paths', description: 'Egress paths compared per provider: spam-share and latency deltas to the best path, SMTP reply codes per path.' })
    .withRow(new RowBuilder('All providers'))
    .withPanel(
      tablePanel({
        title: 'Placement shares per provider × path',
        description: 'Inbox, spam and missing shares over the selected time range, one row per provider and path, so the paths to one provider sit next to each other.',
        targets: [
          { expr: placementShare(cfg, 'inbox', 'provider, path', '$__range'), instant: true, format: 'table' },
          { expr: placementShare(cfg, 'spam', 'provider, path', '$__range'), instant: true, format: 'table' },
          { expr: placementShare(cfg, 'missing', 'provider, path', '$__range'), instant: true, format: 'table' },
        ],
        unit: 'percentunit',
        w: 24,
        h: 7,
      })
        .overrideByName('Value #A', [{ id: 'displayName', value: 'inbox' }])
        .overrideByName('Value #B', [{ id: 'displayName', value: 'spam' }])
        .overrideByName('Value #C', [{ id: 'displayName', value: 'missing' }]),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Spam-share delta to the best path',
        description: 'Per provider, how many points each path\'s spam share is above the path with the lowest spam share to the same provider. SeedwatchPathDivergence watches the daily version.',
        targets: [{ expr: deltaToBestPath(placementShare(cfg, 'spam', 'provider, path', ri)), legend: '{{provider}} / {{path}}' }],
        unit: 'percentunit',
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'p95 latency delta to the best path',
        description: 'Per provider, how much slower (p95 delivery latency) each path is than the fastest path to the same provider.',
        targets: [{ expr: deltaToBestPath(latencyQuantile(cfg, 'seedwatch_delivery_latency_seconds', 0.95, 'provider, path', ri)), legend: '{{provider}} / {{path}}' }],
        unit: 's',
        interval: d.minShareInterval,
      }),
    )
    // What the providers see of each path's egress IPs (the reputation sources of the agent).
    .withRow(new RowBuilder('Reputation'))
    .withPanel(
      statPanel({
        title: 'Egress IPs listed on DNSBLs',
        description: 'Per path: how many of its egress IP × DNSBL zone pairs are listed now (0 is good). SeedwatchEgressListed pages on any listing; the TXT reason is in /api/reputation and on the status page.',
        targets: [{ expr: `sum by (path) (seedwatch_dnsbl_listed${reputationFilter(cfg)})`, legend: '{{path}}', instant: true }],
        unit: 'short',
        w: 6,
        h: 6,
        steps: [
          { value: null, color: 'green' },
          { value: 1, color: 'red' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Microsoft SNDS colour per egress IP',
        description: 'Filter result of the last day Microsoft SNDS reported for each IP: 0 GREEN, 1 YELLOW, 2 RED. SeedwatchSndsRed pages on RED, SeedwatchSndsYellow opens a ticket.',
        targets: [{ expr: `max by (path, ip) (seedwatch_snds_filter_result${reputationFilter(cfg)})`, legend: '{{path}} {{ip}}', instant: true }],
        unit: 'short',
        min: 0,
        max: 2,
        w: 6,
        h: 6,
        steps: [
          { value: null, color: 'green' },
          { value: 1, color: 'yellow' },
          { value: 2, color: 'red' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Egress-IP agreement',
        description:
          "Per path: probes whose first copy the provider received from an IP that is not one of the path's ips (mismatch), or whose ingress IP could not be read (unknown). Any mismatch means probes left over another route: SeedwatchEgressMismatch pages.",
        targets: [
          { expr: `sum by (path) (increase(seedwatch_egress_ip_mismatch_total${reputationFilter(cfg)}[${ri}]))`, legend: '{{path}} mismatch' },
          { expr: `sum by (path) (increase(seedwatch_egress_ip_unknown_total${reputationFilter(cfg)}[${ri}]))`, legend: '{{path}} unknown' },
        ],
        unit: 'short',
        min: 0,
        bars: true,
        w: 12,
        h: 6,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'DNS hygiene per egress IP',
        description: 'Per path IP: forward-confirmed reverse DNS, HELO matching it (direct-to-MX paths), SPF of the envelope-sender domain passing for it (1 = yes). SeedwatchPathDnsBroken opens a ticket on any 0.',
        targets: [
          { expr: `max by (path, ip) (seedwatch_path_fcrdns_ok${reputationFilter(cfg)})`, instant: true, format: 'table' },
          { expr: `max by (path, ip) (seedwatch_path_helo_ok${reputationFilter(cfg)})`, instant: true, format: 'table' },
          { expr: `max by (path, ip) (seedwatch_path_spf_pass${reputationFilter(cfg)})`, instant: true, format: 'table' },
        ],
        unit: 'short',
        w: 12,
        h: 6,
      })
        .overrideByName('Value #A', [{ id: 'displayName', value: 'FCrDNS' }])
        .overrideByName('Value #B', [{ id: 'displayName', value: 'HELO' }])
        .overrideByName('Value #C', [{ id: 'displayName', value: 'SPF' }]),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Microsoft SNDS complaints and trap hits',
        description: 'Per path IP, as Microsoft SNDS reported its last day: complaint rate ("< 0.1%" shown as 0.1 %) and spam-trap hits.',
        targets: [
          { expr: `max by (path, ip) (seedwatch_snds_complaint_rate${reputationFilter(cfg)})`, legend: '{{path}} {{ip}} complaints' },
          { expr: `max by (path, ip) (seedwatch_snds_trap_hits${reputationFilter(cfg)})`, legend: '{{path}} {{ip}} trap hits' },
        ],
        unit: 'short',
        min: 0,
        w: 12,
        h: 6,
      })
        // The complaint rate is a ratio (0.001 = 0.1 %); trap hits are counts: Grafana gives each unit its own axis.
        .overrideByQuery('A', [{ id: 'unit', value: 'percentunit' }]),
    )
    // One row per selected provider (Grafana repeats it), paths as series in each panel.
    .withRow(new RowBuilder('$provider').repeat('provider'))
    .withPanel(
      // Share and bounds from the same recorded counts, so the line always lies inside its own
      // band (a share over $__rate_interval against the hour's bounds would not).
      timeseriesPanel({
        title: 'Spam share by path, with its 95 % interval',
        description:
          `Spam-folder share of this provider's probes over the trailing ${cfg.windows.short}, one series per egress path (recording rule ${recorded.share('1h')}); ` +
          `dashed: the bounds of its 95 % Wilson interval (${recorded.lower('1h')}, ${recorded.upper('1h')}), where the true share lies given the probes counted. ` +
          'SeedwatchSpamPlacementHigh pages on the lower bound. Recorded per provider × path: the seed filter does not apply.',
        targets: [
          { expr: `${recorded.share('1h')}${recordedFilters('placement="spam"')}`, legend: '{{path}}' },
          { expr: `${recorded.lower('1h')}${recordedFilters('placement="spam"')}`, legend: '{{path}} 95 % low' },
          { expr: `${recorded.upper('1h')}${recordedFilters('placement="spam"')}`, legend: '{{path}} 95 % high' },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
        w: 8,
        interval: d.minShareInterval,
      })
        .overrideByQuery('B', intervalBound)
        .overrideByQuery('C', intervalBound),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Delivery latency p95 by path',
        description: 'p95 time from SMTP accept to arrival at this provider, one series per egress path.',
        targets: [{ expr: latencyQuantile(cfg, 'seedwatch_delivery_latency_seconds', 0.95, 'path', ri), legend: '{{path}}' }],
        unit: 's',
        min: 0,
        w: 8,
        interval: d.minShareInterval,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'SMTP reply codes by path',
        description: 'Final SMTP reply codes of probe sends to this provider, per path and code (e.g. 421 = deferred, 550 = rejected).',
        targets: [{ expr: `sum by (path, code) (increase(seedwatch_smtp_replies_total${filters(cfg)}[${ri}]))`, legend: '{{path}} {{code}}' }],
        unit: 'short',
        min: 0,
        bars: true,
        w: 8,
        interval: d.minShareInterval,
      }),
    );
}

/**
 * Matchers of the reputation series: they carry path (and ip, zone) but no provider or seed, so
 * only the path variable applies; a series of an IP of no path has no path label, which `.*` (All)
 * matches.
 */
function reputationFilter(cfg: Cfg): string {
  return matchers(cfg, 'path=~"$path"');
}
