import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExactHistogram } from '../../../agent/metrics/exact-histogram.js';

const L = { path: 'peering', seed: 'gmail-1', provider: 'gmail' };

async function exposition(values: number[]): Promise<string> {
  const registry = new Registry();
  const h = new ExactHistogram({ name: 'x_seconds', help: 'x', labelNames: ['path', 'seed', 'provider'] as const, buckets: [0.5, 1, 5], registers: [registry] });
  for (const ms of values) h.observeMs(L, ms);
  return registry.metrics();
}

describe('ExactHistogram', () => {
  // Summed as float seconds, these give 41.456 forwards and 41.455999999999996 backwards.
  const values = [571, 1_277, 2_136, 16_400, 3_294, 17_778, 100, 300];

  it('exposes the same text whatever the order of observations (a restart replays in another order)', async () => {
    const forward = await exposition(values);
    expect(await exposition([...values].reverse())).toBe(forward);
    expect(forward).toContain('x_seconds_sum{path="peering",seed="gmail-1",provider="gmail"} 41.856');
    expect(forward).toContain('x_seconds_count{path="peering",seed="gmail-1",provider="gmail"} 8');
    // Cumulative buckets, bounds inclusive: <=0.5 s: 100, 300; <=1 s: + 571; <=5 s: + 1277, 2136, 3294.
    expect(forward).toContain('x_seconds_bucket{le="0.5",path="peering",seed="gmail-1",provider="gmail"} 2');
    expect(forward).toContain('x_seconds_bucket{le="1",path="peering",seed="gmail-1",provider="gmail"} 3');
    expect(forward).toContain('x_seconds_bucket{le="5",path="peering",seed="gmail-1",provider="gmail"} 6');
    expect(forward).toContain('x_seconds_bucket{le="+Inf",path="peering",seed="gmail-1",provider="gmail"} 8');
  });

  it("is needed: prom-client's float sum of the same seconds depends on the order", async () => {
    const sum = async (secs: number[]) => {
      const registry = new Registry();
      const h = new Histogram({ name: 'y_seconds', help: 'y', buckets: [1], registers: [registry] });
      for (const s of secs) h.observe(s);
      return (await registry.getSingleMetricAsString('y_seconds')).match(/y_seconds_sum (\S+)/)![1];
    };
    const secs = values.slice(0, 6).map((v) => v / 1000);
    expect(await sum(secs)).not.toBe(await sum([...secs].reverse()));
  });
});
