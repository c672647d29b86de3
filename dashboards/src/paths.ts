// Seedwatch / Paths: peering vs transit (or any set of egress paths) side by side for
// each provider — where one path lands in spam, is slower, or gets other replies.

import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { MixinConfig } from './config.js';
import { filters, seedwatchDashboard, tablePanel, timeseriesPanel } from './panels.js';
import { deltaToBestPath, latencyQuantile, placementShare } from './queries.js';

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
    // One row per selected provider (Grafana repeats it), paths as series in each panel.
    .withRow(new RowBuilder('$provider').repeat('provider'))
    .withPanel(
      timeseriesPanel({
        title: 'Spam share by path',
        description: 'Spam-folder share of this provider\'s probes, one series per egress path.',
        targets: [{ expr: placementShare(cfg, 'spam', 'path', ri), legend: '{{path}}' }],
        unit: 'percentunit',
        min: 0,
        w: 8,
        interval: d.minShareInterval,
      }),
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
