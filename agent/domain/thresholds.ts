/**
 * Pure: the go/no-go thresholds of `seedwatch probe --fail-on "spam>0.2,missing>0"` — their
 * syntax and their evaluation over the placement matrix. The CLI only parses arguments and
 * prints; the rule of what passes lives here.
 */
import { rateOf, type MatrixCell } from './placement-matrix.js';
import { OUTCOMES } from './vocabulary.js';

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

export interface ThresholdCheck {
  rule: string;
  provider: string;
  path: string;
  /** The share tested; null when there is none (then `note` says why, and the check fails). */
  share: number | null;
  failed: boolean;
  note?: string;
}

/** Every threshold against every cell, in cell order then rule order. */
export function evaluateThresholds(cells: readonly MatrixCell[], thresholds: readonly Threshold[]): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  for (const cell of cells) {
    for (const t of thresholds) {
      // No probe of this provider x path was accepted: its placements are unknown, which is
      // not a "go" (a path whose every send fails must not pass a spam or missing check).
      if (t.key !== 'failed' && cell.accepted === 0) {
        checks.push({ rule: t.text, provider: cell.provider, path: cell.path, share: null, failed: true, note: 'no probe accepted' });
        continue;
      }
      const share = rateOf(cell, t.key);
      // Accepted but none resolved yet (an open window): unknown is not a "go" either.
      if (share === null) checks.push({ rule: t.text, provider: cell.provider, path: cell.path, share: null, failed: true, note: 'no probe resolved' });
      else checks.push({ rule: t.text, provider: cell.provider, path: cell.path, share, failed: breaks(t, share) });
    }
  }
  return checks;
}
