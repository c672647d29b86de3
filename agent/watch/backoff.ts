import type { MailboxErrorKind } from '../domain/vocabulary.js';

/** First reconnect delay after a lost or failed session (a blip on the network). */
export const RECONNECT_BASE_MS = 1_000;
/**
 * Cap of the exponential reconnect delay: a provider outage is retried at this pace, slow
 * enough not to hammer it, fast enough that IMAP catches up within a minute of recovery.
 */
export const RECONNECT_MAX_MS = 60_000;
/**
 * Delay after a rejected login. Providers lock accounts after repeated failures (Gmail,
 * Microsoft), and a wrong password does not fix itself: retry slowly, never in a tight loop.
 */
export const LOGIN_RETRY_MS = 5 * 60_000;
/** Spread of the random jitter (fraction of the delay) so seeds do not reconnect in lockstep. */
export const RECONNECT_JITTER = 0.2;

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  loginRetryMs: number;
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseMs: RECONNECT_BASE_MS,
  maxMs: RECONNECT_MAX_MS,
  loginRetryMs: LOGIN_RETRY_MS,
  jitter: RECONNECT_JITTER,
};

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry): base * 2^attempt capped
 * at maxMs, ±jitter; a login failure waits loginRetryMs whatever the attempt.
 */
export function reconnectDelayMs(
  attempt: number,
  kind: MailboxErrorKind,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const raw = kind === 'login' ? policy.loginRetryMs : Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const spread = raw * policy.jitter * (2 * random() - 1);
  const capped = kind === 'login' ? raw + Math.abs(spread) : Math.min(policy.maxMs, raw + spread);
  return Math.max(0, Math.round(capped));
}
