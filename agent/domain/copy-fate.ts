/**
 * Pure: what one delivered copy is to its probe, decided by timestamps alone (never by which
 * process step happened to run first), with the latencies it contributes.
 *
 * Timestamps and their resolution:
 *   - t1 acceptedAtMs: the agent's clock at the 250 after DATA (milliseconds);
 *   - t2 arrivedAtMs: the provider's topmost Received date (RFC 5322: whole seconds);
 *   - t3 internalDateMs: IMAP INTERNALDATE (RFC 3501: whole seconds);
 *   - t4 observedAtMs: the agent's clock when the server announced the copy (IDLE EXISTS, or
 *     the search of the scan that found it), in milliseconds.
 * A whole-second timestamp stands for the middle of its second (+500 ms), so latencies
 * computed from it are off by at most ±0.5 s and not biased one way.
 */
import type { CopyKind, Outcome, Placement, ProbeStatus } from './vocabulary.js';

/** The resolution of Received dates and INTERNALDATE: both are whole seconds. */
export const WHOLE_SECOND_MS = 1_000;

/** A whole-second timestamp as the middle of its second. */
export function centreOfSecond(wholeSecondMs: number): number {
  return Math.floor(wholeSecondMs / WHOLE_SECOND_MS) * WHOLE_SECOND_MS + WHOLE_SECOND_MS / 2;
}

/** What the decision needs to know of the probe, as the ledger holds it now. */
export interface ProbeStateForCopy {
  status: ProbeStatus;
  acceptedAtMs: number | null;
  deadlineAtMs: number | null;
  /** Copies recorded before this one. */
  copies: number;
  outcome: Outcome | null;
}

export interface CopyTimes {
  arrivedAtMs: number | null;
  internalDateMs: number | null;
  observedAtMs: number;
}

export interface CopyDecision {
  kind: CopyKind;
  /** The probe's outcome when this copy settles it (first → placement; late → missing). */
  settles: Outcome | null;
  /** t1 → arrival, in whole milliseconds; only for the first in-time copy of an accepted probe. */
  deliveryLatencyMs: number | null;
  /** arrival in the mailbox → announced to the agent, in whole milliseconds; every copy. */
  detectionDelayMs: number | null;
}

/** Arrival at the provider (t2, else t3), centred in its second; null when neither is known. */
export function arrivalMs(t: Pick<CopyTimes, 'arrivedAtMs' | 'internalDateMs'>): number | null {
  const raw = t.arrivedAtMs ?? t.internalDateMs;
  return raw == null ? null : centreOfSecond(raw);
}

/** Arrival in the mailbox (t3, else t2), centred in its second. */
export function mailboxArrivalMs(t: Pick<CopyTimes, 'arrivedAtMs' | 'internalDateMs'>): number | null {
  const raw = t.internalDateMs ?? t.arrivedAtMs;
  return raw == null ? null : centreOfSecond(raw);
}

/**
 * The copy's kind:
 *   - `duplicate` when the probe already has a copy;
 *   - `late` when it is the first copy but arrived (t2, else t3) after the deadline, or the
 *     probe was already concluded missing: the probe is missing, and its latency is no delivery
 *     latency (it never enters the histogram);
 *   - `first` otherwise: its placement is the probe's outcome, even when the agent only saw
 *     it after the deadline (it was down): a copy that arrived in time is a placement.
 * A probe that was never accepted (ambiguous: cut after DATA) has no deadline: its first
 * copy is `first` (evidence for the API) but has no delivery latency.
 */
export function decideCopy(probe: ProbeStateForCopy, copy: CopyTimes, placement: Placement): CopyDecision {
  const mailbox = mailboxArrivalMs(copy);
  const detectionDelayMs = mailbox == null ? null : Math.max(0, copy.observedAtMs - mailbox);
  if (probe.copies > 0) return { kind: 'duplicate', settles: null, deliveryLatencyMs: null, detectionDelayMs };
  if (probe.outcome === 'missing') return { kind: 'late', settles: null, deliveryLatencyMs: null, detectionDelayMs };
  const arrival = arrivalMs(copy);
  const accepted = probe.status === 'accepted' && probe.acceptedAtMs != null;
  if (accepted && probe.deadlineAtMs != null && arrival != null && arrival > probe.deadlineAtMs) {
    return { kind: 'late', settles: 'missing', deliveryLatencyMs: null, detectionDelayMs };
  }
  const deliveryLatencyMs = accepted && arrival != null ? Math.max(0, arrival - probe.acceptedAtMs!) : null;
  return { kind: 'first', settles: placement, deliveryLatencyMs, detectionDelayMs };
}
