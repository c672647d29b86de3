/**
 * The folder states (UIDVALIDITY, last UID seen) of one seed's watched folders, for the life of
 * one IMAP connection: read from the ledger once per folder, then kept here and written through.
 * While a watcher is connected it is the only writer of its seed's folder states, so its own
 * copy is the ledger's; reading it back before every scan and every poll's STATUS check cost a
 * ledger round trip each (with a PostgreSQL ledger: most of a fleet agent's statements, see
 * docs/benchmark.md, "Fleet"). A new connection (reconnect, restart, a fleet hand-over) starts a
 * new cache, so it begins from what the ledger holds.
 */
import type { FolderState, Ledger } from '../ledger/ledger.js';

export class FolderStates {
  private readonly known = new Map<string, FolderState | null>();

  constructor(
    private readonly ledger: Ledger,
    private readonly seed: string,
  ) {}

  async get(folder: string): Promise<FolderState | null> {
    if (this.known.has(folder)) return this.known.get(folder) ?? null;
    const s = await this.ledger.getFolderState(this.seed, folder);
    // A write that completed while the read was in flight wins.
    if (!this.known.has(folder)) this.known.set(folder, s);
    return this.known.get(folder) ?? null;
  }

  /** Written to the ledger first: the cache never holds what the ledger refused. */
  async set(folder: string, s: FolderState): Promise<void> {
    try {
      await this.ledger.setFolderState(this.seed, folder, s);
    } catch (err) {
      this.known.delete(folder);
      throw err;
    }
    this.known.set(folder, { ...s });
  }
}
