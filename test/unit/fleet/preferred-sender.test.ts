import { describe, expect, it } from 'vitest';
import { preferredSender } from '../../../agent/fleet/fleet.js';

const seeds = Array.from({ length: 300 }, (_, i) => `seed-${i}`);
const pairs = ['peering', 'transit'].flatMap((path) => seeds.map((seed) => ({ path, seed })));

describe('which agent sends a path × seed at a scheduled tick', () => {
  it('one of the candidates, the same whatever order they are listed in; none without candidates', () => {
    for (const { path, seed } of pairs) {
      const a = preferredSender(path, seed, ['a', 'b', 'c']);
      expect(['a', 'b', 'c']).toContain(a);
      expect(preferredSender(path, seed, ['c', 'b', 'a'])).toBe(a);
    }
    expect(preferredSender('peering', 'seed-1', [])).toBeNull();
    expect(preferredSender('peering', 'seed-1', ['only'])).toBe('only');
  });

  it('spreads a tick evenly (each of 3 agents within 20 % of a third of 600 pairs), and the paths of one seed independently', () => {
    const counts = new Map<string, number>();
    for (const { path, seed } of pairs) {
      const a = preferredSender(path, seed, ['site-a-1', 'site-a-2', 'site-b-1'])!;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    expect(counts.size).toBe(3);
    for (const n of counts.values()) expect(Math.abs(n - 200)).toBeLessThanOrEqual(40);
    const split = seeds.filter((seed) => preferredSender('peering', seed, ['a', 'b']) !== preferredSender('transit', seed, ['a', 'b'])).length;
    expect(split).toBeGreaterThan(100);
    expect(split).toBeLessThan(200);
  });

  it('an agent that leaves (or is not allowed on a path) gives up only its own pairs; the others keep theirs', () => {
    for (const { path, seed } of pairs) {
      const three = preferredSender(path, seed, ['a', 'b', 'c']);
      const two = preferredSender(path, seed, ['a', 'c']);
      if (three !== 'b') expect(two, `${path}/${seed}`).toBe(three);
      else expect(['a', 'c']).toContain(two);
    }
  });
});
