/**
 * Microsoft SNDS automated access, served by a loopback HTTP stand-in in the documented format
 * (data.aspx: CSV without header, CRLF, 14 columns; ipStatus.aspx: blocked ranges): rows for the
 * paths' IPs and for an IP of no path, malformed lines reported and skipped, a forbidden key
 * (403), an expired key (404) after a good run, an HTML page instead of CSV, a slow server, an
 * ipStatus.aspx that fails while data.aspx answers — through the agent's SNDS client and its
 * reputation monitor (metrics, state, no key anywhere in what it shows).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { ReputationMonitor } from '../../../agent/reputation/reputation-monitor.js';
import { STATE_KEYS } from '../../../agent/reputation/reputation-state.js';
import { fetchSnds } from '../../../agent/reputation/snds.js';

const GOOD_KEY = 'snds-key-6b1f0c2e-distinct';
const DATA = [
  // transit's IP: RED, a trap hit, complaints under 0.1 %
  '198.51.100.7,11/21/2026 12:00 AM,11/22/2026 11:59 PM,1500,1480,1475,RED,< 0.1%,11/22/2026 3:00 AM,11/22/2026 4:10 AM,3,out2.mail.example.com,bounce@mail.example.com,',
  // peering's IP, an older day then the newest one (the newest counts)
  '192.0.2.10,11/20/2026 12:00 AM,11/20/2026 11:59 PM,900,900,899,RED,1.5%,,,0,out1.mail.example.com,bounce@mail.example.com,',
  '192.0.2.10,11/21/2026 12:00 AM,11/22/2026 11:59 PM,1000,990,988,GREEN,0.2%,,,0,out1.mail.example.com,bounce@mail.example.com,',
  // an IP of the SNDS key that is no path's
  '203.0.113.9,11/21/2026 12:00 AM,11/22/2026 11:59 PM,10,10,10,YELLOW,< 0.1%,,,0,old.mail.example.com,,retired',
  // malformed: 13 columns; a colour SNDS does not use
  '203.0.113.10,11/21/2026 12:00 AM,11/22/2026 11:59 PM,10,10,10,GREEN,< 0.1%,,,0,helo',
  '203.0.113.11,11/21/2026 12:00 AM,11/22/2026 11:59 PM,10,10,10,PURPLE,< 0.1%,,,0,helo,from,',
].join('\r\n');
const IP_STATUS = ['198.51.100.0,198.51.100.255,Yes,Blocked due to user complaints or other evidence of spamming'].join('\r\n');
/** A later day of data, served with a key whose ipStatus.aspx fails (HTTP 500). */
const IPSTATUS_FAILS_KEY = 'snds-key-ipstatus-fails-77c2';
const DATA_NEXT = [
  // transit's IP the day after: YELLOW now, no trap hit
  '198.51.100.7,11/22/2026 12:00 AM,11/23/2026 11:59 PM,1200,1190,1188,YELLOW,0.3%,,,0,out2.mail.example.com,bounce@mail.example.com,',
  // an IP seen for the first time
  '192.0.2.77,11/22/2026 12:00 AM,11/23/2026 11:59 PM,5,5,5,GREEN,< 0.1%,,,0,new.mail.example.com,,',
].join('\r\n');

let server: http.Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push(u.pathname);
    const key = u.searchParams.get('key');
    if (key === 'slow') return void setTimeout(() => res.end(''), 5_000).unref();
    if (key === 'forbidden') return void res.writeHead(403).end(`Access denied for key ${key}`);
    if (key === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>');
    if (key === IPSTATUS_FAILS_KEY) {
      if (u.pathname === '/snds/data.aspx') return void res.writeHead(200, { 'content-type': 'text/csv' }).end(DATA_NEXT + '\r\n');
      return void res.writeHead(500).end('Internal Server Error');
    }
    if (key !== GOOD_KEY) return void res.writeHead(404).end('Not Found');
    if (u.pathname === '/snds/data.aspx') return void res.writeHead(200, { 'content-type': 'text/csv' }).end(DATA + '\r\n');
    if (u.pathname === '/snds/ipStatus.aspx') return void res.writeHead(200, { 'content-type': 'text/csv' }).end(IP_STATUS + '\r\n');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/snds/data.aspx`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('fetchSnds', () => {
  it('reads both feeds: rows, blocked ranges, and each malformed line with its number', async () => {
    const r = await fetchSnds(base, GOOD_KEY);
    if (!r.ok) throw new Error(r.message);
    expect(r.rows.map((x) => [x.ip, x.day, x.filterResult, x.complaintRate, x.trapHits, x.recipients])).toEqual([
      ['198.51.100.7', '2026-11-22', 'RED', 0.001, 3, 1475],
      ['192.0.2.10', '2026-11-20', 'RED', 0.015, 0, 899],
      ['192.0.2.10', '2026-11-22', 'GREEN', 0.002, 0, 988],
      ['203.0.113.9', '2026-11-22', 'YELLOW', 0.001, 0, 10],
    ]);
    expect(r.ranges).toEqual([{ firstIp: '198.51.100.0', lastIp: '198.51.100.255', blocked: true, reason: 'Blocked due to user complaints or other evidence of spamming' }]);
    expect(r.malformed).toEqual([
      { feed: 'data', line: 5, reason: 'expected 14 columns, got 12' },
      { feed: 'data', line: 6, reason: 'filter result is not GREEN, YELLOW or RED' },
    ]);
  });

  it.each([
    ['forbidden', 'forbidden', 'HTTP 403'],
    ['expired-key', 'not_found', 'HTTP 404'],
    ['html', 'bad_response', 'HTML instead of CSV'],
  ])('key %s: %s, and the message never carries the key', async (key, kind, text) => {
    const r = await fetchSnds(base, key);
    expect(r).toMatchObject({ ok: false, kind });
    expect((r as { message: string }).message).toContain(text);
    expect(JSON.stringify(r)).not.toContain(`key=${key}`);
    if (key === 'forbidden') expect((r as { message: string }).message).toContain('[redacted]');
  });

  it('ipStatus.aspx failing: the data rows are kept, blocked is unknown (null), the ipStatus error is beside them', async () => {
    const r = await fetchSnds(base, IPSTATUS_FAILS_KEY);
    if (!r.ok) throw new Error(r.message);
    expect(r.rows.map((x) => [x.ip, x.day, x.filterResult])).toEqual([
      ['198.51.100.7', '2026-11-23', 'YELLOW'],
      ['192.0.2.77', '2026-11-23', 'GREEN'],
    ]);
    expect(r.ranges).toBeNull();
    expect(r.ipStatusError).toMatchObject({ kind: 'server_error' });
    expect(r.ipStatusError!.message).toMatch(/^SNDS ipStatus: .*HTTP 500/);
    expect(JSON.stringify(r)).not.toContain(IPSTATUS_FAILS_KEY);
  });

  it('a slow server: a timeout, bounded by the request timeout', async () => {
    const t0 = Date.now();
    expect(await fetchSnds(base, 'slow', { timeoutMs: 300 })).toMatchObject({ ok: false, kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});

describe('the SNDS source of the reputation monitor', () => {
  const yaml = (url: string) => `probe: { from: "Probe <probe@mail.example.com>" }
reputation: { snds: { key: { env: SW_SNDS }, url: "${url}", interval: 1h } }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 }, ips: [192.0.2.10] }
  - { name: transit, mx: { localAddress: 198.51.100.7 } }
seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;
  /** `key` is read at every run, as the agent reads the secret: a test can change it between runs. */
  const start = async (key: string | (() => string), registry: Registry, ledger: SqliteLedger) =>
    ReputationMonitor.start({
      config: parseConfig(yaml(base), 'snds.yaml'),
      ledger,
      metrics: new ReputationMetrics(registry, { snds: true }, { ledger }),
      clock: new ManualClock(Date.UTC(2026, 10, 23, 12)),
      log: silentLogger(),
      sndsKey: () => new SecretValue(typeof key === 'string' ? key : key(), 'test'),
      httpTimeoutMs: 2_000,
    });
  const lines = async (r: Registry) => (await r.metrics()).split('\n');
  const v = (text: string[], series: string) => {
    const l = text.find((x) => x.startsWith(`${series} `));
    return l === undefined ? undefined : Number(l.slice(series.length + 1));
  };

  it('exports the newest row per IP, labelled with its path (empty for no path), blocked from ipStatus', async () => {
    const registry = new Registry();
    const ledger = SqliteLedger.open(':memory:');
    const monitor = await start(GOOD_KEY, registry, ledger);
    try {
      await monitor.runNow('snds');
      const m = await lines(registry);
      expect(v(m, 'seedwatch_snds_filter_result{path="transit",ip="198.51.100.7"}')).toBe(2);
      expect(v(m, 'seedwatch_snds_filter_result{path="peering",ip="192.0.2.10"}')).toBe(0);
      expect(v(m, 'seedwatch_snds_filter_result{path="",ip="203.0.113.9"}')).toBe(1);
      expect(v(m, 'seedwatch_snds_complaint_rate{path="transit",ip="198.51.100.7"}')).toBe(0.001);
      expect(v(m, 'seedwatch_snds_complaint_rate{path="peering",ip="192.0.2.10"}')).toBe(0.002);
      expect(v(m, 'seedwatch_snds_trap_hits{path="transit",ip="198.51.100.7"}')).toBe(3);
      expect(v(m, 'seedwatch_snds_recipients{path="peering",ip="192.0.2.10"}')).toBe(988);
      expect(v(m, 'seedwatch_snds_blocked{path="transit",ip="198.51.100.7"}')).toBe(1);
      expect(v(m, 'seedwatch_snds_blocked{path="peering",ip="192.0.2.10"}')).toBe(0);
      expect(v(m, 'seedwatch_reputation_errors_total{source="snds",kind="malformed_row"}')).toBe(2);
      const s = monitor.snapshot();
      expect(s.snds!.ips.map((e) => [e.path, e.ip, e.filterResult, e.blocked])).toEqual([
        ['peering', '192.0.2.10', 'GREEN', false],
        ['transit', '198.51.100.7', 'RED', true],
        [null, '203.0.113.9', 'YELLOW', false],
      ]);
      expect(s.snds!.history['2026-11-20']?.['192.0.2.10']?.filter).toBe('RED');
      expect(s.snds!.history['2026-11-22']?.['192.0.2.10']?.filter).toBe('GREEN');
      expect(JSON.parse((await ledger.getState(STATE_KEYS.snds))!).ips).toHaveLength(3);
      // Malformed lines keep the run from counting as a full success.
      expect(v(m, 'seedwatch_reputation_last_success_timestamp_seconds{source="snds"}')).toBeUndefined();
      expect(JSON.stringify(s) + (await ledger.getState(STATE_KEYS.snds))).not.toContain(GOOD_KEY);
    } finally {
      await monitor.stop();
      await ledger.close();
    }
  });

  it('an expired key (404) after a good run: counted and shown; the last rows and gauges stay', async () => {
    const registry = new Registry();
    const ledger = SqliteLedger.open(':memory:');
    let key = GOOD_KEY;
    const monitor = await start(() => key, registry, ledger);
    try {
      await monitor.runNow('snds');
      const before = (await lines(registry)).filter((l) => l.startsWith('seedwatch_snds_'));
      const ipsBefore = monitor.snapshot().snds!.ips;
      expect(ipsBefore).toHaveLength(3);
      expect(before.length).toBe(15); // 5 gauges x 3 IPs
      key = 'expired-key';
      await monitor.runNow('snds');
      const m = await lines(registry);
      expect(v(m, 'seedwatch_reputation_errors_total{source="snds",kind="not_found"}')).toBe(1);
      // Nothing taken back, nothing made up: every SNDS gauge as the good run left it.
      expect(m.filter((l) => l.startsWith('seedwatch_snds_'))).toEqual(before);
      expect(v(m, 'seedwatch_snds_filter_result{path="transit",ip="198.51.100.7"}')).toBe(2);
      expect(v(m, 'seedwatch_snds_blocked{path="transit",ip="198.51.100.7"}')).toBe(1);
      const s = monitor.snapshot().snds!;
      expect(s.ips).toEqual(ipsBefore);
      expect(s.error).toMatchObject({ kind: 'not_found' });
      expect(s.history['2026-11-22']?.['198.51.100.7']?.filter).toBe('RED');
      expect(monitor.snapshot().errors[0]).toMatchObject({ source: 'snds', kind: 'not_found' });
      // The stored state keeps the rows too (a restart shows them).
      expect(JSON.parse((await ledger.getState(STATE_KEYS.snds))!).ips).toHaveLength(3);
      expect(JSON.stringify(monitor.snapshot()) + (await ledger.getState(STATE_KEYS.snds))).not.toContain('expired-key');
    } finally {
      await monitor.stop();
      await ledger.close();
    }
  });

  it('an expired key from the start: counted, no gauge is made up', async () => {
    const registry = new Registry();
    const ledger = SqliteLedger.open(':memory:');
    const monitor = await start('expired-key', registry, ledger);
    try {
      await monitor.runNow('snds');
      const m = await lines(registry);
      expect(v(m, 'seedwatch_reputation_errors_total{source="snds",kind="not_found"}')).toBe(1);
      expect(m.filter((l) => l.startsWith('seedwatch_snds_'))).toEqual([]);
      expect(monitor.snapshot().snds!.ips).toEqual([]);
    } finally {
      await monitor.stop();
      await ledger.close();
    }
  });

  it('ipStatus.aspx failing: the new data rows are exported, blocked keeps its last answer (unknown when none), the error is counted', async () => {
    const registry = new Registry();
    const ledger = SqliteLedger.open(':memory:');
    let key = IPSTATUS_FAILS_KEY;
    const monitor = await start(() => key, registry, ledger);
    try {
      // First run: data only. Rows and their gauges, no blocked gauge (ipStatus said nothing).
      await monitor.runNow('snds');
      let m = await lines(registry);
      expect(v(m, 'seedwatch_snds_filter_result{path="transit",ip="198.51.100.7"}')).toBe(1);
      expect(v(m, 'seedwatch_snds_complaint_rate{path="transit",ip="198.51.100.7"}')).toBe(0.003);
      expect(v(m, 'seedwatch_snds_filter_result{path="",ip="192.0.2.77"}')).toBe(0);
      expect(m.filter((l) => l.startsWith('seedwatch_snds_blocked{'))).toEqual([]);
      expect(v(m, 'seedwatch_reputation_errors_total{source="snds",kind="server_error"}')).toBe(1);
      expect(v(m, 'seedwatch_reputation_last_success_timestamp_seconds{source="snds"}')).toBeUndefined();
      let s = monitor.snapshot().snds!;
      expect(s.ips.map((e) => [e.path, e.ip, e.filterResult, e.blocked])).toEqual([
        ['transit', '198.51.100.7', 'YELLOW', null],
        [null, '192.0.2.77', 'GREEN', null],
      ]);
      expect(s.error).toMatchObject({ kind: 'server_error' });
      expect(s.lastSuccessAtMs).not.toBeNull();

      // A good run: ipStatus says transit's range is blocked.
      key = GOOD_KEY;
      await monitor.runNow('snds');
      m = await lines(registry);
      expect(v(m, 'seedwatch_snds_blocked{path="transit",ip="198.51.100.7"}')).toBe(1);
      expect(monitor.snapshot().snds!.error).toBeUndefined();

      // ipStatus fails again: the day-after rows replace the older ones, blocked stays as it was.
      key = IPSTATUS_FAILS_KEY;
      await monitor.runNow('snds');
      m = await lines(registry);
      expect(v(m, 'seedwatch_snds_filter_result{path="transit",ip="198.51.100.7"}')).toBe(1);
      expect(v(m, 'seedwatch_snds_trap_hits{path="transit",ip="198.51.100.7"}')).toBe(0);
      expect(v(m, 'seedwatch_snds_blocked{path="transit",ip="198.51.100.7"}')).toBe(1);
      expect(v(m, 'seedwatch_snds_blocked{path="peering",ip="192.0.2.10"}')).toBe(0);
      expect(v(m, 'seedwatch_reputation_errors_total{source="snds",kind="server_error"}')).toBe(2);
      s = monitor.snapshot().snds!;
      expect(s.ips.find((e) => e.ip === '198.51.100.7')).toMatchObject({ day: '2026-11-23', filterResult: 'YELLOW', blocked: true, blockedReason: 'Blocked due to user complaints or other evidence of spamming' });
      expect(s.ips.find((e) => e.ip === '192.0.2.77')).toMatchObject({ blocked: false });
      expect(s.history['2026-11-23']?.['198.51.100.7']?.filter).toBe('YELLOW');
      expect(s.history['2026-11-22']?.['198.51.100.7']?.filter).toBe('RED');
      expect(JSON.stringify(monitor.snapshot()) + (await ledger.getState(STATE_KEYS.snds))).not.toContain(IPSTATUS_FAILS_KEY);
    } finally {
      await monitor.stop();
      await ledger.close();
    }
  });
});
