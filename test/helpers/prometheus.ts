import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { spawnManaged, waitFor } from './processes.js';

/** Bounds start-up until /-/ready (~0.1 s measured). */
const PROMETHEUS_READY_TIMEOUT_MS = 10_000;

export interface PrometheusOptions {
  /** '127.0.0.1:port' targets, scraped at /metrics */
  scrapeTargets: string[];
  scrapeIntervalS?: number;
  evaluationIntervalS?: number;
  /** rule files (absolute paths) */
  ruleFiles?: string[];
  /** e.g. 'http://127.0.0.1:9093' */
  alertmanagerUrl?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  dir: string;
  /** instant query; returns the result vector (or scalar/matrix as returned) */
  query(promql: string): Promise<PromSample[]>;
  /** resolves when every configured target is up; note: first scrape is 5-6 s after start */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

function loopbackTarget(t: string): string {
  if (!/^127\.0\.0\.1:\d+$/.test(t)) throw new Error(`prometheus harness scrapes loopback targets only: ${t}`);
  return t;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seedwatch-prometheus-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const scrape = opts.scrapeIntervalS ?? 1;
  const lines = [
    'global:',
    `  scrape_interval: ${scrape}s`,
    `  scrape_timeout: ${scrape}s`,
    `  evaluation_interval: ${opts.evaluationIntervalS ?? 1}s`,
  ];
  if (opts.ruleFiles?.length) lines.push('rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  if (opts.alertmanagerUrl) {
    const u = new URL(opts.alertmanagerUrl);
    loopbackTarget(u.host);
    lines.push(
      'alerting:',
      '  alertmanagers:',
      '    - static_configs:',
      `        - targets: [${JSON.stringify(u.host)}]`,
      ...(u.pathname !== '/' ? [`      path_prefix: ${JSON.stringify(u.pathname)}`] : []),
    );
  }
  lines.push(
    'scrape_configs:',
    '  - job_name: seedwatch',
    '    static_configs:',
    `      - targets: [${opts.scrapeTargets.map((t) => JSON.stringify(loopbackTarget(t))).join(', ')}]`,
  );
  const conf = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(conf, lines.join('\n') + '\n');

  const proc = spawnManaged('prometheus', 'prometheus', [
    `--config.file=${conf}`,
    `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, // fresh TSDB per run
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const diagnostics = () => proc.output().slice(-4000);
  const getJson = async (p: string) => {
    const r = await fetch(url + p);
    const body = (await r.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error ?? r.status}`);
    return body.data;
  };
  const failed = proc.exited.then((r) => {
    throw new Error(`prometheus exited during start-up (code ${r.code})\n${diagnostics()}`);
  });
  failed.catch(() => undefined);
  try {
    await Promise.race([
      waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: PROMETHEUS_READY_TIMEOUT_MS, what: 'prometheus /-/ready', diagnostics }),
      failed,
    ]);
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }

  return {
    url,
    dir,
    async query(promql) {
      const data = (await getJson(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as { result: PromSample[] };
      return data.result;
    },
    async waitForTargetsUp(timeoutMs = 15_000) {
      await waitFor(
        async () => {
          const data = (await getJson('/api/v1/targets?state=active')) as { activeTargets: Array<{ health: string }> };
          return data.activeTargets.length === opts.scrapeTargets.length && data.activeTargets.every((t) => t.health === 'up');
        },
        { timeoutMs, intervalMs: 200, what: 'all prometheus targets up', diagnostics },
      );
    },
    log: () => proc.output(),
    async stop() {
      await proc.stop(5000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
