import { describe, expect, it } from 'vitest';
import { LoginGate } from '../../../agent/watch/login-gate.js';

/** A clock and sleep the test moves: sleeping advances time, nothing waits for real. */
function fakeTime() {
  let now = 0;
  return {
    nowMs: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('LoginGate', () => {
  it('starts set-ups towards one server at most perSecond a second', async () => {
    const t = fakeTime();
    const gate = new LoginGate({ inFlight: 100, perSecond: 4, ...t });
    const startedAt: number[] = [];
    for (let i = 0; i < 8; i++) {
      const release = await gate.acquire('imap.example:993');
      startedAt.push(t.nowMs());
      release();
    }
    expect(startedAt).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750]);
  });

  it('keeps at most inFlight set-ups open per server, in arrival order; other servers are not held up', async () => {
    const gate = new LoginGate({ inFlight: 2, perSecond: 1e6 });
    const order: string[] = [];
    const releases = new Map<string, () => void>();
    const take = (name: string, server = 'a:993') =>
      gate.acquire(server).then((release) => {
        order.push(name);
        releases.set(name, release);
      });
    const all = [take('1'), take('2'), take('3'), take('4'), take('other', 'b:993')];
    await new Promise((r) => setTimeout(r, 20));
    expect([...order].sort()).toEqual(['1', '2', 'other']);
    releases.get('2')!();
    releases.get('2')!(); // releasing twice frees one slot only
    await new Promise((r) => setTimeout(r, 20));
    expect(order.slice(3)).toEqual(['3']);
    releases.get('1')!();
    await Promise.all(all);
    expect(order.slice(3)).toEqual(['3', '4']);
  });
});
