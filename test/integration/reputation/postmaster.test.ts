/**
 * Gmail Postmaster Tools API v2 through the agent's client: a loopback stand-in serves the v2
 * REST shapes (GET v2/domains paged, POST v2/domains/{d}/domainStats:query paged, GET
 * v2/domains/{d}/complianceStatus) and checks the bearer token against a loopback OAuth2 token
 * endpoint (test/helpers/oauth-server.ts) that the agent's own refresh code talks to. A token
 * the API stops accepting is refreshed once; a 403, a slow domain and a revoked grant are errors
 * of their own kinds; the metrics follow the latest day of each metric.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenSource } from '../../../agent/auth/access-token-source.js';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig, secretResolver } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { postmasterCredentials, POSTMASTER_METRICS } from '../../../agent/reputation/postmaster.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { ReputationMonitor } from '../../../agent/reputation/reputation-monitor.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

const REFRESH = 'google-refresh-5c0ffee-distinct';
const day = (d: string) => ({ year: Number(d.slice(0, 4)), month: Number(d.slice(5, 7)), day: Number(d.slice(8, 10)) });

/** Daily values the stand-in serves for ok.example.com, by metric name. */
const STATS: Record<string, Record<string, number>> = {
  spam_rate: { '2026-11-19': 0.0008, '2026-11-20': 0.0012, '2026-11-21': 0.0035 },
  auth_spf: { '2026-11-21': 0.99 },
  auth_dkim: { '2026-11-21': 1 },
  auth_dmarc: { '2026-11-20': 0.5, '2026-11-21': 0.97 },
  tls_inbound: { '2026-11-21': 0.999 },
  error_reject: { '2026-11-21': 0.004 },
  error_reject_low_ip_reputation: { '2026-11-21': 0.003 },
  error_temp_fail: { '2026-11-21': 0.001 },
};

let oauth: OAuthServer;
let api: http.Server;
let rootUrl: string;
const calls: { method: string; path: string; auth: string; body: Record<string, unknown> | null }[] = [];
/** Access tokens the API has stopped accepting (as if revoked or expired early at Google). */
const refusedTokens = new Set<string>();
let refuseNextToken = false;

beforeAll(async () => {
  oauth = await startOAuthServer({ accounts: [{ user: 'postmaster', refreshToken: REFRESH }], rotateRefreshTokens: false, accessTokenTtlSeconds: 3600, clientId: 'pm-client' });
  api = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
      calls.push({ method: req.method ?? '', path: `${u.pathname}${u.search}`, auth, body });
      const json = (status: number, b: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(b));
      const token = auth.replace(/^Bearer /, '');
      const issued = oauth.issuedAccessTokens().some((t) => t.token === token);
      if (!issued || refusedTokens.has(token)) return json(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
      if (refuseNextToken) {
        // This token works for this call, then "expires" at the API.
        refuseNextToken = false;
        refusedTokens.add(token);
      }
      if (u.pathname === '/v2/domains' && req.method === 'GET') {
        if (u.searchParams.get('pageToken') === 'p2') return json(200, { domains: [{ name: 'domains/forbidden.example.com', verificationState: 'VERIFIED', permission: 'READER' }] });
        return json(200, { domains: [{ name: 'domains/ok.example.com', verificationState: 'VERIFIED', permission: 'OWNER', createTime: '2024-01-01T00:00:00Z' }], nextPageToken: 'p2' });
      }
      const m = /^\/v2\/domains\/([^/]+)\/(domainStats:query|complianceStatus)$/.exec(u.pathname);
      if (!m) return json(404, { error: { code: 404, message: 'not found' } });
      const domain = decodeURIComponent(m[1]);
      if (domain === 'forbidden.example.com') return json(403, { error: { code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' } });
      if (domain === 'slow.example.com') return void setTimeout(() => json(200, {}), 5_000).unref();
      if (m[2] === 'complianceStatus') {
        return json(200, {
          name: `domains/${domain}/complianceStatus`,
          complianceData: {
            domainId: domain,
            rowData: [
              { requirement: 'SPF', status: { status: 'COMPLIANT' } },
              { requirement: 'DKIM', status: { status: 'COMPLIANT' } },
              { requirement: 'DMARC_POLICY', status: { status: 'NEEDS_WORK' } },
              { requirement: 'USER_REPORTED_SPAM_RATE', status: { status: 'NEEDS_WORK' } },
              { requirement: 'NOT_A_REQUIREMENT', status: { status: 'COMPLIANT' } },
            ],
            oneClickUnsubscribeVerdict: { status: { status: 'NEEDS_WORK' }, reason: 'NO_UNSUB_GENERAL' },
            honorUnsubscribeVerdict: { status: { status: 'COMPLIANT' } },
          },
        });
      }
      // domainStats:query, two pages: the request's own metric names come back.
      const defs = (body?.metricDefinitions ?? []) as { name: string }[];
      const all = defs.flatMap((d) => Object.entries(STATS[d.name] ?? {}).map(([date, v]) => ({ name: `domains/${domain}/domainStats/x`, metric: d.name, date: day(date), value: d.name.startsWith('error') ? { doubleValue: v } : { floatValue: v } })));
      const half = Math.ceil(all.length / 2);
      if (body?.pageToken === 'page-2') return json(200, { domainStats: all.slice(half) });
      return json(200, { domainStats: all.slice(0, half), nextPageToken: 'page-2' });
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  rootUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise<void>((r) => api.close(() => r()));
  await oauth.close();
});

const yaml = (domains: string[]) => `probe: { from: "Probe <probe@ok.example.com>" }
reputation:
  postmaster:
    domains: [${domains.join(', ')}]
    oauth2: { clientId: pm-client, refreshToken: { env: SW_GOOGLE_REFRESH }, tokenUrl: "${oauth.tokenUrl}" }
    rootUrl: "${rootUrl}"
    interval: 1h
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 } }
seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;

async function run(domains: string[], registry: Registry, opts: { httpTimeoutMs?: number; before?: () => void } = {}) {
  const config = parseConfig(yaml(domains), 'postmaster.yaml');
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12));
  const ledger = SqliteLedger.open(':memory:');
  const tokens = new AccessTokenSource(postmasterCredentials(config.reputation!.postmaster!.oauth2), {
    resolveSecret: secretResolver(config, { SW_GOOGLE_REFRESH: REFRESH }),
    clock,
    log: silentLogger(),
  });
  opts.before?.();
  const monitor = await ReputationMonitor.start({
    config,
    ledger,
    metrics: new ReputationMetrics(registry, { postmaster: true }, { ledger }),
    clock,
    log: silentLogger(),
    postmasterTokens: tokens,
    httpTimeoutMs: opts.httpTimeoutMs ?? 5_000,
  });
  await monitor.runNow('postmaster');
  const snapshot = monitor.snapshot();
  await monitor.stop();
  await ledger.close();
  return { snapshot, tokens, text: (await registry.metrics()).split('\n') };
}

const v = (text: string[], series: string) => {
  const l = text.find((x) => x.startsWith(`${series} `));
  return l === undefined ? undefined : Number(l.slice(series.length + 1));
};

describe('Gmail Postmaster Tools v2 against a loopback stand-in', () => {
  it('reads the domains (paged), the daily statistics (paged) and the compliance status, with a token from the refresh grant', async () => {
    calls.length = 0;
    refuseNextToken = true; // the first token works for the domain list, then the API refuses it
    const registry = new Registry();
    const { snapshot, tokens, text } = await run(['ok.example.com'], registry);
    // The refused token was refreshed once and the call repeated.
    expect(tokens.refreshes).toBe(2);
    const status = calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, '')}`);
    expect(status).toEqual([
      'GET /v2/domains',
      'GET /v2/domains', // page 2: 401, the token was refused
      'GET /v2/domains', // page 2 again, with a fresh token
      'POST /v2/domains/ok.example.com/domainStats:query',
      'POST /v2/domains/ok.example.com/domainStats:query', // page 2
      'GET /v2/domains/ok.example.com/complianceStatus',
    ]);
    expect(calls[1].path).toContain('pageToken=p2');
    expect(calls[2].auth).not.toBe(calls[1].auth);
    // The request: every metric we export, daily, the last ten days (UTC), 200 a page.
    const q = calls[3].body!;
    expect((q.metricDefinitions as { name: string }[]).map((d) => d.name)).toEqual(POSTMASTER_METRICS.map((m) => m.name));
    expect(q.metricDefinitions).toContainEqual({ name: 'auth_dkim', baseMetric: { standardMetric: 'AUTH_SUCCESS_RATE' }, filter: 'auth_type = "dkim"' });
    expect(q.timeQuery).toEqual({ dateRanges: { dateRanges: [{ start: day('2026-11-14'), end: day('2026-11-23') }] } });
    expect(q).toMatchObject({ aggregationGranularity: 'DAILY', pageSize: 200 });
    expect(calls[4].body).toMatchObject({ pageToken: 'page-2' });

    // Metrics: each metric's latest day.
    expect(v(text, 'seedwatch_gmail_postmaster_spam_rate{domain="ok.example.com"}')).toBe(0.0035);
    expect(v(text, 'seedwatch_gmail_postmaster_data_timestamp_seconds{domain="ok.example.com"}')).toBe(Date.UTC(2026, 10, 21) / 1000);
    expect(v(text, 'seedwatch_gmail_postmaster_auth_success_rate{domain="ok.example.com",auth_type="dmarc"}')).toBe(0.97);
    expect(v(text, 'seedwatch_gmail_postmaster_auth_success_rate{domain="ok.example.com",auth_type="dkim"}')).toBe(1);
    expect(v(text, 'seedwatch_gmail_postmaster_tls_encryption_rate{domain="ok.example.com"}')).toBe(0.999);
    expect(v(text, 'seedwatch_gmail_postmaster_delivery_error_rate{domain="ok.example.com",error_type="reject",error_reason="all"}')).toBe(0.004);
    expect(v(text, 'seedwatch_gmail_postmaster_delivery_error_rate{domain="ok.example.com",error_type="reject",error_reason="low_ip_reputation"}')).toBe(0.003);
    expect(v(text, 'seedwatch_gmail_postmaster_delivery_error_rate{domain="ok.example.com",error_type="temp_fail",error_reason="all"}')).toBe(0.001);
    expect(v(text, 'seedwatch_gmail_postmaster_compliant{domain="ok.example.com",requirement="spf"}')).toBe(1);
    expect(v(text, 'seedwatch_gmail_postmaster_compliant{domain="ok.example.com",requirement="dmarc_policy"}')).toBe(0);
    expect(v(text, 'seedwatch_gmail_postmaster_compliant{domain="ok.example.com",requirement="one_click_unsubscribe"}')).toBe(0);
    expect(v(text, 'seedwatch_gmail_postmaster_compliant{domain="ok.example.com",requirement="honor_unsubscribe"}')).toBe(1);
    expect(text.some((l) => l.includes('not_a_requirement'))).toBe(false);
    expect(v(text, 'seedwatch_reputation_last_success_timestamp_seconds{source="postmaster"}')).toBe(Date.UTC(2026, 10, 23, 12) / 1000);

    const d = snapshot.postmaster!.domains[0];
    expect(d).toMatchObject({ domain: 'ok.example.com', verificationState: 'VERIFIED', permission: 'OWNER', latestDay: '2026-11-21', spamRate: 0.0035 });
    expect(d.compliance?.oneClickUnsubscribe).toEqual({ status: 'NEEDS_WORK', reason: 'NO_UNSUB_GENERAL' });
    expect(snapshot.postmaster!.history).toEqual({
      '2026-11-19': { 'ok.example.com': { spamRate: 0.0008 } },
      '2026-11-20': { 'ok.example.com': { spamRate: 0.0012 } },
      '2026-11-21': { 'ok.example.com': { spamRate: 0.0035 } },
    });
    // The access token went to the API as a bearer token and nowhere else.
    const issued = oauth.issuedAccessTokens().map((t) => t.token);
    expect(JSON.stringify(snapshot)).not.toMatch(new RegExp(issued.join('|')));
    expect(JSON.stringify(snapshot)).not.toContain(REFRESH);
  });

  it('a 403 and a slow domain are errors of their kind; the other domain is still read', async () => {
    const registry = new Registry();
    const t0 = Date.now();
    const { snapshot, text } = await run(['forbidden.example.com', 'slow.example.com', 'ok.example.com'], registry, { httpTimeoutMs: 400 });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(v(text, 'seedwatch_reputation_errors_total{source="postmaster",kind="forbidden"}')).toBe(2); // stats and compliance
    expect(v(text, 'seedwatch_reputation_errors_total{source="postmaster",kind="timeout"}')).toBe(2);
    expect(v(text, 'seedwatch_gmail_postmaster_spam_rate{domain="ok.example.com"}')).toBe(0.0035);
    expect(text.some((l) => l.startsWith('seedwatch_gmail_postmaster_spam_rate{domain="forbidden.example.com"}'))).toBe(false);
    const byDomain = Object.fromEntries(snapshot.postmaster!.domains.map((d) => [d.domain, d]));
    expect(byDomain['forbidden.example.com'].error).toMatchObject({ kind: 'forbidden', message: expect.stringContaining('HTTP 403') });
    expect(byDomain['slow.example.com'].error).toMatchObject({ kind: 'timeout' });
    expect(v(text, 'seedwatch_reputation_last_success_timestamp_seconds{source="postmaster"}')).toBeUndefined();
  });

  it('a revoked refresh token: every call fails as oauth2, naming the config field, never the token', async () => {
    const registry = new Registry();
    const { snapshot, text } = await run(['ok.example.com'], registry, { before: () => oauth.revoke('postmaster') });
    // The domain list, the statistics and the compliance status: three calls, three failures.
    expect(v(text, 'seedwatch_reputation_errors_total{source="postmaster",kind="oauth2"}')).toBe(3);
    const err = snapshot.errors.find((e) => e.kind === 'oauth2')!;
    expect(err.message).toContain('reputation.postmaster.oauth2.refreshToken');
    expect(JSON.stringify(snapshot)).not.toContain(REFRESH);
  });
});
