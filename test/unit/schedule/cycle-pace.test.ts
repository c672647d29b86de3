import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { CYCLE_SPREAD, Scheduler, type CyclePace } from '../../../agent/schedule/scheduler.js';

function scheduler(clock: ManualClock, runCycle: (id: string, tickAtMs: number, pace?: CyclePace) => Promise<number>, spread?: number) {
  let n = 0;
  return new Scheduler({
    expression: '0 0 1 1 *',
    jitterMs: 0,
    ledger: SqliteLedger.open(':memory:'),
    clock,
    logger: silentLogger(),
    newId: () => `C${n++}`,
    runCycle,
    ...(spread !== undefined ? { spread } : {}),
  });
}

describe('Scheduler pace', () => {
  it('asks a cycle to spread its sends over most of the time to the next tick', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0, 4)); // 4 ms after the tick's second
    const paces: (CyclePace | undefined)[] = [];
    const s = scheduler(clock, async (_id, tickAtMs, pace) => {
      expect(tickAtMs).toBe(Date.UTC(2026, 10, 23, 12, 0, 0));
      paces.push(pace);
      return 0;
    });
    await s.tick(Date.UTC(2026, 10, 23, 12, 0, 20));
    expect(paces[0]?.sendUntilMs).toBe(Date.UTC(2026, 10, 23, 12, 0, 0) + CYCLE_SPREAD * 20_000);
    expect(CYCLE_SPREAD).toBeGreaterThan(0);
    expect(CYCLE_SPREAD).toBeLessThan(1); // leaves time for the last sends before the next tick
    // No next tick known (a tick driven by hand, `probe`): no pace, everything at once.
    await s.tick(null);
    expect(paces[1]).toBeUndefined();
  });

  it('spread 0 sends the cycle in one burst', async () => {
    const paces: (CyclePace | undefined)[] = [];
    const s = scheduler(
      new ManualClock(),
      async (_id, _t, pace) => {
        paces.push(pace);
        return 0;
      },
      0,
    );
    await s.tick(Date.now() + 60_000);
    expect(paces).toEqual([undefined]);
  });

  it('stop() aborts the running cycle’s pace, and waits for it', async () => {
    let signal: AbortSignal | undefined;
    let finished = false;
    const clock = new ManualClock();
    const s = scheduler(clock, async (_id, _t, pace) => {
      signal = pace?.signal;
      await new Promise<void>((resolve) => pace!.signal.addEventListener('abort', () => resolve()));
      finished = true;
      return 3;
    });
    const running = s.tick(clock.nowMs() + 300_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(signal?.aborted).toBe(false);
    await s.stop();
    expect(signal?.aborted).toBe(true);
    expect(finished).toBe(true);
    await running;
  });
});
