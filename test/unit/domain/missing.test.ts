// isMissing on its own (the ledger contract suite runs it only through markMissing). The rule,
// from missing.ts's comments: an accepted probe with no copy and no outcome is missing once
// every watched folder of its seed has been scanned from a moment after its deadline; not
// when the deadline passes on the agent's clock, and never while the seed is not watched.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMissing, type ProbeStateForDeadline } from '../../../agent/domain/missing.js';
import { OUTCOMES, PROBE_STATUSES } from '../../../agent/domain/vocabulary.js';

/** Accepted, deadline at 610.000 s, nothing seen. */
const waiting: ProbeStateForDeadline = { status: 'accepted', deadlineAtMs: 610_000, copies: 0, outcome: null };

describe('isMissing: worked examples', () => {
  it.each<[string, ProbeStateForDeadline, number | null, boolean]>([
    ['scanned from 1 ms after the deadline: missing', waiting, 610_001, true],
    ['scanned from long after the deadline: missing', waiting, 5_000_000, true],
    ['scanned from exactly the deadline: not yet (a copy of that instant may be unseen)', waiting, 610_000, false],
    ['scanned only from before the deadline (watcher catching up): not yet', waiting, 300_000, false],
    ['the seed is not watched now: never', waiting, null, false],
    ['a copy was recorded: not missing', { ...waiting, copies: 1 }, 700_000, false],
    ['already settled by a placement', { ...waiting, outcome: 'inbox' }, 700_000, false],
    ['already concluded missing: not concluded twice', { ...waiting, outcome: 'missing' }, 700_000, false],
    ['never accepted (failed): nothing to miss', { ...waiting, status: 'failed' }, 700_000, false],
    ['cut after DATA (ambiguous): no deadline to pass', { ...waiting, status: 'ambiguous', deadlineAtMs: null }, 700_000, false],
    ['still sending', { ...waiting, status: 'sending' }, 700_000, false],
    ['accepted without a deadline', { ...waiting, deadlineAtMs: null }, 700_000, false],
  ])('%s', (_name, probe, scannedFromMs, expected) => {
    expect(isMissing(probe, scannedFromMs)).toBe(expected);
  });
});

const arbTime = fc.integer({ min: 0, max: 10_000_000 });
const arbProbe: fc.Arbitrary<ProbeStateForDeadline> = fc.record({
  status: fc.constantFrom(...PROBE_STATUSES),
  deadlineAtMs: fc.option(arbTime),
  copies: fc.integer({ min: 0, max: 3 }),
  outcome: fc.option(fc.constantFrom(...OUTCOMES)),
});

describe('isMissing: properties', () => {
  it('false whenever the probe is not accepted, has a copy, has an outcome, or the seed was not scanned past the deadline', () => {
    fc.assert(
      fc.property(arbProbe, fc.option(arbTime), (probe, scannedFromMs) => {
        if (probe.status !== 'accepted') expect(isMissing(probe, scannedFromMs)).toBe(false);
        if (probe.copies > 0) expect(isMissing(probe, scannedFromMs)).toBe(false);
        if (probe.outcome !== null) expect(isMissing(probe, scannedFromMs)).toBe(false);
        if (scannedFromMs === null) expect(isMissing(probe, scannedFromMs)).toBe(false);
        if (probe.deadlineAtMs === null || (scannedFromMs !== null && scannedFromMs <= probe.deadlineAtMs)) expect(isMissing(probe, scannedFromMs)).toBe(false);
      }),
    );
  });

  it('true for an accepted probe with no copy and no outcome once scanned from after its deadline', () => {
    fc.assert(
      fc.property(arbTime, fc.integer({ min: 1, max: 10_000_000 }), (deadlineAtMs, afterMs) => {
        expect(isMissing({ status: 'accepted', deadlineAtMs, copies: 0, outcome: null }, deadlineAtMs + afterMs)).toBe(true);
      }),
    );
  });

  it('monotone in scannedFrom: once missing, a later scan start keeps it missing; once not, an earlier one keeps it not', () => {
    fc.assert(
      fc.property(arbProbe, arbTime, fc.nat({ max: 10_000_000 }), (probe, fromMs, laterByMs) => {
        if (isMissing(probe, fromMs)) expect(isMissing(probe, fromMs + laterByMs)).toBe(true);
        if (!isMissing(probe, fromMs + laterByMs)) expect(isMissing(probe, fromMs)).toBe(false);
      }),
    );
  });
});
