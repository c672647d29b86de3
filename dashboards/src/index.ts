// Public entry of the seedwatch monitoring mixin: dashboards and rules, built in
// memory or written to disk. `seedwatch dashboards --out DIR` calls writeDashboards.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig, type MixinConfig } from './config.js';
import { overviewDashboard } from './overview.js';
import { pathsDashboard } from './paths.js';
import { weeklyTrendsDashboard } from './weekly-trends.js';

export { defaultConfig, shortenedConfig, type MixinConfig, type ShortenOptions } from './config.js';
export { buildRules, renderRuleFile, writeRules, recorded, type RuleFile, type AlertingRule, type RecordingRule } from './rules.js';

export interface GeneratedDashboard {
  /** File name, e.g. `seedwatch-overview.json`. */
  file: string;
  json: object;
}

interface PanelLike {
  id?: number;
  panels?: PanelLike[];
}

// The SDK leaves panel ids unset (rows get 0); Grafana would number them on load and
// links to a panel (viewPanel=N) would drift. Number them in layout order instead.
function numberPanels(dashboard: { panels?: PanelLike[] }): void {
  let next = 1;
  const walk = (panels: PanelLike[] | undefined): void => {
    for (const p of panels ?? []) {
      p.id = next++;
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
}

/** The three seedwatch dashboards as Grafana dashboard JSON (stable uids). */
export function buildDashboards(cfg: MixinConfig = defaultConfig): GeneratedDashboard[] {
  const p = cfg.dashboards.uidPrefix;
  return [
    { file: `${p}-overview.json`, builder: overviewDashboard(cfg) },
    { file: `${p}-paths.json`, builder: pathsDashboard(cfg) },
    { file: `${p}-weekly-trends.json`, builder: weeklyTrendsDashboard(cfg) },
  ].map(({ file, builder }) => {
    const json = builder.build();
    numberPanels(json as { panels?: PanelLike[] });
    return { file, json };
  });
}

/** JSON text of a dashboard exactly as committed. */
export function renderDashboard(d: GeneratedDashboard): string {
  return `${JSON.stringify(d.json, null, 2)}\n`;
}

/** Writes every dashboard into `outDir` (created if needed); returns the written paths. */
export function writeDashboards(outDir: string, cfg: MixinConfig = defaultConfig): string[] {
  mkdirSync(outDir, { recursive: true });
  return buildDashboards(cfg).map((d) => {
    const path = join(outDir, d.file);
    writeFileSync(path, renderDashboard(d));
    return path;
  });
}
