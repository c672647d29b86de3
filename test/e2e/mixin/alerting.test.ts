/**
 * End to end: the agent (in-process, unchanged) against Dovecot and two relays; the transit
 * path's probes start landing in spam (Sieve); real Prometheus evaluates the SHIPPED rule
 * expressions (windows and `for` shortened through dashboards/src/config.ts only) and real
 * Alertmanager delivers the page to a webhook: labelled provider + path=transit, and nothing
 * for the peering path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../../agent/agent.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { silentLogger } from '../../../agent/log.js';
import { shortenedConfig } from '../../../dashboards/src/config.js';
import { queryPanelsOf } from './panel-queries.js';
import { buildDashboards, writeRules } from '../../../dashboards/src/index.js';
import { startAlertmanager, startWebhookReceiver, type AlertmanagerServer, type WebhookReceiver } from '../../helpers/alertmanager.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { freePort } from '../../helpers/ports.js';
import { startPrometheus, type PrometheusServer } from '../../helpers/prometheus.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const PW = 'mixin-e2e-pw';
const sieve = (junk: string) => `require ["fileinto", "special-use"];
if header :is "X-Test-Path" "transit" {
  fileinto :specialuse "\\\\Junk" "${junk}";
  stop;
}
`;

let dc: DovecotServer;
let relays: SmtpRelay[] = [];
let agent: Agent;
let prom: PrometheusServer;
let am: AlertmanagerServer;
let hook: WebhookReceiver;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-mixin-e2e-'));
  dc = await startDovecot({
    users: [
      { user: 'seed1@gmail.test', password: PW, kind: 'gmail', sieve: sieve('[Gmail]/Spam') },
      { user: 'seed2@outlook.test', password: PW, kind: 'outlook', sieve: sieve('Junk Email') },
    ],
  });
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  relays = [await startRelay({ name: 'peering', forwardLmtp: lmtp }), await startRelay({ name: 'transit', forwardLmtp: lmtp })];
  const port = await freePort();
  const yaml = `listen: 127.0.0.1:${port}
dataDir: ${dir}/data
schedule: "* * * * * *"
deadline: 30s
probe: { from: "Probe <probe@mail.example.test>" }
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: trash }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: ${relays[0].port} }, headers: { X-Test-Path: peering } }
  - { name: transit, smtp: { host: 127.0.0.1, port: ${relays[1].port} }, headers: { X-Test-Path: transit } }
seeds:
  - { name: gmail-1, address: seed1@gmail.test, provider: gmail, imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: seed1@gmail.test, password: { env: SW_PW } } }
  - { name: outlook-1, address: seed2@outlook.test, provider: generic, imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: seed2@outlook.test, password: { env: SW_PW } } }
`;
  agent = await startAgent({ config: parseConfig(yaml, 'mixin-e2e.yaml', { baseDir: dir }), env: { SW_PW: PW }, logger: silentLogger() });

  // The shipped rules, with windows and `for` shortened through the config module only.
  const rulesDir = join(dir, 'rules');
  const cfg = shortenedConfig(undefined, { short: '20s', day: '40s', week: '1m', for: '0s', ruleInterval: '1s', minProbes: 3 });
  const ruleFiles = writeRules(rulesDir, cfg);
  hook = await startWebhookReceiver();
  am = await startAlertmanager({ webhookUrl: hook.url });
  prom = await startPrometheus({
    scrapeTargets: [`127.0.0.1:${port}`],
    scrapeIntervalS: 1,
    evaluationIntervalS: 1,
    ruleFiles,
    alertmanagerUrl: am.url,
  });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await Promise.allSettled([prom?.stop(), am?.stop(), hook?.stop(), ...relays.map((r) => r.stop()), dc?.stop()]);
});

describe('alerting end to end', () => {
  it('pages for transit spam (provider and path labels) and never for peering', async () => {
    await prom.waitForTargetsUp(30_000);
    const page = await hook.waitFor(
      (p) => p.alerts.some((a) => a.labels.alertname === 'SeedwatchSpamPlacementHigh' && a.status === 'firing'),
      60_000,
    );
    const fired = page.alerts.filter((a) => a.labels.alertname === 'SeedwatchSpamPlacementHigh');
    expect(fired.length).toBeGreaterThanOrEqual(1);
    for (const a of fired) {
      expect(a.labels.path).toBe('transit');
      expect(['gmail', 'generic']).toContain(a.labels.provider);
      expect(a.labels.severity).toBe('page');
      expect(a.annotations.runbook_url).toMatch(/#seedwatchspamplacementhigh$/);
    }
    // Give peering every chance to (wrongly) fire too, then look at everything received.
    await new Promise((r) => setTimeout(r, 5_000));
    const spamAlerts = hook.alerts.flatMap((p) => p.alerts).filter((a) => /Spam/.test(a.labels.alertname));
    expect(spamAlerts.filter((a) => a.labels.path === 'peering')).toEqual([]);
    const firingNow = await prom.query('ALERTS{alertstate="firing",alertname="SeedwatchSpamPlacementHigh"}');
    expect(new Set(firingNow.map((s) => s.metric.path))).toEqual(new Set(['transit']));
  }, 120_000);

  it('every dashboard panel query runs against this Prometheus, and the main panels return data', async () => {
    const { failures, empty, total } = await queryPanelsOf(buildDashboards(), prom.url);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(30);
    // The Overview's main panels read raw series, so they have data within seconds; the weekly
    // dashboard's recorded 7-day shares need the rules to have run for a while.
    const overview = (title: string) => `Seedwatch / Overview / ${title}`;
    const allTitles = buildDashboards().flatMap((d) => {
      const j = d.json as { title: string; panels: { title: string }[] };
      return j.panels.map((p) => `${j.title} / ${p.title}`);
    });
    for (const title of ['Inbox share per provider × path', 'Spam share per provider and path', 'Probes in flight', 'SMTP replies by class']) {
      expect(allTitles).toContain(overview(title));
      expect(empty).not.toContain(overview(title));
    }
  }, 60_000);
});
