import type { ObservationResult, ProbeRow } from './ledger/ledger.js';
import type { MailboxErrorKind } from './domain/vocabulary.js';

/**
 * What the sender, the watchers and the reconciler report AFTER the ledger has recorded it.
 * The metrics module implements this (it only ever counts what the ledger confirmed as new);
 * the CLI's live progress implements it too. Every method must be cheap and must not throw.
 */
export interface AgentEvents {
  /** A probe's SMTP attempt ended (row.status is accepted, failed or ambiguous). */
  sendFinished(row: ProbeRow): void;
  /** A copy of a probe was recorded (kind first, duplicate or late; never already-recorded). */
  observed(result: ObservationResult): void;
  /** Probes whose deadline passed unseen. */
  missing(rows: ProbeRow[]): void;
  /** A seed's IMAP session became healthy (true) or was lost (false). */
  mailboxState(seed: string, up: boolean): void;
  /** An IMAP failure, already written to the ledger. */
  mailboxError(seed: string, kind: MailboxErrorKind): void;
}

export const noopEvents: AgentEvents = {
  sendFinished() {},
  observed() {},
  missing() {},
  mailboxState() {},
  mailboxError() {},
};

/** Fan one event out to several listeners; a throwing listener never breaks the others. */
export function fanOut(...listeners: Partial<AgentEvents>[]): AgentEvents {
  const call = <K extends keyof AgentEvents>(k: K, args: Parameters<AgentEvents[K]>) => {
    for (const l of listeners) {
      try {
        (l[k] as ((...a: unknown[]) => void) | undefined)?.(...(args as unknown[]));
      } catch {
        /* listeners must not throw; ignore to protect the pipeline */
      }
    }
  };
  return {
    sendFinished: (...a) => call('sendFinished', a),
    observed: (...a) => call('observed', a),
    missing: (...a) => call('missing', a),
    mailboxState: (...a) => call('mailboxState', a),
    mailboxError: (...a) => call('mailboxError', a),
  };
}
