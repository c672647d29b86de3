/**
 * `seedwatch ledger migrate --to postgres`: a SQLite ledger's whole history copied into an empty
 * Postgres ledger, for users who outgrow one machine.
 *
 * - All or nothing: the copy is one Postgres transaction (tables locked, emptiness checked
 *   inside it), so a failure or an interruption leaves the target empty, and two copies started
 *   at once run one after the other.
 * - Verified: the row count of every table is compared before COMMIT; a difference rolls back.
 * - Idempotent: the copy records what it copied (`ledger_imports`: source, a SHA-256 over every
 *   source row, the counts). Run again with the same source, it changes nothing and says so;
 *   a target holding anything else (other data, or a copy of the source as it was before it
 *   changed) is refused, never merged into.
 * - Consistent: the source is read in one SQLite read transaction (a snapshot, even while an
 *   agent still writes it).
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';

/** The tables of a ledger's history, parents first (observations reference probes). */
export const LEDGER_TABLES = ['probes', 'observations', 'folder_state', 'mailbox_events', 'cycles', 'kv'] as const;
export type LedgerTable = (typeof LEDGER_TABLES)[number];

/** Rows per INSERT (one JSON parameter per page, far below Postgres' 1 GB parameter limit). */
export const COPY_PAGE_ROWS = 1_000;

export interface TableCount {
  table: LedgerTable;
  /** Rows in the SQLite ledger (its snapshot). */
  source: number;
  /** Rows in the Postgres ledger after the copy (or now, when nothing was copied). */
  target: number;
}

export type CopyOutcome =
  | { kind: 'copied'; counts: TableCount[]; digest: string }
  /** The target already holds this very copy: nothing was done. */
  | { kind: 'already-copied'; counts: TableCount[]; copiedAtMs: number }
  /** Nothing was done, for `reason`. */
  | { kind: 'refused'; reason: string; counts: TableCount[] }
  /** The counts differed after the copy: rolled back, the target is empty again. */
  | { kind: 'mismatch'; counts: TableCount[] };

/** Called as pages are copied, for a progress line. */
export type CopyProgress = (table: LedgerTable, done: number, total: number) => void;

export interface CopySource {
  /** The SQLite ledger's connection (migrated to the current schema). */
  db: Database.Database;
  /** How to name it in the target's record and in messages (its absolute path). */
  name: string;
}

type Row = Record<string, unknown>;

/** Postgres text cannot hold NUL (the ledger stores U+FFFD for it as well). */
function clean(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'string' && v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v;
  return out;
}

/** Pages of a SQLite table in rowid order (every ledger table has a rowid). */
function* pages(db: Database.Database, table: LedgerTable): Generator<Row[]> {
  const stmt = db.prepare(`SELECT rowid AS __rowid, * FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`);
  let after = 0;
  for (;;) {
    const page = stmt.all(after, COPY_PAGE_ROWS) as Row[];
    if (page.length === 0) return;
    after = page[page.length - 1].__rowid as number;
    yield page.map(({ __rowid: _, ...row }) => row);
    if (page.length < COPY_PAGE_ROWS) return;
  }
}

function sourceCounts(db: Database.Database): Record<LedgerTable, number> {
  const out = {} as Record<LedgerTable, number>;
  for (const t of LEDGER_TABLES) out[t] = (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
  return out;
}

/** SHA-256 over every row of every table, in rowid order: what "the same source" means. */
function sourceDigest(db: Database.Database): string {
  const h = createHash('sha256');
  for (const t of LEDGER_TABLES) {
    h.update(`\0${t}\0`);
    for (const page of pages(db, t)) for (const row of page) h.update(JSON.stringify(row)).update('\n');
  }
  return h.digest('hex');
}

async function targetCounts(q: Pool | PoolClient): Promise<Record<LedgerTable, number>> {
  const sql = `SELECT ${LEDGER_TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`;
  return (await q.query<Record<LedgerTable, number>>(sql)).rows[0]!;
}

const countsOf = (source: Record<LedgerTable, number>, target: Record<LedgerTable, number>): TableCount[] =>
  LEDGER_TABLES.map((table) => ({ table, source: source[table], target: target[table] }));

interface ImportRecord {
  source: string;
  digest: string;
  finished_at: number;
}

/**
 * Copy `source` into the Postgres ledger behind `pool` (migrated: it comes from
 * PostgresLedger.open). Never throws for a refusal; throws on a database error (rolled back).
 */
export async function copyLedger(source: CopySource, pool: Pool, progress?: CopyProgress): Promise<CopyOutcome> {
  const { db } = source;
  // One read transaction: every page below comes from the same snapshot.
  db.exec('BEGIN');
  try {
    const counts = sourceCounts(db);
    const digest = sourceDigest(db);
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      // Agents (or another copy) cannot write until COMMIT; readers are not blocked.
      await client.query(`LOCK TABLE ${[...LEDGER_TABLES, 'ledger_imports'].join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
      const before = await targetCounts(client);
      const empty = LEDGER_TABLES.every((t) => before[t] === 0);
      const imports = (await client.query<ImportRecord>(`SELECT source, digest, finished_at FROM ledger_imports ORDER BY id`)).rows;
      if (!empty || imports.length > 0) {
        await client.query('ROLLBACK');
        return judgeNonEmpty(source, digest, imports, countsOf(counts, before));
      }

      for (const t of LEDGER_TABLES) {
        let done = 0;
        progress?.(t, 0, counts[t]);
        for (const page of pages(db, t)) {
          // One parameter per page; json_populate_recordset maps the JSON keys (SQLite's column
          // names) onto the Postgres table's columns of the same names.
          await client.query(`INSERT INTO ${t} SELECT * FROM json_populate_recordset(NULL::${t}, $1::json)`, [JSON.stringify(page.map(clean))]);
          done += page.length;
          progress?.(t, done, counts[t]);
        }
      }
      // Ids copied as they were: new rows continue after them.
      for (const t of ['observations', 'mailbox_events'] as const) {
        await client.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), COALESCE((SELECT MAX(id) FROM ${t}), 0) + 1, false)`);
      }
      const after = await targetCounts(client);
      const verified = countsOf(counts, after);
      if (verified.some((c) => c.source !== c.target)) {
        await client.query('ROLLBACK');
        return { kind: 'mismatch', counts: verified };
      }
      await client.query(`INSERT INTO ledger_imports (source, digest, counts, finished_at) VALUES ($1, $2, $3, $4)`, [
        source.name,
        digest,
        JSON.stringify(counts),
        Date.now(),
      ]);
      await client.query('COMMIT');
      return { kind: 'copied', counts: verified, digest };
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  } finally {
    db.exec('COMMIT');
  }
}

function judgeNonEmpty(source: CopySource, digest: string, imports: ImportRecord[], counts: TableCount[]): CopyOutcome {
  const mine = imports.find((i) => i.digest === digest);
  if (mine) return { kind: 'already-copied', counts, copiedAtMs: mine.finished_at };
  const held = counts
    .filter((c) => c.target > 0)
    .map((c) => `${c.target} ${c.table}`)
    .join(', ');
  const last = imports[imports.length - 1];
  const reason = last
    ? `the Postgres ledger already holds a copy of ${last.source} made at ${new Date(last.finished_at).toISOString()}, ` +
      `and ${source.name} has changed since; to copy it again, start from an empty database`
    : `the Postgres ledger is not empty (${held}) and holds no copy of ${source.name}; ` +
      `seedwatch copies a history only into an empty ledger, and never merges two`;
  return { kind: 'refused', reason, counts };
}
