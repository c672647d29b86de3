/**
 * The reputation error counters are ledger facts (README, "Metrics"). A monitor counts errors
 * against real components on loopback — rbldnsd's "query refused" code and a zone it does not
 * serve, a dead DNS server, a SERVFAIL, an SNDS stand-in answering 403, a dead OAuth2 token
 * endpoint — then new metrics and a new monitor on the same ledger file (a restart) export exactly
 * the same error series before any check, and count on from there. In a fleet (two agents on one
 * real PostgreSQL ledger) each agent keeps and exports its own counts; while PostgreSQL is down
 * the counters show nothing the ledger does not hold, and nothing counted meanwhile is lost.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenSource } from '../../../agent/auth/access-token-source.js';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig, secretResolver, type Config } from '../../../agent/config/load-config.js';
import { SecretValue } from '../../../agent/config/secret.js';
import type { Ledger } from '../../../agent/ledger/ledger.js';
import { PostgresLedger } from '../../../agent/ledger/postgres-ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger, type Logger } from '../../../agent/log.js';
import { postmasterCredentials } from '../../../agent/reputation/postmaster.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { ReputationMonitor, type ReputationDeps } from '../../../agent/reputation/reputation-monitor.js';
import { errorCountsKey } from '../../../agent/reputation/reputation-state.js';
import { freePort } from '../../helpers/ports.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { deadUdpPort, reverseName, startLoopbackDns, type LoopbackDns } from './loopback-dns.js';
import { startRbldnsd, type Rbldnsd } from './rbldnsd.js';

const SEEDS = `seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;
const dnsblYaml = (server: string, zones = '[zen.test, other.test]') => `probe: { from: "Probe <probe@mail.example.com>" }
reputation:
  dnsbl: { zones: ${zones}, servers: ["${server}"], interval: 1h }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 }, ips: [192.0.2.10, 203.0.113.66] }
${SEEDS}`;

let rbl: Rbldnsd;
let dir: string;
beforeAll(async () => {
  rbl = await startRbldnsd([
    // 192.0.2.10 is clear; 203.0.113.66 gets Spamhaus' "query refused" code (counted as refused).
    { zone: 'zen.test', type: 'ip4set', lines: [':127.255.255.254:Query refused: public resolver', '203.0.113.66'] },
  ]);
  dir = mkdtempSync(join(tmpdir(), 'sw-rep-errors-'));
});
afterAll(async () => {
  await rbl?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The error series as /metrics shows them, in order. */
async function errorSeries(r: Registry): Promise<string[]> {
  return (await r.metrics()).split('\n').filter((l) => /^seedwatch_(dnsbl|reputation)_errors_total\{/.test(l));
}
/** `series value` lines → series → value. */
const values = (lines: string[]): Record<string, number> => Object.fromEntries(lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
/** The series that are not 0. */
const nonZero = (lines: string[]): Record<string, number> => Object.fromEntries(Object.entries(values(lines)).filter(([, v]) => v !== 0));

/** One agent's lifetime: its reputation metrics on a fresh registry (as at start-up), and its monitor once started. */
function lifetime(config: Config, ledger: Ledger, opts: { agent?: string; log?: Logger; extra?: Partial<ReputationDeps> } = {}) {
  const r = config.reputation!;
  const registry = new Registry();
  const metrics = new ReputationMetrics(
    registry,
    { dnsblZones: r.dnsbl?.zones, hygiene: r.hygiene !== undefined, snds: r.snds !== undefined, postmaster: r.postmaster !== undefined },
    { ledger, ...(opts.agent !== undefined ? { agent: opts.agent } : {}) },
  );
  return {
    registry,
    /** Starts the monitor (its first run starts at once) and waits for that run. */
    async run(): Promise<ReputationMonitor> {
      const monitor = await ReputationMonitor.start({ config, ledger, metrics, clock: new ManualClock(Date.UTC(2026, 10, 23, 12)), log: opts.log ?? silentLogger(), dnsTimeoutMs: 500, httpTimeoutMs: 2_000, ...opts.extra });
      await monitor.runNow();
      return monitor;
    },
  };
}

describe('DNSBL errors survive restarts (SQLite ledger file)', () => {
  it('a new process exports the same error series before any lookup, and counts on from there', async () => {
    const file = join(dir, 'dnsbl.db');
    const onRbl = parseConfig(dnsblYaml(rbl.server), 'dnsbl.yaml');
    const onDead = parseConfig(dnsblYaml(`127.0.0.1:${await deadUdpPort()}`), 'dnsbl.yaml');

    // First start: nothing stored, every series at 0; two runs on rbldnsd.
    let ledger = SqliteLedger.open(file);
    let life = lifetime(onRbl, ledger);
    const fresh = await errorSeries(life.registry);
    expect(fresh).toHaveLength(2 * 6); // 2 zones x 6 kinds
    expect(nonZero(fresh)).toEqual({});
    let monitor = await life.run();
    await monitor.runNow('dnsbl');
    await monitor.stop();
    const first = await errorSeries(life.registry);
    // Per run: 203.0.113.66 refused on zen.test; both IPs refused on other.test (not served).
    expect(nonZero(first)).toEqual({
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}': 2,
      'seedwatch_dnsbl_errors_total{zone="other.test",kind="refused"}': 4,
    });
    await ledger.close();

    // Restart, now on a dead server: the same series before the first lookup, then on from there.
    ledger = SqliteLedger.open(file);
    life = lifetime(onDead, ledger);
    expect(await errorSeries(life.registry)).toEqual(first);
    monitor = await life.run();
    await monitor.stop();
    const second = await errorSeries(life.registry);
    expect(nonZero(second)).toEqual({
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}': 2,
      'seedwatch_dnsbl_errors_total{zone="other.test",kind="refused"}': 4,
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="unreachable"}': 2,
      'seedwatch_dnsbl_errors_total{zone="other.test",kind="unreachable"}': 2,
    });
    // Every number is the ledger's: the stored counts are what is exported.
    expect(JSON.parse((await ledger.getState(errorCountsKey()))!)).toEqual({
      dnsbl: { 'zen.test': { refused: 2, unreachable: 2 }, 'other.test': { refused: 4, unreachable: 2 } },
      sources: {},
    });
    await ledger.close();

    // And again, back on rbldnsd.
    ledger = SqliteLedger.open(file);
    life = lifetime(onRbl, ledger);
    expect(await errorSeries(life.registry)).toEqual(second);
    monitor = await life.run();
    await monitor.stop();
    expect(nonZero(await errorSeries(life.registry))).toEqual({
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}': 3,
      'seedwatch_dnsbl_errors_total{zone="other.test",kind="refused"}': 6,
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="unreachable"}': 2,
      'seedwatch_dnsbl_errors_total{zone="other.test",kind="unreachable"}': 2,
    });
    await ledger.close();
  });
});

describe('source errors survive a restart, per source (SQLite ledger file)', () => {
  let dns: LoopbackDns;
  let snds: http.Server;
  let sndsUrl: string;
  beforeAll(async () => {
    dns = await startLoopbackDns({ [reverseName('127.0.0.4')]: { servfail: true } });
    // SNDS refusing the key: 403 to everything.
    snds = http.createServer((_req, res) => void res.writeHead(403).end('Access denied'));
    await new Promise<void>((r) => snds.listen(0, '127.0.0.1', () => r()));
    sndsUrl = `http://127.0.0.1:${(snds.address() as AddressInfo).port}/snds/data.aspx`;
  });
  afterAll(async () => {
    await dns?.close();
    snds?.closeAllConnections();
    await new Promise<void>((r) => (snds ? snds.close(() => r()) : r()));
  });

  const cases: { source: string; kind: string; yaml: () => Promise<string>; extra: (config: Config) => Partial<ReputationDeps> }[] = [
    {
      // The PTR lookup of the path IP answers SERVFAIL.
      source: 'hygiene',
      kind: 'dns',
      yaml: async () => `probe: { from: "Probe <probe@mail.example.test>" }
dns: { servers: ["${dns.server}"] }
reputation: { hygiene: { interval: 1h } }
paths:
  - { name: spare, smtp: { host: 127.0.0.1, port: 2526 }, ips: [127.0.0.4] }
${SEEDS}`,
      extra: () => ({}),
    },
    {
      source: 'snds',
      kind: 'forbidden',
      yaml: async () => `probe: { from: "Probe <probe@mail.example.com>" }
reputation: { snds: { key: { env: SW_SNDS }, url: "${sndsUrl}", interval: 1h } }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 }, ips: [192.0.2.10] }
${SEEDS}`,
      extra: () => ({ sndsKey: () => new SecretValue('snds-key-refused', 'test') }),
    },
    {
      // Nothing listens at the token endpoint: no access token, every request an oauth2 error.
      source: 'postmaster',
      kind: 'oauth2',
      yaml: async () => `probe: { from: "Probe <probe@ok.example.com>" }
reputation:
  postmaster:
    domains: [ok.example.com]
    oauth2: { clientId: pm-client, refreshToken: { env: SW_GOOGLE_REFRESH }, tokenUrl: "http://127.0.0.1:${await freePort()}/token" }
    rootUrl: "http://127.0.0.1:${await freePort()}/"
    interval: 1h
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: 2525 } }
${SEEDS}`,
      extra: (config) => ({
        postmasterTokens: new AccessTokenSource(postmasterCredentials(config.reputation!.postmaster!.oauth2), {
          resolveSecret: secretResolver(config, { SW_GOOGLE_REFRESH: 'google-refresh-never-used' }),
          clock: new ManualClock(),
          log: silentLogger(),
        }),
      }),
    },
  ];

  it.each(cases)('$source: $kind counted, the same after a restart, and counted on', async ({ source, kind, yaml, extra }) => {
    const file = join(dir, `${source}.db`);
    const config = parseConfig(await yaml(), `${source}.yaml`);
    const series = `seedwatch_reputation_errors_total{source="${source}",kind="${kind}"}`;

    let ledger = SqliteLedger.open(file);
    let life = lifetime(config, ledger, { extra: extra(config) });
    expect(nonZero(await errorSeries(life.registry))).toEqual({});
    let monitor = await life.run();
    await monitor.stop();
    const before = await errorSeries(life.registry);
    const perRun = values(before)[series];
    expect(perRun).toBeGreaterThan(0);
    expect(nonZero(before)).toEqual({ [series]: perRun });
    await ledger.close();

    ledger = SqliteLedger.open(file);
    life = lifetime(config, ledger, { extra: extra(config) });
    expect(await errorSeries(life.registry)).toEqual(before);
    monitor = await life.run();
    await monitor.stop();
    expect(nonZero(await errorSeries(life.registry))).toEqual({ [series]: 2 * perRun });
    await ledger.close();
  });
});

describe('a fleet on one PostgreSQL ledger', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('each agent keeps and exports its own counts; while PostgreSQL is down nothing is exported ahead of the ledger and nothing is lost', async () => {
    const url = await pg.createDatabase();
    const open = (agent: string) => PostgresLedger.open({ url, agent });
    const onRbl = parseConfig(dnsblYaml(rbl.server, '[zen.test]'), 'a.yaml');
    const onDead = parseConfig(dnsblYaml(`127.0.0.1:${await deadUdpPort()}`, '[zen.test]'), 'b.yaml');
    const refused = 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}';
    const unreachable = 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="unreachable"}';

    // site-a looks up through rbldnsd, site-b through a dead server.
    const ledgerA = await open('site-a');
    const a = lifetime(onRbl, ledgerA, { agent: 'site-a' });
    const monitorA = await a.run();
    await monitorA.stop();
    const ledgerB = await open('site-b');
    const logLines: { level: number; msg: string; err?: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        cb();
      },
    });
    const b = lifetime(onDead, ledgerB, { agent: 'site-b', log: pino({ level: 'info' }, sink) });
    const monitorB = await b.run();
    const aSeries = await errorSeries(a.registry);
    expect(nonZero(aSeries)).toEqual({ [refused]: 1 });
    expect(nonZero(await errorSeries(b.registry))).toEqual({ [unreachable]: 2 });

    // site-a restarts: its own counts, not site-b's.
    await ledgerA.close();
    const ledgerA2 = await open('site-a');
    expect(await errorSeries(lifetime(onRbl, ledgerA2, { agent: 'site-a' }).registry)).toEqual(aSeries);

    // PostgreSQL goes down: site-b's run counts 2 errors it cannot write; the counter stays at
    // what the ledger holds.
    await pg.stop();
    let runs = 1;
    try {
      await monitorB.runNow('dnsbl');
      runs++;
      expect(nonZero(await errorSeries(b.registry))).toEqual({ [unreachable]: 2 });
      expect(logLines.some((l) => l.level >= 50 && l.msg.startsWith('cannot store reputation error counts'))).toBe(true);
    } finally {
      await pg.start();
    }
    // Back: the next run's write carries the errors of the run the ledger missed. (The first
    // write after the restart may still meet a connection of the old server: it is kept again.)
    for (let i = 0; i < 5 && values(await errorSeries(b.registry))[unreachable] === 2; i++) {
      await monitorB.runNow('dnsbl');
      runs++;
    }
    await monitorB.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(nonZero(await errorSeries(b.registry))).toEqual({ [unreachable]: 2 * runs });
    // What a restarted site-b would export, read from PostgreSQL; site-a unchanged.
    expect(await errorSeries(lifetime(onDead, ledgerA2, { agent: 'site-b' }).registry)).toEqual(await errorSeries(b.registry));
    expect(await errorSeries(lifetime(onRbl, ledgerA2, { agent: 'site-a' }).registry)).toEqual(aSeries);
    await ledgerA2.close();
    await ledgerB.close();
  });
});
