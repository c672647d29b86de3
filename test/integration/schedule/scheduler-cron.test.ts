import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { Scheduler } from '../../../agent/schedule/scheduler.js';

describe('Scheduler with node-cron', () => {
  it('runs on its cron schedule (6 fields, seconds) and stop() waits for the running cycle', async () => {
    const ledger = SqliteLedger.open(':memory:');
    let ran = 0;
    let inside = false;
    const s = new Scheduler({
      expression: '* * * * * *', jitterMs: 0, ledger, clock: new ManualClock(), logger: silentLogger(), newId: () => `C${Math.random()}`,
      runCycle: async () => {
        inside = true;
        await new Promise((r) => setTimeout(r, 300));
        ran++;
        inside = false;
        return 0;
      },
    });
    s.start();
    await new Promise((r) => setTimeout(r, 1_300));
    await s.stop();
    expect(inside).toBe(false);
    expect(ran).toBeGreaterThanOrEqual(1);
  });
});
