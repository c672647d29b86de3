/**
 * Table rows → the ledger's types, shared by both implementations (their tables have the same
 * columns). Rows arrive with snake_case column names and integers as numbers (the Postgres
 * ledger parses BIGINT to number before they get here).
 */
import { AUTH_METHODS, type AuthSummary } from '../domain/vocabulary.js';
import type { ObservationRow, ProbeRow } from './ledger.js';

export type Row = Record<string, unknown>;

export function probeFromRow(r: Row): ProbeRow {
  return {
    id: r.id as string,
    path: r.path as string,
    seed: r.seed as string,
    provider: r.provider as string,
    messageId: r.message_id as string,
    cycleId: (r.cycle_id as string | null) ?? null,
    status: r.status as ProbeRow['status'],
    createdAtMs: r.created_at as number,
    sendStartedAtMs: (r.send_started_at as number | null) ?? null,
    acceptedAtMs: (r.accepted_at as number | null) ?? null,
    deadlineAtMs: (r.deadline_at as number | null) ?? null,
    smtpCode: (r.smtp_code as number | null) ?? null,
    smtpEnhanced: (r.smtp_enhanced as string | null) ?? null,
    smtpText: (r.smtp_text as string | null) ?? null,
    queueId: (r.queue_id as string | null) ?? null,
    errorReason: (r.error_reason as ProbeRow['errorReason']) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    outcome: (r.outcome as ProbeRow['outcome']) ?? null,
    resolvedAtMs: (r.resolved_at as number | null) ?? null,
    copies: r.copies as number,
    agent: (r.agent as string | null) ?? null,
    resolvedBy: (r.resolved_by as string | null) ?? null,
  };
}

/** The verdict columns of an observation row (absent when the provider gave none). */
export function authFromRow(r: Row): AuthSummary {
  const auth: AuthSummary = {};
  for (const m of AUTH_METHODS) if (r[m] != null) auth[m] = r[m] as string;
  return auth;
}

export function observationFromRow(r: Row): ObservationRow {
  let evidence: Record<string, unknown> = {};
  try {
    evidence = JSON.parse(r.evidence as string) as Record<string, unknown>;
  } catch {
    evidence = { unparsed: true };
  }
  const auth = authFromRow(r);
  return {
    id: r.id as number,
    probeId: r.probe_id as string,
    seed: r.seed as string,
    folder: r.folder as string,
    folderRole: r.folder_role as string,
    placement: r.placement as ObservationRow['placement'],
    uidValidity: r.uid_validity as number,
    uid: r.uid as number,
    fingerprint: (r.fingerprint as string | null) ?? undefined,
    arrivedAtMs: (r.arrived_at as number | null) ?? null,
    internalDateMs: (r.internal_date as number | null) ?? null,
    observedAtMs: r.observed_at as number,
    copyNumber: r.copy_number as number,
    kind: r.kind as ObservationRow['kind'],
    deliveryLatencyMs: (r.delivery_latency_ms as number | null) ?? null,
    detectionDelayMs: (r.detection_delay_ms as number | null) ?? null,
    auth,
    evidence,
    ...(r.agent != null ? { agent: r.agent as string } : {}),
    countedBy: (r.counted_by as string | null) ?? null,
  };
}

/** The probe columns of a replay row, which carries them prefixed `p_` beside the copy's own. */
export function prefixedProbe(r: Row): Row {
  const pr: Row = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith('p_')) pr[k.slice(2)] = v;
  return pr;
}

/** The `p_`-prefixed probe columns for a replay query joining observations `o` to probes `p`. */
export const PREFIXED_PROBE_COLUMNS = [
  'id', 'path', 'seed', 'provider', 'message_id', 'cycle_id', 'status', 'created_at', 'send_started_at', 'accepted_at',
  'deadline_at', 'smtp_code', 'smtp_enhanced', 'smtp_text', 'queue_id', 'error_reason', 'error_message', 'outcome',
  'resolved_at', 'copies', 'agent', 'resolved_by',
]
  .map((c) => `p.${c} AS p_${c}`)
  .join(', ');
