// The mixin against the real tools: promtool checks and unit-tests the committed rules,
// amtool checks and routes the Alertmanager example, and a real Prometheus (Debian
// 2.42, loopback only) loaded with the rules runs every PromQL expression of every
// dashboard panel against seedwatch-shaped series. The reputation series come from the agent's
// own ReputationMetrics (so their names cannot drift from the agent's); the Reputation row of the
// paths dashboard and the Gmail Postmaster group of the overview are checked value by value, and
// what each of their panels shows is written as text (no Grafana runs here) to a file whose path
// the test logs.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { buildDashboards, shortenedConfig, writeRules } from '../../../dashboards/src/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const promDir = join(root, 'dashboards', 'prometheus');

function run(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('promtool and amtool', () => {
  it('promtool check rules accepts the committed rule files', () => {
    const files = readdirSync(promDir).filter((f) => f.endsWith('.yml')).map((f) => join(promDir, f));
    const r = run('promtool', ['check', 'rules', ...files]);
    expect(r.out).toContain('SUCCESS: 15 rules found');
    expect(r.out).toContain('SUCCESS: 10 rules found');
    expect(r.code).toBe(0);
  });

  it('promtool check rules accepts the shortened test variant', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedwatch-rules-'));
    try {
      const r = run('promtool', ['check', 'rules', ...writeRules(dir, shortenedConfig())]);
      expect(r.code, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('promtool test rules passes a case for every alert', { timeout: 150_000 }, () => {
    const tests = readdirSync(join(promDir, 'tests')).filter((f) => f.endsWith('.test.yml')).map((f) => join(promDir, 'tests', f));
    expect(tests.length).toBeGreaterThanOrEqual(2);
    const r = run('promtool', ['test', 'rules', ...tests]);
    expect(r.out).not.toContain('FAILED');
    expect(r.code, r.out).toBe(0);
  });

  const am = join(root, 'dashboards', 'alertmanager', 'alertmanager.yml');
  it('amtool check-config accepts the Alertmanager example', () => {
    const r = run('amtool', ['check-config', am]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it.each([
    ['severity=page', 'pager'],
    ['severity=ticket', 'chat'],
  ])('routes %s to %s', (label, receiver) => {
    const r = run('amtool', ['config', 'routes', 'test', `--config.file=${am}`, `--verify.receivers=${receiver}`, label, 'provider=gmail', 'path=transit']);
    expect(r.out.trim().split('\n')[0]).toBe(receiver);
    expect(r.code).toBe(0);
  });
});

// ---------------------------------------------------------------------------------
// A real Prometheus scraping a static seedwatch-shaped /metrics.

const providers = ['gmail', 'outlook'];
const paths = ['peering', 'transit'];
const placements = ['inbox', 'spam', 'promotions', 'social', 'updates', 'forums', 'other', 'missing'];
const buckets = [1, 5, 30, 60, 300, 900, 1800, 3600, 7200];

/** Exposition text; counters grow with every scrape so increase() and rate() have data. */
function metricsText(scrape: number): string {
  const out: string[] = [];
  const line = (name: string, labels: Record<string, string>, v: number): void => {
    const l = Object.entries(labels).map(([k, val]) => `${k}="${val}"`).join(',');
    out.push(`${name}{${l}} ${v}`);
  };
  const n = scrape;
  out.push('# TYPE seedwatch_placements_total counter');
  for (const provider of providers)
    for (const path of paths) {
      const seed = `${provider}-1`;
      const base = { path, seed, provider };
      for (const placement of placements) {
        const v = placement === 'inbox' ? 3 * n : placement === 'spam' && path === 'transit' ? n : 0;
        line('seedwatch_placements_total', { ...base, placement }, v);
      }
    }
  out.push('# TYPE seedwatch_probes_sent_total counter');
  for (const provider of providers) for (const path of paths) line('seedwatch_probes_sent_total', { path, seed: `${provider}-1`, provider }, 4 * n);
  out.push('# TYPE seedwatch_probe_send_errors_total counter');
  for (const provider of providers) for (const path of paths) line('seedwatch_probe_send_errors_total', { path, seed: `${provider}-1`, provider, reason: 'timeout' }, 0);
  out.push('# TYPE seedwatch_smtp_replies_total counter');
  for (const provider of providers)
    for (const path of paths) {
      line('seedwatch_smtp_replies_total', { path, seed: `${provider}-1`, provider, code: '250' }, 4 * n);
      line('seedwatch_smtp_replies_total', { path, seed: `${provider}-1`, provider, code: '421' }, path === 'transit' ? n : 0);
    }
  for (const m of ['seedwatch_duplicates_total', 'seedwatch_late_arrivals_total']) {
    out.push(`# TYPE ${m} counter`);
    for (const provider of providers) for (const path of paths) line(m, { path, seed: `${provider}-1`, provider }, path === 'transit' ? n : 0);
  }
  for (const [m, scale] of [['seedwatch_delivery_latency_seconds', 1], ['seedwatch_detection_delay_seconds', 0.01]] as const) {
    out.push(`# TYPE ${m} histogram`);
    for (const provider of providers)
      for (const path of paths) {
        const base = { path, seed: `${provider}-1`, provider };
        const latency = (path === 'transit' ? 700 : 20) * scale;
        for (const le of buckets) line(`${m}_bucket`, { ...base, le: String(le * scale) }, latency <= le * scale ? 3 * n : 0);
        line(`${m}_bucket`, { ...base, le: '+Inf' }, 3 * n);
        line(`${m}_sum`, base, 3 * n * latency);
        line(`${m}_count`, base, 3 * n);
      }
  }
  out.push('# TYPE seedwatch_auth_results_total counter');
  for (const provider of providers)
    for (const path of paths)
      for (const method of ['spf', 'dkim', 'dmarc', 'arc'])
        for (const result of ['pass', 'fail', 'none']) {
          const v = result === 'pass' ? 3 * n : method === 'dkim' && path === 'transit' && result === 'fail' ? n : 0;
          line('seedwatch_auth_results_total', { path, seed: `${provider}-1`, provider, method, result }, v);
        }
  out.push('# TYPE seedwatch_probes_in_flight gauge');
  for (const provider of providers) for (const path of paths) line('seedwatch_probes_in_flight', { path, seed: `${provider}-1`, provider }, 2);
  out.push('# TYPE seedwatch_mailbox_up gauge');
  for (const provider of providers) line('seedwatch_mailbox_up', { seed: `${provider}-1`, provider }, provider === 'outlook' ? 0 : 1);
  out.push('# TYPE seedwatch_mailbox_errors_total counter');
  for (const provider of providers) line('seedwatch_mailbox_errors_total', { seed: `${provider}-1`, provider, kind: 'login' }, provider === 'outlook' ? n : 0);
  out.push('# TYPE seedwatch_last_probe_timestamp_seconds gauge');
  for (const provider of providers) for (const path of paths) line('seedwatch_last_probe_timestamp_seconds', { path, seed: `${provider}-1`, provider }, Date.now() / 1000);
  out.push('# TYPE seedwatch_build_info gauge', 'seedwatch_build_info{version="0.1.0"} 1');
  out.push('# TYPE seedwatch_cycles_total counter', `seedwatch_cycles_total ${n}`);
  out.push('# TYPE seedwatch_cycle_overlaps_total counter', 'seedwatch_cycle_overlaps_total 0');
  out.push('# TYPE seedwatch_last_cycle_timestamp_seconds gauge', `seedwatch_last_cycle_timestamp_seconds ${Math.floor(Date.now() / 1000)}`);
  // Egress-IP agreement, zeroed for every path × seed as the agent does: transit's Gmail probes
  // arrive from an IP that is not transit's (2 per scrape), peering's Outlook copies name no
  // ingress IP (1 per scrape). Same scrape timestamps, so increase() of the two keeps the 2:1.
  const egress = [
    ['seedwatch_egress_ip_mismatch_total', 'transit', 'gmail', 2],
    ['seedwatch_egress_ip_unknown_total', 'peering', 'outlook', 1],
  ] as const;
  for (const [m, badPath, badProvider, perScrape] of egress) {
    out.push(`# TYPE ${m} counter`);
    for (const provider of providers)
      for (const path of paths) line(m, { path, seed: `${provider}-1`, provider }, path === badPath && provider === badProvider ? perScrape * n : 0);
  }
  return `${out.join('\n')}\n`;
}

// The reputation state the agent would export: paths' egress IPs (peering 192.0.2.10 and
// 2001:db8::25, transit 198.51.100.7) and one IP of the SNDS key that is no path's.
const REP = {
  zones: ['zen.spamhaus.org', 'b.barracudacentral.org'],
  pathIps: [
    { path: 'peering', ip: '192.0.2.10' },
    { path: 'peering', ip: '2001:db8::25' },
    { path: 'transit', ip: '198.51.100.7' },
  ],
  /** transit's IP is on Spamhaus ZEN; nothing else is listed. */
  listed: new Set(['transit|198.51.100.7|zen.spamhaus.org']),
  // SNDS (IPv4 only): filter 0 GREEN, 1 YELLOW, 2 RED.
  snds: [
    { path: 'peering', ip: '192.0.2.10', filter: 0, complaintRate: 0.002, trapHits: 0, recipients: 988, blocked: 0 },
    { path: 'transit', ip: '198.51.100.7', filter: 2, complaintRate: 0.001, trapHits: 3, recipients: 1475, blocked: 1 },
    { path: '', ip: '203.0.113.9', filter: 1, complaintRate: 0.001, trapHits: 0, recipients: 10, blocked: 0 },
  ],
  // DNS hygiene: transit's PTR is a generic name that does not confirm, so its HELO (a
  // direct-to-MX path) does not match it either; peering is a relay path (no HELO of ours).
  hygiene: [
    { path: 'peering', ip: '192.0.2.10', fcrdns: 1, spf: 1 },
    { path: 'peering', ip: '2001:db8::25', fcrdns: 1, spf: 1 },
    { path: 'transit', ip: '198.51.100.7', fcrdns: 0, helo: 0, spf: 1 },
  ],
  // Gmail Postmaster Tools per sending domain; data of 2 and 3 days ago (midnight UTC).
  postmaster: [
    {
      domain: 'mail.example.com',
      daysOld: 2,
      spamRate: 0.004,
      auth: { spf: 0.998, dkim: 0.995, dmarc: 0.99 },
      tls: 0.999,
      errors: { 'reject/all': 0.012, 'reject/low_ip_reputation': 0.009, 'reject/other': 0.003, 'temp_fail/all': 0.004 },
      compliant: { spf: 1, dkim: 1, dmarc_policy: 1, user_reported_spam_rate: 0, one_click_unsubscribe: 1, honor_unsubscribe: 1 },
    },
    {
      domain: 'news.example.com',
      daysOld: 3,
      spamRate: 0.0015,
      auth: { spf: 1, dkim: 1, dmarc: 1 },
      tls: 1,
      errors: { 'reject/all': 0, 'temp_fail/all': 0.0005 },
      compliant: { spf: 1, dkim: 1, dmarc_policy: 1, user_reported_spam_rate: 1, one_click_unsubscribe: 0, honor_unsubscribe: 1 },
    },
  ],
};

const dayStartSeconds = (daysOld: number): number => Math.floor(Date.now() / 86_400_000 - daysOld) * 86_400;

/** REP through the agent's own reputation metrics (every source configured), as its /metrics shows it. */
async function reputationText(): Promise<string> {
  const registry = new Registry();
  const m = new ReputationMetrics(registry, { dnsblZones: REP.zones, hygiene: true, snds: true, postmaster: true });
  for (const { path, ip } of REP.pathIps) for (const zone of REP.zones) m.dnsblListed!.set({ path, ip, zone }, REP.listed.has(`${path}|${ip}|${zone}`) ? 1 : 0);
  for (const r of REP.snds) {
    const l = { path: r.path, ip: r.ip };
    m.sndsFilter!.set(l, r.filter);
    m.sndsComplaintRate!.set(l, r.complaintRate);
    m.sndsTrapHits!.set(l, r.trapHits);
    m.sndsRecipients!.set(l, r.recipients);
    m.sndsBlocked!.set(l, r.blocked);
  }
  for (const h of REP.hygiene) {
    const l = { path: h.path, ip: h.ip };
    m.fcrdnsOk!.set(l, h.fcrdns);
    m.spfPass!.set(l, h.spf);
    if (h.helo !== undefined) m.heloOk!.set(l, h.helo);
  }
  for (const d of REP.postmaster) {
    m.pmSpamRate!.set({ domain: d.domain }, d.spamRate);
    m.pmDataTimestamp!.set({ domain: d.domain }, dayStartSeconds(d.daysOld));
    m.pmTls!.set({ domain: d.domain }, d.tls);
    for (const [auth_type, v] of Object.entries(d.auth)) m.pmAuthSuccess!.set({ domain: d.domain, auth_type }, v);
    for (const [key, v] of Object.entries(d.errors)) {
      const [error_type, error_reason] = key.split('/');
      m.pmDeliveryErrors!.set({ domain: d.domain, error_type, error_reason }, v);
    }
    for (const [requirement, v] of Object.entries(d.compliant)) m.pmCompliant!.set({ domain: d.domain, requirement }, v);
  }
  const now = Date.now() / 1000;
  for (const source of ['dnsbl', 'hygiene', 'snds', 'postmaster']) m.lastSuccess!.set({ source }, now);
  return registry.metrics();
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PromResponse {
  status: string;
  error?: string;
  data: { resultType: string; result: unknown[] };
}

describe('dashboard queries against a real Prometheus', () => {
  let exporter: Server;
  let prom: ChildProcess | undefined;
  let promLog = '';
  let dir: string;
  let base: string;

  async function api(path: string, params: Record<string, string>): Promise<PromResponse> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    return (await res.json()) as PromResponse;
  }
  const instant = (query: string): Promise<PromResponse> => api('/api/v1/query', { query });

  async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await ok().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}\n${promLog.slice(-2000)}`);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seedwatch-prom-'));
    const reputation = await reputationText();
    let scrapes = 0;
    exporter = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      scrapes += 1;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(scrapes) + reputation);
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    const exporterPort = (exporter.address() as { port: number }).port;

    // The rules as the end-to-end test will load them: same expressions, short windows.
    const ruleFiles = writeRules(join(dir, 'rules'), shortenedConfig(undefined, { minProbes: 1 }));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files:',
        ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
        'scrape_configs:',
        '  - job_name: seedwatch',
        `    static_configs: [{ targets: ["127.0.0.1:${exporterPort}"] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (b: Buffer) => (promLog += b.toString()));
    prom.stderr?.on('data', (b: Buffer) => (promLog += b.toString()));
    await until('Prometheus ready', async () => (await fetch(`${base}/-/ready`)).ok, 15_000);
    // Prometheus 2.42 scrapes a new target only 5–6 s after start.
    await until(
      'three scrapes and the recorded shares',
      async () => {
        const r = await instant('count(increase(seedwatch_placements_total[1m]) > 0) and count(provider_path_placement:seedwatch_placement_share:ratio1h)');
        return r.data.result.length > 0 && scrapes >= 3;
      },
      30_000,
    );
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom?.once('exit', r));
      prom.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
    }
    await new Promise((r) => exporter?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Grafana's variables, as they are expanded with "All" selected.
  const substitute = (expr: string): string =>
    expr
      .replaceAll('$__rate_interval', '1m')
      .replaceAll('$__interval', '15s')
      .replaceAll('$__range', '5m')
      .replace(/\$(provider|path|seed)\b/g, '.*');

  type Q = { dashboard: string; panel: string; expr: string; instant: boolean };
  const queries: Q[] = buildDashboards().flatMap((d) => {
    const json = d.json as { title: string; panels: Array<{ title: string; type: string; panels?: unknown[]; targets?: Array<{ expr: string; instant?: boolean }> }> };
    return json.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ dashboard: json.title, panel: p.title, expr: t.expr, instant: t.instant === true })),
    );
  });

  it('covers every panel query of every dashboard', () => {
    expect(queries.length).toBeGreaterThanOrEqual(30);
  });

  it('runs every panel query without error', async () => {
    const end = Math.floor(Date.now() / 1000);
    const failures: string[] = [];
    for (const q of queries) {
      const expr = substitute(q.expr);
      const r = q.instant
        ? await instant(expr)
        : await api('/api/v1/query_range', { query: expr, start: String(end - 60), end: String(end), step: '5' });
      if (r.status !== 'success') failures.push(`${q.dashboard} / ${q.panel}: ${r.error}\n${expr}`);
    }
    expect(failures).toEqual([]);
  });

  it('runs the variable queries (label_values) as PromQL', async () => {
    const d = buildDashboards()[0].json as { templating: { list: Array<{ name: string; query?: string }> } };
    const values: Record<string, string[]> = {};
    for (const v of d.templating.list.filter((x) => typeof x.query === 'string' && x.query.startsWith('label_values'))) {
      const m = /^label_values\((.*), (\w+)\)$/.exec(v.query ?? '');
      expect(m, v.query).not.toBeNull();
      const r = await instant(substitute(`count by (${m![2]}) (${m![1]})`));
      expect(r.status).toBe('success');
      values[v.name] = (r.data.result as Array<{ metric: Record<string, string> }>).map((s) => s.metric[m![2]]).sort();
    }
    expect(values).toEqual({ provider: ['gmail', 'outlook'], path: ['peering', 'transit'], seed: ['gmail-1', 'outlook-1'] });
  });

  it('returns data for the main panels', async () => {
    const main = [
      'Inbox share per provider × path',
      'Placement share over time',
      'Spam share per provider and path',
      'Delivery latency p50 / p95 per path',
      'Mailbox health',
      'Placement shares per provider × path',
    ];
    for (const title of main) {
      const q = queries.find((x) => x.panel === title);
      expect(q, title).toBeDefined();
      const r = await instant(substitute(q!.expr));
      expect(r.data.result.length, title).toBeGreaterThan(0);
    }
    // The shares are right, not just present: transit lands 1 spam per 3 inbox.
    const spam = await instant(substitute(queries.find((x) => x.panel === 'Spam share per provider and path')!.expr));
    const byPath = Object.fromEntries(
      (spam.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => [`${s.metric.provider}/${s.metric.path}`, Number(s.value[1])]),
    );
    expect(byPath['gmail/peering']).toBe(0);
    expect(byPath['gmail/transit']).toBeCloseTo(0.25, 2);
    // The paths dashboard draws each path's spam share with its 95 % Wilson bounds, all three
    // from the recorded counts: the share lies inside its own band.
    const band = queries.filter((x) => x.dashboard === 'Seedwatch / Paths' && x.panel === 'Spam share by path, with its 95 % interval');
    expect(band).toHaveLength(3);
    const [share, low, high] = await Promise.all(
      band.map(async (q) =>
        Object.fromEntries(
          ((await instant(substitute(q.expr))).data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((x) => [`${x.metric.provider}/${x.metric.path}`, Number(x.value[1])]),
        ),
      ),
    );
    expect(Object.keys(share).sort()).toEqual(['gmail/peering', 'gmail/transit', 'outlook/peering', 'outlook/transit']);
    for (const k of Object.keys(share)) {
      expect(low[k], k).toBeLessThanOrEqual(share[k]);
      expect(high[k], k).toBeGreaterThanOrEqual(share[k]);
    }
    expect(share['gmail/transit']).toBeCloseTo(0.25, 2);
    expect(low['gmail/transit']).toBeGreaterThan(0);
    expect(high['gmail/transit']).toBeLessThan(1);
    expect(low['gmail/peering']).toBe(0);
    expect(high['gmail/peering']).toBeGreaterThan(0);
  });

  // --- What the reputation panels show ------------------------------------------------------

  type TargetJson = { expr: string; refId: string; instant?: boolean; legendFormat?: string; format?: string };
  type PanelJson = {
    type: string;
    title: string;
    collapsed?: boolean;
    panels?: PanelJson[];
    targets?: TargetJson[];
    transformations?: Array<{ id: string }>;
    fieldConfig?: {
      defaults?: { unit?: string; thresholds?: { steps: Array<{ value: number | null; color: string }> } };
      overrides?: Array<{ matcher: { id: string; options: string }; properties: Array<{ id: string; value: unknown }> }>;
    };
  };
  /** One value a panel shows: a series (legend) of a stat or time series panel, or a cell of a table. */
  type Shown = { refId: string; labels: Record<string, string>; name: string; value: number };

  /** The panels under a row of a dashboard, in the order Grafana lays them out. */
  function rowPanels(dashboard: string, row: string): PanelJson[] {
    const d = buildDashboards().map((x) => x.json as { title: string; panels: PanelJson[] }).find((j) => j.title === dashboard);
    expect(d, dashboard).toBeDefined();
    const out: PanelJson[] = [];
    let inRow = false;
    for (const p of d!.panels) {
      if (p.type === 'row') {
        inRow = p.title === row;
        if (inRow && p.collapsed) out.push(...(p.panels ?? []));
        continue;
      }
      if (inRow) out.push(p);
    }
    return out;
  }

  /**
   * Runs a panel's queries as Grafana does (instant targets as instant queries, the others as
   * range queries over the last minute, whose last point a legend's "last" shows).
   */
  async function evaluate(panel: PanelJson): Promise<Shown[]> {
    const end = Math.floor(Date.now() / 1000);
    const shown: Shown[] = [];
    for (const t of panel.targets ?? []) {
      const expr = substitute(t.expr);
      const r = t.instant === true ? await instant(expr) : await api('/api/v1/query_range', { query: expr, start: String(end - 60), end: String(end), step: '5' });
      expect(r.status, `${panel.title}: ${r.error}`).toBe('success');
      expect(r.data.result.length, `${panel.title} / ${t.refId} returns no data:\n${expr}`).toBeGreaterThan(0);
      for (const series of r.data.result as Array<{ metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>) {
        const raw = t.instant === true ? series.value![1] : series.values![series.values!.length - 1][1];
        const labels = series.metric;
        const name = t.legendFormat !== undefined ? t.legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => labels[k] ?? '') : Object.values(labels).join(' ');
        shown.push({ refId: t.refId, labels, name, value: Number(raw) });
      }
    }
    return shown;
  }

  const unitOf = (p: PanelJson, refId: string): string => {
    const o = p.fieldConfig?.overrides?.find((x) => x.matcher.id === 'byFrameRefID' && x.matcher.options === refId);
    const u = o?.properties.find((x) => x.id === 'unit')?.value;
    return typeof u === 'string' ? u : (p.fieldConfig?.defaults?.unit ?? '');
  };
  const columnOf = (p: PanelJson, refId: string): string => {
    const o = p.fieldConfig?.overrides?.find((x) => x.matcher.id === 'byName' && x.matcher.options === `Value #${refId}`);
    const n = o?.properties.find((x) => x.id === 'displayName')?.value;
    return typeof n === 'string' ? n : `Value #${refId}`;
  };
  const format = (v: number, unit: string): string =>
    unit === 'percentunit' ? `${Number((v * 100).toPrecision(3))}%` : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  const colourOf = (p: PanelJson, v: number): string | undefined => {
    const steps = p.fieldConfig?.defaults?.thresholds?.steps;
    if (!steps) return undefined;
    return steps.filter((x) => x.value === null || v >= x.value).at(-1)?.color;
  };

  /** A panel as text: title, then one line per series (stat, time series) or a table (merged frames). */
  function render(p: PanelJson, shown: Shown[]): string {
    const lines = [`[${p.type}] ${p.title}`];
    if (p.type === 'table') {
      const keys = [...new Set(shown.flatMap((x) => Object.keys(x.labels)))];
      const refIds = (p.targets ?? []).map((t) => t.refId);
      const rows = new Map<string, { labels: Record<string, string>; cells: Record<string, string> }>();
      for (const x of shown) {
        const k = keys.map((l) => x.labels[l] ?? '').join('|');
        const row = rows.get(k) ?? { labels: x.labels, cells: {} };
        row.cells[x.refId] = format(x.value, unitOf(p, x.refId));
        rows.set(k, row);
      }
      const table = [
        [...keys, ...refIds.map((r) => (refIds.length === 1 ? 'Value' : columnOf(p, r)))],
        ...[...rows.values()].map((r) => [...keys.map((l) => r.labels[l] ?? ''), ...refIds.map((id) => r.cells[id] ?? '')]),
      ];
      const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
      for (const r of table) lines.push(`  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd());
    } else {
      const width = Math.max(...shown.map((x) => x.name.length));
      for (const x of shown) {
        const colour = colourOf(p, x.value);
        lines.push(`  ${(x.name.trim() === x.name ? x.name : `"${x.name}"`).padEnd(width + 2)}  ${format(x.value, unitOf(p, x.refId))}${colour ? `  (${colour})` : ''}`);
      }
    }
    return lines.join('\n');
  }

  /** Renders a group of panels into a text file under one temp dir per run (kept: its path is logged). */
  let renderDir: string | undefined;
  async function showGroup(dashboard: string, row: string, file: string): Promise<{ shown: Map<string, Shown[]>; text: string }> {
    const panels = rowPanels(dashboard, row);
    const byTitle = new Map<string, Shown[]>();
    const parts = [
      `${dashboard} — row "${row}", every panel's queries run against Prometheus 2.42 (${new Date().toISOString()}),`,
      'all variables on All; stat and table: instant values; time series: last point of the last minute ($__rate_interval = 1m).',
      '',
    ];
    for (const p of panels) {
      const shown = await evaluate(p);
      byTitle.set(p.title, shown);
      parts.push(render(p, shown), '');
    }
    renderDir ??= mkdtempSync(join(tmpdir(), 'seedwatch-panels-'));
    const text = parts.join('\n');
    writeFileSync(join(renderDir, file), text);
    console.log(`${join(renderDir, file)}:\n${text}`);
    return { shown: byTitle, text };
  }
  const values = (shown: Shown[] | undefined): Record<string, number> => Object.fromEntries((shown ?? []).map((x) => [x.name, x.value]));

  it('the Reputation row of the paths dashboard: every panel returns the expected values', async () => {
    const { shown, text } = await showGroup('Seedwatch / Paths', 'Reputation', 'paths-reputation-row.txt');
    expect([...shown.keys()]).toEqual([
      'Egress IPs listed on DNSBLs',
      'Microsoft SNDS colour per egress IP',
      'Egress-IP agreement',
      'DNS hygiene per egress IP',
      'Microsoft SNDS complaints and trap hits',
    ]);
    expect(values(shown.get('Egress IPs listed on DNSBLs'))).toEqual({ peering: 0, transit: 1 });
    // The IP of no path has an empty path label; "All" (.*) keeps it.
    expect(values(shown.get('Microsoft SNDS colour per egress IP'))).toEqual({ 'peering 192.0.2.10': 0, 'transit 198.51.100.7': 2, ' 203.0.113.9': 1 });
    const egress = values(shown.get('Egress-IP agreement'));
    expect(Object.keys(egress).sort()).toEqual(['peering mismatch', 'peering unknown', 'transit mismatch', 'transit unknown']);
    expect(egress['transit mismatch']).toBeGreaterThan(0);
    expect(egress['peering unknown']).toBeCloseTo(egress['transit mismatch'] / 2, 9);
    expect(egress['peering mismatch']).toBe(0);
    expect(egress['transit unknown']).toBe(0);
    const hygiene = shown.get('DNS hygiene per egress IP')!;
    const cells = Object.fromEntries(hygiene.map((x) => [`${x.labels.path} ${x.labels.ip} ${x.refId}`, x.value]));
    expect(cells).toEqual({
      'peering 192.0.2.10 A': 1,
      'peering 2001:db8::25 A': 1,
      'transit 198.51.100.7 A': 0,
      // HELO: direct-to-MX paths only (transit); peering is a relay path.
      'transit 198.51.100.7 B': 0,
      'peering 192.0.2.10 C': 1,
      'peering 2001:db8::25 C': 1,
      'transit 198.51.100.7 C': 1,
    });
    expect(values(shown.get('Microsoft SNDS complaints and trap hits'))).toEqual({
      'peering 192.0.2.10 complaints': 0.002,
      'transit 198.51.100.7 complaints': 0.001,
      ' 203.0.113.9 complaints': 0.001,
      'peering 192.0.2.10 trap hits': 0,
      'transit 198.51.100.7 trap hits': 3,
      ' 203.0.113.9 trap hits': 0,
    });
    // As Grafana formats them: the SNDS colour by its thresholds, the complaint rate as a percentage.
    expect(text).toMatch(/^ {2}transit 198\.51\.100\.7 +2 {2}\(red\)$/m);
    expect(text).toMatch(/^ {2}" 203\.0\.113\.9" +1 {2}\(yellow\)$/m);
    expect(text).toMatch(/^ {2}transit 198\.51\.100\.7 complaints +0\.1%$/m);
    expect(text).toMatch(/^ {2}transit 198\.51\.100\.7 trap hits +3$/m);
  });

  it('the Gmail Postmaster Tools group of the overview: every panel returns the expected values', async () => {
    const { shown, text } = await showGroup('Seedwatch / Overview', 'Gmail Postmaster Tools', 'overview-postmaster-group.txt');
    expect([...shown.keys()]).toEqual([
      'Gmail user-reported spam rate',
      'Gmail authentication success',
      'Gmail delivery errors',
      'Gmail sender-requirements compliance',
      'Gmail TLS and data freshness',
    ]);
    expect(values(shown.get('Gmail user-reported spam rate'))).toEqual({ 'mail.example.com': 0.004, 'news.example.com': 0.0015 });
    expect(values(shown.get('Gmail authentication success'))).toEqual({
      'mail.example.com spf': 0.998,
      'mail.example.com dkim': 0.995,
      'mail.example.com dmarc': 0.99,
      'news.example.com spf': 1,
      'news.example.com dkim': 1,
      'news.example.com dmarc': 1,
    });
    // Only the per-type totals (error_reason="all"), not the per-reason series beside them.
    expect(values(shown.get('Gmail delivery errors'))).toEqual({
      'mail.example.com reject': 0.012,
      'mail.example.com temp_fail': 0.004,
      'news.example.com reject': 0,
      'news.example.com temp_fail': 0.0005,
    });
    const compliance = Object.fromEntries(shown.get('Gmail sender-requirements compliance')!.map((x) => [`${x.labels.domain} ${x.labels.requirement}`, x.value]));
    expect(compliance).toEqual({
      'mail.example.com spf': 1,
      'mail.example.com dkim': 1,
      'mail.example.com dmarc_policy': 1,
      'mail.example.com user_reported_spam_rate': 0,
      'mail.example.com one_click_unsubscribe': 1,
      'mail.example.com honor_unsubscribe': 1,
      'news.example.com spf': 1,
      'news.example.com dkim': 1,
      'news.example.com dmarc_policy': 1,
      'news.example.com user_reported_spam_rate': 1,
      'news.example.com one_click_unsubscribe': 0,
      'news.example.com honor_unsubscribe': 1,
    });
    const tls = values(shown.get('Gmail TLS and data freshness'));
    expect(Object.keys(tls).sort()).toEqual(['mail.example.com TLS', 'mail.example.com data age (days)', 'news.example.com TLS', 'news.example.com data age (days)']);
    expect(tls['mail.example.com TLS']).toBe(0.999);
    expect(tls['news.example.com TLS']).toBe(1);
    // Data of the day that began 2 (3) midnights ago: its age in days, now.
    const age = (daysOld: number) => (Date.now() / 1000 - dayStartSeconds(daysOld)) / 86_400;
    expect(tls['mail.example.com data age (days)']).toBeCloseTo(age(2), 2);
    expect(tls['news.example.com data age (days)']).toBeCloseTo(age(3), 2);
    expect(tls['news.example.com data age (days)'] - tls['mail.example.com data age (days)']).toBeCloseTo(1, 6);
    expect(text).toMatch(/^ {2}mail\.example\.com +0\.4%$/m);
    expect(text).toMatch(/^ {2}mail\.example\.com TLS +99\.9%$/m);
  });

  it('evaluates the reputation alerts on the same series: exactly the expected ones fire', async () => {
    const names = new Set(['SeedwatchEgressListed', 'SeedwatchSndsRed', 'SeedwatchSndsYellow', 'SeedwatchGmailSpamRateHigh', 'SeedwatchEgressMismatch', 'SeedwatchPathDnsBroken']);
    const expected = [
      'SeedwatchEgressListed page transit 198.51.100.7 zen.spamhaus.org',
      'SeedwatchEgressMismatch page transit gmail',
      'SeedwatchGmailSpamRateHigh page mail.example.com',
      'SeedwatchGmailSpamRateHigh ticket news.example.com',
      'SeedwatchPathDnsBroken ticket transit 198.51.100.7 fcrdns',
      'SeedwatchPathDnsBroken ticket transit 198.51.100.7 helo',
      'SeedwatchSndsRed page transit 198.51.100.7',
      'SeedwatchSndsYellow ticket 203.0.113.9',
    ];
    let firing: string[] = [];
    await until(
      'the expected reputation alerts firing',
      async () => {
        const body = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
        firing = body.data.alerts
          .filter((a) => a.state === 'firing' && names.has(a.labels.alertname))
          .map((a) => [a.labels.alertname, a.labels.severity, a.labels.path, a.labels.ip, a.labels.zone, a.labels.provider, a.labels.domain, a.labels.check].filter(Boolean).join(' '))
          .sort();
        return expected.every((e) => firing.includes(e));
      },
      15_000,
    );
    expect(firing).toEqual(expected);
  });

  it('evaluates the shipped alert expressions: transit alerts, peering stays quiet', async () => {
    const expected = [
      'SeedwatchSpamPlacementHigh gmail transit',
      'SeedwatchSpamPlacementHigh outlook transit',
      'SeedwatchAuthFailing gmail transit',
      'SeedwatchDuplicateDeliveries gmail transit',
      'SeedwatchDeliverySlow gmail transit',
      'SeedwatchMailboxDown outlook outlook-1',
    ];
    let firing: string[] = [];
    await until(
      'the expected alerts firing',
      async () => {
        const body = (await (await fetch(`${base}/api/v1/alerts`)).json()) as {
          data: { alerts: Array<{ labels: Record<string, string>; state: string }> };
        };
        firing = body.data.alerts
          .filter((a) => a.state === 'firing')
          .map((a) => `${a.labels.alertname} ${a.labels.provider ?? ''} ${a.labels.path ?? a.labels.seed ?? ''}`.trim());
        return expected.every((e) => firing.includes(e));
      },
      15_000,
    );
    expect(firing).toEqual(expect.arrayContaining(expected));
    expect(firing.filter((f) => f.includes('peering'))).toEqual([]);
    expect(firing.some((f) => f.startsWith('SeedwatchNotProbing'))).toBe(false);
  });
});
