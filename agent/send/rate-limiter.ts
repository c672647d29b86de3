/**
 * Spaces calls at least 1/perSecond apart (no bursts: a burst of probes is exactly what a
 * provider's rate limits punish). Each caller reserves the next free slot, then sleeps until it.
 */
export interface RateLimiter {
  wait(): Promise<void>;
}

export function rateLimiter(perSecond: number | undefined, now: () => number = () => performance.now()): RateLimiter {
  if (perSecond === undefined || !Number.isFinite(perSecond) || perSecond <= 0) return { wait: async () => {} };
  const intervalMs = 1000 / perSecond;
  let nextSlot = -Infinity;
  return {
    wait() {
      const t = now();
      const slot = Math.max(t, nextSlot);
      nextSlot = slot + intervalMs;
      const delay = slot - t;
      if (delay <= 0) return Promise.resolve();
      return new Promise((resolve) => setTimeout(resolve, delay));
    },
  };
}
