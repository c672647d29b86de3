// PromQL fragments shared by the dashboards. Rules build their own expressions from
// MixinConfig (rules.ts); these carry dashboard variables ($provider, $path, $seed).

import type { MixinConfig } from './config.js';
import { filters } from './panels.js';

/** Share of `placement` among all placements, per `by`, over `range`. */
export function placementShare(cfg: MixinConfig, placement: string, by: string, range: string): string {
  return (
    `sum by (${by}) (increase(seedwatch_placements_total${filters(cfg, {}, `placement="${placement}"`)}[${range}]))\n` +
    `/ sum by (${by}) (increase(seedwatch_placements_total${filters(cfg)}[${range}]))`
  );
}

/** Latency quantile of a seedwatch histogram per `by`. */
export function latencyQuantile(cfg: MixinConfig, metric: string, q: number, by: string, range: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket${filters(cfg)}[${range}])))`;
}

/** `expr` minus the per-provider minimum of `expr`: how far each path is from the best one. */
export function deltaToBestPath(expr: string): string {
  return `(${expr})\n- on (provider) group_left ()\nmin by (provider) (${expr})`;
}
