/**
 * The ledger in PostgreSQL, for several agents sharing one history (fleet mode). Same tables,
 * same behaviour as the SQLite ledger (the contract suite runs against both); what differs is
 * concurrency: each decision the domain makes about a probe (copy kind, settling, missing) runs
 * inside a transaction that holds the probe's row `FOR UPDATE`, so two agents recording copies
 * of one probe, or concluding its deadline, are serialised by Postgres and only one is first.
 *
 * node-postgres (`pg`) is loaded on first use, so the default SQLite set-up never loads it.
 * The pool connects lazily too: the first call opens it and migrates (or, read-only, checks
 * that a ledger is there); a failure there is LEDGER_OPEN and the next call tries again.
 */
import type { Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import type { CopyDecision, ProbeStateForCopy } from '../domain/copy-fate.js';
import type { MailboxErrorKind } from '../domain/vocabulary.js';
import type {
  CopyDecider,
  FolderState,
  Ledger,
  LedgerFact,
  LedgerTotals,
  MissingDecider,
  ScannedFrom,
  NewObservation,
  NewProbe,
  ObservationResult,
  ObservationRow,
  ProbeFact,
  ProbeFilter,
  ProbeRow,
  SendResult,
} from './ledger.js';
import { LedgerError } from './ledger-error.js';
import { authFromRow, observationFromRow, PREFIXED_PROBE_COLUMNS, prefixedProbe, probeFromRow, type Row } from './ledger-rows.js';
import { migratePostgres } from './postgres-migrations.js';

/** Connections per agent. A cycle's sends (config concurrency, 8) and the watchers' writes share them. */
const POOL_MAX_CONNECTIONS = 10;
/** Bounds the wait for a connection (new or from the pool) when Postgres is down or unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;
/** An idle pooled connection is closed after this. */
const IDLE_TIMEOUT_MS = 30_000;
/**
 * A statement without an answer for this long fails, and its connection is discarded. A network
 * cut that sends no RST (a firewall dropping packets, a dead NAT entry) would otherwise leave a
 * query, and with it a fleet agent's heartbeat pass or a cycle's send, waiting until TCP gives
 * up (minutes to hours); with it the agent sees the database out of reach and stops watching
 * and sending until it is back. The server-side statement_timeout is the same bound for work
 * the server itself is stuck in. Every statement seedwatch runs takes milliseconds; the longest
 * are a migration's index builds and a history copy's pages.
 */
export const QUERY_TIMEOUT_MS = 60_000;
/** TCP keepalive probes on idle connections start after this (the OS default is two hours). */
const KEEPALIVE_DELAY_MS = 10_000;
/** Rows per page when replay() walks the history (bounds the memory of a replay). */
export const REPLAY_PAGE_ROWS = 1_000;

/** OID of int8 (BIGINT, COUNT(*)): pg hands it over as a string by default. */
const INT8_OID = 20;

/** Epoch milliseconds, counts and ids fit a double exactly; anything larger is a bug, not data. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT ${text} does not fit a JavaScript number`);
  return n;
}

/**
 * Postgres text cannot hold NUL; a server reply or mailbox message carrying one would make a
 * write fail. It becomes U+FFFD, as an undecodable byte would.
 */
function withoutNul(params: unknown[]): unknown[] {
  return params.map((p) => (typeof p === 'string' && p.includes('\0') ? p.replaceAll('\0', '\uFFFD') : p));
}

/** A pool or a checked-out client: both run a query. */
interface Queryable {
  query<R extends QueryResultRow = Row>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

async function rows<R extends QueryResultRow = Row>(q: Queryable, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await q.query<R>(sql, withoutNul(params))).rows;
}

/**
 * Where a connection URL points, without its credentials (for messages): `host:port/database`.
 * Never the URL itself: it may carry a password.
 */
export function describePostgresTarget(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    return `${u.hostname || 'localhost'}${u.port ? `:${u.port}` : ''}/${db}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** A driver message with any trace of the URL or its password removed (belt and braces). */
function redact(message: string, url: string): string {
  let out = message;
  const secrets = [url];
  try {
    const u = new URL(url);
    if (u.password) secrets.push(u.password, decodeURIComponent(u.password));
  } catch {
    // an unparseable URL has no password we could find; the whole URL is still removed
  }
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('[redacted]');
  return out;
}

export interface PostgresLedgerOptions {
  /** postgres://user:password@host:port/database (a secret: it never appears in a message). */
  url: string;
  /**
   * This agent's name. recoverInterrupted() only concludes the probes this agent (or no named
   * agent) left in 'sending': another agent's 'sending' probes are sends in progress.
   */
  agent?: string;
  /** Query only: no migration, and every transaction read-only (reports beside live agents). */
  readonly?: boolean;
  /** As the SQLite ledger's: called on the transitions between writable and failing. */
  onWriteStateChange?: (error: string | null) => void;
  /** An idle pooled connection failed (Postgres restarted, network cut); the pool replaces it. */
  onConnectionError?: (message: string) => void;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** Bound on one statement's answer (default QUERY_TIMEOUT_MS; tests shorten it). */
  queryTimeoutMs?: number;
}

export class PostgresLedger implements Ledger {
  private poolPromise: Promise<Pool> | null = null;
  private lastWriteError: string | null = null;
  private closed = false;
  /** host:port/database, for messages. */
  readonly target: string;

  private constructor(private readonly opts: PostgresLedgerOptions) {
    this.target = describePostgresTarget(opts.url);
  }

  /** The ledger, connecting on first use (so it can be built synchronously). */
  static create(opts: PostgresLedgerOptions): PostgresLedger {
    return new PostgresLedger(opts);
  }

  /** Connect and migrate now: LEDGER_OPEN when Postgres cannot be reached or migrated. */
  static async open(opts: PostgresLedgerOptions): Promise<PostgresLedger> {
    const l = new PostgresLedger(opts);
    try {
      await l.pool();
    } catch (err) {
      await l.close();
      throw err;
    }
    return l;
  }

  /** The pool, once connected and migrated. Concurrent first calls share one attempt. */
  pool(): Promise<Pool> {
    if (this.closed) return Promise.reject(new LedgerError('LEDGER_OPEN', `the Postgres ledger ${this.target} is closed`));
    this.poolPromise ??= this.connect().catch((err: unknown) => {
      this.poolPromise = null;
      throw err;
    });
    return this.poolPromise;
  }

  private async connect(): Promise<Pool> {
    const { url } = this.opts;
    let pool: Pool | null = null;
    try {
      const pg = (await import('pg')).default;
      const config: PoolConfig = {
        connectionString: url,
        max: this.opts.maxConnections ?? POOL_MAX_CONNECTIONS,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        idleTimeoutMillis: IDLE_TIMEOUT_MS,
        keepAlive: true,
        keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
        query_timeout: this.opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
        statement_timeout: this.opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
        application_name: this.opts.agent ? `seedwatch ${this.opts.agent}` : 'seedwatch',
        types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format))) as never },
        ...(this.opts.readonly ? { options: '-c default_transaction_read_only=on' } : {}),
      };
      pool = new pg.Pool(config);
      // Without a listener, an idle connection dropped by the server would crash the process.
      pool.on('error', (err) => this.opts.onConnectionError?.(redact(err.message, url)));
      const client = await pool.connect();
      try {
        if (this.opts.readonly) {
          const [found] = await rows<{ t: string | null }>(client, `SELECT to_regclass('schema_migrations')::text AS t`);
          if (!found?.t) throw new Error('no seedwatch ledger there (no schema_migrations table): has an agent run with it?');
        } else {
          await migratePostgres(client);
        }
      } finally {
        client.release();
      }
      return pool;
    } catch (err) {
      await pool?.end().catch(() => undefined);
      throw new LedgerError('LEDGER_OPEN', `cannot open the Postgres ledger ${this.target}: ${redact((err as Error).message, url)}`, { cause: err });
    }
  }

  /**
   * Every write goes through here: errors typed and redacted, write health tracked. With
   * `transaction`, `fn` runs between BEGIN and COMMIT on one connection (rolled back on error).
   */
  private async write<T>(what: string, transaction: boolean, fn: (q: Queryable) => Promise<T>): Promise<T> {
    let result: T;
    try {
      const pool = await this.pool();
      if (!transaction) result = await fn(pool as unknown as Queryable);
      else result = await this.inTransaction(pool, fn);
    } catch (err) {
      // A refused operation (an unknown probe) says nothing about the database; LEDGER_OPEN is
      // the first connection failing, reported as such.
      if (err instanceof LedgerError) throw err;
      const failure = new LedgerError('LEDGER_WRITE', `ledger write failed (${what}): ${redact((err as Error).message, this.opts.url)}`, { cause: err });
      if (this.lastWriteError === null) this.opts.onWriteStateChange?.(failure.message);
      this.lastWriteError = failure.message;
      throw failure;
    }
    if (this.lastWriteError !== null) {
      this.lastWriteError = null;
      this.opts.onWriteStateChange?.(null);
    }
    return result;
  }

  private async inTransaction<T>(pool: Pool, fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await pool.connect();
    // A checked-out connection that dies between two queries emits 'error'; the query in
    // progress (or the next one) fails with it, so it is only swallowed here.
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client as unknown as Queryable);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      if (!(err instanceof LedgerError)) broken ??= err as Error;
      throw err;
    } finally {
      client.off('error', ignore);
      // A connection whose transaction failed for another reason than a refusal is discarded:
      // it may be half-closed.
      client.release(broken);
    }
  }

  writeError(): string | null {
    return this.lastWriteError;
  }

  private async read<R extends QueryResultRow = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return rows<R>((await this.pool()) as unknown as Queryable, sql, params);
  }

  async insertProbe(p: NewProbe): Promise<void> {
    await this.write('insert probe', false, (q) =>
      rows(
        q,
        `INSERT INTO probes (id, path, seed, provider, message_id, cycle_id, status, created_at, deadline_ms, agent)
         VALUES ($1, $2, $3, $4, $5, $6, 'sending', $7, $8, $9)`,
        [p.id, p.path, p.seed, p.provider, p.messageId, p.cycleId ?? null, p.createdAtMs, p.deadlineMs, p.agent ?? null],
      ),
    );
  }

  async markSendStarted(id: string, atMs: number): Promise<void> {
    await this.write('send started', false, (q) => rows(q, `UPDATE probes SET send_started_at = $1 WHERE id = $2`, [atMs, id]));
  }

  async recordSendResult(id: string, r: SendResult): Promise<ProbeRow> {
    return this.write('send result', false, async (q) => {
      const [row] = r.ok
        ? await rows(
            q,
            `UPDATE probes SET status = 'accepted', accepted_at = $1, deadline_at = $1 + deadline_ms,
               smtp_code = $2, smtp_enhanced = $3, smtp_text = $4, queue_id = $5
             WHERE id = $6 AND status = 'sending' RETURNING *`,
            [r.acceptedAtMs, r.code, r.enhanced ?? null, r.text, r.queueId ?? null, id],
          )
        : await rows(
            q,
            `UPDATE probes SET status = $1, smtp_code = $2, smtp_enhanced = $3, smtp_text = $4,
               error_reason = $5, error_message = $6, resolved_at = $7
             WHERE id = $8 AND status = 'sending' RETURNING *`,
            [r.reason === 'ambiguous' ? 'ambiguous' : 'failed', r.code ?? null, r.enhanced ?? null, r.text ?? null, r.reason, r.message, r.atMs, id],
          );
      if (!row) throw new LedgerError('LEDGER_UNKNOWN_PROBE', `probe ${id} is not awaiting a send result`);
      return probeFromRow(row);
    });
  }

  async recordObservation(o: NewObservation, decide: CopyDecider): Promise<ObservationResult> {
    return this.write('observation', true, async (q) => {
      // The probe's row lock serialises every decision about it, across agents.
      const [probeRow] = await rows(q, `SELECT * FROM probes WHERE id = $1 FOR UPDATE`, [o.probeId]);
      if (!probeRow || probeRow.seed !== o.seed) return { kind: 'unknown-probe', copyNumber: 0, probe: null };
      const probe = probeFromRow(probeRow);
      const exists = await rows(
        q,
        `SELECT 1 FROM observations WHERE (seed = $1 AND folder = $2 AND uid_validity = $3 AND uid = $4)
           OR ($5::text IS NOT NULL AND seed = $1 AND fingerprint = $5) LIMIT 1`,
        [o.seed, o.folder, o.uidValidity, o.uid, o.fingerprint ?? null],
      );
      if (exists.length > 0) return { kind: 'already-recorded', copyNumber: 0, probe };

      // The domain decides; this transaction only stores its decision.
      const d = decide(probe);
      const copyNumber = probe.copies + 1;
      const inserted = await rows(
        q,
        `INSERT INTO observations (probe_id, seed, folder, folder_role, placement, uid_validity, uid, fingerprint,
           arrived_at, internal_date, observed_at, copy_number, kind, spf, dkim, dmarc, arc,
           delivery_latency_ms, detection_delay_ms, evidence, agent, counted_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          o.probeId,
          o.seed,
          o.folder,
          o.folderRole,
          o.placement,
          o.uidValidity,
          o.uid,
          o.fingerprint ?? null,
          o.arrivedAtMs,
          o.internalDateMs,
          o.observedAtMs,
          copyNumber,
          d.kind,
          o.auth.spf ?? null,
          o.auth.dkim ?? null,
          o.auth.dmarc ?? null,
          o.auth.arc ?? null,
          d.deliveryLatencyMs,
          d.detectionDelayMs,
          JSON.stringify(o.evidence ?? {}),
          o.agent ?? null,
          // A copy of a probe still being sent is counted by its sender, once the accept is in.
          probe.status === 'sending' ? null : (o.agent ?? null),
        ],
      );
      // Only reachable if the same copy were recorded under another probe id: not a new copy.
      if (inserted.length === 0) return { kind: 'already-recorded', copyNumber: 0, probe };
      const [updated] =
        d.settles !== null
          ? await rows(q, `UPDATE probes SET copies = copies + 1, outcome = $1, resolved_at = $2, resolved_by = $4 WHERE id = $3 RETURNING *`, [d.settles, o.observedAtMs, o.probeId, o.agent ?? null])
          : await rows(q, `UPDATE probes SET copies = copies + 1 WHERE id = $1 RETURNING *`, [o.probeId]);
      return {
        kind: d.kind,
        copyNumber,
        probe: probeFromRow(updated),
        settledMissing: d.settles === 'missing',
        deliveryLatencyMs: d.deliveryLatencyMs ?? undefined,
        detectionDelayMs: d.detectionDelayMs ?? undefined,
        auth: o.auth,
        placement: o.placement,
      };
    });
  }

  async settleEarlyCopies(id: string, decide: (probe: ProbeStateForCopy, copy: ObservationRow) => CopyDecision): Promise<ObservationRow[]> {
    return this.write('settle early copies', true, async (q) => {
      const [probeRow] = await rows(q, `SELECT * FROM probes WHERE id = $1 FOR UPDATE`, [id]);
      const copiesOf = async () => (await rows(q, `SELECT * FROM observations WHERE probe_id = $1 ORDER BY copy_number`, [id])).map(observationFromRow);
      const copies = await copiesOf();
      if (!probeRow || copies.length === 0) return copies;
      const probe = probeFromRow(probeRow);
      const first = copies[0];
      if (probe.status !== 'accepted' || first.kind !== 'first') return copies;
      // Judged as the probe's first copy, with the probe as it is now.
      const d = decide({ ...probe, copies: 0, outcome: null }, first);
      await rows(q, `UPDATE observations SET kind = $1, delivery_latency_ms = $2 WHERE id = $3`, [d.kind, d.deliveryLatencyMs, first.id]);
      // The sender counts what was recorded before its accept.
      await rows(q, `UPDATE observations SET counted_by = $1 WHERE probe_id = $2 AND counted_by IS NULL`, [probe.agent ?? null, id]);
      if (d.settles !== null) await rows(q, `UPDATE probes SET outcome = $1, resolved_by = $3 WHERE id = $2`, [d.settles, id, probe.agent ?? null]);
      return copiesOf();
    });
  }

  async markMissing(scannedFrom: ScannedFrom, decide: MissingDecider, atMs: number): Promise<ProbeRow[]> {
    if (scannedFrom.size === 0) return [];
    const seeds = [...scannedFrom.keys()];
    const froms = [...scannedFrom.values()];
    const latest = Math.max(...froms);
    // One statement for every seed: the deadline-passed unresolved probes, each with its
    // seed's moment (the latest, should the key null and the seed's own both match).
    const dueSql = `SELECT p.*, max(s.from_ms) AS scanned_from FROM probes p
        JOIN unnest($1::text[], $2::bigint[]) AS s(seed, from_ms) ON s.seed IS NULL OR s.seed = p.seed
      WHERE p.status = 'accepted' AND p.outcome IS NULL AND p.copies = 0 AND p.deadline_at < s.from_ms
        AND p.deadline_at < $4 AND ($3::text[] IS NULL OR p.id = ANY($3::text[]))
      GROUP BY p.id ORDER BY p.id`;
    const pick = (rs: Row[]) => rs.filter((r) => decide(probeFromRow(r), Number(r.scanned_from))).map((r) => String(r.id));
    // Read first, without locks; the locking transaction only when a probe is due.
    const due = pick(await this.write('mark missing', false, (q) => rows(q, dueSql, [seeds, froms, null, latest])));
    if (due.length === 0) return [];
    return this.write('mark missing', true, async (q) => {
      // Locked in id order (two agents concluding at once wait for each other, never deadlock);
      // a row another transaction resolved meanwhile no longer matches and is left out.
      await rows(q, `SELECT id FROM probes WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [due]);
      const ids = pick(await rows(q, dueSql, [seeds, froms, due, latest]));
      if (ids.length === 0) return [];
      const marked = await rows(
        q,
        `UPDATE probes SET outcome = 'missing', resolved_at = $1, resolved_by = $3 WHERE id = ANY($2::text[]) AND outcome IS NULL AND copies = 0 RETURNING *`,
        [atMs, ids, this.opts.agent ?? null],
      );
      return marked.map(probeFromRow).sort(byId);
    });
  }

  async recoverInterrupted(nowMs: number): Promise<ProbeRow[]> {
    return this.write('recover interrupted', false, async (q) => {
      // A probe still 'sending' was in an SMTP transaction when its agent died: it may or may
      // not have been accepted, and is never retried. Only this agent's own: the other agents'
      // are sends in progress.
      const recovered = await rows(
        q,
        `UPDATE probes SET status = 'ambiguous', error_reason = 'ambiguous',
           error_message = 'agent stopped during the SMTP transaction', resolved_at = $1
         WHERE status = 'sending' AND ($2::text IS NULL OR agent = $2 OR agent IS NULL) RETURNING *`,
        [nowMs, this.opts.agent ?? null],
      );
      return recovered.map(probeFromRow).sort(byId);
    });
  }

  async getProbe(id: string): Promise<ProbeRow | null> {
    const [r] = await this.read(`SELECT * FROM probes WHERE id = $1`, [id]);
    return r ? probeFromRow(r) : null;
  }

  async listProbes(f: ProbeFilter): Promise<ProbeRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.sinceMs != null) add('created_at >= ?', f.sinceMs);
    if (f.untilMs != null) add('created_at < ?', f.untilMs);
    if (f.path) add('path = ?', f.path);
    if (f.seed) add('seed = ?', f.seed);
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.before) add('id < ?', f.before);
    args.push(f.limit ?? 100);
    const sql = `SELECT * FROM probes ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${args.length}`;
    return (await this.read(sql, args)).map(probeFromRow);
  }

  async observations(probeId: string): Promise<ObservationRow[]> {
    return (await this.read(`SELECT * FROM observations WHERE probe_id = $1 ORDER BY copy_number`, [probeId])).map(observationFromRow);
  }

  async inFlight(nowMs: number): Promise<ProbeRow[]> {
    return (
      await this.read(`SELECT * FROM probes WHERE status = 'accepted' AND outcome IS NULL AND copies = 0 AND deadline_at > $1 ORDER BY id`, [nowMs])
    ).map(probeFromRow);
  }

  async oldestInFlightMs(seed: string, nowMs: number): Promise<number | null> {
    const [r] = await this.read<{ t: number | null }>(
      `SELECT MIN(COALESCE(accepted_at, created_at)) AS t FROM probes
       WHERE seed = $1 AND status IN ('accepted','sending','ambiguous') AND copies = 0
         AND (deadline_at IS NULL OR deadline_at > $2)`,
      [seed, nowMs],
    );
    return r?.t ?? null;
  }

  async getFolderState(seed: string, folder: string): Promise<FolderState | null> {
    const [r] = await this.read<{ uid_validity: number; last_uid: number }>(
      `SELECT uid_validity, last_uid FROM folder_state WHERE seed = $1 AND folder = $2`,
      [seed, folder],
    );
    return r ? { uidValidity: r.uid_validity, lastUid: r.last_uid } : null;
  }

  async setFolderState(seed: string, folder: string, s: FolderState): Promise<void> {
    await this.write('folder state', false, (q) =>
      rows(
        q,
        `INSERT INTO folder_state (seed, folder, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (seed, folder) DO UPDATE SET uid_validity = excluded.uid_validity,
           last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
        [seed, folder, s.uidValidity, s.lastUid, Date.now()],
      ),
    );
  }

  async recordMailboxError(seed: string, kind: MailboxErrorKind, atMs: number, message: string): Promise<void> {
    await this.write('mailbox event', false, (q) =>
      rows(q, `INSERT INTO mailbox_events (seed, kind, at, message, agent) VALUES ($1, $2, $3, $4, $5)`, [seed, kind, atMs, message.slice(0, 500), this.opts.agent ?? null]),
    );
  }

  async startCycle(id: string, atMs: number, overlapped = false): Promise<void> {
    await this.write('cycle start', false, (q) =>
      rows(q, `INSERT INTO cycles (id, started_at, finished_at, overlapped, agent) VALUES ($1, $2, $3, $4, $5)`, [id, atMs, overlapped ? atMs : null, overlapped ? 1 : 0, this.opts.agent ?? null]),
    );
  }

  async finishCycle(id: string, atMs: number, probes: number): Promise<void> {
    await this.write('cycle finish', false, (q) =>
      rows(q, `UPDATE cycles SET finished_at = $1, probes = $2 WHERE id = $3 AND overlapped = 0`, [atMs, probes, id]),
    );
  }

  /** This agent's cycles and mailbox errors (each agent exports its own: see Metrics). */
  async totals(): Promise<LedgerTotals> {
    const agent = this.opts.agent ?? null;
    const [cycles] = await this.read<LedgerTotals['cycles']>(
      `SELECT COUNT(*) FILTER (WHERE overlapped = 0 AND finished_at IS NOT NULL) AS completed,
              COALESCE(SUM(overlapped), 0)::bigint AS overlaps,
              MAX(finished_at) FILTER (WHERE overlapped = 0) AS "lastFinishedAtMs"
       FROM cycles WHERE $1::text IS NULL OR agent = $1`,
      [agent],
    );
    const mailboxErrors = await this.read<LedgerTotals['mailboxErrors'][number]>(
      `SELECT seed, kind, COUNT(*) AS count FROM mailbox_events WHERE $1::text IS NULL OR agent = $1
       GROUP BY seed, kind ORDER BY seed, kind`,
      [agent],
    );
    return { cycles: cycles!, mailboxErrors };
  }

  /**
   * Streams the history in pages of REPLAY_PAGE_ROWS (keyset pagination on the primary keys),
   * all in one REPEATABLE READ transaction: one consistent snapshot, as SQLite's read gives,
   * while agents keep writing. Sends come in id order, copies in observation id order.
   */
  async *replay(): AsyncIterable<LedgerFact> {
    const pool = await this.pool();
    const client = await pool.connect();
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    let committed = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      let afterId = '';
      for (;;) {
        const page = await rows(client, `SELECT * FROM probes WHERE status <> 'sending' AND id > $1 ORDER BY id LIMIT $2`, [afterId, REPLAY_PAGE_ROWS]);
        for (const r of page) yield { type: 'send', probe: probeFromRow(r) };
        if (page.length < REPLAY_PAGE_ROWS) break;
        afterId = page[page.length - 1].id as string;
      }
      let afterObservation = 0;
      for (;;) {
        const page = await rows(
          client,
          `SELECT o.*, ${PREFIXED_PROBE_COLUMNS} FROM observations o JOIN probes p ON p.id = o.probe_id
           WHERE o.id > $1 ORDER BY o.id LIMIT $2`,
          [afterObservation, REPLAY_PAGE_ROWS],
        );
        for (const r of page) yield { type: 'copy', probe: probeFromRow(prefixedProbe(r)), copy: observationFromRow(r) };
        if (page.length < REPLAY_PAGE_ROWS) break;
        afterObservation = page[page.length - 1].id as number;
      }
      await client.query('COMMIT');
      committed = true;
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      // Also when the consumer stops early: the snapshot is given up, the connection returned.
      if (!committed && !broken) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      client.off('error', ignore);
      client.release(broken);
    }
  }

  async probeFacts(sinceMs: number, untilMs: number): Promise<ProbeFact[]> {
    const found = await this.read(
      `SELECT p.id, p.path, p.seed, p.provider, p.created_at, p.status, p.error_reason, p.smtp_code, p.outcome, p.copies,
              EXISTS (SELECT 1 FROM observations l WHERE l.probe_id = p.id AND l.kind = 'late') AS late,
              f.delivery_latency_ms, f.spf, f.dkim, f.dmarc, f.arc
       FROM probes p LEFT JOIN observations f ON f.probe_id = p.id AND f.copy_number = 1
       WHERE p.created_at >= $1 AND p.created_at < $2 ORDER BY p.id`,
      [sinceMs, untilMs],
    );
    return found.map((r) => ({
      id: r.id as string,
      path: r.path as string,
      seed: r.seed as string,
      provider: r.provider as string,
      createdAtMs: r.created_at as number,
      status: r.status as ProbeFact['status'],
      errorReason: (r.error_reason as ProbeFact['errorReason']) ?? null,
      smtpCode: (r.smtp_code as number | null) ?? null,
      outcome: (r.outcome as ProbeFact['outcome']) ?? null,
      copies: r.copies as number,
      late: r.late === true,
      deliveryLatencySeconds: r.delivery_latency_ms == null ? null : (r.delivery_latency_ms as number) / 1000,
      auth: authFromRow(r),
    }));
  }

  async getState(key: string): Promise<string | null> {
    const [r] = await this.read<{ value: string }>(`SELECT value FROM kv WHERE key = $1`, [key]);
    return r?.value ?? null;
  }

  async setState(key: string, value: string): Promise<void> {
    await this.write('kv', false, (q) =>
      rows(
        q,
        `INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, value, Date.now()],
      ),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = this.poolPromise;
    this.poolPromise = null;
    const pool = await pending?.catch(() => null);
    await pool?.end();
  }
}

/** Ids are ASCII (ULIDs): code-unit order is the byte order Postgres sorts them in (COLLATE "C"). */
function byId(a: ProbeRow, b: ProbeRow): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
