import type { SendResult } from '../ledger/ledger.js';

/** Envelope of one probe: exactly one recipient, the seed. */
export interface ProbeEnvelope {
  from: string;
  to: string;
}

export interface SendOutcome {
  result: SendResult;
  /** host:port the message went to (or was tried on last), for logs and the probe table. */
  remote?: string;
}

export interface SendHooks {
  /**
   * Called once the path is about to start the SMTP transaction (after rate limiting and
   * waiting for a pooled connection): the caller records send_started_at here.
   */
  beforeTransaction?: () => Promise<void>;
}

export interface PathVerifyResult {
  ok: boolean;
  /** What was checked and what came back; never a secret. */
  detail: string;
}

/**
 * One egress path. `send` makes exactly one SMTP attempt and resolves (never rejects) with the
 * outcome; it never falls back to another path and never retries a message.
 */
export interface ProbePath {
  readonly name: string;
  readonly mode: 'smtp' | 'mx';
  /** Set when the path could not be built (e.g. a secret is missing): it sends nothing. */
  readonly setupError?: string;
  send(message: Buffer, envelope: ProbeEnvelope, hooks?: SendHooks): Promise<SendOutcome>;
  verify(): Promise<PathVerifyResult>;
  close(): Promise<void>;
}
