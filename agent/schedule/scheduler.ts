import { createTask, type ScheduledTask } from 'node-cron';
import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';

export interface SchedulerDeps {
  /** node-cron expression, 5 fields or 6 with seconds. */
  expression: string;
  /** Random delay before each cycle, 0..jitterMs. */
  jitterMs: number;
  /**
   * One cycle: every path x every seed. `tickAtMs` is the tick's scheduled second (the same on
   * every agent of a fleet: it names the tick when they claim its path × seed pairs). Resolves
   * with the number of probes created.
   */
  runCycle: (cycleId: string, tickAtMs: number) => Promise<number>;
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

  constructor(private readonly d: SchedulerDeps) {}

  start(): void {
    this.stopped = false;
    this.task = createTask(this.d.expression, () => this.tick(), { name: 'seedwatch-cycle', noOverlap: false });
    void this.task.start();
  }

  /** What a cron tick does; public so tests and `probe` can drive it without a clock. */
  async tick(): Promise<void> {
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
    this.running = this.runOne(tickAtMs).finally(() => {
      this.running = null;
    });
    await this.running;
  }

  private async runOne(tickAtMs: number): Promise<void> {
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
    try {
      await this.d.ledger.startCycle(id, this.d.clock.nowMs());
      const probes = await this.d.runCycle(id, tickAtMs);
      const end = this.d.clock.nowMs();
      await this.d.ledger.finishCycle(id, end, probes);
      this.d.onCycleFinished?.(end);
    } catch (err) {
      // A failed cycle is logged and not counted as completed; the next tick tries again.
      this.d.logger.error({ cycle: id, err: (err as Error).message }, 'cycle failed');
    }
  }

  /** Stop ticking and wait for the running cycle (its sends) to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
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
