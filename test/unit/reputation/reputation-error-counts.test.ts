/**
 * The reputation error counters export what the ledger holds (a real SQLite ledger in memory):
 * an error counted is exported only once written; the counts are kept per agent when one is
 * named; a stored value this version cannot read counts as nothing, and only its valid counts
 * are taken.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { ReputationMetrics } from '../../../agent/reputation/reputation-metrics.js';
import { errorCountsKey } from '../../../agent/reputation/reputation-state.js';

const ledgers: SqliteLedger[] = [];
afterEach(async () => {
  await Promise.all(ledgers.splice(0).map((l) => l.close()));
});
const open = () => {
  const l = SqliteLedger.open(':memory:');
  ledgers.push(l);
  return l;
};
async function series(r: Registry): Promise<Record<string, number>> {
  const lines = (await r.metrics()).split('\n').filter((l) => /^seedwatch_(dnsbl|reputation)_errors_total\{/.test(l));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
}
const nonZero = (s: Record<string, number>) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== 0));

describe('reputation error counters as ledger facts', () => {
  it('an error is exported once it is in the ledger, not before', async () => {
    const ledger = open();
    const registry = new Registry();
    const m = new ReputationMetrics(registry, { dnsblZones: ['zen.test'], snds: true }, { ledger });
    m.countDnsblError('zen.test', 'timeout');
    m.countSourceError('snds', 'forbidden');
    m.countSourceError('snds', 'forbidden');
    expect(nonZero(await series(registry))).toEqual({});
    expect(await ledger.getState(errorCountsKey())).toBeNull();
    await m.persistErrors();
    expect(nonZero(await series(registry))).toEqual({
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="timeout"}': 1,
      'seedwatch_reputation_errors_total{source="snds",kind="forbidden"}': 2,
    });
    expect(JSON.parse((await ledger.getState(errorCountsKey()))!)).toEqual({ dnsbl: { 'zen.test': { timeout: 1 } }, sources: { snds: { forbidden: 2 } } });
  });

  it('per agent when one is named: two agents on one ledger keep their own counts', async () => {
    const ledger = open();
    const a = new ReputationMetrics(new Registry(), { dnsblZones: ['zen.test'] }, { ledger, agent: 'site-a' });
    const b = new ReputationMetrics(new Registry(), { dnsblZones: ['zen.test'] }, { ledger, agent: 'site-b' });
    a.countDnsblError('zen.test', 'refused');
    await a.persistErrors();
    b.countDnsblError('zen.test', 'servfail');
    await b.persistErrors();
    const ra = new Registry();
    const rb = new Registry();
    new ReputationMetrics(ra, { dnsblZones: ['zen.test'] }, { ledger, agent: 'site-a' });
    new ReputationMetrics(rb, { dnsblZones: ['zen.test'] }, { ledger, agent: 'site-b' });
    expect(nonZero(await series(ra))).toEqual({ 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}': 1 });
    expect(nonZero(await series(rb))).toEqual({ 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="servfail"}': 1 });
    expect(errorCountsKey('site-a')).not.toBe(errorCountsKey('site-b'));
  });

  it('a stored value it cannot read counts as nothing; of a readable one only the whole non-negative counts are taken', async () => {
    const ledger = open();
    await ledger.setState(errorCountsKey(), 'not json');
    const r1 = new Registry();
    new ReputationMetrics(r1, { dnsblZones: ['zen.test'] }, { ledger });
    const s1 = await series(r1);
    expect(Object.keys(s1)).toHaveLength(6);
    expect(nonZero(s1)).toEqual({});

    await ledger.setState(errorCountsKey(), JSON.stringify({ dnsbl: { 'zen.test': { refused: 3, timeout: -1, servfail: 'x', other: 1.5 } }, sources: { hygiene: { dns: 4 } } }));
    const r2 = new Registry();
    const m = new ReputationMetrics(r2, { dnsblZones: ['zen.test'], hygiene: true }, { ledger });
    expect(nonZero(await series(r2))).toEqual({
      'seedwatch_dnsbl_errors_total{zone="zen.test",kind="refused"}': 3,
      'seedwatch_reputation_errors_total{source="hygiene",kind="dns"}': 4,
    });
    m.countDnsblError('zen.test', 'refused');
    await m.persistErrors();
    expect(JSON.parse((await ledger.getState(errorCountsKey()))!)).toEqual({ dnsbl: { 'zen.test': { refused: 4 } }, sources: { hygiene: { dns: 4 } } });
  });

  it('a zone or source no longer configured is kept in the ledger, not exported', async () => {
    const ledger = open();
    const m = new ReputationMetrics(new Registry(), { dnsblZones: ['old.test', 'zen.test'] }, { ledger });
    m.countDnsblError('old.test', 'timeout');
    m.countDnsblError('zen.test', 'timeout');
    await m.persistErrors();
    const r = new Registry();
    const now = new ReputationMetrics(r, { dnsblZones: ['zen.test'] }, { ledger });
    expect(nonZero(await series(r))).toEqual({ 'seedwatch_dnsbl_errors_total{zone="zen.test",kind="timeout"}': 1 });
    now.countDnsblError('zen.test', 'timeout');
    await now.persistErrors();
    expect(JSON.parse((await ledger.getState(errorCountsKey()))!).dnsbl).toEqual({ 'old.test': { timeout: 1 }, 'zen.test': { timeout: 2 } });
  });
});
