import { createTask, type ScheduledTask } from 'node-cron';
import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';

/**
 * Share of the time to the next tick over which a scheduled cycle spreads its sends. The rest
 * is the margin for the last sends to finish (an SMTP transaction may take up to its timeout)
 * before the next tick, which would otherwise find the cycle still running (an overlap).
 */
export const CYCLE_SPREAD = 0.75;

/** How a scheduled cycle paces its sends (passed to runCycle's `pace`). */
export interface CyclePace {
  /** Spread the sends until this moment (epoch ms on the scheduler's clock), not in one burst. */
  sendUntilMs: number;
  /** The next tick (epoch ms): the cycle's work must be over by then. */
  nextTickAtMs: number;
  /** Aborted when the scheduler stops: sends not started yet are dropped. */
  signal: AbortSignal;
}

export interface SchedulerDeps {
  /** node-cron expression, 5 fields or 6 with seconds. */
  expression: string;
  /** Random delay before each cycle, 0..jitterMs. */
  jitterMs: number;
  /**
   * One cycle: every path x every seed. `tickAtMs` is the tick's scheduled second (the same on
   * every agent of a fleet: it names the tick when they claim its path × seed pairs). `pace`
   * (when the next tick is known): spread the sends as it says. Resolves with the number of
   * probes created.
   */
  runCycle: (cycleId: string, tickAtMs: number, pace?: CyclePace) => Promise<number>;
  /** Share of the period a cycle's sends are spread over (0: one burst at the tick). Default CYCLE_SPREAD. */
  spread?: number;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  newId: () => string;
  onCycleFinished?: (atMs: number) => void;
  onOverlap?: () => void;
  random?: () => number;
}

/**
 * Cron ticks → cycles, never two at once: a tick that comes while a cycle still runs is
 * recorded (ledger + seedwatch_cycle_overlaps_total) and skipped, not queued — a queue would
 * only hide that cycles take longer than the schedule allows.
 */
export class Scheduler {
  private task: ScheduledTask | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private jitterTimer: NodeJS.Timeout | null = null;
  private jitterDone: (() => void) | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly d: SchedulerDeps) {}

  start(): void {
    this.stopped = false;
    this.task = createTask(this.d.expression, () => this.tick(), { name: 'seedwatch-cycle', noOverlap: false });
    void this.task.start();
  }

  /**
   * What a cron tick does; public so tests and `probe` can drive it without a clock.
   * `nextTickAtMs`: when the tick after this one is due (default: the cron task's next run;
   * none when the scheduler was not started), which sets the cycle's pace.
   */
  async tick(nextTickAtMs: number | null = this.task?.getNextRun()?.getTime() ?? null): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      const id = this.d.newId();
      this.d.logger.warn({ cycle: id }, 'previous cycle still running; tick skipped');
      try {
        await this.d.ledger.startCycle(id, this.d.clock.nowMs(), true);
        this.d.onOverlap?.();
      } catch (err) {
        this.d.logger.error({ err: (err as Error).message }, 'cannot record the skipped cycle');
      }
      return;
    }
    // node-cron fires within milliseconds of the scheduled second: that second names the tick.
    const tickAtMs = Math.floor(this.d.clock.nowMs() / 1000) * 1000;
    this.running = this.runOne(tickAtMs, nextTickAtMs).finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async runOne(tickAtMs: number, nextTickAtMs: number | null): Promise<void> {
    const jitter = this.d.jitterMs > 0 ? Math.floor((this.d.random ?? Math.random)() * this.d.jitterMs) : 0;
    if (jitter > 0) {
      await new Promise<void>((resolve) => {
        this.jitterDone = resolve;
        this.jitterTimer = setTimeout(resolve, jitter);
      });
      this.jitterTimer = null;
      this.jitterDone = null;
      if (this.stopped) return;
    }
    const id = this.d.newId();
    // The sends end well before the next tick (jitter eats into the window, never past it).
    const spread = Math.min(1, Math.max(0, this.d.spread ?? CYCLE_SPREAD));
    const abort = new AbortController();
    this.abort = abort;
    const pace: CyclePace | undefined =
      nextTickAtMs !== null && nextTickAtMs > tickAtMs && spread > 0 ? { sendUntilMs: tickAtMs + spread * (nextTickAtMs - tickAtMs), nextTickAtMs, signal: abort.signal } : undefined;
    try {
      await this.d.ledger.startCycle(id, this.d.clock.nowMs());
      const probes = await this.d.runCycle(id, tickAtMs, pace);
      const end = this.d.clock.nowMs();
      await this.d.ledger.finishCycle(id, end, probes);
      this.d.onCycleFinished?.(end);
    } catch (err) {
      // A failed cycle is logged and not counted as completed; the next tick tries again.
      this.d.logger.error({ cycle: id, err: (err as Error).message }, 'cycle failed');
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }

  /** Stop ticking and wait for the running cycle: its sends in flight finish, paced ones not yet started are dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    if (this.jitterTimer) clearTimeout(this.jitterTimer);
    this.jitterDone?.();
    if (this.task) {
      await this.task.stop();
      await this.task.destroy();
      this.task = null;
    }
    if (this.running) await this.running;
  }

  get busy(): boolean {
    return this.running !== null;
  }
}
