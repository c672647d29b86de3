import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { startAlertmanager, startWebhookReceiver } from '../../helpers/alertmanager.js';
import { startPrometheus } from '../../helpers/prometheus.js';

describe('prometheus + alertmanager harness', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('prometheus scrapes a /metrics endpoint and query returns its value', async () => {
    let value = 41;
    const srv = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      value += 1;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE harness_probe_total counter\nharness_probe_total{path="peering"} ${value}\n`);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => srv.close(() => r())));
    const port = (srv.address() as { port: number }).port;

    const t0 = Date.now();
    const prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], scrapeIntervalS: 1 });
    stops.push(() => prom.stop());
    const ready = Date.now() - t0;
    await prom.waitForTargetsUp(15_000);
    console.log(`prometheus ready ${ready} ms, first target up after ${Date.now() - t0} ms`);
    const res = await prom.query('harness_probe_total{path="peering"}');
    expect(res).toHaveLength(1);
    expect(res[0].metric.path).toBe('peering');
    expect(Number(res[0].value[1])).toBeGreaterThanOrEqual(42);
    expect(Number(res[0].value[1])).toBeLessThanOrEqual(value);
  });

  it('alertmanager delivers a posted alert to the webhook receiver', async () => {
    const hook = await startWebhookReceiver();
    stops.push(() => hook.stop());
    const t0 = Date.now();
    const am = await startAlertmanager({ webhookUrl: hook.url });
    stops.push(() => am.stop());
    console.log(`alertmanager ready ${Date.now() - t0} ms`);
    const r = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { labels: { alertname: 'SeedwatchHarnessTest', severity: 'warning', path: 'peering' }, annotations: { summary: 'harness' } },
      ]),
    });
    expect(r.status).toBe(200);
    const t1 = Date.now();
    const p = await hook.waitFor((x) => x.alerts.some((a) => a.labels.alertname === 'SeedwatchHarnessTest'), 10_000);
    console.log(`webhook got the alert ${Date.now() - t1} ms after POST`);
    expect(p.status).toBe('firing');
    expect(p.commonLabels).toMatchObject({ alertname: 'SeedwatchHarnessTest', path: 'peering', severity: 'warning' });
    expect(p.alerts[0].annotations.summary).toBe('harness');
  });
});
