import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { LedgerError } from './ledger-error.js';
import { authFromRow, observationFromRow, PREFIXED_PROBE_COLUMNS, prefixedProbe, probeFromRow, type Row } from './ledger-rows.js';
import type { CopyDecision, ProbeStateForCopy } from '../domain/copy-fate.js';
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
import type { MailboxErrorKind } from '../domain/vocabulary.js';

export { LedgerError };

/** How long a writer waits for another writer's lock before failing (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 5_000;

/** Where an agent's ledger lives: `<dataDir>/ledger.sqlite`. */
export function ledgerPath(config: { dataDirAbs: string }): string {
  return join(config.dataDirAbs, 'ledger.sqlite');
}

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

export interface SqliteLedgerOptions {
  /** Open read-only (reports against a live agent's ledger). */
  readonly?: boolean;
  /**
   * Called when writes start failing (disk full, read-only) with the error, and with null when
   * one succeeds again: only on those transitions, so a full disk logs once, not per write.
   */
  onWriteStateChange?: (error: string | null) => void;
}

interface PendingWrite {
  what: string;
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class SqliteLedger implements Ledger {
  readonly db: Database.Database;

  private lastWriteError: string | null = null;

  private constructor(
    db: Database.Database,
    private readonly onWriteStateChange?: (error: string | null) => void,
  ) {
    this.db = db;
  }

  /** Open (creating the directory and file) and migrate. `file` may be ':memory:'. */
  static open(file: string, opts: SqliteLedgerOptions = {}): SqliteLedger {
    let db: Database.Database;
    try {
      if (file !== ':memory:' && !opts.readonly) mkdirSync(dirname(file), { recursive: true });
      db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        // NORMAL is durable across process crashes (kill -9) in WAL mode; only an OS crash
        // can lose the last transactions.
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        migrate(db);
      }
    } catch (err) {
      throw new LedgerError('LEDGER_OPEN', `cannot open the ledger ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new SqliteLedger(db, opts.onWriteStateChange);
  }

  /** Writes waiting for the next group commit (FIFO). */
  private pending: PendingWrite[] = [];
  private flushScheduled = false;

  /**
   * Every write goes through here: errors typed, write health tracked, and **group commit**:
   * the writes asked for within one turn of the event loop (a burst of copies, a probe's
   * send result next to another's insert) run in order in one transaction, each in a
   * savepoint of its own, committed once; each caller's promise settles after the commit, so
   * an awaited write is as durable as before. At 500 seeds a transaction per fact made
   * `COMMIT` the agent's largest single cost (docs/benchmark.md, "Profile"): one commit for
   * several facts writes each touched page once.
   *
   * A refusal (LedgerError, e.g. an unknown probe) rolls back that write's savepoint only;
   * any other error (disk full, read-only file) fails that write as LEDGER_WRITE, and a
   * failed COMMIT fails the whole batch.
   */
  private write<T>(what: string, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ what, fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs the pending writes in one transaction (close() calls it too, to lose nothing). */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0 || !this.db.open) {
      for (const op of batch) op.reject(new LedgerError('LEDGER_WRITE', `ledger write failed (${op.what}): the ledger is closed`));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      this.db
        .transaction(() => {
          for (const op of batch) {
            try {
              // A transaction function called inside a transaction runs as a savepoint.
              outcomes.push({ ok: true, value: batch.length === 1 ? op.fn() : this.db.transaction(op.fn)() });
            } catch (err) {
              if (batch.length === 1) throw err;
              outcomes.push({ ok: false, err });
            }
          }
        })
        .immediate();
    } catch (err) {
      if (batch.length === 1 && err instanceof LedgerError) {
        batch[0].reject(err);
        return;
      }
      const failure = this.writeFailed([...new Set(batch.map((op) => op.what))].join(', '), err);
      for (const op of batch) op.reject(failure);
      return;
    }
    let failed = false;
    batch.forEach((op, i) => {
      const o = outcomes[i];
      if (o.ok) op.resolve(o.value);
      else if (o.err instanceof LedgerError) op.reject(o.err);
      else {
        failed = true;
        op.reject(this.writeFailed(op.what, o.err));
      }
    });
    if (!failed && this.lastWriteError !== null) {
      this.lastWriteError = null;
      this.onWriteStateChange?.(null);
    }
  }

  private writeFailed(what: string, err: unknown): LedgerError {
    const failure = new LedgerError('LEDGER_WRITE', `ledger write failed (${what}): ${(err as Error).message}`, { cause: err });
    if (this.lastWriteError === null) this.onWriteStateChange?.(failure.message);
    this.lastWriteError = failure.message;
    return failure;
  }

  writeError(): string | null {
    return this.lastWriteError;
  }

  /**
   * A statement prepared once per SQL text and kept: preparing costs more than running a
   * one-row statement (profile of 500 seeds: `prepare` was 6 % of the agent's main thread
   * when every call prepared its SQL again). The texts are constants of this file (a few
   * dozen, plus the filter variants of listProbes), so the cache is bounded.
   */
  private readonly statements = new Map<string, Database.Statement>();
  private prepared(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async insertProbe(p: NewProbe): Promise<void> {
    return this.write('insert probe', () => {
      this
        .prepared(
          `INSERT INTO probes (id, path, seed, provider, message_id, cycle_id, status, created_at, deadline_ms, agent)
           VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, ?, ?)`,
        )
        .run(p.id, p.path, p.seed, p.provider, p.messageId, p.cycleId ?? null, p.createdAtMs, p.deadlineMs, p.agent ?? null);
    });
  }

  async markSendStarted(id: string, atMs: number): Promise<void> {
    return this.write('send started', () => {
      this.prepared(`UPDATE probes SET send_started_at = ? WHERE id = ?`).run(atMs, id);
    });
  }

  async recordSendResult(id: string, r: SendResult): Promise<ProbeRow> {
    return this.write('send result', () => {
      const info = r.ok
        ? this
            .prepared(
              `UPDATE probes SET status = 'accepted', accepted_at = ?, deadline_at = ? + deadline_ms,
                 smtp_code = ?, smtp_enhanced = ?, smtp_text = ?, queue_id = ?
               WHERE id = ? AND status = 'sending'`,
            )
            .run(r.acceptedAtMs, r.acceptedAtMs, r.code, r.enhanced ?? null, r.text, r.queueId ?? null, id)
        : this
            .prepared(
              `UPDATE probes SET status = ?, smtp_code = ?, smtp_enhanced = ?, smtp_text = ?,
                 error_reason = ?, error_message = ?, resolved_at = ?
               WHERE id = ? AND status = 'sending'`,
            )
            .run(
              r.reason === 'ambiguous' ? 'ambiguous' : 'failed',
              r.code ?? null,
              r.enhanced ?? null,
              r.text ?? null,
              r.reason,
              r.message,
              r.atMs,
              id,
            );
      if (info.changes !== 1) {
        throw new LedgerError('LEDGER_UNKNOWN_PROBE', `probe ${id} is not awaiting a send result`);
      }
      return probeFromRow(this.prepared(`SELECT * FROM probes WHERE id = ?`).get(id) as Row);
    });
  }

  async recordObservation(o: NewObservation, decide: CopyDecider): Promise<ObservationResult> {
    return this.write('observation', () => {
      const probeRow = this.prepared(`SELECT * FROM probes WHERE id = ?`).get(o.probeId) as Row | undefined;
      if (!probeRow || probeRow.seed !== o.seed) return { kind: 'unknown-probe', copyNumber: 0, probe: null };
      const probe = probeFromRow(probeRow);
      const exists = this
        .prepared(
          `SELECT 1 FROM observations WHERE (seed = ? AND folder = ? AND uid_validity = ? AND uid = ?)
             OR (? IS NOT NULL AND seed = ? AND fingerprint = ?)`,
        )
        .get(o.seed, o.folder, o.uidValidity, o.uid, o.fingerprint ?? null, o.seed, o.fingerprint ?? null);
      if (exists) return { kind: 'already-recorded', copyNumber: 0, probe };

      // The domain decides; this transaction only stores its decision.
      const d = decide(probe);
      const copyNumber = probe.copies + 1;
      this
        .prepared(
          `INSERT INTO observations (probe_id, seed, folder, folder_role, placement, uid_validity, uid, fingerprint,
             arrived_at, internal_date, observed_at, copy_number, kind, spf, dkim, dmarc, arc,
             delivery_latency_ms, detection_delay_ms, evidence, agent, counted_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
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
        );
      if (d.settles !== null) {
        this
          .prepared(`UPDATE probes SET copies = copies + 1, outcome = ?, resolved_at = ?, resolved_by = ? WHERE id = ?`)
          .run(d.settles, o.observedAtMs, o.agent ?? null, o.probeId);
      } else {
        this.prepared(`UPDATE probes SET copies = copies + 1 WHERE id = ?`).run(o.probeId);
      }
      const updated = probeFromRow(this.prepared(`SELECT * FROM probes WHERE id = ?`).get(o.probeId) as Row);
      return {
        kind: d.kind,
        copyNumber,
        probe: updated,
        settledMissing: d.settles === 'missing',
        deliveryLatencyMs: d.deliveryLatencyMs ?? undefined,
        detectionDelayMs: d.detectionDelayMs ?? undefined,
        auth: o.auth,
        placement: o.placement,
      };
    });
  }

  async settleEarlyCopies(id: string, decide: (probe: ProbeStateForCopy, copy: ObservationRow) => CopyDecision): Promise<ObservationRow[]> {
    return this.write('settle early copies', () => {
      const probeRow = this.prepared(`SELECT * FROM probes WHERE id = ?`).get(id) as Row | undefined;
      const copies = (this.prepared(`SELECT * FROM observations WHERE probe_id = ? ORDER BY copy_number`).all(id) as Row[]).map(observationFromRow);
      if (!probeRow || copies.length === 0) return copies;
      const probe = probeFromRow(probeRow);
      const first = copies[0];
      if (probe.status !== 'accepted' || first.kind !== 'first') return copies;
      // Judged as the probe's first copy, with the probe as it is now.
      const d = decide({ ...probe, copies: 0, outcome: null }, first);
      this.prepared(`UPDATE observations SET kind = ?, delivery_latency_ms = ? WHERE id = ?`).run(d.kind, d.deliveryLatencyMs, first.id);
      // The sender counts what was recorded before its accept.
      this.prepared(`UPDATE observations SET counted_by = ? WHERE probe_id = ? AND counted_by IS NULL`).run(probe.agent ?? null, id);
      if (d.settles !== null) this.prepared(`UPDATE probes SET outcome = ?, resolved_by = ? WHERE id = ?`).run(d.settles, probe.agent ?? null, id);
      return (this.prepared(`SELECT * FROM observations WHERE probe_id = ? ORDER BY copy_number`).all(id) as Row[]).map(observationFromRow);
    });
  }

  async markMissing(scannedFrom: ScannedFrom, decide: MissingDecider, atMs: number): Promise<ProbeRow[]> {
    // In-process reads cost microseconds: one per seed. The write transaction (which takes the
    // write lock) only when a probe is due.
    const dueNow = (): { probe: ProbeRow; fromMs: number }[] => {
      const byId = new Map<string, { probe: ProbeRow; fromMs: number }>();
      const select = this.prepared(
        `SELECT * FROM probes WHERE (? IS NULL OR seed = ?) AND status = 'accepted' AND outcome IS NULL
           AND copies = 0 AND deadline_at < ? ORDER BY id`,
      );
      for (const [seed, fromMs] of scannedFrom) {
        for (const r of select.all(seed, seed, fromMs) as Row[]) {
          const probe = probeFromRow(r);
          const seen = byId.get(probe.id);
          if (!seen || seen.fromMs < fromMs) byId.set(probe.id, { probe, fromMs });
        }
      }
      return [...byId.values()].filter((d) => decide(d.probe, d.fromMs)).sort((a, b) => (a.probe.id < b.probe.id ? -1 : 1));
    };
    if (dueNow().length === 0) return [];
    return this.write('mark missing', () => {
      const mark = this.prepared(`UPDATE probes SET outcome = 'missing', resolved_at = ? WHERE id = ? AND outcome IS NULL AND copies = 0 RETURNING *`);
      const out: ProbeRow[] = [];
      for (const d of dueNow()) {
        const r = mark.get(atMs, d.probe.id) as Row | undefined;
        if (r) out.push(probeFromRow(r));
      }
      return out;
    });
  }

  async recoverInterrupted(nowMs: number): Promise<ProbeRow[]> {
    return this.write('recover interrupted', () => {
      // A probe still 'sending' was in an SMTP transaction when the agent died: it may or may
      // not have been accepted. It is never retried (a retry could create a duplicate).
      const rows = this
        .prepared(
          `UPDATE probes SET status = 'ambiguous', error_reason = 'ambiguous',
             error_message = 'agent stopped during the SMTP transaction', resolved_at = ?
           WHERE status = 'sending' RETURNING *`,
        )
        .all(nowMs) as Row[];
      return rows.map(probeFromRow);
    });
  }

  async getProbe(id: string): Promise<ProbeRow | null> {
    const r = this.prepared(`SELECT * FROM probes WHERE id = ?`).get(id) as Row | undefined;
    return r ? probeFromRow(r) : null;
  }

  async listProbes(f: ProbeFilter): Promise<ProbeRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.sinceMs != null) (where.push('created_at >= ?'), args.push(f.sinceMs));
    if (f.untilMs != null) (where.push('created_at < ?'), args.push(f.untilMs));
    if (f.path) (where.push('path = ?'), args.push(f.path));
    if (f.seed) (where.push('seed = ?'), args.push(f.seed));
    if (f.outcome) (where.push('outcome = ?'), args.push(f.outcome));
    if (f.before) (where.push('id < ?'), args.push(f.before));
    const sql = `SELECT * FROM probes ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    args.push(f.limit ?? 100);
    return (this.prepared(sql).all(...args) as Row[]).map(probeFromRow);
  }

  async observations(probeId: string): Promise<ObservationRow[]> {
    return (
      this.prepared(`SELECT * FROM observations WHERE probe_id = ? ORDER BY copy_number`).all(probeId) as Row[]
    ).map(observationFromRow);
  }

  async inFlight(nowMs: number): Promise<ProbeRow[]> {
    return (
      this
        .prepared(
          `SELECT * FROM probes WHERE status = 'accepted' AND outcome IS NULL AND copies = 0 AND deadline_at > ? ORDER BY id`,
        )
        .all(nowMs) as Row[]
    ).map(probeFromRow);
  }

  async oldestInFlightMs(seed: string, nowMs: number): Promise<number | null> {
    const r = this
      .prepared(
        `SELECT MIN(COALESCE(accepted_at, created_at)) AS t FROM probes
         WHERE seed = ? AND status IN ('accepted','sending','ambiguous') AND copies = 0
           AND (deadline_at IS NULL OR deadline_at > ?)`,
      )
      .get(seed, nowMs) as { t: number | null };
    return r.t;
  }

  async getFolderState(seed: string, folder: string): Promise<FolderState | null> {
    const r = this
      .prepared(`SELECT uid_validity, last_uid FROM folder_state WHERE seed = ? AND folder = ?`)
      .get(seed, folder) as { uid_validity: number; last_uid: number } | undefined;
    return r ? { uidValidity: r.uid_validity, lastUid: r.last_uid } : null;
  }

  async setFolderState(seed: string, folder: string, s: FolderState): Promise<void> {
    return this.write('folder state', () => {
      this
        .prepared(
          `INSERT INTO folder_state (seed, folder, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (seed, folder) DO UPDATE SET uid_validity = excluded.uid_validity,
             last_uid = excluded.last_uid, updated_at = excluded.updated_at`,
        )
        .run(seed, folder, s.uidValidity, s.lastUid, Date.now());
    });
  }

  async recordMailboxError(seed: string, kind: MailboxErrorKind, atMs: number, message: string): Promise<void> {
    return this.write('mailbox event', () => {
      this
        .prepared(`INSERT INTO mailbox_events (seed, kind, at, message) VALUES (?, ?, ?, ?)`)
        .run(seed, kind, atMs, message.slice(0, 500));
    });
  }

  async startCycle(id: string, atMs: number, overlapped = false): Promise<void> {
    return this.write('cycle start', () => {
      this
        .prepared(`INSERT INTO cycles (id, started_at, finished_at, overlapped) VALUES (?, ?, ?, ?)`)
        .run(id, atMs, overlapped ? atMs : null, overlapped ? 1 : 0);
    });
  }

  async finishCycle(id: string, atMs: number, probes: number): Promise<void> {
    return this.write('cycle finish', () => {
      this.prepared(`UPDATE cycles SET finished_at = ?, probes = ? WHERE id = ? AND overlapped = 0`).run(atMs, probes, id);
    });
  }

  async totals(): Promise<LedgerTotals> {
    const cycles = this
      .prepared(
        `SELECT COALESCE(SUM(overlapped = 0 AND finished_at IS NOT NULL), 0) AS completed,
                COALESCE(SUM(overlapped), 0) AS overlaps,
                MAX(CASE WHEN overlapped = 0 THEN finished_at END) AS lastFinishedAtMs FROM cycles`,
      )
      .get() as LedgerTotals['cycles'];
    return {
      cycles,
      mailboxErrors: this.prepared(`SELECT seed, kind, COUNT(*) AS count FROM mailbox_events GROUP BY seed, kind ORDER BY seed, kind`).all() as LedgerTotals['mailboxErrors'],
    };
  }

  async *replay(): AsyncIterable<LedgerFact> {
    // Iterated statements are prepared per call: two replays at once must not share a cursor.
    for (const r of this.db.prepare(`SELECT * FROM probes WHERE status <> 'sending'`).iterate() as Iterable<Row>) {
      yield { type: 'send', probe: probeFromRow(r) };
    }
    // One query for every copy with its probe's columns (prefixed, so names never collide).
    const stmt = this.db.prepare(`SELECT o.*, ${PREFIXED_PROBE_COLUMNS} FROM observations o JOIN probes p ON p.id = o.probe_id ORDER BY o.id`);
    for (const r of stmt.iterate() as Iterable<Row>) {
      yield { type: 'copy', probe: probeFromRow(prefixedProbe(r)), copy: observationFromRow(r) };
    }
  }

  async probeFacts(sinceMs: number, untilMs: number): Promise<ProbeFact[]> {
    const rows = this
      .prepared(
        `SELECT p.id, p.path, p.seed, p.provider, p.created_at, p.status, p.error_reason, p.smtp_code, p.outcome, p.copies,
                EXISTS (SELECT 1 FROM observations l WHERE l.probe_id = p.id AND l.kind = 'late') AS late,
                f.delivery_latency_ms, f.spf, f.dkim, f.dmarc, f.arc
         FROM probes p LEFT JOIN observations f ON f.probe_id = p.id AND f.copy_number = 1
         WHERE p.created_at >= ? AND p.created_at < ? ORDER BY p.id`,
      )
      .all(sinceMs, untilMs) as Row[];
    return rows.map((r) => {
      const auth = authFromRow(r);
      return {
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
        late: r.late === 1,
        deliveryLatencySeconds: r.delivery_latency_ms == null ? null : (r.delivery_latency_ms as number) / 1000,
        auth,
      };
    });
  }

  async getState(key: string): Promise<string | null> {
    const r = this.prepared(`SELECT value FROM kv WHERE key = ?`).get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  async setState(key: string, value: string): Promise<void> {
    return this.write('kv', () => {
      this
        .prepared(
          `INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        )
        .run(key, value, Date.now());
    });
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) this.flush();
    if (this.db.open) this.db.close();
  }
}
