// The mixin against the real tools: promtool checks and unit-tests the committed rules,
// amtool checks and routes the Alertmanager example, and a real Prometheus (Debian
// 2.42, loopback only) loaded with the rules runs every PromQL expression of every
// dashboard panel against seedwatch-shaped series.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  return `${out.join('\n')}\n`;
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
    let scrapes = 0;
    exporter = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      scrapes += 1;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(scrapes));
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
