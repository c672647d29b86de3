/**
 * Reads what the status page shows from the ledger (the only I/O of the page): the placement
 * matrix for the last hour and day and for the hour and day before them (the changes the page
 * marks), the latest probes with their first copy's evidence, and the mailbox health the
 * watchers report.
 */
import type { Clock } from '../clock.js';
import type { FleetView } from '../fleet/fleet.js';
import type { MailboxHealth as WatcherMailboxHealth } from '../watch/mailbox-watcher.js';
import type { Ledger, ObservationRow, ProbeRow } from '../ledger/ledger.js';
import { placementMatrix, type MatrixCell } from '../domain/placement-matrix.js';
import type { ReputationSnapshot } from '../reputation/reputation-state.js';

/**
 * What the page shows of a mailbox: the watcher's one MailboxHealth type, narrowed. Its
 * lastError message is free text from the IMAP server or the network stack: untrusted.
 */
export type MailboxHealth = Pick<WatcherMailboxHealth, 'seed' | 'provider' | 'up' | 'connectedOnce' | 'lastError'>;

export interface ProbeWithEvidence {
  probe: ProbeRow;
  observations: ObservationRow[];
}

/** One window of the page: its matrix, and the matrix of the window of the same length before it. */
export interface StatusWindow {
  sinceMs: number;
  cells: MatrixCell[];
  /** [sinceMs − length, sinceMs): what the change column compares with (absent: not shown). */
  previousCells?: MatrixCell[];
}

export interface StatusData {
  nowMs: number;
  hour: StatusWindow;
  day: StatusWindow;
  latest: ProbeWithEvidence[];
  mailboxes: MailboxHealth[];
  /** What the reputation sources found (null or absent: none configured). */
  reputation?: ReputationSnapshot | null;
  /** Egress IPs per path (paths[].ips), for the ingress-IP verdicts. */
  egressIps?: Record<string, readonly string[]>;
  /** Fleet mode: the agents alive and the seeds each holds (absent: one agent). */
  fleet?: FleetView | null;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Probes listed under "latest probes"; each costs one observations() query. */
export const LATEST_PROBES = 50;

export interface StatusDeps {
  ledger: Ledger;
  clock: Clock;
  mailboxes: () => MailboxHealth[];
  reputation?: () => ReputationSnapshot | null;
  egressIps?: Readonly<Record<string, readonly string[]>>;
  fleet?: () => FleetView;
}

export async function loadStatusData(deps: StatusDeps): Promise<StatusData> {
  const nowMs = deps.clock.nowMs();
  // One read of two days holds all four windows (each is a slice of it by creation time).
  const [facts, latest] = await Promise.all([
    deps.ledger.probeFacts(nowMs - 2 * DAY_MS, nowMs + 1),
    deps.ledger.listProbes({ untilMs: nowMs + 1, limit: LATEST_PROBES }),
  ]);
  // Same window as /api/summary: [now - w, now], so the page and the API agree; the previous
  // window is the one of the same length before it, [now - 2w, now - w).
  const windowOf = (lengthMs: number): StatusWindow => {
    const sinceMs = nowMs - lengthMs;
    return {
      sinceMs,
      cells: placementMatrix(facts.filter((f) => f.createdAtMs >= sinceMs)),
      previousCells: placementMatrix(facts.filter((f) => f.createdAtMs >= sinceMs - lengthMs && f.createdAtMs < sinceMs)),
    };
  };
  const withEvidence = await Promise.all(latest.map(async (probe) => ({ probe, observations: await deps.ledger.observations(probe.id) })));
  const mailboxes = [...deps.mailboxes()].sort((a, b) => a.seed.localeCompare(b.seed));
  return {
    nowMs,
    hour: windowOf(HOUR_MS),
    day: windowOf(DAY_MS),
    latest: withEvidence,
    mailboxes,
    reputation: deps.reputation?.() ?? null,
    fleet: deps.fleet?.() ?? null,
    egressIps: { ...(deps.egressIps ?? {}) },
  };
}
