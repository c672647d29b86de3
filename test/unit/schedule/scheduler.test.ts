import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { Scheduler } from '../../../agent/schedule/scheduler.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Scheduler', () => {
  it('never overlaps: a tick during a running cycle is counted and skipped', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const clock = new ManualClock();
    let n = 0;
    const gate = deferred();
    const started: string[] = [];
    let overlaps = 0;
    let finished = 0;
    const s = new Scheduler({
      expression: '0 0 1 1 *',
      jitterMs: 0,
      ledger,
      clock,
      logger: silentLogger(),
      newId: () => `C${n++}`,
      runCycle: async (id) => {
        started.push(id);
        await gate.promise;
        return 4;
      },
      onOverlap: () => overlaps++,
      onCycleFinished: () => finished++,
    });
    const first = s.tick();
    await s.tick();
    await s.tick();
    expect(started).toEqual(['C0']);
    expect(overlaps).toBe(2);
    gate.resolve();
    await first;
    await s.tick();
    expect(started).toEqual(['C0', 'C3']);
    expect(finished).toBe(2);
    expect((await ledger.totals()).cycles).toEqual({ completed: 2, overlaps: 2, lastFinishedAtMs: clock.nowMs() });
  });

  it('a failing cycle is not counted as completed and does not stop the schedule', async () => {
    const ledger = SqliteLedger.open(':memory:');
    let calls = 0;
    const s = new Scheduler({
      expression: '0 0 1 1 *', jitterMs: 0, ledger, clock: new ManualClock(), logger: silentLogger(), newId: () => `C${calls}`,
      runCycle: async () => {
        if (calls++ === 0) throw new Error('boom');
        return 1;
      },
    });
    await s.tick();
    await s.tick();
    expect((await ledger.totals()).cycles.completed).toBe(1);
  });

});
