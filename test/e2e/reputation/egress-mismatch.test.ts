/**
 * End to end: did the probe leave over the path it was sent on? Two relay paths with their own
 * loopback source IPs (peering 127.0.0.2, transit 127.0.0.3, as `localAddress`, so each path's
 * `ips` defaults to it). An SMTP server plays the provider's MX: it stamps its Received header
 * with the connecting IP, as a provider does, and hands the mail to Dovecot over LMTP. Transit
 * connects to it directly; peering connects to a relay that forwards its mail to the MX from
 * transit's IP (127.0.0.3) — as a peering MTA does when its session is down and it falls back to
 * transit. The unchanged agent reads the ingress IP of every copy; the mismatch is counted for
 * peering only (metrics, /api/probes/:id), real Prometheus evaluates the SHIPPED reputation rule
 * (windows and `for` shortened through dashboards/src/config.ts only) and real Alertmanager
 * delivers SeedwatchEgressMismatch for peering, never for transit. The agent has no `reputation`
 * block: its /metrics carries no series of any reputation source.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../../agent/agent.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { silentLogger } from '../../../agent/log.js';
import { shortenedConfig } from '../../../dashboards/src/config.js';
import { writeRules } from '../../../dashboards/src/index.js';
import { startAlertmanager, startWebhookReceiver, type AlertmanagerServer, type WebhookReceiver } from '../../helpers/alertmanager.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { freePort } from '../../helpers/ports.js';
import { startPrometheus, type PrometheusServer } from '../../helpers/prometheus.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const PW = 'egress-e2e-pw';
const MX_HOST = 'mx.egress.test';
/** Bounds one forwarded SMTP transaction on loopback. */
const FORWARD_TIMEOUT_MS = 10_000;

let dir: string;
let dc: DovecotServer;
let mx: SmtpRelay;
let fallbackRelay: SmtpRelay;
let agent: Agent;
let prom: PrometheusServer;
let am: AlertmanagerServer;
let hook: WebhookReceiver;
const mxClients: string[] = [];
/** The client address of every connection that brought a peering probe to peering's relay. */
const peeringClients: string[] = [];

/** Forward a message to the MX over SMTP from `localAddress` (the IP the MX will record). */
function forward(port: number, localAddress: string, envelope: { from: string; to: string[] }, raw: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = new SMTPConnection({ host: '127.0.0.1', port, localAddress, name: 'fallback.relay.test', ignoreTLS: true, connectionTimeout: FORWARD_TIMEOUT_MS, socketTimeout: FORWARD_TIMEOUT_MS });
    conn.once('error', reject);
    conn.connect(() => {
      conn.send(envelope, raw, (err) => {
        conn.quit();
        if (err) reject(err);
        else resolve();
      });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-egress-e2e-'));
  dc = await startDovecot({ users: [{ user: 'seed1@provider.test', password: PW, kind: 'plain' }] });
  // The provider's MX: stamps the connecting IP, then delivers to the mailbox.
  mx = await startRelay({
    name: 'mx',
    script: async (session, mail) => {
      mxClients.push(session.remoteAddress);
      // As Postfix writes it: the client's HELO, then (reverse DNS [connecting IP]); no PTR here.
      const received = `Received: from ${session.hostNameAppearsAs} (unknown [${session.remoteAddress}])\r\n\tby ${MX_HOST} with ESMTP id ${mail.seq}\r\n\tfor <${mail.to[0]}>; ${new Date().toUTCString().replace('GMT', '+0000')}\r\n`;
      await lmtpDeliver({ host: '127.0.0.1', port: dc.lmtpPort }, { from: mail.from, to: mail.to }, Buffer.concat([Buffer.from(received), mail.raw]));
      return { code: 250 };
    },
  });
  // Peering's MTA, falling back to transit: it forwards from transit's source IP.
  fallbackRelay = await startRelay({
    name: 'peering',
    script: async (session, mail) => {
      peeringClients.push(session.remoteAddress);
      await forward(mx.port, '127.0.0.3', { from: mail.from, to: mail.to }, mail.raw);
      return { code: 250 };
    },
  });
  const port = await freePort();
  const yaml = `listen: 127.0.0.1:${port}
dataDir: ${dir}/data
schedule: "*/2 * * * * *"
deadline: 30s
probe: { from: "Probe <probe@mail.example.test>" }
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: trash }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: ${fallbackRelay.port} }, localAddress: 127.0.0.2 }
  - { name: transit, smtp: { host: 127.0.0.1, port: ${mx.port} }, localAddress: 127.0.0.3 }
seeds:
  - name: seed-1
    address: seed1@provider.test
    provider: generic
    authservIds: [${MX_HOST}]
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: seed1@provider.test, password: { env: SW_PW } }
`;
  agent = await startAgent({ config: parseConfig(yaml, 'egress-e2e.yaml', { baseDir: dir }), env: { SW_PW: PW }, logger: silentLogger() });

  const cfg = shortenedConfig(undefined, { short: '30s', for: '0s', ruleInterval: '1s' });
  const ruleFiles = writeRules(join(dir, 'rules'), cfg);
  hook = await startWebhookReceiver();
  am = await startAlertmanager({ webhookUrl: hook.url });
  prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], scrapeIntervalS: 1, evaluationIntervalS: 1, ruleFiles, alertmanagerUrl: am.url });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await Promise.allSettled([prom?.stop(), am?.stop(), hook?.stop(), mx?.stop(), fallbackRelay?.stop(), dc?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('egress mismatch end to end', () => {
  it('the paths connect from their own source IPs; the MX sees peering arrive from transit\'s', async () => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(fallbackRelay.messages.length > 0 && mx.messages.length > fallbackRelay.messages.length)) await new Promise((r) => setTimeout(r, 200));
    expect(fallbackRelay.messages.length).toBeGreaterThan(0);
    // The peering path itself connected from its own IP (its localAddress) to its relay…
    // (a probe can be mid-forward now: recorded here, not yet among the relay's messages)
    expect(peeringClients.length).toBeGreaterThanOrEqual(fallbackRelay.messages.length);
    expect(new Set(peeringClients)).toEqual(new Set(['127.0.0.2']));
    // …and the MX saw every copy, peering's forwarded ones too, from transit's IP.
    expect(new Set(mxClients)).toEqual(new Set(['127.0.0.3']));
    expect(agent.config.paths.map((p) => [p.name, p.ips])).toEqual([
      ['peering', ['127.0.0.2']],
      ['transit', ['127.0.0.3']],
    ]);
  }, 40_000);

  it('counts the mismatch for peering only, and /api/probes/:id says which IP the provider saw', async () => {
    const read = async () => {
      await agent.metrics.settled();
      const text = await agent.metrics.registry.metrics();
      const v = (name: string, path: string) => Number(new RegExp(`^seedwatch_egress_ip_${name}_total\\{path="${path}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      return { peering: v('mismatch', 'peering'), transit: v('mismatch', 'transit'), unknownPeering: v('unknown', 'peering'), unknownTransit: v('unknown', 'transit') };
    };
    let m = await read();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && m.peering < 2) {
      await new Promise((r) => setTimeout(r, 300));
      m = await read();
    }
    expect(m.peering).toBeGreaterThanOrEqual(2);
    expect(m).toMatchObject({ transit: 0, unknownPeering: 0, unknownTransit: 0 });

    const [peering] = await agent.ledger.listProbes({ path: 'peering', outcome: 'inbox', limit: 1 });
    const [transit] = await agent.ledger.listProbes({ path: 'transit', outcome: 'inbox', limit: 1 });
    const api = async (id: string) => (await (await fetch(`${agent.url}/api/probes/${id}`)).json()) as { egress: unknown; observations: { evidence: Record<string, unknown> }[] };
    expect((await api(peering.id)).egress).toEqual({ pathIps: ['127.0.0.2'], ingressIp: '127.0.0.3', verdict: 'mismatch' });
    expect((await api(transit.id)).egress).toEqual({ pathIps: ['127.0.0.3'], ingressIp: '127.0.0.3', verdict: 'match' });
    expect((await api(peering.id)).observations[0].evidence).toMatchObject({ ingressIp: '127.0.0.3', ingressHop: MX_HOST });
  }, 40_000);

  it('an agent without a reputation block exports no reputation series (absent config = no series)', async () => {
    const res = await fetch(`${agent.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    // The scrape is the real one (the egress counters of the paths' ips are in it)…
    expect(text).toMatch(/^seedwatch_egress_ip_mismatch_total\{path="peering"/m);
    // …and no series of any reputation source: no DNSBL, SNDS, Postmaster, hygiene, source errors or freshness.
    const reputation = text.split('\n').filter((l) => /^seedwatch_(dnsbl|snds|gmail_postmaster|path_fcrdns|path_spf|path_helo|reputation)_/.test(l));
    expect(reputation).toEqual([]);
    expect(text).not.toMatch(/^# (HELP|TYPE) seedwatch_(dnsbl|snds|gmail_postmaster|path_fcrdns|path_spf|path_helo|reputation)_/m);
  });

  it('Prometheus evaluates the shipped rule and Alertmanager delivers SeedwatchEgressMismatch for peering, never for transit', async () => {
    await prom.waitForTargetsUp(30_000);
    const page = await hook.waitFor((p) => p.alerts.some((a) => a.labels.alertname === 'SeedwatchEgressMismatch' && a.status === 'firing'), 60_000);
    const fired = page.alerts.filter((a) => a.labels.alertname === 'SeedwatchEgressMismatch');
    for (const a of fired) {
      expect(a.labels).toMatchObject({ path: 'peering', provider: 'generic', severity: 'page' });
      expect(a.annotations.runbook_url).toMatch(/#seedwatchegressmismatch$/);
      expect(a.annotations.description).toMatch(/of the probes sent over the peering path reached generic from an IP that is not one of the path's ips/);
    }
    const firingNow = await prom.query('ALERTS{alertstate="firing",alertname="SeedwatchEgressMismatch"}');
    expect(new Set(firingNow.map((s) => s.metric.path))).toEqual(new Set(['peering']));
    const all = hook.alerts.flatMap((p) => p.alerts).filter((a) => a.labels.alertname === 'SeedwatchEgressMismatch');
    expect(all.filter((a) => a.labels.path === 'transit')).toEqual([]);
  }, 90_000);
});
