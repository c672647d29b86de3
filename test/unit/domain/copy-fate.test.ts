// decideCopy on its own (the ledger contract suite runs it only through a ledger). The worked
// examples' expected values are worked out by hand from the rules in copy-fate.ts's comments:
// a whole-second timestamp stands for the middle of its second; arrival at the provider is
// t2 (Received) else t3 (INTERNALDATE), arrival in the mailbox t3 else t2; a copy is a
// duplicate when the probe has one, late when it is the first but arrived after the deadline
// (or the probe is already missing), first otherwise.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrivalMs, centreOfSecond, decideCopy, mailboxArrivalMs, type CopyTimes, type ProbeStateForCopy } from '../../../agent/domain/copy-fate.js';
import { OUTCOMES, PLACEMENTS, PROBE_STATUSES, type Placement } from '../../../agent/domain/vocabulary.js';

/** Accepted at t1 = 10.000 s with a 10-minute deadline (610.000 s); no copy yet. */
const accepted: ProbeStateForCopy = { status: 'accepted', acceptedAtMs: 10_000, deadlineAtMs: 610_000, copies: 0, outcome: null };

describe('centreOfSecond and the arrival times', () => {
  it('puts a whole-second timestamp in the middle of its second', () => {
    expect(centreOfSecond(12_000)).toBe(12_500);
    expect(centreOfSecond(12_999)).toBe(12_500);
    expect(centreOfSecond(0)).toBe(500);
  });

  it('arrival at the provider prefers Received (t2), arrival in the mailbox prefers INTERNALDATE (t3)', () => {
    const both = { arrivedAtMs: 12_000, internalDateMs: 13_000 };
    expect(arrivalMs(both)).toBe(12_500);
    expect(mailboxArrivalMs(both)).toBe(13_500);
    expect(arrivalMs({ arrivedAtMs: null, internalDateMs: 13_000 })).toBe(13_500);
    expect(mailboxArrivalMs({ arrivedAtMs: 12_000, internalDateMs: null })).toBe(12_500);
    expect(arrivalMs({ arrivedAtMs: null, internalDateMs: null })).toBeNull();
    expect(mailboxArrivalMs({ arrivedAtMs: null, internalDateMs: null })).toBeNull();
  });
});

describe('decideCopy: worked examples', () => {
  it.each<[string, ProbeStateForCopy, CopyTimes, ReturnType<typeof decideCopy>]>([
    [
      // t2 12.5 s − t1 10 s; observed 14.2 s − t3 13.5 s.
      'first copy in time, t2 and t3 known',
      accepted,
      { arrivedAtMs: 12_000, internalDateMs: 13_000, observedAtMs: 14_200 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 2_500, detectionDelayMs: 700 },
    ],
    [
      // No Received date: t3 (13.5 s) serves for both arrivals.
      'first copy, INTERNALDATE only',
      accepted,
      { arrivedAtMs: null, internalDateMs: 13_000, observedAtMs: 14_200 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 3_500, detectionDelayMs: 700 },
    ],
    [
      'first copy, no server timestamp at all: a placement without latencies',
      accepted,
      { arrivedAtMs: null, internalDateMs: null, observedAtMs: 14_200 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: null, detectionDelayMs: null },
    ],
    [
      // Arrived at 12.5 s (in time), seen at 900 s (the agent was down): still a placement.
      'first copy seen long after the deadline but arrived in time',
      accepted,
      { arrivedAtMs: 12_000, internalDateMs: null, observedAtMs: 900_000 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 2_500, detectionDelayMs: 887_500 },
    ],
    [
      // Received in second 609 → 609.5 s ≤ 610 s.
      'first copy in the last second before the deadline',
      accepted,
      { arrivedAtMs: 609_000, internalDateMs: 609_000, observedAtMs: 609_800 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 599_500, detectionDelayMs: 300 },
    ],
    [
      // Received in second 610 → 610.5 s > 610 s: the probe is missing; detection 611.2 − 610.5.
      'first copy in the deadline second: late, settles missing',
      accepted,
      { arrivedAtMs: 610_000, internalDateMs: 610_000, observedAtMs: 611_200 },
      { kind: 'late', settles: 'missing', deliveryLatencyMs: null, detectionDelayMs: 700 },
    ],
    [
      // 610.5 s is not after a deadline of 610.5 s.
      'arrival exactly at the deadline is in time',
      { ...accepted, deadlineAtMs: 610_500 },
      { arrivedAtMs: 610_000, internalDateMs: null, observedAtMs: 611_000 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 600_500, detectionDelayMs: 500 },
    ],
    [
      // Received says in time, but the decision uses t2 only when present: t3 (late) is ignored.
      'Received in time, INTERNALDATE after the deadline: first',
      accepted,
      { arrivedAtMs: 600_000, internalDateMs: 700_000, observedAtMs: 700_900 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 590_500, detectionDelayMs: 400 },
    ],
    [
      'a second copy is a duplicate: no settlement, no delivery latency, its own detection delay',
      { ...accepted, copies: 1, outcome: 'inbox' },
      { arrivedAtMs: 20_000, internalDateMs: 21_000, observedAtMs: 21_600 },
      { kind: 'duplicate', settles: null, deliveryLatencyMs: null, detectionDelayMs: 100 },
    ],
    [
      // A duplicate stays a duplicate even when it arrived after the deadline.
      'a copy after the deadline on a probe with a copy is a duplicate, not late',
      { ...accepted, copies: 2, outcome: 'inbox' },
      { arrivedAtMs: 700_000, internalDateMs: 700_000, observedAtMs: 700_500 },
      { kind: 'duplicate', settles: null, deliveryLatencyMs: null, detectionDelayMs: 0 },
    ],
    [
      // Already concluded missing: late whatever its timestamps say, and it settles nothing again.
      'first copy of a probe already concluded missing',
      { ...accepted, outcome: 'missing' },
      { arrivedAtMs: 12_000, internalDateMs: 12_000, observedAtMs: 650_000 },
      { kind: 'late', settles: null, deliveryLatencyMs: null, detectionDelayMs: 637_500 },
    ],
    [
      // Cut after DATA: no t1, no deadline; evidence for the API, no latency.
      'first copy of an ambiguous probe',
      { status: 'ambiguous', acceptedAtMs: null, deadlineAtMs: null, copies: 0, outcome: null },
      { arrivedAtMs: 12_000, internalDateMs: 13_000, observedAtMs: 14_200 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: null, detectionDelayMs: 700 },
    ],
    [
      // Clocks disagree: Received 9.5 s before t1 10 s, observed 13.2 s before t3 13.5 s: clamped to 0.
      'skewed clocks give zero, never negative, latencies',
      accepted,
      { arrivedAtMs: 9_000, internalDateMs: 13_000, observedAtMs: 13_200 },
      { kind: 'first', settles: 'spam', deliveryLatencyMs: 0, detectionDelayMs: 0 },
    ],
  ])('%s', (_name, probe, copy, expected) => {
    expect(decideCopy(probe, copy, 'spam')).toEqual(expected);
  });
});

// Timestamps as the ledger holds them: whole milliseconds within a few hours.
const arbTime = fc.integer({ min: 0, max: 10_000_000 });
const arbProbe: fc.Arbitrary<ProbeStateForCopy> = fc.record({
  status: fc.constantFrom(...PROBE_STATUSES),
  acceptedAtMs: fc.option(arbTime),
  deadlineAtMs: fc.option(arbTime),
  copies: fc.integer({ min: 0, max: 3 }),
  outcome: fc.option(fc.constantFrom(...OUTCOMES)),
});
const arbCopy: fc.Arbitrary<CopyTimes> = fc.record({ arrivedAtMs: fc.option(arbTime), internalDateMs: fc.option(arbTime), observedAtMs: arbTime });
const arbPlacement: fc.Arbitrary<Placement> = fc.constantFrom(...PLACEMENTS);

describe('decideCopy: properties', () => {
  it('a copy is a duplicate exactly when the probe already has copies', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, (probe, copy, placement) => {
        expect(decideCopy(probe, copy, placement).kind === 'duplicate').toBe(probe.copies > 0);
      }),
    );
  });

  it('late and duplicate copies carry no delivery latency; latencies are whole milliseconds ≥ 0', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, (probe, copy, placement) => {
        const d = decideCopy(probe, copy, placement);
        if (d.kind !== 'first') expect(d.deliveryLatencyMs).toBeNull();
        for (const ms of [d.deliveryLatencyMs, d.detectionDelayMs]) {
          if (ms !== null) {
            expect(ms).toBeGreaterThanOrEqual(0);
            expect(Number.isInteger(ms)).toBe(true);
          }
        }
      }),
    );
  });

  it('only an accepted probe with t1 and a known arrival gets a delivery latency', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, (probe, copy, placement) => {
        const d = decideCopy(probe, copy, placement);
        const known = probe.status === 'accepted' && probe.acceptedAtMs !== null && (copy.arrivedAtMs ?? copy.internalDateMs) !== null;
        if (!known) expect(d.deliveryLatencyMs).toBeNull();
        if (d.kind === 'first' && known) expect(d.deliveryLatencyMs).not.toBeNull();
      }),
    );
  });

  it('every copy has a detection delay exactly when it has a server timestamp', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, (probe, copy, placement) => {
        const d = decideCopy(probe, copy, placement);
        expect(d.detectionDelayMs === null).toBe(copy.arrivedAtMs === null && copy.internalDateMs === null);
      }),
    );
  });

  it('settles is the placement (first), missing (late, once) or null', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, (probe, copy, placement) => {
        const d = decideCopy(probe, copy, placement);
        expect(d.settles === null || (OUTCOMES as readonly string[]).includes(d.settles)).toBe(true);
        if (d.kind === 'first') expect(d.settles).toBe(placement);
        if (d.kind === 'duplicate') expect(d.settles).toBeNull();
        if (d.kind === 'late') expect(d.settles).toBe(probe.outcome === 'missing' ? null : 'missing');
      }),
    );
  });

  it('a first copy that arrived after accept + deadline on an accepted probe is late and settles missing', () => {
    fc.assert(
      fc.property(
        arbTime,
        fc.integer({ min: 1_000, max: 3_600_000 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.boolean(),
        arbPlacement,
        (acceptedAtMs, deadlineMs, afterMs, viaReceived, placement) => {
          const deadlineAtMs = acceptedAtMs + deadlineMs;
          // A whole second whose centre is after the deadline.
          const second = Math.floor((deadlineAtMs + afterMs) / 1_000) * 1_000;
          if (second + 500 <= deadlineAtMs) return;
          const copy = viaReceived
            ? { arrivedAtMs: second, internalDateMs: null, observedAtMs: second + 900 }
            : { arrivedAtMs: null, internalDateMs: second, observedAtMs: second + 900 };
          const d = decideCopy({ status: 'accepted', acceptedAtMs, deadlineAtMs, copies: 0, outcome: null }, copy, placement);
          expect(d).toEqual({ kind: 'late', settles: 'missing', deliveryLatencyMs: null, detectionDelayMs: 400 });
        },
      ),
    );
  });

  it('a first copy that arrived by the deadline is a placement, whenever the agent saw it', () => {
    fc.assert(
      fc.property(arbTime, fc.integer({ min: 1_000, max: 3_600_000 }), fc.nat(), fc.nat(), arbPlacement, (acceptedAtMs, deadlineMs, beforeMs, seenAfterMs, placement) => {
        const deadlineAtMs = acceptedAtMs + deadlineMs;
        const second = Math.floor((deadlineAtMs - (beforeMs % deadlineMs)) / 1_000) * 1_000;
        if (second + 500 > deadlineAtMs) return;
        const copy = { arrivedAtMs: second, internalDateMs: second, observedAtMs: second + 500 + seenAfterMs };
        const d = decideCopy({ status: 'accepted', acceptedAtMs, deadlineAtMs, copies: 0, outcome: null }, copy, placement);
        expect(d).toEqual({ kind: 'first', settles: placement, deliveryLatencyMs: Math.max(0, second + 500 - acceptedAtMs), detectionDelayMs: seenAfterMs });
      }),
    );
  });

  it('shifting every timestamp by whole seconds changes neither the decision nor the latencies', () => {
    fc.assert(
      fc.property(arbProbe, arbCopy, arbPlacement, fc.integer({ min: 0, max: 100_000 }), (probe, copy, placement, seconds) => {
        const s = seconds * 1_000;
        const plus = (t: number | null) => (t === null ? null : t + s);
        const shifted = decideCopy(
          { ...probe, acceptedAtMs: plus(probe.acceptedAtMs), deadlineAtMs: plus(probe.deadlineAtMs) },
          { arrivedAtMs: plus(copy.arrivedAtMs), internalDateMs: plus(copy.internalDateMs), observedAtMs: copy.observedAtMs + s },
          placement,
        );
        expect(shifted).toEqual(decideCopy(probe, copy, placement));
      }),
    );
  });
});
