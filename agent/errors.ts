/**
 * Every error code seedwatch raises itself, with what it means, in one place (as nodemailer's
 * lib/errors.js). Errors carry `code` (this catalogue), a message naming the field, seed or
 * path concerned (never a secret), and `cause`. Codes of the libraries underneath (imapflow,
 * nodemailer, node:net) pass through unchanged and are classified where they are caught.
 * test/unit/architecture/error-catalogue.test.ts fails on a code raised in agent/ and missing here.
 */
export const ERROR_CODES = {
  // configuration
  CONFIG_INVALID: 'the configuration file does not validate; the message lists every problem with its field path',
  PRESET_INVALID: 'a provider preset in seed-accounts/providers does not validate',
  SECRET_UNAVAILABLE: 'a secret ({ env } or { file }) cannot be read; the message names the variable or file, never a value',
  TEMPLATE_INVALID: 'a probe template uses an unknown placeholder or cannot be rendered',
  THRESHOLD_INVALID: 'a --fail-on threshold cannot be parsed',
  PLAN_INPUT_INVALID: 'a `seedwatch plan` argument (difference, baseline, power) cannot be parsed or is out of range',
  // ledger
  DATA_DIR_LOCKED: 'another agent already runs on this data directory (the lock names its pid and host)',
  LEDGER_OPEN: 'the ledger cannot be opened or migrated',
  LEDGER_WRITE: 'a ledger write failed (disk full, read-only, database down); nothing new can be recorded until one succeeds',
  LEDGER_UNKNOWN_PROBE: 'a send result for a probe that is not awaiting one (unknown id, or already resolved)',
  // OAuth2
  OAUTH2_REJECTED: 'the provider refused the grant (revoked or expired refresh token, invalid client)',
  OAUTH2_ENDPOINT_UNREACHABLE: 'the token endpoint could not be reached',
  OAUTH2_ENDPOINT_TIMEOUT: 'the token endpoint did not answer in time',
  OAUTH2_ENDPOINT_ERROR: 'the token endpoint answered without a usable token (5xx, 429, not JSON)',
  OAUTH2_MISCONFIGURED: 'the OAuth2 settings cannot work (no token URL known for the provider)',
  OAUTH2_UNSUPPORTED: "an OAuth2 login cannot be made (the server offers no XOAUTH2/OAUTHBEARER, or no token store was given)",
  // IMAP watching
  SESSION_CLOSED: 'the IMAP server closed the session',
  NO_INBOX: 'the mailbox has no selectable INBOX',
  // sending
  NULL_MX: 'the seed domain publishes a null MX (RFC 7505): it accepts no mail',
  DNS_FAILED: 'the MX (or A/AAAA) lookup of a direct-to-MX path failed',
  ECONNECTION: "a path's connection pool is closed (nodemailer's code, so the send is classified as a connection failure)",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
