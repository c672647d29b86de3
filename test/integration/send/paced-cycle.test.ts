/**
 * A scheduled cycle spreads its sends over the window the scheduler gives it (each probe in its
 * own equal share of the window), instead of one burst; stopping the agent mid-window sends
 * nothing more and leaves no probe half-recorded. Two real smtp-server relays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import { noopEvents } from '../../../agent/events.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import type { ProbePath } from '../../../agent/send/probe-path.js';
import { closePaths, createPaths, runCycle } from '../../../agent/send/run-cycle.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const SEEDS = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, address: `s${i}@example.test` }));

describe('paced cycle: sends spread over the window', () => {
  let relays: SmtpRelay[];
  let paths: ProbePath[];
  let config: ReturnType<typeof sendTestConfig>;
  beforeAll(async () => {
    relays = await Promise.all([startRelay({ name: 'peering' }), startRelay({ name: 'transit' })]);
    config = sendTestConfig({
      seeds: SEEDS,
      concurrency: 4,
      paths: relays.map((r) => ({ name: r.name, smtp: { host: '127.0.0.1', port: r.port, maxConnections: 2 }, timeout: '10s' })),
    });
    paths = createPaths(config, () => {
      throw new Error('no secrets in this test');
    }, silentLogger());
  });
  afterAll(async () => {
    await closePaths(paths ?? []);
    await Promise.all((relays ?? []).map((r) => r.stop()));
  });

  it('sends probe i no earlier than its share of the window, in order', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const jobs = SEEDS.length * 2;
    const windowMs = 1_200;
    const sendUntilMs = Date.now() + windowMs;
    const cycle = await runCycle({
      config,
      paths,
      ledger,
      clock: systemClock,
      events: noopEvents,
      logger: silentLogger(),
      idFactory: createProbeIdFactory(),
      pace: { sendUntilMs },
      random: () => 0.5,
    });
    // The window runs from the cycle's own start (a loaded machine may start it late).
    const share = (sendUntilMs - cycle.startedAtMs) / jobs;
    expect(cycle.probes).toHaveLength(jobs);
    expect(cycle.probes.every((p) => p.row?.status === 'accepted')).toBe(true);
    // Jobs go seed by seed, every path of a seed in turn: probe i is due at (i + 0.5) shares.
    const rows = await Promise.all(cycle.probes.map((p) => ledger.getProbe(p.id!)));
    const starts = rows.map((r) => r!.sendStartedAtMs!);
    for (const [i, t] of starts.entries()) expect(t - cycle.startedAtMs, `probe ${i}`).toBeGreaterThanOrEqual(Math.floor(share * (i + 0.5)) - 2);
    expect(cycle.finishedAtMs - cycle.startedAtMs).toBeGreaterThanOrEqual(share * (jobs - 0.5) - 2);
    await ledger.close();
  });

  it('without a pace (probe, runCycleNow) everything goes at once', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: noopEvents, logger: silentLogger(), idFactory: createProbeIdFactory() });
    expect(cycle.probes).toHaveLength(SEEDS.length * 2);
    // With 4 in flight, the first four start together, not one share apart.
    const rows = await Promise.all(cycle.probes.slice(0, 4).map((p) => ledger.getProbe(p.id!)));
    const starts = rows.map((r) => r!.sendStartedAtMs!);
    expect(Math.max(...starts) - cycle.startedAtMs).toBeLessThan(500);
    await ledger.close();
  });

  it('an abort (the agent stops) sends nothing more; the probes sent are complete in the ledger', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const abort = new AbortController();
    const before = relays.reduce((n, r) => n + r.messages.length, 0);
    setTimeout(() => abort.abort(), 700);
    const t0 = Date.now();
    const cycle = await runCycle({
      config,
      paths,
      ledger,
      clock: systemClock,
      events: noopEvents,
      logger: silentLogger(),
      idFactory: createProbeIdFactory(),
      pace: { sendUntilMs: t0 + 6_000, signal: abort.signal },
    });
    // 12 probes over 6 s: about 3 due before the abort, none after it.
    expect(Date.now() - t0).toBeLessThan(5_000); // well before the 6 s window would have ended
    expect(cycle.probes.length).toBeGreaterThanOrEqual(1);
    expect(cycle.probes.length).toBeLessThan(SEEDS.length * 2);
    const all = await ledger.listProbes({});
    expect(all.map((p) => p.id).sort()).toEqual(cycle.probes.map((p) => p.id).sort());
    expect(all.every((p) => p.status === 'accepted')).toBe(true);
    expect(relays.reduce((n, r) => n + r.messages.length, 0) - before).toBe(cycle.probes.length);
    await ledger.close();
  });
});
