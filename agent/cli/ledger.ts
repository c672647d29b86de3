/**
 * `seedwatch ledger migrate --to postgres --config F [--from FILE]`: copies the SQLite ledger's
 * whole history into the (empty) Postgres ledger of the config, verified table by table.
 * Running it again after a success changes nothing and says so; a target holding anything
 * else is refused. Exit 0: copied, or already copied; 2: refused, failed, or cannot connect.
 */
import type { LedgerMigration } from '../ledger/open-ledger.js';
import type { LedgerTable } from '../ledger/copy-ledger.js';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { formatTable, loadConfigOrReport } from './common.js';

export interface LedgerMigrateOptions {
  config: string;
  to: string;
  from?: string;
}

export interface LedgerIo {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

/** A progress line is redrawn at most this often (a history of millions of rows has thousands of pages). */
const PROGRESS_REDRAW_MS = 100;

export async function ledgerMigrateCommand(opts: LedgerMigrateOptions, io: LedgerIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  if (opts.to !== 'postgres') {
    stderr.write(`seedwatch ledger migrate: --to: expected postgres, got ${JSON.stringify(opts.to)}\n`);
    return EXIT_ERROR;
  }
  const config = loadConfigOrReport(opts.config);
  if (!config) return EXIT_ERROR;
  if (!config.ledger?.postgres) {
    stderr.write(`${config.file}: ledger.postgres: required by \`ledger migrate --to postgres\` (the target): ledger: { postgres: { url: { env: NAME } } }\n`);
    return EXIT_ERROR;
  }

  // On a terminal: one line redrawn in place with the table being copied and how far it is.
  let lastDraw = 0;
  const progress = stderr.isTTY
    ? (table: LedgerTable, done: number, total: number) => {
        const now = Date.now();
        if (done !== total && now - lastDraw < PROGRESS_REDRAW_MS) return;
        lastDraw = now;
        const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
        stderr.write(`\r\x1b[2Kcopying ${table}: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} rows (${pct} %)`);
      }
    : undefined;

  const { migrateLedger } = await import('../agent.js');
  let result: LedgerMigration;
  try {
    result = await migrateLedger({ config, env: io.env, from: opts.from, progress });
  } catch (err) {
    if (progress) stderr.write('\r\x1b[2K');
    const code = (err as { code?: unknown }).code;
    if (code === 'LEDGER_OPEN' || code === 'SECRET_UNAVAILABLE') {
      stderr.write(`seedwatch ledger migrate: ${code === 'SECRET_UNAVAILABLE' ? `${config.file}: ` : ''}${(err as Error).message}\n`);
      return EXIT_ERROR;
    }
    stderr.write(`seedwatch ledger migrate: the copy failed and was rolled back (the Postgres ledger is as before): ${(err as Error).message}\n`);
    return EXIT_ERROR;
  }
  if (progress) stderr.write('\r\x1b[2K');

  const { outcome } = result;
  stdout.write(`from SQLite   ${result.from}\nto Postgres   ${result.to}\n\n`);
  stdout.write(formatTable(['table', 'sqlite', 'postgres'], outcome.counts.map((c) => [c.table, String(c.source), String(c.target)])));
  switch (outcome.kind) {
    case 'copied':
      stdout.write(`\ncopied: every table's row count matches (${outcome.counts.reduce((n, c) => n + c.source, 0)} rows)\n`);
      return EXIT_OK;
    case 'already-copied':
      stdout.write(`\nalready copied at ${new Date(outcome.copiedAtMs).toISOString()}: nothing to do\n`);
      return EXIT_OK;
    case 'refused':
      stderr.write(`seedwatch ledger migrate: refused: ${outcome.reason}\n`);
      return EXIT_ERROR;
    case 'mismatch':
      stderr.write('seedwatch ledger migrate: the row counts differ after the copy: rolled back (the Postgres ledger is empty again)\n');
      return EXIT_ERROR;
  }
}
