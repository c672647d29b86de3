// Small factories for the panel kinds the seedwatch dashboards use. Each returns a
// Foundation SDK builder with the house style applied (datasource variable, legend,
// units), so dashboard files only say what to show.

import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { matchers, type MixinConfig } from './config.js';

/** Every query goes to the datasource picked in the `datasource` variable. */
export const datasourceRef = { type: 'prometheus', uid: '${datasource}' };

export interface Target {
  expr: string;
  legend?: string;
  /** An instant query (stat, table) instead of a range query. */
  instant?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
}

export function promQuery(t: Target, refId: string): DataqueryBuilder {
  const q = new DataqueryBuilder().datasource(datasourceRef).expr(t.expr).refId(refId);
  if (t.legend !== undefined) q.legendFormat(t.legend);
  if (t.instant === true) q.instant();
  else q.range();
  if (t.format === 'table') q.format(PromQueryFormat.Table);
  if (t.format === 'heatmap') q.format(PromQueryFormat.Heatmap);
  return q;
}

export interface PanelSpec {
  title: string;
  description: string;
  targets: Target[];
  unit?: string;
  /** Grid width (of 24) and height. */
  w?: number;
  h?: number;
  /** Minimum query interval, e.g. two probe cycles for share panels. */
  interval?: string;
  min?: number;
  max?: number;
}

function refIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
}

// Shared setup of every panel kind; the SDK's panel builders share these methods but
// no common interface, hence the structural type.
interface CommonPanel<T> {
  title(t: string): T;
  description(d: string): T;
  datasource(d: { type: string; uid: string }): T;
  span(w: number): T;
  height(h: number): T;
  withTarget(t: DataqueryBuilder): T;
  unit(u: string): T;
  interval(i: string): T;
  min(m: number): T;
  max(m: number): T;
}

function applyCommon<T extends CommonPanel<T>>(p: T, s: PanelSpec, defaults: { w: number; h: number }): T {
  p.title(s.title)
    .description(s.description)
    .datasource(datasourceRef)
    .span(s.w ?? defaults.w)
    .height(s.h ?? defaults.h);
  refIds(s.targets.length).forEach((id, i) => p.withTarget(promQuery(s.targets[i], id)));
  if (s.unit !== undefined) p.unit(s.unit);
  if (s.interval !== undefined) p.interval(s.interval);
  if (s.min !== undefined) p.min(s.min);
  if (s.max !== undefined) p.max(s.max);
  return p;
}

export interface TimeseriesSpec extends PanelSpec {
  /** Stack series (placement shares add up to 1). */
  stack?: boolean;
  bars?: boolean;
}

export function timeseriesPanel(s: TimeseriesSpec): timeseries.PanelBuilder {
  const p = applyCommon(new timeseries.PanelBuilder(), s, { w: 12, h: 8 })
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .calcs(['mean', 'lastNotNull']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .fillOpacity(s.stack === true ? 60 : 10)
    .lineWidth(1)
    .spanNulls(true);
  if (s.stack === true) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (s.bars === true) p.drawStyle(common.GraphDrawStyle.Bars);
  return p;
}

export interface StatSpec extends PanelSpec {
  /** Ascending thresholds: [base colour, [value, colour], …]. */
  steps?: Array<{ value: number | null; color: string }>;
}

export function statPanel(s: StatSpec): stat.PanelBuilder {
  const p = applyCommon(new stat.PanelBuilder(), s, { w: 24, h: 5 })
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName);
  if (s.steps !== undefined) {
    p.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(s.steps));
  }
  return p;
}

export function tablePanel(s: PanelSpec): table.PanelBuilder {
  return applyCommon(new table.PanelBuilder(), s, { w: 12, h: 8 })
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } });
}

export function heatmapPanel(s: PanelSpec): heatmap.PanelBuilder {
  return applyCommon(new heatmap.PanelBuilder(), s, { w: 12, h: 8 })
    .calculate(false)
    .yAxis(new heatmap.YAxisConfigBuilder().unit(s.unit ?? 's'))
    .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme('Oranges').steps(64))
    .cellGap(1)
    .showLegend();
}

/** The datasource, provider, path and seed variables shared by all dashboards. */
export function standardVariables(cfg: MixinConfig): Array<DatasourceVariableBuilder | QueryVariableBuilder> {
  const metric = 'seedwatch_placements_total';
  const q = (name: string, label: string, query: string): QueryVariableBuilder =>
    new QueryVariableBuilder(name)
      .label(label)
      .description(`Filters every panel by ${name}.`)
      .datasource(datasourceRef)
      .query(query)
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      // Regex `.*` rather than a value list: a seed or path added later shows up
      // without a dashboard reload.
      .allValue('.*')
      .current({ selected: true, text: ['All'], value: ['$__all'] });
  return [
    new DatasourceVariableBuilder('datasource')
      .label('Data source')
      .description('Prometheus that scrapes seedwatch.')
      .type('prometheus'),
    q('provider', 'Provider', `label_values(${metric}${matchers(cfg)}, provider)`),
    q('path', 'Path', `label_values(${metric}${matchers(cfg, 'provider=~"$provider"')}, path)`),
    q('seed', 'Seed', `label_values(${metric}${matchers(cfg, 'provider=~"$provider"', 'path=~"$path"')}, seed)`),
  ];
}

/** Matchers of a seedwatch metric filtered by the dashboard variables. */
export function filters(cfg: MixinConfig, opts: { path?: boolean; seed?: boolean } = {}, ...extra: string[]): string {
  const parts = ['provider=~"$provider"'];
  if (opts.path !== false) parts.push('path=~"$path"');
  if (opts.seed !== false) parts.push('seed=~"$seed"');
  return matchers(cfg, ...parts, ...extra);
}

/** Matchers of a recorded provider × path series (seed is aggregated away). */
export function recordedFilters(...extra: string[]): string {
  return `{${['provider=~"$provider"', 'path=~"$path"', ...extra].join(', ')}}`;
}

/**
 * The part every seedwatch dashboard shares: stable uid from the prefix, tags, the four
 * variables, crosshair tooltips, read-only.
 */
export function seedwatchDashboard(
  cfg: MixinConfig,
  o: { title: string; slug: string; tag: string; description: string; refresh?: string; from?: string },
): DashboardBuilder {
  const d = cfg.dashboards;
  return new DashboardBuilder(o.title)
    .uid(`${d.uidPrefix}-${o.slug}`)
    .description(o.description)
    .tags([...d.tags, o.tag])
    .refresh(o.refresh ?? d.refresh)
    .time({ from: o.from ?? 'now-24h', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .variables(standardVariables(cfg));
}
