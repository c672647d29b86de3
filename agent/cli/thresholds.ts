import { OUTCOMES } from '../domain/vocabulary.js';

/** Shares the go/no-go check can test: every outcome, plus send failures. */
export const THRESHOLD_KEYS = [...OUTCOMES, 'failed'] as const;
export type ThresholdKey = (typeof THRESHOLD_KEYS)[number];

export interface Threshold {
  key: ThresholdKey;
  op: '>' | '>=' | '<' | '<=';
  value: number;
  text: string;
}

export class ThresholdError extends Error {
  readonly code = 'THRESHOLD_INVALID';
}

/**
 * `--fail-on "spam>0.2,missing>0"`: the check fails when, for any provider x path, the share
 * (0..1) of that outcome is beyond the bound. `inbox<0.9` works the other way round.
 */
export function parseThresholds(text: string): Threshold[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([a-z]+)\s*(>=|<=|>|<)\s*([0-9]*\.?[0-9]+)$/.exec(part);
      if (!m) throw new ThresholdError(`--fail-on: "${part}" is not KEY>VALUE (e.g. spam>0.2, missing>0, inbox<0.9)`);
      const key = m[1] as ThresholdKey;
      if (!THRESHOLD_KEYS.includes(key)) throw new ThresholdError(`--fail-on: unknown key "${m[1]}" (known: ${THRESHOLD_KEYS.join(', ')})`);
      const value = Number(m[3]);
      if (value > 1) throw new ThresholdError(`--fail-on: "${part}": shares are between 0 and 1`);
      return { key, op: m[2] as Threshold['op'], value, text: part };
    });
}

/** True when the share breaks the threshold (i.e. the check fails). */
export function breaks(t: Threshold, share: number): boolean {
  switch (t.op) {
    case '>':
      return share > t.value;
    case '>=':
      return share >= t.value;
    case '<':
      return share < t.value;
    case '<=':
      return share <= t.value;
  }
}
