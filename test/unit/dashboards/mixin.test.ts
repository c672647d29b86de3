// The committed mixin files (dashboards/*.json, dashboards/prometheus/*.yml) must be
// exactly what the code generates, and the generated objects must follow the house
// rules: stable uids, variables, a description on every panel, alert metadata.

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildDashboards,
  buildRules,
  defaultConfig,
  renderDashboard,
  renderRuleFile,
  shortenedConfig,
  writeDashboards,
  writeRules,
  type AlertingRule,
  type RecordingRule,
} from '../../../dashboards/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Panel {
  id?: number;
  type: string;
  title: string;
  description?: string;
  panels?: Panel[];
  targets?: Array<{ expr: string; refId?: string; datasource?: { uid?: string } }>;
}
interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string }> };
}

const dashboards = buildDashboards().map((d) => ({ file: d.file, json: d.json as unknown as Dashboard }));
const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const alerts = (): AlertingRule[] =>
  buildRules().flatMap((f) => f.content.groups.flatMap((g) => g.rules)).filter((r): r is AlertingRule => 'alert' in r);

describe('generated files match the committed ones', () => {
  it.each(buildDashboards().map((d) => [d.file, d] as const))('dashboards/%s', (file, d) => {
    expect(readFileSync(join(root, 'dashboards', file), 'utf8')).toBe(renderDashboard(d));
  });

  it.each(buildRules().map((f) => [f.file, f] as const))('dashboards/prometheus/%s', (file, f) => {
    expect(readFileSync(join(root, 'dashboards', 'prometheus', file), 'utf8')).toBe(renderRuleFile(f));
  });

  it('no stray generated files are committed', () => {
    const json = readdirSync(join(root, 'dashboards')).filter((f) => f.endsWith('.json')).sort();
    expect(json).toEqual(buildDashboards().map((d) => d.file).sort());
    const yml = readdirSync(join(root, 'dashboards', 'prometheus')).filter((f) => f.endsWith('.yml')).sort();
    expect(yml).toEqual(buildRules().map((f) => f.file).sort());
  });

  it('writeDashboards and writeRules write the same bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedwatch-mixin-'));
    try {
      const written = [...writeDashboards(dir), ...writeRules(join(dir, 'prometheus'))];
      expect(written).toHaveLength(6);
      for (const d of buildDashboards()) expect(readFileSync(join(dir, d.file), 'utf8')).toBe(renderDashboard(d));
      for (const f of buildRules()) expect(readFileSync(join(dir, 'prometheus', f.file), 'utf8')).toBe(renderRuleFile(f));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dashboards', () => {
  it('have stable uids, titles and tags', () => {
    expect(dashboards.map((d) => [d.file, d.json.uid, d.json.title])).toEqual([
      ['seedwatch-overview.json', 'seedwatch-overview', 'Seedwatch / Overview'],
      ['seedwatch-paths.json', 'seedwatch-paths', 'Seedwatch / Paths'],
      ['seedwatch-weekly-trends.json', 'seedwatch-weekly-trends', 'Seedwatch / Weekly trends'],
    ]);
    for (const d of dashboards) expect(d.json.tags).toEqual(expect.arrayContaining(['seedwatch', 'deliverability']));
  });

  it('have datasource, provider, path and seed variables', () => {
    for (const d of dashboards) {
      expect(d.json.templating.list.map((v) => `${v.name}:${v.type}`)).toEqual([
        'datasource:datasource',
        'provider:query',
        'path:query',
        'seed:query',
      ]);
    }
  });

  it.each(dashboards.map((d) => [d.json.title, d.json] as const))('%s: every panel has a description and queries', (_t, d) => {
    const panels = allPanels(d).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(5);
    for (const p of panels) {
      expect(p.description, p.title).toMatch(/\S{3,}/);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.datasource?.uid, p.title).toBe('${datasource}');
        expect(t.refId, p.title).toMatch(/^[A-Z]$/);
        expect(t.expr, p.title).toMatch(/seedwatch_|provider_path/);
      }
    }
  });

  it('number panels uniquely, so panel links stay valid', () => {
    for (const d of dashboards) {
      const ids = allPanels(d.json).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
    }
  });

  it('cover what issue 6 asks for', () => {
    const titles = dashboards.flatMap((d) => allPanels(d.json).map((p) => `${d.json.uid}: ${p.title}`));
    for (const t of [
      'seedwatch-overview: Inbox share per provider × path',
      'seedwatch-overview: Placement share over time',
      'seedwatch-overview: Delivery latency heatmap',
      'seedwatch-overview: SMTP replies by class',
      'seedwatch-overview: Mailbox health',
      'seedwatch-overview: Probes in flight',
      'seedwatch-paths: Spam-share delta to the best path',
      'seedwatch-paths: p95 latency delta to the best path',
      'seedwatch-paths: SMTP reply codes by path',
      'seedwatch-weekly-trends: Week-over-week change',
      'seedwatch-weekly-trends: Duplicates per week',
    ]) {
      expect(titles).toContain(t);
    }
    const wow = allPanels(dashboards[2].json).find((p) => p.title === 'Week-over-week change');
    expect(wow?.targets?.[0].expr).toContain('offset 7d');
  });

  it('cover what issue 15 asks for: a Reputation row on the paths dashboard, a Gmail Postmaster group', () => {
    /** Titles of the panels laid out after a row, up to the next row. */
    const rowPanels = (d: Dashboard, row: string): Panel[] => {
      const i = d.panels.findIndex((p) => p.type === 'row' && p.title === row);
      expect(i, row).toBeGreaterThanOrEqual(0);
      const end = d.panels.findIndex((p, j) => j > i && p.type === 'row');
      return d.panels.slice(i + 1, end === -1 ? undefined : end);
    };
    const reputation = rowPanels(dashboards[1].json, 'Reputation');
    expect(reputation.map((p) => p.title)).toEqual([
      'Egress IPs listed on DNSBLs',
      'Microsoft SNDS colour per egress IP',
      'Egress-IP agreement',
      'DNS hygiene per egress IP',
      'Microsoft SNDS complaints and trap hits',
    ]);
    const exprs = reputation.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of ['seedwatch_dnsbl_listed', 'seedwatch_snds_filter_result', 'seedwatch_egress_ip_mismatch_total', 'seedwatch_egress_ip_unknown_total', 'seedwatch_path_fcrdns_ok', 'seedwatch_path_spf_pass']) {
      expect(exprs).toContain(m);
    }
    // Reputation series carry no provider or seed label: only the path variable may filter them.
    expect(exprs).not.toMatch(/provider=~|seed=~/);
    const gmail = rowPanels(dashboards[0].json, 'Gmail Postmaster Tools');
    const gmailExprs = gmail.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of ['seedwatch_gmail_postmaster_spam_rate', 'seedwatch_gmail_postmaster_auth_success_rate', 'seedwatch_gmail_postmaster_delivery_error_rate', 'seedwatch_gmail_postmaster_compliant']) {
      expect(gmailExprs).toContain(m);
    }
  });
});

describe('rules', () => {
  const names = [
    'SeedwatchSpamPlacementHigh',
    'SeedwatchSpamPlacementSpike',
    'SeedwatchPathDivergence',
    'SeedwatchProbesMissing',
    'SeedwatchDeliverySlow',
    'SeedwatchDuplicateDeliveries',
    'SeedwatchAuthFailing',
    'SeedwatchSendFailing',
    'SeedwatchMailboxDown',
    'SeedwatchNotProbing',
    'SeedwatchEgressListed',
    'SeedwatchSndsRed',
    'SeedwatchSndsYellow',
    'SeedwatchGmailSpamRateHigh',
    'SeedwatchGmailSpamRateHigh',
    'SeedwatchEgressMismatch',
    'SeedwatchPathDnsBroken',
  ];

  it('define every alert of issues 6 and 15 with severity, summary, templated description and runbook', () => {
    const runbook = readFileSync(join(root, 'docs', 'runbook.md'), 'utf8');
    expect(alerts().map((a) => a.alert)).toEqual(names);
    for (const a of alerts()) {
      expect(['page', 'ticket']).toContain(a.labels.severity);
      expect(a.annotations.summary).not.toContain('{{');
      expect(a.annotations.description).toMatch(/\{\{ .*\$(value|labels)/);
      expect(a.annotations.runbook_url).toBe(`https://github.com/seedwatch/seedwatch/blob/main/docs/runbook.md#${a.alert.toLowerCase()}`);
      expect(runbook).toContain(`\n## ${a.alert}\n`);
    }
  });

  it('guard placement alerts with a minimum probe count', () => {
    const reputation = buildRules().find((f) => f.file === 'seedwatch-reputation.yml')!.content.groups.flatMap((g) => g.rules.map((r) => (r as AlertingRule).alert));
    for (const a of alerts().filter((x) => !['SeedwatchMailboxDown', 'SeedwatchNotProbing', ...reputation].includes(x.alert))) {
      expect(a.expr, a.alert).toMatch(/>= \d+/);
    }
  });

  it('record 1h, 1d and 7d shares from summed counts', () => {
    const rec = buildRules()
      .flatMap((f) => f.content.groups.flatMap((g) => g.rules))
      .filter((r): r is RecordingRule => 'record' in r);
    for (const w of ['1h', '1d', '7d']) {
      const share = rec.find((r) => r.record === `provider_path_placement:seedwatch_placement_share:ratio${w}`);
      expect(share?.expr).toBe(
        `provider_path_placement:seedwatch_placements:increase${w}\n  / ignoring (placement) group_left ()\n(provider_path:seedwatch_placements:increase${w} > 0)`,
      );
    }
  });

  it('keep their shape in the shortened test variant: only durations differ', () => {
    const short = shortenedConfig(defaultConfig, { minProbes: 1 });
    const durations = /\b\d+[smhdw]\b/g;
    const numbers = /(>=?|>) \d+(\.\d+)?/g;
    const shape = (rs: ReturnType<typeof buildRules>): string[] =>
      rs.flatMap((f) => f.content.groups.flatMap((g) => g.rules.map((r) => r.expr.replace(durations, 'D').replace(numbers, '$1 N'))));
    expect(shape(buildRules(short))).toEqual(shape(buildRules()));
    const shortAlerts = buildRules(short).flatMap((f) => f.content.groups.flatMap((g) => g.rules)).filter((r): r is AlertingRule => 'alert' in r);
    expect(shortAlerts.every((a) => a.for === '0s')).toBe(true);
    expect(buildRules(short)[0].content.groups[0].rules[0].expr).toContain('[1m]');
    expect(buildRules(short)[0].content.groups[0].rules[2].expr).toContain('[10m:1m]');
    expect(buildRules(short)[0].content.groups[0].interval).toBe('1s');
    // The default config is not mutated by deriving a variant.
    expect(defaultConfig.alerts.spamHigh.for).toBe('15m');
    expect(defaultConfig.windows.short).toBe('1h');
  });
});
