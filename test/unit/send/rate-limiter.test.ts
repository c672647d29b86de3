import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rateLimiter } from '../../../agent/send/rate-limiter.js';

describe('rateLimiter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('spaces callers 1/rate apart, without bursts', async () => {
    let now = 0;
    const limiter = rateLimiter(4, () => now); // 250 ms apart
    const done: number[] = [];
    for (let i = 0; i < 3; i++) void limiter.wait().then(() => done.push(now));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0]);
    now = 249;
    await vi.advanceTimersByTimeAsync(249);
    expect(done).toEqual([0]);
    now = 250;
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual([0, 250]);
    now = 500;
    await vi.advanceTimersByTimeAsync(250);
    expect(done).toEqual([0, 250, 500]);
  });

  it('does not wait without a limit', async () => {
    const limiter = rateLimiter(undefined);
    let passed = 0;
    await Promise.all([1, 2, 3].map(() => limiter.wait().then(() => passed++)));
    expect(passed).toBe(3);
  });
});
