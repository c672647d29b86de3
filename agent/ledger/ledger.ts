/**
 * The ledger is the source of truth: every probe is written before it is sent, every
 * observation when it is seen. Metrics, the API and the weekly report are derived from it.
 * One interface, two implementations: SQLite (sqlite-ledger.ts), the single-agent default, and
 * Postgres (postgres-ledger.ts), shared by several agents — which is why every method returns a
 * Promise even though better-sqlite3 is synchronous. Times are Unix epoch milliseconds
 * (integers) throughout.
 */

import type {
  AuthSummary,
  CopyKind,
  MailboxErrorKind,
  Outcome,
  Placement,
  ProbeStatus,
  SendFailureReason,
} from '../domain/vocabulary.js';
import type { CopyDecision, ProbeStateForCopy } from '../domain/copy-fate.js';
import type { ProbeStateForDeadline } from '../domain/missing.js';

/**
 * The domain's decision about one copy, called by the ledger inside the transaction that
 * records it (so two sessions recording copies of one probe at once cannot both be first).
 */
export type CopyDecider = (probe: ProbeStateForCopy) => CopyDecision;
/**
 * The domain's deadline rule, called inside the transaction that marks probes missing, with the
 * moment from which the probe's seed has been scanned.
 */
export type MissingDecider = (probe: ProbeStateForDeadline, scannedFromMs: number) => boolean;
/**
 * Per seed, the moment from which it has been scanned (its deadline-passed probes may be
 * concluded missing); the key null stands for every seed.
 */
export type ScannedFrom = ReadonlyMap<string | null, number>;

export interface NewProbe {
  id: string;
  path: string;
  seed: string;
  provider: string;
  messageId: string;
  createdAtMs: number;
  /** Deadline relative to the SMTP accept (t1); the probe is missing when unseen by then. */
  deadlineMs: number;
  /** Id of the cycle that created it (for progress and the API). */
  cycleId?: string;
  /** The agent that sends it (config `agent.name`); absent in rows written before agents had names. */
  agent?: string;
}

export type SendResult =
  | {
      ok: true;
      /** t1: the 250 reply after DATA. */
      acceptedAtMs: number;
      code: number;
      enhanced?: string;
      text: string;
      queueId?: string;
    }
  | {
      ok: false;
      reason: SendFailureReason;
      atMs: number;
      code?: number;
      enhanced?: string;
      text?: string;
      /** A human message (never a secret), e.g. "connect ECONNREFUSED 127.0.0.1:2525". */
      message: string;
    };

export interface ProbeRow {
  id: string;
  path: string;
  seed: string;
  provider: string;
  messageId: string;
  cycleId: string | null;
  status: ProbeStatus;
  createdAtMs: number;
  sendStartedAtMs: number | null;
  acceptedAtMs: number | null;
  deadlineAtMs: number | null;
  smtpCode: number | null;
  smtpEnhanced: string | null;
  smtpText: string | null;
  queueId: string | null;
  errorReason: SendFailureReason | null;
  errorMessage: string | null;
  /** First placement, or 'missing'; null while in flight (or never accepted). */
  outcome: Outcome | null;
  resolvedAtMs: number | null;
  copies: number;
  /** The agent that sent it; null for probes recorded before agents had names. */
  agent?: string | null;
  /** Fleet metrics: the agent whose counters hold this probe's missing (it concluded it). */
  resolvedBy?: string | null;
}

export interface NewObservation {
  probeId: string;
  seed: string;
  folder: string;
  /** Role of the folder: inbox, spam, trash, all, other. */
  folderRole: string;
  placement: Placement;
  uidValidity: number;
  uid: number;
  /** t2: the provider's topmost Received: timestamp, when parseable. */
  arrivedAtMs: number | null;
  /** t3: IMAP INTERNALDATE. */
  internalDateMs: number | null;
  /** t4: when the agent saw it. */
  observedAtMs: number;
  auth: AuthSummary;
  /**
   * Identifies one delivered copy independently of its UID (e.g. hash of the provider's
   * topmost Received header + INTERNALDATE + size), so the same copy seen again after a
   * UIDVALIDITY change or a move between folders is not a duplicate.
   */
  fingerprint?: string;
  /** Headers of interest and parse notes, stored as JSON for the API. */
  evidence: Record<string, unknown>;
  /** The agent that saw it (config `agent.name`); absent in rows written before agents had names. */
  agent?: string;
}

export type ObservationKind = 'first' | 'duplicate' | 'late' | 'already-recorded' | 'unknown-probe';

export interface ObservationResult {
  kind: ObservationKind;
  copyNumber: number;
  /** The probe after this copy was recorded. */
  probe: ProbeRow | null;
  /** A late first copy settled its probe as missing (the probe's missing event is due). */
  settledMissing?: boolean;
  /** For 'first' on an accepted probe: t1 → arrival, whole milliseconds. */
  deliveryLatencyMs?: number;
  /** For every recorded copy: arrival in the mailbox → announced, whole milliseconds. */
  detectionDelayMs?: number;
  /** The provider's verdicts as recorded (counted once per probe, on its first copy). */
  auth?: AuthSummary;
  /** The placement of this copy. */
  placement?: Placement;
}

export interface ObservationRow extends NewObservation {
  id: number;
  copyNumber: number;
  kind: CopyKind;
  deliveryLatencyMs: number | null;
  detectionDelayMs: number | null;
  /** Fleet metrics: the agent whose counters hold this copy (null while its probe is being sent). */
  countedBy?: string | null;
}

export interface ProbeFilter {
  sinceMs?: number;
  untilMs?: number;
  path?: string;
  seed?: string;
  outcome?: Outcome;
  /** Return probes with id < before (ids sort by time): pagination. */
  before?: string;
  limit?: number;
}

export interface FolderState {
  uidValidity: number;
  lastUid: number;
}

/** Counts that feed the metrics at start-up and are not per probe. */
export interface LedgerTotals {
  mailboxErrors: { seed: string; kind: MailboxErrorKind; count: number }[];
  cycles: { completed: number; overlaps: number; lastFinishedAtMs: number | null };
}

/**
 * The ledger's history as the events that built it, for the metrics' start-up: one `send`
 * per probe whose attempt ended (its row carries the outcome, so `missing` too), one `copy`
 * per recorded copy. Counted by the same functions as the live events, so a restart never
 * changes a number.
 */
export type LedgerFact = { type: 'send'; probe: ProbeRow } | { type: 'copy'; probe: ProbeRow; copy: ObservationRow };

/** One probe with what the summary and the weekly report need (first copy's evidence). */
export interface ProbeFact {
  id: string;
  path: string;
  seed: string;
  provider: string;
  createdAtMs: number;
  status: ProbeStatus;
  errorReason: SendFailureReason | null;
  smtpCode: number | null;
  outcome: Outcome | null;
  copies: number;
  /** A copy arrived after the deadline. */
  late: boolean;
  deliveryLatencySeconds: number | null;
  auth: AuthSummary;
}

export interface Ledger {
  /** Write-ahead: the probe exists (status 'sending') before SMTP starts. */
  insertProbe(p: NewProbe): Promise<void>;
  markSendStarted(id: string, atMs: number): Promise<void>;
  recordSendResult(id: string, r: SendResult): Promise<ProbeRow>;
  /**
   * Record a copy unless it is already recorded (same seed/folder/UIDVALIDITY/UID, or same
   * fingerprint); `decide` (the domain's rule) says what it is, inside the write transaction.
   */
  recordObservation(o: NewObservation, decide: CopyDecider): Promise<ObservationResult>;
  /**
   * A probe accepted after copies of it were recorded (a fast relay delivers before its 250
   * reaches us): its first copy is judged again now that t1 and the deadline are known (its
   * delivery latency, or late), in one transaction; returns the probe's copies, in order.
   */
  settleEarlyCopies(id: string, decide: (probe: ProbeStateForCopy, copy: ObservationRow) => CopyDecision): Promise<ObservationRow[]>;
  /**
   * Mark missing, for every seed of `scannedFrom`, the unresolved accepted probes whose deadline
   * is before the seed's moment and that `decide` says are missing; returns them, in id order.
   * One pass for every seed: the reconciler asks every 10 s for each watched seed and almost
   * always nothing is due, so an implementation reads once and writes only when a probe is.
   */
  markMissing(scannedFrom: ScannedFrom, decide: MissingDecider, atMs: number): Promise<ProbeRow[]>;
  /** Probes left in 'sending' by a crash: the attempt's outcome is unknown. */
  recoverInterrupted(nowMs: number): Promise<ProbeRow[]>;
  getProbe(id: string): Promise<ProbeRow | null>;
  listProbes(f: ProbeFilter): Promise<ProbeRow[]>;
  observations(probeId: string): Promise<ObservationRow[]>;
  /** Accepted, unseen, deadline not passed. */
  inFlight(nowMs: number): Promise<ProbeRow[]>;
  /** The oldest accepted time among in-flight probes of a seed (catch-up lower bound). */
  oldestInFlightMs(seed: string, nowMs: number): Promise<number | null>;
  getFolderState(seed: string, folder: string): Promise<FolderState | null>;
  setFolderState(seed: string, folder: string, s: FolderState): Promise<void>;
  recordMailboxError(seed: string, kind: MailboxErrorKind, atMs: number, message: string): Promise<void>;
  /** A scheduler tick: a cycle that runs, or (overlapped) one skipped because the last still ran. */
  startCycle(id: string, atMs: number, overlapped?: boolean): Promise<void>;
  finishCycle(id: string, atMs: number, probes: number): Promise<void>;
  totals(): Promise<LedgerTotals>;
  /** Every probe and copy, for the metrics' start-up (streamed). */
  replay(): AsyncIterable<LedgerFact>;
  /** Probes created in [sinceMs, untilMs) with their first copy's facts. */
  probeFacts(sinceMs: number, untilMs: number): Promise<ProbeFact[]>;
  /** Small key/value store (e.g. rotated OAuth2 refresh tokens). */
  getState(key: string): Promise<string | null>;
  setState(key: string, value: string): Promise<void>;
  /** The last write's error while writes fail (disk full, read-only), else null. */
  writeError(): string | null;
  close(): Promise<void>;
}
