/**
 * The words seedwatch uses about a probe, defined once. The lists are label values: metrics
 * zero every one at start-up, reports use them as columns, so their order is part of the
 * contract. Pure: no I/O, imported by every layer.
 */

/** A probe's send state in the ledger: written 'sending' before SMTP starts (write-ahead). */
export const PROBE_STATUSES = ['sending', 'accepted', 'failed', 'ambiguous'] as const;
export type ProbeStatus = (typeof PROBE_STATUSES)[number];

/**
 * Why a probe was not accepted (`seedwatch_probe_send_errors_total{reason}`). `ambiguous`: the
 * transaction was cut after DATA (or the agent died mid-send): maybe delivered, never re-sent.
 */
export const SEND_FAILURE_REASONS = ['rejected', 'deferred', 'connection', 'timeout', 'tls', 'auth', 'ambiguous'] as const;
export type SendFailureReason = (typeof SEND_FAILURE_REASONS)[number];

/** Where a probe's first copy landed (inbox = Gmail's primary tab). */
export const PLACEMENTS = ['inbox', 'spam', 'promotions', 'social', 'updates', 'forums', 'other'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** A probe's fate: a placement, or `missing` (no copy arrived by its deadline). */
export const OUTCOMES = [...PLACEMENTS, 'missing'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * What one delivered copy is to its probe: the `first` in-time copy decides the placement;
 * a `duplicate` is any copy after the first; a `late` copy is a probe's first copy that
 * arrived after the deadline (the probe is missing).
 */
export const COPY_KINDS = ['first', 'duplicate', 'late'] as const;
export type CopyKind = (typeof COPY_KINDS)[number];

/** The provider verdicts recorded from Authentication-Results. */
export const AUTH_METHODS = ['spf', 'dkim', 'dmarc', 'arc'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** IMAP failures (`seedwatch_mailbox_errors_total{kind}`). */
export const MAILBOX_ERROR_KINDS = ['login', 'connection', 'timeout', 'protocol'] as const;
export type MailboxErrorKind = (typeof MAILBOX_ERROR_KINDS)[number];

/** The role a watched folder plays in a seed mailbox. */
export const FOLDER_ROLES = ['inbox', 'spam', 'trash', 'all'] as const;
export type FolderRole = (typeof FOLDER_ROLES)[number];
/** A watched folder's role as placement sees it (`other`: none of the known roles). */
export type WatchedFolderRole = FolderRole | 'other';
export type GmailCategory = 'primary' | 'promotions' | 'social' | 'updates' | 'forums';

/** The provider's verdicts of one copy (absent methods: the provider gave none). */
export interface AuthSummary {
  spf?: string;
  dkim?: string;
  dmarc?: string;
  arc?: string;
}
