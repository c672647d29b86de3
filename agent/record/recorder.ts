/**
 * The one way facts enter the ledger: ask the domain what a fact is, write it, and only then
 * emit the event that metrics and live progress follow. Every writer (sender, watchers,
 * reconciler) goes through these functions, so "metrics come from ledger events" holds by
 * structure: an event is emitted only for what the ledger confirmed as new.
 */
import { decideCopy } from '../domain/copy-fate.js';
import { isMissing } from '../domain/missing.js';
import type { MailboxErrorKind } from '../domain/vocabulary.js';
import type { AgentEvents } from '../events.js';
import type { Ledger, NewObservation, ObservationResult, ProbeRow, ScannedFrom, SendResult } from '../ledger/ledger.js';

/** Listeners must not throw; if one does, the ledger already holds the truth. */
function emit(fn: () => void): void {
  try {
    fn();
  } catch {
    /* ignored: see above */
  }
}

/**
 * The SMTP attempt's result; emits sendFinished. Copies recorded while the probe was still
 * being sent (the relay delivered before its 250 reached us) count from the accept on: the
 * first is judged again with t1 known, then every copy is emitted, as if seen just now.
 * Throws when the ledger refuses.
 */
export async function recordSendResult(ledger: Ledger, events: AgentEvents, id: string, r: SendResult): Promise<ProbeRow> {
  let row = await ledger.recordSendResult(id, r);
  const early = row.status === 'accepted' && row.copies > 0 ? await ledger.settleEarlyCopies(id, (p, c) => decideCopy(p, c, c.placement)) : [];
  if (early.length > 0) row = (await ledger.getProbe(id)) ?? row;
  const settled = row;
  emit(() => events.sendFinished(settled));
  if (settled.outcome === 'missing' && early.length > 0) emit(() => events.missing([settled]));
  for (const c of early) {
    emit(() =>
      events.observed({
        kind: c.kind,
        copyNumber: c.copyNumber,
        probe: settled,
        ...(c.deliveryLatencyMs !== null ? { deliveryLatencyMs: c.deliveryLatencyMs } : {}),
        ...(c.detectionDelayMs !== null ? { detectionDelayMs: c.detectionDelayMs } : {}),
        auth: c.auth,
        placement: c.placement,
      }),
    );
  }
  return settled;
}

/**
 * One copy of a probe: the domain decides first/duplicate/late by timestamps inside the
 * ledger's transaction. A late first copy settles its probe as missing: `missing` is emitted
 * before `observed`, as if the deadline had been concluded first.
 */
export async function recordCopy(ledger: Ledger, events: AgentEvents, o: NewObservation): Promise<ObservationResult> {
  const r = await ledger.recordObservation(o, (probe) => decideCopy(probe, o, o.placement));
  if (r.settledMissing && r.probe) {
    const probe = r.probe;
    emit(() => events.missing([probe]));
  }
  // A copy of a probe still being sent is emitted once its send result is in (recordSendResult),
  // so every copy is emitted exactly once, with the probe's settled status.
  if ((r.kind === 'first' || r.kind === 'duplicate' || r.kind === 'late') && r.probe?.status !== 'sending') emit(() => events.observed(r));
  return r;
}

/**
 * Conclude missing the probes of `seed` (null: every seed) whose deadline is before
 * `scannedFromMs`, the start of the oldest of the seed's latest complete folder scans.
 */
export function concludeMissing(
  ledger: Ledger,
  events: AgentEvents,
  seed: string | null,
  scannedFromMs: number,
  atMs: number,
  graceMs = 0,
): Promise<ProbeRow[]> {
  return concludeMissingAll(ledger, events, new Map([[seed, scannedFromMs]]), atMs, graceMs);
}

/**
 * The same for several seeds at once (seed → the moment it has been scanned from), in one
 * ledger pass; `graceMs` is config watch.arrivalGrace (domain/missing.ts).
 */
export async function concludeMissingAll(ledger: Ledger, events: AgentEvents, scannedFrom: ScannedFrom, atMs: number, graceMs = 0): Promise<ProbeRow[]> {
  const rows = await ledger.markMissing(scannedFrom, (p, fromMs) => isMissing(p, fromMs, graceMs), atMs);
  if (rows.length > 0) emit(() => events.missing(rows));
  return rows;
}

/** An IMAP failure of a seed. */
export async function recordMailboxError(
  ledger: Ledger,
  events: AgentEvents,
  seed: string,
  kind: MailboxErrorKind,
  atMs: number,
  message: string,
): Promise<void> {
  await ledger.recordMailboxError(seed, kind, atMs, message);
  emit(() => events.mailboxError(seed, kind));
}
