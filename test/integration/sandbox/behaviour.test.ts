/** The sandbox's behaviour model on its own: defaults, overrides, incident windows, seeded draws. */
import { describe, expect, it } from 'vitest';
import {
  BehaviourModel,
  DEFAULT_INCIDENTS,
  defaultRouteBehaviour,
  incidentActive,
  planDelivery,
  SANDBOX_PROVIDERS,
  type RouteBehaviour,
} from '../../../sandbox/behaviour.js';
import { createPrng } from '../../../sandbox/prng.js';
import { rfc5322Date } from '../../../sandbox/provider-headers.js';
import { parseRfc5322Date } from '../../../agent/analyze/received-time.js';

const Q = Date.UTC(2026, 10, 23, 12, 0, 0); // a quarter-hour boundary

describe('sandbox behaviour model', () => {
  it('makes peering healthier than transit for every provider', () => {
    for (const p of SANDBOX_PROVIDERS) {
      const peering = defaultRouteBehaviour(p, 'peering');
      const transit = defaultRouteBehaviour(p, 'transit');
      expect(peering.spamShare).toBeLessThan(transit.spamShare);
      expect(peering.latency.medianMs).toBeLessThan(transit.latency.medianMs);
      expect(peering.duplicateShare).toBeLessThan(transit.duplicateShare);
      expect(peering.lossShare).toBeLessThan(transit.lossShare);
      expect(peering.latency.medianMs).toBeGreaterThanOrEqual(1_000);
      expect(transit.latency.medianMs).toBeLessThanOrEqual(3_000);
    }
    expect(defaultRouteBehaviour('gmail', 'peering').tabs.promotions).toBeGreaterThan(0);
    expect(defaultRouteBehaviour('outlook', 'peering').tabs.promotions).toBe(0);
  });

  it('applies overrides: all first, then the route', () => {
    const m = new BehaviourModel({ all: { spamShare: 0.5, latency: { medianMs: 10 } }, routes: { yahoo: { transit: { spamShare: 1 } } } });
    expect(m.route('yahoo', 'transit').spamShare).toBe(1);
    expect(m.route('yahoo', 'peering').spamShare).toBe(0.5);
    expect(m.route('yahoo', 'transit').latency).toMatchObject({ medianMs: 10, sigma: defaultRouteBehaviour('yahoo', 'transit').latency.sigma });
  });

  it('runs the default incident on transit → Outlook during minutes 0–4 of each quarter hour', () => {
    const m = new BehaviourModel();
    expect(m.incidents).toEqual(DEFAULT_INCIDENTS);
    const at = (min: number, sec = 0) => Q + min * 60_000 + sec * 1000;
    expect(m.activeIncident('outlook', 'transit', at(0))).toBeDefined();
    expect(m.activeIncident('outlook', 'transit', at(4, 59))).toBeDefined();
    expect(m.activeIncident('outlook', 'transit', at(5))).toBeUndefined();
    expect(m.activeIncident('outlook', 'transit', at(14, 59))).toBeUndefined();
    expect(m.activeIncident('outlook', 'transit', at(15))).toBeDefined();
    expect(m.activeIncident('outlook', 'transit', at(47))).toBeDefined();
    expect(m.activeIncident('outlook', 'peering', at(1))).toBeUndefined();
    expect(m.activeIncident('gmail', 'transit', at(1))).toBeUndefined();
    // A period the tests can force: always on, never on, and with an offset.
    const base = DEFAULT_INCIDENTS[0];
    expect(incidentActive({ ...base, durationMs: base.periodMs }, at(7))).toBe(true);
    expect(incidentActive({ ...base, durationMs: 0 }, at(0))).toBe(false);
    expect(incidentActive({ ...base, offsetMs: 7 * 60_000 }, at(8))).toBe(true);
    expect(incidentActive({ ...base, offsetMs: 7 * 60_000 }, at(3))).toBe(false);
  });

  it('draws plans from the seeded PRNG: reproducible, and with the configured shares', () => {
    const b: RouteBehaviour = {
      ...defaultRouteBehaviour('gmail', 'transit'),
      spamShare: 0.2,
      duplicateShare: 0.05,
      lossShare: 0.03,
      tabs: { promotions: 0.3, social: 0.1, updates: 0, forums: 0 },
    };
    const draw = (seed: number) => {
      const r = createPrng(seed);
      return Array.from({ length: 20_000 }, () => planDelivery('gmail', b, undefined, r));
    };
    const a = draw(11);
    expect(draw(11)).toEqual(a);
    expect(draw(12)).not.toEqual(a);
    const share = (f: (p: (typeof a)[number]) => boolean) => a.filter(f).length / a.length;
    expect(share((p) => p.lost)).toBeCloseTo(0.03, 2);
    const delivered = a.filter((p) => !p.lost);
    const dShare = (f: (p: (typeof a)[number]) => boolean) => delivered.filter(f).length / delivered.length;
    expect(dShare((p) => p.copies[0].folder === 'spam')).toBeCloseTo(0.2, 1);
    expect(dShare((p) => p.copies.length === 2)).toBeCloseTo(0.05, 2);
    const inbox = delivered.filter((p) => p.copies[0].folder === 'inbox');
    expect(inbox.filter((p) => p.copies[0].tab === 'promotions').length / inbox.length).toBeCloseTo(0.3, 1);
    expect(delivered.filter((p) => p.copies[0].folder === 'spam').every((p) => p.copies[0].tab === undefined)).toBe(true);
    // Log-normal body: the median near the configured one, a tail beyond it, never negative.
    const lat = delivered.map((p) => p.copies[0].latencyMs).sort((x, y) => x - y);
    expect(lat[Math.floor(lat.length / 2)]).toBeGreaterThan(b.latency.medianMs * 0.9);
    expect(lat[Math.floor(lat.length / 2)]).toBeLessThan(b.latency.medianMs * 1.1);
    expect(lat[0]).toBeGreaterThanOrEqual(0);
    expect(lat.filter((l) => l >= b.latency.tailMinMs).length / lat.length).toBeGreaterThan(b.latency.tailShare * 0.7);
    // A duplicate arrives after its first copy.
    for (const p of delivered.filter((x) => x.copies.length === 2)) expect(p.copies[1].latencyMs).toBeGreaterThanOrEqual(p.copies[0].latencyMs);
  });

  it('an incident overrides the spam share of its route', () => {
    const r = createPrng(3);
    const b = { ...defaultRouteBehaviour('outlook', 'transit'), spamShare: 0, lossShare: 0 };
    const plans = Array.from({ length: 200 }, () => planDelivery('outlook', b, { ...DEFAULT_INCIDENTS[0], spamShare: 1 }, r));
    expect(plans.every((p) => p.incident && p.copies[0].folder === 'spam')).toBe(true);
  });

  it('writes header dates the analyzer reads back to the second, in any zone', () => {
    const ms = Date.UTC(2026, 0, 4, 3, 5, 9, 870);
    for (const off of [0, -480, 60, 330]) {
      expect(parseRfc5322Date(rfc5322Date(ms, off))).toEqual({ atMs: Date.UTC(2026, 0, 4, 3, 5, 9) });
    }
    expect(rfc5322Date(ms, -480)).toBe('Sat, 3 Jan 2026 19:05:09 -0800');
  });
});
