/**
 * What stops a reputation source (SNDS, Gmail Postmaster Tools, the DNS hygiene checks) from
 * answering, as bounded label values of `seedwatch_reputation_errors_total{source,kind}`.
 * DNSBL lookups have their own counter (`seedwatch_dnsbl_errors_total{zone,kind}`, kinds of
 * dns-resolver.ts).
 */
export const REPUTATION_SOURCES = ['hygiene', 'snds', 'postmaster'] as const;
export type ReputationSource = (typeof REPUTATION_SOURCES)[number];

export const SOURCE_ERROR_KINDS = [
  /** The server did not answer within the request timeout. */
  'timeout',
  /** No connection (DNS, refused, reset). */
  'unreachable',
  /** HTTP 401/403: the key or token is not (or no longer) allowed. */
  'forbidden',
  /** HTTP 404: SNDS answers it for an unknown or expired key; Postmaster for a domain not registered. */
  'not_found',
  /** HTTP 429. */
  'rate_limited',
  /** HTTP 5xx or another unexpected status. */
  'server_error',
  /** An answer that cannot be read (not CSV / not JSON / not the documented shape). */
  'bad_response',
  /** One SNDS line that does not have the documented 14 columns or values: reported and skipped. */
  'malformed_row',
  /** The OAuth2 access token could not be obtained (refused grant, token endpoint down). */
  'oauth2',
  /** A DNS lookup of the hygiene checks failed (timeout, SERVFAIL, refused). */
  'dns',
] as const;
export type SourceErrorKind = (typeof SOURCE_ERROR_KINDS)[number];

/** The kinds each source can run into (its error series exist at 0 for these). */
export const KINDS_OF_SOURCE: Record<ReputationSource, readonly SourceErrorKind[]> = {
  hygiene: ['dns'],
  snds: ['timeout', 'unreachable', 'forbidden', 'not_found', 'rate_limited', 'server_error', 'bad_response', 'malformed_row'],
  postmaster: ['timeout', 'unreachable', 'forbidden', 'not_found', 'rate_limited', 'server_error', 'bad_response', 'oauth2'],
};

/** One failure, as the API shows it: no key, token or URL query string in the message. */
export interface SourceError {
  source: ReputationSource | 'dnsbl';
  kind: string;
  message: string;
  atMs: number;
}
