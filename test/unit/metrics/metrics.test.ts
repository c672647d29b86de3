import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import type { NewObservation } from '../../../agent/ledger/ledger.js';
import { concludeMissing, recordCopy } from '../../../agent/record/recorder.js';
import { noopEvents } from '../../../agent/events.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { Metrics } from '../../../agent/metrics/metrics.js';

const target = {
  paths: [{ name: 'peering' }, { name: 'transit' }],
  seeds: [
    { name: 'gmail-1', provider: 'gmail' },
    { name: 'outlook-1', provider: 'outlook' },
  ],
};
const providerOf: Record<string, string> = { 'gmail-1': 'gmail', 'outlook-1': 'outlook' };

/** The value of one sample in the exposition, or undefined. */
async function sample(m: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name.replace(/_(bucket|sum|count)$/, ''));
  const v = metric?.values.find(
    (v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name
      ? Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val) &&
        Object.keys(v.labels).length === Object.keys(labels).length
      : false,
  );
  return v?.value;
}

/** Exposition without the series that are live state, not ledger-derived (mailbox_up, reload, process). */
async function ledgerDerived(m: Metrics): Promise<string> {
  const text = await m.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('seedwatch_') && !l.startsWith('seedwatch_mailbox_up') && !l.startsWith('seedwatch_build_info') && !l.startsWith('seedwatch_config_'))
    .sort()
    .join('\n');
}

describe('Metrics are derived from the ledger', () => {
  it('live counting equals a fresh bootstrap from the same ledger (restart without double counting)', async () => {
    const clock = new ManualClock();
    const t0 = clock.nowMs();
    const ledger = SqliteLedger.open(':memory:');
    const live = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await live.bootstrap();
    let n = 0;
    const send = async (path: string, seed: string, ok: boolean | 'rejected' | 'ambiguous') => {
      const id = `01KTEST${String(n++).padStart(19, '0')}`;
      await ledger.insertProbe({ id, path, seed, provider: providerOf[seed], messageId: `<${id}@x>`, createdAtMs: clock.nowMs(), deadlineMs: 60_000 });
      const row = await ledger.recordSendResult(
        id,
        ok === true
          ? { ok: true, acceptedAtMs: clock.nowMs(), code: 250, text: 'ok' }
          : ok === 'rejected'
            ? { ok: false, reason: 'rejected', atMs: clock.nowMs(), code: 550, enhanced: '5.7.1', text: 'no', message: '550 no' }
            : { ok: false, reason: 'ambiguous', atMs: clock.nowMs(), message: 'lost after DATA' },
      );
      live.events.sendFinished(row);
      return id;
    };
    let uid = 1;
    const see = async (id: string, seed: string, placement: NewObservation['placement'], delayMs: number, auth = { spf: 'pass', dkim: 'pass', dmarc: 'pass' }) => {
      const r = await recordCopy(ledger, live.events, {
        probeId: id, seed, folder: placement === 'spam' ? 'Junk' : 'INBOX', folderRole: placement === 'spam' ? 'spam' : 'inbox', placement,
        uidValidity: 1, uid: uid++, arrivedAtMs: clock.nowMs() + delayMs, internalDateMs: clock.nowMs() + delayMs,
        observedAtMs: clock.nowMs() + delayMs + 400, auth, evidence: {},
      });
      return r;
    };
    const a = await send('peering', 'gmail-1', true);
    const b = await send('transit', 'gmail-1', true);
    const c = await send('transit', 'outlook-1', true);
    const d = await send('peering', 'outlook-1', true);
    await send('transit', 'outlook-1', 'rejected');
    const amb = await send('peering', 'gmail-1', 'ambiguous');
    await see(a, 'gmail-1', 'inbox', 3_000);
    await see(b, 'gmail-1', 'spam', 7_000, { spf: 'fail', dkim: 'pass', dmarc: 'fail' });
    await see(b, 'gmail-1', 'inbox', 9_000); // duplicate
    await see(c, 'outlook-1', 'promotions', 1_500);
    // The ambiguous probe was delivered after all, twice: evidence, not metrics (live and after
    // a restart alike).
    await see(amb, 'gmail-1', 'inbox', 2_000);
    await see(amb, 'gmail-1', 'inbox', 2_000);
    clock.advance(61_000);
    await concludeMissing(ledger, live.events, null, clock.nowMs() + 1, clock.nowMs()); // d goes missing
    await see(d, 'outlook-1', 'inbox', 0); // then arrives late
    // A first copy that arrived after its deadline, before any reconciler ran: missing + late.
    const e = await send('transit', 'gmail-1', true);
    expect((await see(e, 'gmail-1', 'spam', 61_000)).kind).toBe('late');
    await ledger.recordMailboxError('gmail-1', 'login', clock.nowMs(), 'AUTHENTICATIONFAILED');
    live.events.mailboxError('gmail-1', 'login');

    // Ground truth, computed by hand from the scenario above.
    expect(await sample(live, 'seedwatch_probes_sent_total', { path: 'peering', seed: 'gmail-1', provider: 'gmail' })).toBe(1);
    expect(await sample(live, 'seedwatch_probe_send_errors_total', { path: 'peering', seed: 'gmail-1', provider: 'gmail', reason: 'ambiguous' })).toBe(1);
    expect(await sample(live, 'seedwatch_probe_send_errors_total', { path: 'transit', seed: 'outlook-1', provider: 'outlook', reason: 'rejected' })).toBe(1);
    expect(await sample(live, 'seedwatch_smtp_replies_total', { path: 'transit', seed: 'outlook-1', provider: 'outlook', code: '550' })).toBe(1);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail', placement: 'spam' })).toBe(1);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail', placement: 'inbox' })).toBe(0);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'peering', seed: 'outlook-1', provider: 'outlook', placement: 'missing' })).toBe(1);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'peering', seed: 'outlook-1', provider: 'outlook', placement: 'inbox' })).toBe(0);
    expect(await sample(live, 'seedwatch_duplicates_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail' })).toBe(1);
    expect(await sample(live, 'seedwatch_duplicates_total', { path: 'peering', seed: 'gmail-1', provider: 'gmail' })).toBe(0);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'peering', seed: 'gmail-1', provider: 'gmail', placement: 'inbox' })).toBe(1);
    expect(await sample(live, 'seedwatch_placements_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail', placement: 'missing' })).toBe(1);
    expect(await sample(live, 'seedwatch_late_arrivals_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail' })).toBe(1);
    expect(await sample(live, 'seedwatch_late_arrivals_total', { path: 'peering', seed: 'outlook-1', provider: 'outlook' })).toBe(1);
    expect(await sample(live, 'seedwatch_auth_results_total', { path: 'transit', seed: 'gmail-1', provider: 'gmail', method: 'dmarc', result: 'fail' })).toBe(1);
    expect(await sample(live, 'seedwatch_mailbox_errors_total', { seed: 'gmail-1', provider: 'gmail', kind: 'login' })).toBe(1);
    expect(await sample(live, 'seedwatch_delivery_latency_seconds_count', { path: 'transit', seed: 'gmail-1', provider: 'gmail' })).toBe(1);
    // Arrival is a whole-second stamp, taken as mid-second: 7 s after t1 reads 7.5 s.
    expect(await sample(live, 'seedwatch_delivery_latency_seconds_sum', { path: 'transit', seed: 'gmail-1', provider: 'gmail' })).toBe(7.5);
    expect(await sample(live, 'seedwatch_last_probe_timestamp_seconds', { path: 'peering', seed: 'gmail-1', provider: 'gmail' })).toBe(t0 / 1000);

    // A restart: a fresh Metrics bootstrapped from the ledger shows exactly the same numbers.
    const restarted = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await restarted.bootstrap();
    expect(await ledgerDerived(restarted)).toBe(await ledgerDerived(live));
  });

  it('creates every path x seed x placement series at zero at start-up', async () => {
    const m = new Metrics(target, SqliteLedger.open(':memory:'), new ManualClock(), { defaultMetrics: false });
    const text = await m.registry.metrics();
    for (const p of ['peering', 'transit'])
      for (const s of ['gmail-1', 'outlook-1'])
        for (const placement of ['inbox', 'spam', 'promotions', 'social', 'updates', 'forums', 'other', 'missing'])
          expect(text).toContain(`seedwatch_placements_total{path="${p}",seed="${s}",provider="${providerOf[s]}",placement="${placement}"} 0`);
    expect(text).toContain('seedwatch_mailbox_up{seed="gmail-1",provider="gmail"} 0');
    expect(text).toContain('seedwatch_probes_in_flight{path="transit",seed="outlook-1",provider="outlook"} 0');
    expect(text).not.toMatch(/seedwatch_mailbox_up\{path=/);
  });

  it('auth result label values are bounded: unknown verdicts from headers become "other"', async () => {
    const clock = new ManualClock();
    const ledger = SqliteLedger.open(':memory:');
    const m = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await ledger.insertProbe({ id: '01KTESTAUTH000000000000000', path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: '<a@x>', createdAtMs: clock.nowMs(), deadlineMs: 60_000 });
    await ledger.recordSendResult('01KTESTAUTH000000000000000', { ok: true, acceptedAtMs: clock.nowMs(), code: 250, text: 'ok' });
    const r = await recordCopy(ledger, noopEvents, {
      probeId: '01KTESTAUTH000000000000000', seed: 'gmail-1', folder: 'INBOX', folderRole: 'inbox', placement: 'inbox', uidValidity: 1, uid: 1,
      arrivedAtMs: clock.nowMs(), internalDateMs: clock.nowMs(), observedAtMs: clock.nowMs(), auth: { spf: 'PASS', dkim: 'x-evil<script>', dmarc: 'bestguesspass' }, evidence: {},
    });
    m.events.observed(r);
    const text = await m.registry.metrics();
    expect(text).toContain('seedwatch_auth_results_total{path="peering",seed="gmail-1",provider="gmail",method="spf",result="pass"} 1');
    expect(text).toContain('seedwatch_auth_results_total{path="peering",seed="gmail-1",provider="gmail",method="dkim",result="other"} 1');
    expect(text).toContain('method="dmarc",result="bestguesspass"} 1');
    expect(text).not.toContain('evil');
    const restarted = new Metrics(target, ledger, clock, { defaultMetrics: false });
    await restarted.bootstrap();
    expect(await restarted.registry.metrics()).toContain('method="dkim",result="other"} 1');
  });
});
