/**
 * The reputation error counters as ledger facts (README, "Metrics": a counter resumes after a
 * restart at exactly the value it had). The count per label set lives as JSON under one key of
 * the ledger's key/value store (errorCountsKey). A counted error reaches the ledger before the
 * exported counter shows it: what persisted() returns, and so what the counters export, is what
 * the ledger holds. A write that fails keeps its errors pending and the next write carries them,
 * so none is lost and none counted twice.
 */
import type { Ledger } from '../ledger/ledger.js';
import { parseStored, type ErrorCounts, type ErrorTally } from './reputation-state.js';

const empty = (): ErrorCounts => ({ dnsbl: {}, sources: {} });

function isEmpty(c: ErrorCounts): boolean {
  return Object.keys(c.dnsbl).length === 0 && Object.keys(c.sources).length === 0;
}

/** a + b, as new objects (a may be what a scrape is reading). */
function sum(a: ErrorCounts, b: ErrorCounts): ErrorCounts {
  const add = (x: ErrorTally, y: ErrorTally): ErrorTally => {
    const out: ErrorTally = {};
    for (const t of [x, y]) {
      for (const [group, kinds] of Object.entries(t)) {
        const g = (out[group] ??= {});
        for (const [kind, n] of Object.entries(kinds)) g[kind] = (g[kind] ?? 0) + n;
      }
    }
    return out;
  };
  return { dnsbl: add(a.dnsbl, b.dnsbl), sources: add(a.sources, b.sources) };
}

/** The stored counts, keeping only whole non-negative numbers (anything else is not ours). */
function sanitize(stored: ErrorCounts): ErrorCounts {
  const tally = (t: unknown): ErrorTally => {
    const out: ErrorTally = {};
    if (t === null || typeof t !== 'object') return out;
    for (const [group, kinds] of Object.entries(t as Record<string, unknown>)) {
      if (kinds === null || typeof kinds !== 'object') continue;
      for (const [kind, n] of Object.entries(kinds as Record<string, unknown>)) {
        if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) (out[group] ??= {})[kind] = n;
      }
    }
    return out;
  };
  return { dnsbl: tally(stored.dnsbl), sources: tally(stored.sources) };
}

export class ReputationErrorCounts {
  /** What the ledger holds; null until it has been read. */
  private stored: ErrorCounts | null = null;
  /** Counted, not yet in the ledger. */
  private pending: ErrorCounts = empty();
  /** Reads and writes one at a time, in order: each write carries every count made before it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: Pick<Ledger, 'getState' | 'setState'>,
    readonly key: string,
  ) {}

  /** One error of `group` (a DNSBL zone, or a source) and `kind`; it reaches the ledger with the next flush(). */
  count(counter: keyof ErrorCounts, group: string, kind: string): void {
    const g = (this.pending[counter][group] ??= {});
    g[kind] = (g[kind] ?? 0) + 1;
  }

  /** What the ledger holds (read from it the first time); rejects while it cannot be read. */
  persisted(): Promise<ErrorCounts> {
    return this.stored ? Promise.resolve(this.stored) : this.serial(() => this.load());
  }

  /** Writes the pending counts to the ledger; rejects when it cannot (they stay pending). */
  flush(): Promise<void> {
    return this.serial(async () => {
      const stored = await this.load();
      const written = this.pending;
      if (isEmpty(written)) return;
      // Counts made while this write is on its way go to the next one.
      this.pending = empty();
      const next = sum(stored, written);
      try {
        await this.kv.setState(this.key, JSON.stringify(next));
      } catch (err) {
        this.pending = sum(written, this.pending);
        throw err;
      }
      this.stored = next;
    });
  }

  private async load(): Promise<ErrorCounts> {
    if (this.stored) return this.stored;
    // Nothing stored (or a format this version does not read): every count starts at 0.
    const found = parseStored<ErrorCounts>(await this.kv.getState(this.key), ['dnsbl', 'sources']);
    this.stored = found ? sanitize(found) : empty();
    return this.stored;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
