// Seedwatch / Weekly trends: what deliverability teams review each week — 7-day shares
// per provider × path from the recording rules, week-over-week change, latency and
// duplicates by week.

import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import type { MixinConfig } from './config.js';
import { filters, recordedFilters, seedwatchDashboard, tablePanel, timeseriesPanel } from './panels.js';
import { recorded } from './rules.js';

export function weeklyTrendsDashboard(cfg: MixinConfig): DashboardBuilder {
  const share7d = (placement: string): string => `${recorded.share('7d')}${recordedFilters(`placement="${placement}"`)}`;
  const seedNote = ' Recorded per provider × path: the seed filter does not apply.';
  const sharePanel = (placement: string, what: string) =>
    timeseriesPanel({
      title: `7-day ${placement} share`,
      description: `${what} over the trailing 7 days, per provider × path (recording rule ${recorded.share('7d')}).${seedNote}`,
      targets: [{ expr: share7d(placement), legend: '{{provider}} / {{path}}' }],
      unit: 'percentunit',
      min: 0,
      w: 8,
      interval: '1d',
    });
  return seedwatchDashboard(cfg, { title: 'Seedwatch / Weekly trends', slug: 'weekly-trends', tag: 'weekly', description: 'Weekly inbox-placement trends for deliverability reviews: 7-day shares, week-over-week change, latency and duplicates.', refresh: '1h', from: 'now-90d' })
    .withRow(new RowBuilder('7-day shares'))
    .withPanel(sharePanel('inbox', 'Share of probes that reached the inbox (Gmail: primary tab)'))
    .withPanel(sharePanel('spam', 'Share of probes that landed in the spam folder'))
    .withPanel(sharePanel('missing', 'Share of probes never seen before their deadline'))
    .withRow(new RowBuilder('Week over week'))
    .withPanel(
      tablePanel({
        title: 'Week-over-week change',
        description: `This week's 7-day inbox and spam shares minus last week's (offset 7d), per provider × path. Negative inbox or positive spam values are regressions.${seedNote}`,
        targets: [
          { expr: `${share7d('inbox')}\n- ${share7d('inbox')} offset 7d`, instant: true, format: 'table' },
          { expr: `${share7d('spam')}\n- ${share7d('spam')} offset 7d`, instant: true, format: 'table' },
        ],
        unit: 'percentunit',
        w: 24,
        h: 7,
      })
        .overrideByName('Value #A', [{ id: 'displayName', value: 'inbox Δ' }])
        .overrideByName('Value #B', [{ id: 'displayName', value: 'spam Δ' }]),
    )
    .withPanel(
      timeseriesPanel({
        title: 'p95 delivery latency trend',
        description: 'Daily 95th percentile of SMTP accept → arrival, per provider × path.',
        targets: [
          {
            expr: `histogram_quantile(0.95, sum by (provider, path, le) (increase(seedwatch_delivery_latency_seconds_bucket${filters(cfg)}[1d])))`,
            legend: '{{provider}} / {{path}}',
          },
        ],
        unit: 's',
        min: 0,
        interval: '1d',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Duplicates per week',
        description: 'Copies of probes beyond the first over the trailing 7 days, per provider × path.',
        targets: [{ expr: `sum by (provider, path) (increase(seedwatch_duplicates_total${filters(cfg)}[7d]))`, legend: '{{provider}} / {{path}}' }],
        unit: 'short',
        min: 0,
        bars: true,
        interval: '7d',
      }),
    );
}
