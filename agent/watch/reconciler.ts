/**
 * Marks probes missing once their deadline passed unseen: periodically
 * `ledger.markMissing(now)` → `events.missing(rows)`. The ledger decides (atomically) which
 * probes become missing, so running this twice, or on two agents, never counts one twice;
 * a copy that arrives later is recorded as `late` by the watcher.
 */
import { systemClock, type Clock } from '../clock.js';
import type { AgentEvents } from '../events.js';
import type { Ledger, ProbeRow } from '../ledger/ledger.js';
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
    this.running = (async () => {
      try {
        const rows = await this.opts.ledger.markMissing(this.clock.nowMs());
        if (rows.length > 0) {
          this.opts.events.missing(rows);
          this.log.info({ count: rows.length }, 'probes missing (deadline passed unseen)');
        }
        return rows;
      } catch (err) {
        this.log.error({ err: (err as Error)?.message ?? String(err) }, 'reconciler pass failed');
        return [];
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
