/**
 * Pure: where a folder scan starts after (re)connect. With a stored state of the same
 * UIDVALIDITY, everything after the last seen UID; otherwise (first run, or the server
 * renumbered the folder) every message since the oldest probe that could still show up:
 * the oldest in-flight probe, and at least one deadline back so late copies and duplicates
 * of recent probes are found too. The ledger's fingerprint dedupe keeps a rescan from double
 * counting copies already recorded under the old UIDs.
 */
import type { FolderState } from '../ledger/ledger.js';

export type ScanPlan =
  | { kind: 'after-uid'; afterUid: number }
  | { kind: 'since'; sinceMs: number; reason: 'no-state' | 'uidvalidity-changed' };

export function planScan(input: {
  state: FolderState | null;
  uidValidity: number;
  oldestInFlightMs: number | null;
  nowMs: number;
  deadlineMs: number;
}): ScanPlan {
  const { state, uidValidity } = input;
  if (state && state.uidValidity === uidValidity) return { kind: 'after-uid', afterUid: state.lastUid };
  const windowStart = input.nowMs - input.deadlineMs;
  const sinceMs = input.oldestInFlightMs === null ? windowStart : Math.min(windowStart, input.oldestInFlightMs);
  return { kind: 'since', sinceMs, reason: state ? 'uidvalidity-changed' : 'no-state' };
}

/** IMAP SEARCH SINCE compares dates (no time) in the server's zone: go one day earlier. */
export function imapSinceDate(sinceMs: number): Date {
  return new Date(sinceMs - 24 * 3_600_000);
}
