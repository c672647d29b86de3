/**
 * Probe identity. A probe id is a ULID (26 chars, Crockford base32, sortable by time).
 * It travels in three places so that a provider rewriting one of them does not lose it:
 *   - Message-ID: <ID@sender-domain>
 *   - header X-Seedwatch-Probe: ID
 *   - the body, as the token `seedwatch-probe-ID` (searchable with IMAP SEARCH BODY)
 */
import { monotonicFactory } from 'ulid';

export const PROBE_HEADER = 'X-Seedwatch-Probe';
export const PROBE_BODY_TOKEN_PREFIX = 'seedwatch-probe-';
export const PROBE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** Finds a body token anywhere in a text (case-insensitive: some gateways lowercase bodies). */
export const PROBE_BODY_TOKEN_RE = /seedwatch-probe-([0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})/i;

export type ProbeIdFactory = (nowMs?: number) => string;

/** One factory per process: ids created in the same millisecond still sort in creation order. */
export function createProbeIdFactory(): ProbeIdFactory {
  const next = monotonicFactory();
  return (nowMs?: number) => next(nowMs);
}

export function isProbeId(s: string): boolean {
  return PROBE_ID_PATTERN.test(s);
}

export function probeBodyToken(id: string): string {
  return `${PROBE_BODY_TOKEN_PREFIX}${id}`;
}
