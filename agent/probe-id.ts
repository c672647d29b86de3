/**
 * Probe identity. A probe id is a ULID (26 chars, Crockford base32, sortable by time).
 * It travels in three places so that a provider rewriting one of them does not lose it:
 *   - Message-ID: <ID@sender-domain>
 *   - header X-Seedwatch-Probe: ID
 *   - the body, as the token `seedwatch-probe-ID` (searchable with IMAP SEARCH BODY)
 */
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

export const PROBE_HEADER = 'X-Seedwatch-Probe';
export const PROBE_BODY_TOKEN_PREFIX = 'seedwatch-probe-';
export const PROBE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** Finds a body token anywhere in a text (case-insensitive: some gateways lowercase bodies). */
export const PROBE_BODY_TOKEN_RE = /seedwatch-probe-([0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26})/i;

export type ProbeIdFactory = (nowMs?: number) => string;

/**
 * ulid's own generator asks the OS for one random byte per character (16 calls per id; 1.5 % of
 * the agent's CPU at 500 seeds): this one draws from a pool of 4 KiB of crypto-random bytes.
 * A byte / 256 picks one of the 32 characters uniformly (256 is a multiple of 32).
 */
function pooledRandom(): () => number {
  const pool = Buffer.alloc(4096);
  let i = pool.length;
  return () => {
    if (i >= pool.length) {
      randomFillSync(pool);
      i = 0;
    }
    return pool[i++] / 256;
  };
}

/** One factory per process: ids created in the same millisecond still sort in creation order. */
export function createProbeIdFactory(): ProbeIdFactory {
  const next = monotonicFactory(pooledRandom());
  return (nowMs?: number) => next(nowMs);
}

export function isProbeId(s: string): boolean {
  return PROBE_ID_PATTERN.test(s);
}

export function probeBodyToken(id: string): string {
  return `${PROBE_BODY_TOKEN_PREFIX}${id}`;
}
