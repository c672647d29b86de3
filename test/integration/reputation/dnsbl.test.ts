/**
 * DNSBL checks against a real rbldnsd on loopback: listed (with the TXT reason), not listed,
 * delisted mid-run (SIGHUP reload), Spamhaus' "query refused" code, a zone the server does not
 * serve, a dead server, IPv6 (nibble format); then the agent's monitor on the same server:
 * metrics, error counts, state kept in the ledger and read back after a restart.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createResolver } from '../../../agent/reputation/dns-resolver.js';
import { lookupDnsbl } from '../../../agent/reputation/dnsbl.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { ReputationMonitor } from '../../../agent/reputation/reputation-monitor.js';
import { STATE_KEYS } from '../../../agent/reputation/reputation-state.js';
import { deadUdpPort } from './loopback-dns.js';
import { startRbldnsd, type Rbldnsd, type RbldnsdZone } from './rbldnsd.js';

const ZEN: RbldnsdZone = {
  zone: 'zen.test',
  type: 'ip4set',
  lines: [
    ':127.0.0.2:Listed on zen.test, see https://bl.test/lookup?ip=$',
    '198.51.100.0/24',
    // Spamhaus answers 127.255.255.254 to queries through public resolvers: not a listing.
    ':127.255.255.254:Query refused: public resolver',
    '203.0.113.66',
  ],
};
const ZEN6: RbldnsdZone = { zone: 'zen.test', type: 'ip6trie', lines: [':127.0.0.3:IPv6 listed: $', '2001:db8:25::/48'] };

let rbl: Rbldnsd;
beforeAll(async () => {
  rbl = await startRbldnsd([ZEN, ZEN6]);
});
afterAll(async () => {
  await rbl?.stop();
});

describe('lookupDnsbl against rbldnsd', () => {
  const resolver = () => createResolver([rbl.server], { timeoutMs: 1_000, tries: 1 });

  it('a listed IPv4 address: listed, with the return code and the TXT reason', async () => {
    expect(await lookupDnsbl(resolver(), '198.51.100.7', 'zen.test')).toEqual({
      status: 'listed',
      codes: ['127.0.0.2'],
      reasons: ['Listed on zen.test, see https://bl.test/lookup?ip=198.51.100.7'],
    });
  });

  it('an address not on the list: clear (NXDOMAIN)', async () => {
    expect(await lookupDnsbl(resolver(), '192.0.2.10', 'zen.test')).toEqual({ status: 'clear' });
  });

  it('127.255.255.254 is the list refusing the query: an error, never a listing', async () => {
    expect(await lookupDnsbl(resolver(), '203.0.113.66', 'zen.test')).toMatchObject({ status: 'error', kind: 'refused' });
  });

  it('IPv6: the nibble-reversed name under the zone', async () => {
    expect(await lookupDnsbl(resolver(), '2001:db8:25::7', 'zen.test')).toEqual({ status: 'listed', codes: ['127.0.0.3'], reasons: ['IPv6 listed: 2001:db8:25::7'] });
    expect(await lookupDnsbl(resolver(), '2001:db8:26::7', 'zen.test')).toEqual({ status: 'clear' });
  });

  it('a zone the server does not serve: refused by the server, an error', async () => {
    expect(await lookupDnsbl(resolver(), '198.51.100.7', 'other.test')).toMatchObject({ status: 'error', kind: 'refused', message: expect.stringContaining('EREFUSED') });
  });

  it('a dead server: unreachable, an error', async () => {
    const dead = createResolver([`127.0.0.1:${await deadUdpPort()}`], { timeoutMs: 1_000, tries: 1 });
    expect(await lookupDnsbl(dead, '198.51.100.7', 'zen.test')).toMatchObject({ status: 'error', kind: 'unreachable' });
  });
});

describe('the reputation monitor on rbldnsd', () => {
  const yaml = (server: string) => `probe: { from: "Probe <probe@mail.example.com>" }
reputation:
  dnsbl: { zones: [zen.test, other.test], servers: ["${server}"], interval: 1h }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 }, ips: [192.0.2.10] }
  - { name: transit, mx: { localAddress: 198.51.100.7, helo: out.example.com } }
  - { name: v6, smtp: { host: 127.0.0.1, port: 2526 }, ips: ["2001:db8:25::7", 203.0.113.66] }
seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12));
  const ledger = SqliteLedger.open(':memory:');
  const metricsText = async (r: Registry) => (await r.metrics()).split('\n').filter((l) => /^seedwatch_(dnsbl|reputation)/.test(l));
  const value = (lines: string[], series: string) => {
    const l = lines.find((x) => x.startsWith(`${series} `));
    return l === undefined ? undefined : Number(l.slice(series.length + 1));
  };
  let registry: Registry;
  let monitor: ReputationMonitor;

  beforeAll(async () => {
    await rbl.relist([ZEN, ZEN6]);
    registry = new Registry();
    const config = parseConfig(yaml(rbl.server), 'dnsbl.yaml');
    monitor = await ReputationMonitor.start({
      config,
      ledger,
      metrics: new ReputationMetrics(registry, { dnsblZones: config.reputation!.dnsbl!.zones }, { ledger }),
      clock,
      log: silentLogger(),
    });
    await monitor.runNow('dnsbl');
  });
  afterAll(async () => {
    await monitor?.stop();
    await ledger.close();
  });

  it('exports listed 1 / 0 per path IP and zone, and counts every failed lookup by zone and kind', async () => {
    const m = await metricsText(registry);
    expect(value(m, 'seedwatch_dnsbl_listed{path="transit",ip="198.51.100.7",zone="zen.test"}')).toBe(1);
    expect(value(m, 'seedwatch_dnsbl_listed{path="peering",ip="192.0.2.10",zone="zen.test"}')).toBe(0);
    expect(value(m, 'seedwatch_dnsbl_listed{path="v6",ip="2001:db8:25::7",zone="zen.test"}')).toBe(1);
    // The refused answer and the unserved zone set no gauge: "unknown" is not "clean".
    expect(value(m, 'seedwatch_dnsbl_listed{path="v6",ip="203.0.113.66",zone="zen.test"}')).toBeUndefined();
    expect(m.filter((l) => l.startsWith('seedwatch_dnsbl_listed{') && l.includes('zone="other.test"'))).toEqual([]);
    expect(value(m, 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}')).toBe(1);
    // other.test: all four IPs refused by the server.
    expect(value(m, 'seedwatch_dnsbl_errors_total{zone="other.test",kind="refused"}')).toBe(4);
    expect(value(m, 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="timeout"}')).toBe(0);
    // A run with errors is not a success.
    expect(value(m, 'seedwatch_reputation_last_success_timestamp_seconds{source="dnsbl"}')).toBeUndefined();
  });

  it('keeps the TXT reason for the API, and the error of each failing lookup', () => {
    const s = monitor.snapshot();
    const transit = s.dnsbl!.entries.find((e) => e.path === 'transit' && e.zone === 'zen.test')!;
    expect(transit).toMatchObject({ status: 'listed', codes: ['127.0.0.2'], reasons: ['Listed on zen.test, see https://bl.test/lookup?ip=198.51.100.7'], listedSinceMs: clock.nowMs() });
    const refused = s.dnsbl!.entries.find((e) => e.ip === '203.0.113.66' && e.zone === 'zen.test')!;
    expect(refused).toMatchObject({ status: 'unknown', error: { kind: 'refused' } });
    expect(s.errors.filter((e) => e.source === 'dnsbl')).toHaveLength(5);
  });

  it('follows a listing and a delisting (rbldnsd reloaded with SIGHUP mid-run), and keeps a daily history', async () => {
    await rbl.relist([{ ...ZEN, lines: [...ZEN.lines.slice(0, 2), '192.0.2.10'] }, ZEN6]);
    clock.advance(15 * 60_000);
    await monitor.runNow('dnsbl');
    let m = await metricsText(registry);
    expect(value(m, 'seedwatch_dnsbl_listed{path="peering",ip="192.0.2.10",zone="zen.test"}')).toBe(1);
    const listedAt = clock.nowMs();
    await rbl.relist([{ ...ZEN, lines: [ZEN.lines[0], '198.51.100.99'] }, ZEN6]);
    clock.advance(15 * 60_000);
    await monitor.runNow('dnsbl');
    m = await metricsText(registry);
    expect(value(m, 'seedwatch_dnsbl_listed{path="peering",ip="192.0.2.10",zone="zen.test"}')).toBe(0);
    expect(value(m, 'seedwatch_dnsbl_listed{path="transit",ip="198.51.100.7",zone="zen.test"}')).toBe(0);
    // 203.0.113.66 left the refusal line with the first reload: a conclusive "clear" since.
    expect(value(m, 'seedwatch_dnsbl_listed{path="v6",ip="203.0.113.66",zone="zen.test"}')).toBe(0);
    const s = monitor.snapshot();
    expect(s.dnsbl!.history['2026-11-23']).toMatchObject({
      'peering|192.0.2.10|zen.test': { checks: 3, listed: 1 },
      'transit|198.51.100.7|zen.test': { checks: 3, listed: 2 },
      'v6|203.0.113.66|zen.test': { checks: 2, listed: 0 },
    });
    expect(listedAt).toBeLessThan(clock.nowMs());
  });

  it('stores its state in the ledger: a new monitor shows the last answers before its first run', async () => {
    const stored = JSON.parse((await ledger.getState(STATE_KEYS.dnsbl))!) as { entries: { path: string; ip: string; zone: string; status: string }[] };
    expect(stored.entries.find((e) => e.path === 'peering' && e.zone === 'zen.test')?.status).toBe('clear');
    // A monitor on a dead server: its first run fails, and what it shows is what the ledger had.
    const dead = `127.0.0.1:${await deadUdpPort()}`;
    const registry2 = new Registry();
    const config = parseConfig(yaml(dead), 'dnsbl.yaml');
    const again = await ReputationMonitor.start({ config, ledger, metrics: new ReputationMetrics(registry2, { dnsblZones: ['zen.test', 'other.test'] }, { ledger }), clock, log: silentLogger(), dnsTimeoutMs: 500 });
    try {
      await again.runNow('dnsbl');
      const s = again.snapshot();
      const peering = s.dnsbl!.entries.find((e) => e.path === 'peering' && e.zone === 'zen.test')!;
      expect(peering).toMatchObject({ status: 'clear', error: { kind: 'unreachable' } });
      const m = await metricsText(registry2);
      expect(value(m, 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="unreachable"}')).toBe(4);
      // Nothing was concluded: no gauge at all rather than a "not listed".
      expect(m.filter((l) => l.startsWith('seedwatch_dnsbl_listed{'))).toEqual([]);
    } finally {
      await again.stop();
    }
  });
});
