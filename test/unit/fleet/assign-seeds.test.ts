import { describe, expect, it } from 'vitest';
import { assignSeeds } from '../../../agent/fleet/fleet.js';

const seeds = Array.from({ length: 300 }, (_, i) => `seed-${i}`);

describe('rendezvous assignment of seeds to live agents', () => {
  it('every seed gets exactly one live agent, the same whatever the order the agents are listed in', () => {
    const a = assignSeeds(seeds, ['a', 'b', 'c']);
    expect(a.size).toBe(300);
    expect(new Set(a.values())).toEqual(new Set(['a', 'b', 'c']));
    expect(assignSeeds(seeds, ['c', 'a', 'b'])).toEqual(a);
    expect(assignSeeds(seeds, [])).toEqual(new Map());
  });

  it('spreads evenly (each of 3 agents within 25 % of a third)', () => {
    const counts = new Map<string, number>();
    for (const agent of assignSeeds(seeds, ['site-a-1', 'site-a-2', 'site-b-1']).values()) counts.set(agent, (counts.get(agent) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 100)).toBeLessThanOrEqual(25);
  });

  it('an agent that leaves gives up only its own seeds; one that joins takes seeds only for itself', () => {
    const three = assignSeeds(seeds, ['a', 'b', 'c']);
    const two = assignSeeds(seeds, ['a', 'b']);
    for (const s of seeds) if (three.get(s) !== 'c') expect(two.get(s), s).toBe(three.get(s));
    for (const s of seeds) if (three.get(s) !== two.get(s)) expect(three.get(s), s).toBe('c');
  });
});
