/**
 * Reads what the status page shows from the ledger (the only I/O of the page): the placement
 * matrix for the last hour and day, the latest probes with their first copy's evidence, and
 * the mailbox health the watchers report.
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

export interface StatusData {
  nowMs: number;
  hour: { sinceMs: number; cells: MatrixCell[] };
  day: { sinceMs: number; cells: MatrixCell[] };
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
  // Same window as /api/summary: [now - w, now], so the page and the API agree.
  const [hourFacts, dayFacts, latest] = await Promise.all([
    deps.ledger.probeFacts(nowMs - HOUR_MS, nowMs + 1),
    deps.ledger.probeFacts(nowMs - DAY_MS, nowMs + 1),
    deps.ledger.listProbes({ untilMs: nowMs + 1, limit: LATEST_PROBES }),
  ]);
  const withEvidence = await Promise.all(latest.map(async (probe) => ({ probe, observations: await deps.ledger.observations(probe.id) })));
  const mailboxes = [...deps.mailboxes()].sort((a, b) => a.seed.localeCompare(b.seed));
  return {
    nowMs,
    hour: { sinceMs: nowMs - HOUR_MS, cells: placementMatrix(hourFacts) },
    day: { sinceMs: nowMs - DAY_MS, cells: placementMatrix(dayFacts) },
    latest: withEvidence,
    mailboxes,
    reputation: deps.reputation?.() ?? null,
    fleet: deps.fleet?.() ?? null,
    egressIps: { ...(deps.egressIps ?? {}) },
  };
}
