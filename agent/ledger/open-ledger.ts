/**
 * Which ledger a config means, opened: SQLite in dataDir (the default) or, with
 * `ledger.postgres`, the shared Postgres ledger of a fleet. The composition root (agent.ts)
 * opens every ledger through here; so does the copy from one to the other.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config, SecretResolver } from '../config/load-config.js';
import { copyLedger, type CopyOutcome, type CopyProgress } from './copy-ledger.js';
import type { Ledger } from './ledger.js';
import { LedgerError } from './ledger-error.js';
import { PostgresLedger } from './postgres-ledger.js';
import { ledgerPath, SqliteLedger } from './sqlite-ledger.js';

export type LedgerConfig = Pick<Config, 'dataDirAbs' | 'agent' | 'ledger'>;

export interface OpenLedgerOptions {
  /** Resolves ledger.postgres.url (the composition root's resolver: env and files). */
  resolveSecret: SecretResolver;
  /** Reports against a live agent's ledger: no migration, no writes. */
  readonly?: boolean;
  /** SQLite only: the file (default <dataDir>/ledger.sqlite). */
  file?: string;
  /** Called on the transitions between writable and failing (for the log). */
  onWriteStateChange?: (error: string | null) => void;
  /** Postgres only: an idle pooled connection failed (for the log); the pool replaces it. */
  onConnectionError?: (message: string) => void;
}

/**
 * The config's ledger. SQLite opens (and migrates) now and throws LEDGER_OPEN here; Postgres
 * connects and migrates on the first call, which rejects with LEDGER_OPEN when it cannot.
 */
export function openLedger(config: LedgerConfig, opts: OpenLedgerOptions): Ledger {
  const postgres = config.ledger?.postgres;
  if (postgres) {
    return PostgresLedger.create({
      url: opts.resolveSecret(postgres.url, 'ledger.postgres.url').reveal(),
      agent: config.agent.name,
      readonly: opts.readonly,
      onWriteStateChange: opts.onWriteStateChange,
      onConnectionError: opts.onConnectionError,
    });
  }
  return SqliteLedger.open(opts.file ?? ledgerPath(config), { readonly: opts.readonly, onWriteStateChange: opts.onWriteStateChange });
}

export interface LedgerMigration {
  /** The SQLite file copied from (absolute). */
  from: string;
  /** host:port/database of the Postgres ledger (never its URL: it may hold a password). */
  to: string;
  outcome: CopyOutcome;
}

/**
 * `seedwatch ledger migrate --to postgres`: the SQLite ledger of the config's dataDir (or
 * `from`) into the config's Postgres ledger, which must be empty (see copy-ledger.ts).
 * Throws LEDGER_OPEN when either cannot be opened.
 */
export async function migrateLedgerToPostgres(
  config: LedgerConfig,
  opts: { resolveSecret: SecretResolver; from?: string; progress?: CopyProgress },
): Promise<LedgerMigration> {
  const postgres = config.ledger?.postgres;
  if (!postgres) throw new LedgerError('LEDGER_OPEN', 'the config has no ledger.postgres to copy into (ledger: { postgres: { url: ... } })');
  const from = resolve(opts.from ?? ledgerPath(config));
  // Opening a missing file would create an empty ledger, and copy nothing.
  if (!existsSync(from)) throw new LedgerError('LEDGER_OPEN', `no SQLite ledger at ${from} (has the agent run with dataDir ${config.dataDirAbs}?)`);
  const source = SqliteLedger.open(from);
  try {
    const target = await PostgresLedger.open({ url: opts.resolveSecret(postgres.url, 'ledger.postgres.url').reveal(), agent: config.agent.name });
    try {
      const outcome = await copyLedger({ db: source.db, name: from }, await target.pool(), opts.progress);
      return { from, to: target.target, outcome };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
