/**
 * seedwatch_egress_ip_mismatch_total / _unknown_total: counted on each probe's first copy from
 * the ingress IP its evidence recorded, live (the event carries no evidence: the metrics read the
 * copy back) and at start-up (the ledger replay) by the same function — a restart gives the
 * same numbers. Only paths with ips have the series.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import type { NewObservation } from '../../../agent/ledger/ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { Metrics } from '../../../agent/metrics/metrics.js';
import { recordCopy, recordSendResult } from '../../../agent/record/recorder.js';

const T0 = Date.UTC(2026, 10, 23, 12);
const target = {
  paths: [
    { name: 'peering', ips: ['192.0.2.10'] },
    { name: 'transit', ips: ['198.51.100.7', '2001:db8::7'] },
    { name: 'legacy' }, // no ips: no egress check, no series
  ],
  seeds: [{ name: 'gmail-1', provider: 'gmail' }],
};

let n = 0;
function observation(probeId: string, evidence: Record<string, unknown>, atMs: number): NewObservation {
  n++;
  return {
    probeId,
    seed: 'gmail-1',
    folder: 'INBOX',
    folderRole: 'inbox',
    placement: 'inbox',
    uidValidity: 1,
    uid: n,
    arrivedAtMs: atMs,
    internalDateMs: atMs,
    observedAtMs: atMs + 1000,
    auth: {},
    fingerprint: `fp-${n}`,
    evidence,
  };
}

async function sendAndSee(ledger: SqliteLedger, metrics: Metrics, path: string, copies: Record<string, unknown>[]): Promise<void> {
  const id = `01J${String(++n).padStart(23, '0')}`;
  await ledger.insertProbe({ id, path, seed: 'gmail-1', provider: 'gmail', messageId: `<${id}@x>`, createdAtMs: T0 + n, deadlineMs: 30 * 60_000 });
  await recordSendResult(ledger, metrics.events, id, { ok: true, acceptedAtMs: T0 + n + 100, code: 250, text: 'ok' });
  for (const [i, ev] of copies.entries()) await recordCopy(ledger, metrics.events, observation(id, ev, T0 + n + 2000 + i * 1000));
}

async function series(metrics: Metrics): Promise<Record<string, number>> {
  await metrics.settled();
  const out: Record<string, number> = {};
  for (const l of (await metrics.registry.metrics()).split('\n')) {
    const m = /^(seedwatch_egress_ip_(?:mismatch|unknown)_total)\{path="([^"]+)"[^}]*\} (\S+)$/.exec(l);
    if (m) out[`${m[1].replace('seedwatch_egress_ip_', '').replace('_total', '')} ${m[2]}`] = Number(m[3]);
  }
  return out;
}

describe('egress-IP counters', () => {
  it('count first copies only, live and after a restart alike', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const clock = new ManualClock(T0);
    const live = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await live.bootstrap();
    expect(await series(live)).toEqual({ 'mismatch peering': 0, 'unknown peering': 0, 'mismatch transit': 0, 'unknown transit': 0 });

    await sendAndSee(ledger, live, 'peering', [{ ingressIp: '192.0.2.10' }]); // match
    await sendAndSee(ledger, live, 'peering', [{ ingressIp: '198.51.100.7' }, { ingressIp: '192.0.2.10' }]); // first copy over transit's IP
    await sendAndSee(ledger, live, 'peering', [{ ingressIp: '192.0.2.10' }, { ingressIp: '203.0.113.5' }]); // a stray duplicate: not counted
    await sendAndSee(ledger, live, 'transit', [{ ingressIp: '2001:db8::7' }]); // match (IPv6)
    await sendAndSee(ledger, live, 'transit', [{ ingressIp: null, ingressIpUnknown: 'no provider hop' }]); // unknown
    await sendAndSee(ledger, live, 'transit', [{}]); // evidence from before the check: unknown
    await sendAndSee(ledger, live, 'legacy', [{ ingressIp: '203.0.113.5' }]); // no ips: unchecked
    const counted = await series(live);
    expect(counted).toEqual({ 'mismatch peering': 1, 'unknown peering': 0, 'mismatch transit': 0, 'unknown transit': 2 });

    const restarted = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await restarted.bootstrap();
    expect(await series(restarted)).toEqual(counted);
    await ledger.close();
  });

  it('a probe never accepted (ambiguous) has no placement and no egress count', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const metrics = new Metrics(target, ledger, new ManualClock(T0), { defaultMetrics: false });
    await metrics.bootstrap();
    const id = `01J${String(++n).padStart(23, '0')}`;
    await ledger.insertProbe({ id, path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: `<${id}@x>`, createdAtMs: T0, deadlineMs: 60_000 });
    await recordSendResult(ledger, metrics.events, id, { ok: false, reason: 'ambiguous', atMs: T0 + 10, message: 'connection lost after DATA' });
    await recordCopy(ledger, metrics.events, observation(id, { ingressIp: '203.0.113.5' }, T0 + 2000));
    expect((await series(metrics))['mismatch peering']).toBe(0);
    await ledger.close();
  });
});
