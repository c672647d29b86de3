/**
 * DNS hygiene of path IPs against a loopback authoritative DNS (dns2): forward-confirmed
 * reverse DNS (confirmed, a PTR that does not resolve back, no PTR), the HELO of a
 * direct-to-MX path (configured, and the default the sender uses when none is), SPF of the probes' sender domain evaluated by mailauth (the IP included,
 * not included, IPv6), and a SERVFAIL that stays an error instead of becoming a "no".
 */
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createResolver } from '../../../agent/reputation/dns-resolver.js';
import { checkFcrdns, heloMatches } from '../../../agent/reputation/fcrdns.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { ReputationMonitor } from '../../../agent/reputation/reputation-monitor.js';
import { checkSpf } from '../../../agent/reputation/spf-check.js';
import { reverseName, startLoopbackDns, type LoopbackDns } from './loopback-dns.js';

const SPF = 'v=spf1 ip4:127.0.0.2 ip6:2001:db8::/32 -all';
/** A direct-to-MX path without mx.helo says the machine's host name; its PTR is made to confirm it. */
const HOST = hostname().toLowerCase();

let dns: LoopbackDns;
beforeAll(async () => {
  dns = await startLoopbackDns({
    // peering: PTR out-peering → back to 127.0.0.2
    [reverseName('127.0.0.2')]: { PTR: ['out-peering.example.test'] },
    'out-peering.example.test': { A: ['127.0.0.2'] },
    // transit: the PTR is a generic name that resolves elsewhere (does not confirm)
    [reverseName('127.0.0.3')]: { PTR: ['host-3.isp.test'] },
    'host-3.isp.test': { A: ['127.0.0.99'] },
    'out-transit.example.test': { A: ['127.0.0.3'] },
    // no PTR at all for 127.0.0.5 (NXDOMAIN); SERVFAIL for 127.0.0.4
    [reverseName('127.0.0.4')]: { servfail: true },
    // IPv6
    [reverseName('2001:db8::25')]: { PTR: ['v6.example.test'] },
    'v6.example.test': { AAAA: ['2001:db8::25'] },
    'mail.example.test': { TXT: [SPF] },
    // direct-to-MX without a configured HELO: the PTR of 127.0.0.6 is this machine's host name
    [reverseName('127.0.0.6')]: { PTR: [HOST] },
    [HOST]: { A: ['127.0.0.6'] },
  });
});
afterAll(async () => {
  await dns?.close();
});

describe('checkFcrdns and checkSpf against the loopback DNS', () => {
  const r = () => createResolver([dns.server], { timeoutMs: 1_000, tries: 1 });

  it('a PTR that resolves back is confirmed; the HELO matches it', async () => {
    const f = await checkFcrdns(r(), '127.0.0.2');
    expect(f).toEqual({ status: 'ok', ptr: ['out-peering.example.test'], confirmed: ['out-peering.example.test'] });
    expect(heloMatches('OUT-PEERING.example.test.', f)).toBe(true);
    expect(heloMatches('other.example.test', f)).toBe(false);
  });

  it('a PTR that does not resolve back fails; so does no PTR; a SERVFAIL is an error', async () => {
    expect(await checkFcrdns(r(), '127.0.0.3')).toEqual({ status: 'fail', ptr: ['host-3.isp.test'], confirmed: [] });
    expect(await checkFcrdns(r(), '127.0.0.5')).toEqual({ status: 'fail', ptr: [], confirmed: [] });
    const e = await checkFcrdns(r(), '127.0.0.4');
    expect(e).toMatchObject({ status: 'error', kind: 'servfail' });
    expect(heloMatches('x', e)).toBeNull();
  });

  it('IPv6: the ip6.arpa PTR and its AAAA', async () => {
    expect(await checkFcrdns(r(), '2001:db8::25')).toEqual({ status: 'ok', ptr: ['v6.example.test'], confirmed: ['v6.example.test'] });
  });

  it('SPF (mailauth): pass for an included IP, fail for another, for IPv6 too; temperror is an error', async () => {
    const sender = 'probe@mail.example.test';
    expect(await checkSpf(r(), { ip: '127.0.0.2', sender })).toEqual({ status: 'pass', result: 'pass', domain: 'mail.example.test' });
    expect(await checkSpf(r(), { ip: '127.0.0.3', sender })).toEqual({ status: 'not_pass', result: 'fail', domain: 'mail.example.test' });
    expect(await checkSpf(r(), { ip: '2001:db8::25', sender })).toMatchObject({ status: 'pass' });
    expect(await checkSpf(r(), { ip: '127.0.0.2', sender: 'probe@nospf.example.test' })).toEqual({ status: 'not_pass', result: 'none', domain: 'nospf.example.test' });
    const dead = createResolver(['127.0.0.1:9'], { timeoutMs: 500, tries: 1 });
    expect((await checkSpf(dead, { ip: '127.0.0.2', sender })).status).toBe('error');
  });
});

describe('the hygiene source of the reputation monitor', () => {
  it('exports FCrDNS, HELO (configured or default) and SPF per path IP; a SERVFAIL sets nothing and counts an error', async () => {
    const yaml = `probe: { from: "Probe <probe@mail.example.test>" }
dns: { servers: ["${dns.server}"] }
reputation: { hygiene: { interval: 1h } }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 }, ips: [127.0.0.2, "2001:db8::25"] }
  - { name: transit, mx: { localAddress: 127.0.0.3, helo: out-transit.example.test } }
  - { name: spare, smtp: { host: 127.0.0.1, port: 2526 }, ips: [127.0.0.4] }
  - { name: direct, mx: { localAddress: 127.0.0.6 } }
seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;
    const registry = new Registry();
    const ledger = SqliteLedger.open(':memory:');
    const monitor = await ReputationMonitor.start({
      config: parseConfig(yaml, 'hygiene.yaml'),
      ledger,
      metrics: new ReputationMetrics(registry, { hygiene: true }, { ledger }),
      clock: new ManualClock(),
      log: silentLogger(),
    });
    try {
      await monitor.runNow('hygiene');
      const text = await registry.metrics();
      const v = (series: string) => {
        const l = text.split('\n').find((x) => x.startsWith(`${series} `));
        return l === undefined ? undefined : Number(l.slice(series.length + 1));
      };
      expect(v('seedwatch_path_fcrdns_ok{path="peering",ip="127.0.0.2"}')).toBe(1);
      expect(v('seedwatch_path_spf_pass{path="peering",ip="127.0.0.2"}')).toBe(1);
      expect(v('seedwatch_path_fcrdns_ok{path="peering",ip="2001:db8::25"}')).toBe(1);
      expect(v('seedwatch_path_spf_pass{path="peering",ip="2001:db8::25"}')).toBe(1);
      expect(v('seedwatch_path_fcrdns_ok{path="transit",ip="127.0.0.3"}')).toBe(0);
      expect(v('seedwatch_path_helo_ok{path="transit",ip="127.0.0.3"}')).toBe(0);
      expect(v('seedwatch_path_spf_pass{path="transit",ip="127.0.0.3"}')).toBe(0);
      // Relay paths have no HELO of ours to check.
      expect(v('seedwatch_path_helo_ok{path="peering",ip="127.0.0.2"}')).toBeUndefined();
      // SERVFAIL on the PTR: no FCrDNS answer; SPF still concluded (127.0.0.4 not included).
      expect(v('seedwatch_path_fcrdns_ok{path="spare",ip="127.0.0.4"}')).toBeUndefined();
      expect(v('seedwatch_path_spf_pass{path="spare",ip="127.0.0.4"}')).toBe(0);
      expect(v('seedwatch_reputation_errors_total{source="hygiene",kind="dns"}')).toBe(1);
      const spare = monitor.snapshot().hygiene!.entries.find((e) => e.path === 'spare')!;
      expect(spare).toMatchObject({ fcrdns: { status: 'unknown' }, spf: { status: 'not_pass', result: 'fail' }, error: { kind: 'servfail' } });
      const transit = monitor.snapshot().hygiene!.entries.find((e) => e.path === 'transit')!;
      expect(transit).toMatchObject({ fcrdns: { status: 'fail', ptr: ['host-3.isp.test'] }, helo: { name: 'out-transit.example.test', ok: false } });
      // No mx.helo: the check takes the name the sender says by default (the host name), not "relay".
      expect(v('seedwatch_path_helo_ok{path="direct",ip="127.0.0.6"}')).toBe(1);
      const direct = monitor.snapshot().hygiene!.entries.find((e) => e.path === 'direct')!;
      expect(direct).toMatchObject({ fcrdns: { status: 'ok', confirmed: [HOST] }, helo: { name: hostname(), ok: true } });
    } finally {
      await monitor.stop();
      await ledger.close();
    }
  });
});
