/**
 * Pure: when a probe may be concluded `missing`. Not when its deadline passes on the agent's
 * clock, but once every watched folder of its seed has been scanned from a moment after the
 * deadline: only then is "no copy recorded" a fact. A watcher that is down, or still catching
 * up after a restart, cannot conclude it, so a counter never has to be taken back when the
 * copy turns up in a scan that had not run yet.
 */
import type { Outcome, ProbeStatus } from './vocabulary.js';

export interface ProbeStateForDeadline {
  status: ProbeStatus;
  deadlineAtMs: number | null;
  copies: number;
  outcome: Outcome | null;
}

/**
 * @param scannedFromMs the start of the oldest of the seed's latest complete folder scans
 *   (every copy delivered before it has been seen), or null when the seed is not watched now.
 * @param graceMs how long after the deadline the scans must have started (config
 *   watch.arrivalGrace): a copy the provider stamped just before the deadline may reach the
 *   folder a little after it, and counts as placed; concluding missing before it could show
 *   would turn that placement into missing + late, and a counter is never taken back.
 */
export function isMissing(probe: ProbeStateForDeadline, scannedFromMs: number | null, graceMs = 0): boolean {
  return (
    probe.status === 'accepted' &&
    probe.outcome === null &&
    probe.copies === 0 &&
    probe.deadlineAtMs !== null &&
    scannedFromMs !== null &&
    scannedFromMs > probe.deadlineAtMs + graceMs
  );
}
