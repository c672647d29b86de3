import type { ErrorCode } from '../errors.js';

/** What a ledger raises itself (both implementations): the code says which kind of failure. */
export class LedgerError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'LEDGER_OPEN' | 'LEDGER_WRITE' | 'LEDGER_UNKNOWN_PROBE'>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LedgerError';
  }
}
