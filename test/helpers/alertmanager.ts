import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { spawnManaged, waitFor } from './processes.js';

/** Bounds start-up until /-/ready (~0.1 s measured). */
const ALERTMANAGER_READY_TIMEOUT_MS = 10_000;

export interface AlertmanagerOptions {
  /** full alertmanager.yml; or */
  configYaml?: string;
  /** a webhook receiver URL: one route, group_wait 0s, group_interval 1s */
  webhookUrl?: string;
}

export interface AlertmanagerServer {
  url: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export function webhookConfig(webhookUrl: string): string {
  return `route:
  receiver: hook
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: ${JSON.stringify(webhookUrl)}
        send_resolved: true
`;
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<AlertmanagerServer> {
  const yaml = opts.configYaml ?? (opts.webhookUrl ? webhookConfig(opts.webhookUrl) : undefined);
  if (!yaml) throw new Error('startAlertmanager: configYaml or webhookUrl');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seedwatch-alertmanager-'));
  const conf = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(conf, yaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged('alertmanager', 'prometheus-alertmanager', [
    `--config.file=${conf}`,
    `--storage.path=${path.join(dir, 'data')}`, // fresh: a reused one deduplicates notifications
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=', // no gossip: no 0.0.0.0:9094, no 1 min settle delay
    '--log.level=warn',
  ]);
  const diagnostics = () => proc.output().slice(-4000);
  const failed = proc.exited.then((r) => {
    throw new Error(`alertmanager exited during start-up (code ${r.code})\n${diagnostics()}`);
  });
  failed.catch(() => undefined);
  try {
    await Promise.race([
      waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: ALERTMANAGER_READY_TIMEOUT_MS, what: 'alertmanager /-/ready', diagnostics }),
      failed,
    ]);
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }
  return {
    url,
    dir,
    log: () => proc.output(),
    async stop() {
      await proc.stop(5000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The JSON body Alertmanager POSTs to a webhook (version 4). */
export interface WebhookPayload {
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
  }>;
  [k: string]: unknown;
}

export interface WebhookReceiver {
  url: string;
  alerts: WebhookPayload[];
  waitFor(predicate: (p: WebhookPayload) => boolean, timeoutMs?: number): Promise<WebhookPayload>;
  stop(): Promise<void>;
}

/** A node http server on 127.0.0.1 that records every webhook POST body. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const alerts: WebhookPayload[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        alerts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload);
        res.writeHead(200).end('ok');
      } catch {
        res.writeHead(400).end('bad json');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('webhook receiver: no address');
  return {
    url: `http://127.0.0.1:${addr.port}/alerts`,
    alerts,
    waitFor(predicate, timeoutMs = 10_000) {
      return waitFor(() => alerts.find(predicate), {
        timeoutMs,
        intervalMs: 50,
        what: 'a matching webhook payload',
        diagnostics: () => JSON.stringify(alerts, null, 1).slice(-3000),
      });
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
