/**
 * Concludes probes missing, periodically, per seed: a probe whose deadline (plus the arrival
 * grace) lies before the seed's latest complete scan (every watched folder scanned from a moment after the deadline,
 * see domain/missing.ts) and that has no copy is missing. A seed whose watcher is down or
 * catching up concludes nothing. The ledger marks each probe at most once (a conditional
 * update), so running this twice never counts one twice; a copy that turns up later is `late`.
 */
import { systemClock, type Clock } from '../clock.js';
import type { AgentEvents } from '../events.js';
import type { Ledger, ProbeRow } from '../ledger/ledger.js';
import { concludeMissingAll } from '../record/recorder.js';
import { silentLogger, type Logger } from '../log.js';

/**
 * How often deadlines are checked. Bounds how late after its deadline a probe is counted
 * missing; deadlines are tens of minutes, so 10 s is well inside the noise.
 */
export const RECONCILE_INTERVAL_MS = 10_000;

/** Injectable timers (tests use fake ones). */
export interface IntervalTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const nodeTimers: IntervalTimers = {
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface ReconcilerOptions {
  ledger: Ledger;
  events: AgentEvents;
  /** Per seed that is watched and caught up: the moment before which every copy was recorded. */
  scannedFrom: () => Map<string, number>;
  /** config watch.arrivalGrace: how long after a deadline the seed must have been scanned from. */
  graceMs?: number;
  clock?: Clock;
  log?: Logger;
  intervalMs?: number;
  timers?: IntervalTimers;
}

export class Reconciler {
  private handle: unknown = null;
  private running: Promise<ProbeRow[]> | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timers: IntervalTimers;

  constructor(private readonly opts: ReconcilerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger();
    this.timers = opts.timers ?? nodeTimers;
  }

  start(): void {
    if (this.handle !== null) return;
    this.handle = this.timers.setInterval(() => void this.runOnce(), this.opts.intervalMs ?? RECONCILE_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.handle !== null) this.timers.clearInterval(this.handle);
    this.handle = null;
    await this.running;
  }

  /** One pass; never rejects (a ledger failure is logged and retried at the next tick). */
  runOnce(): Promise<ProbeRow[]> {
    if (this.running) return this.running;
    const pass = (async (): Promise<ProbeRow[]> => {
      try {
        const rows = await concludeMissingAll(this.opts.ledger, this.opts.events, this.opts.scannedFrom(), this.clock.nowMs(), this.opts.graceMs ?? 0);
        if (rows.length > 0) this.log.info({ count: rows.length }, 'probes missing (deadline passed, seed scanned since, no copy)');
        return rows;
      } catch (err) {
        this.log.error({ err: (err as Error)?.message ?? String(err) }, 'reconciler pass failed');
        return [];
      }
    })();
    // Cleared after the pass settles (a pass with nothing to do completes synchronously: clearing
    // inside it would run before the assignment and leave a settled pass in place for good).
    this.running = pass.finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
