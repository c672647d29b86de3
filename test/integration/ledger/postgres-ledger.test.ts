/**
 * The Postgres ledger against a real PostgreSQL 15: the contract every ledger keeps, then what
 * only a shared database brings — several agents (pools) deciding about one probe at once,
 * migrations raced by agents starting together, and Postgres going away under a running agent.
 * One server for the file, a fresh database per test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noopEvents } from '../../../agent/events.js';
import type { Ledger } from '../../../agent/ledger/ledger.js';
import { PostgresLedger, REPLAY_PAGE_ROWS } from '../../../agent/ledger/postgres-ledger.js';
import { MIGRATION_LOCK_KEY, POSTGRES_MIGRATIONS } from '../../../agent/ledger/postgres-migrations.js';
import { concludeMissing, recordCopy } from '../../../agent/record/recorder.js';
import { PostgresFleet } from '../../../agent/fleet/postgres-fleet.js';
import { silentLogger } from '../../../agent/log.js';
import { startBlackholeProxy } from '../../helpers/blackhole-proxy.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { accepted, collect, ledgerContract, obs, probe, T0 } from '../../unit/ledger/ledger-contract.js';

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.destroy();
});

/** Every ledger a test opened, closed after it (also when an expectation failed). */
const opened: Ledger[] = [];
async function fresh(opts: Partial<Parameters<typeof PostgresLedger.open>[0]> = {}): Promise<{ url: string; ledger: PostgresLedger }> {
  const url = opts.url ?? (await pg.createDatabase());
  const ledger = await PostgresLedger.open({ ...opts, url });
  opened.push(ledger);
  return { url, ledger };
}
async function another(url: string, opts: Partial<Parameters<typeof PostgresLedger.open>[0]> = {}): Promise<PostgresLedger> {
  const ledger = await PostgresLedger.open({ ...opts, url });
  opened.push(ledger);
  return ledger;
}
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
});

ledgerContract('PostgresLedger', async () => (await fresh()).ledger);

describe('PostgresLedger: several agents on one database', () => {
  it('two agents recording copies of the same probes at once: exactly one first per probe, copy numbers 1..n', async () => {
    const { url, ledger: a } = await fresh({ agent: 'agent-a' });
    const b = await another(url, { agent: 'agent-b' });
    const ids = Array.from({ length: 20 }, (_, i) => `RACE${String(i).padStart(2, '0')}`);
    for (const id of ids) await accepted(a, id);
    // Each agent records three copies of every probe (distinct UIDs), all in flight together.
    const results = await Promise.all(
      ids.flatMap((id, i) =>
        [a, b].flatMap((l, j) => [0, 1, 2].map((k) => recordCopy(l, noopEvents, obs(id, i * 10 + j * 3 + k + 1, { agent: j === 0 ? 'agent-a' : 'agent-b' })))),
      ),
    );
    for (const id of ids) {
      const mine = results.filter((r) => r.probe?.id === id);
      expect(mine.map((r) => r.kind).filter((k) => k === 'first'), id).toHaveLength(1);
      expect(mine.map((r) => r.kind).filter((k) => k === 'duplicate'), id).toHaveLength(5);
      const rows = await a.observations(id);
      expect(rows.map((r) => r.copyNumber)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(rows.filter((r) => r.kind === 'first')).toHaveLength(1);
      expect((await b.getProbe(id))!).toMatchObject({ copies: 6, outcome: 'inbox' });
    }
  });

  it('the same copy seen by two agents at once is recorded once', async () => {
    const { url, ledger: a } = await fresh();
    const b = await another(url);
    await accepted(a, 'SAME');
    const kinds = (await Promise.all([a, b, a, b].map((l) => recordCopy(l, noopEvents, obs('SAME', 42))))).map((r) => r.kind).sort();
    expect(kinds).toEqual(['already-recorded', 'already-recorded', 'already-recorded', 'first']);
    expect(await a.observations('SAME')).toHaveLength(1);
  });

  it('deadlines concluded by two agents at once: each probe is missing exactly once', async () => {
    const { url, ledger: a } = await fresh();
    const b = await another(url);
    const ids = Array.from({ length: 40 }, (_, i) => `MISS${String(i).padStart(2, '0')}`);
    for (const id of ids) await accepted(a, id);
    const [fromA, fromB] = await Promise.all([a, b].map((l) => concludeMissing(l, noopEvents, null, T0 + 61_001, T0 + 70_000)));
    const concluded = [...fromA, ...fromB].map((p) => p.id).sort();
    expect(concluded).toEqual(ids);
    expect((await a.listProbes({ outcome: 'missing', limit: 100 })).length).toBe(40);
  });

  it("recoverInterrupted concludes this agent's own interrupted sends (and unnamed ones), never another agent's send in progress", async () => {
    const { url, ledger: a } = await fresh({ agent: 'agent-a' });
    const b = await another(url, { agent: 'agent-b' });
    await a.insertProbe({ ...probe('OWN'), agent: 'agent-a' });
    await b.insertProbe({ ...probe('OTHER'), agent: 'agent-b' });
    await a.insertProbe(probe('UNNAMED'));
    expect((await a.recoverInterrupted(T0)).map((p) => p.id)).toEqual(['OWN', 'UNNAMED']);
    expect((await a.getProbe('OTHER'))!.status).toBe('sending');
  });
});

describe('PostgresLedger: migrations', () => {
  const versions = (url: string) => pg.query<{ version: number }>(dbOf(url), 'SELECT version FROM schema_migrations ORDER BY version');

  it('are versioned and idempotent: opening again applies nothing', async () => {
    const { url, ledger } = await fresh();
    const first = await pg.query<{ version: number; applied_at: string }>(dbOf(url), 'SELECT version, applied_at FROM schema_migrations ORDER BY version');
    expect(first.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    await ledger.close();
    await (await another(url)).close();
    await (await another(url)).close();
    expect(await pg.query(dbOf(url), 'SELECT version, applied_at FROM schema_migrations ORDER BY version')).toEqual(first);
    const tables = await pg.query<{ t: string }>(dbOf(url), `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    expect(tables.map((r) => r.t)).toEqual(['cycles', 'fleet_agents', 'fleet_claims', 'fleet_leases', 'folder_state', 'kv', 'ledger_imports', 'mailbox_events', 'observations', 'probes', 'schema_migrations']);
  });

  it('four agents starting at once on an empty database: every one opens, each migration runs once', async () => {
    const url = await pg.createDatabase();
    const ledgers = await Promise.all([1, 2, 3, 4].map(() => another(url)));
    expect((await versions(url)).map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    // All four work on the one schema.
    await Promise.all(ledgers.map((l, i) => accepted(l, `P${i}`)));
    expect((await ledgers[0].listProbes({})).length).toBe(4);
  });

  it('waits for the migration lock: an agent starting while another migrates opens after it, on the migrated schema', async () => {
    const url = await pg.createDatabase();
    // Another session holds the lock, as an agent mid-migration would.
    const pgLib = (await import('pg')).default;
    const holder = new pgLib.Client({ connectionString: url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    let openedAt = 0;
    const opening = another(url).then((l) => ((openedAt = Date.now()), l));
    await new Promise((r) => setTimeout(r, 300));
    expect(openedAt).toBe(0);
    const releasedAt = Date.now();
    await holder.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await holder.end();
    await opening;
    expect(openedAt).toBeGreaterThanOrEqual(releasedAt);
  });

  it('read-only: reads a ledger, refuses to write, and refuses a database with no ledger', async () => {
    const { url, ledger } = await fresh();
    await accepted(ledger, 'RO1');
    const ro = await another(url, { readonly: true });
    expect((await ro.getProbe('RO1'))!.status).toBe('accepted');
    await expect(ro.setState('k', 'v')).rejects.toThrow(/read-only transaction/);
    const empty = await pg.createDatabase();
    await expect(PostgresLedger.open({ url: empty, readonly: true })).rejects.toThrow(/no seedwatch ledger there/);
    expect(await pg.query(dbOf(empty), `SELECT to_regclass('probes')::text AS t`)).toEqual([{ t: null }]);
  });
});

describe('PostgresLedger: storage', () => {
  it('times and UIDs come back as numbers; text with NUL is stored', async () => {
    const { ledger } = await fresh();
    await ledger.insertProbe(probe('N1'));
    const row = await ledger.recordSendResult('N1', { ok: false, reason: 'rejected', atMs: T0 + 5, code: 550, text: 'bad\0reply', message: '550 bad\0reply' });
    expect(row).toMatchObject({ createdAtMs: T0, resolvedAtMs: T0 + 5, smtpText: 'bad\uFFFDreply', errorMessage: '550 bad\uFFFDreply' });
    expect(typeof row.createdAtMs).toBe('number');
    await accepted(ledger, 'N2');
    const r = await recordCopy(ledger, noopEvents, obs('N2', 4_294_967_295, { uidValidity: 4_294_967_295 }));
    expect(r.kind).toBe('first');
    const [copy] = await ledger.observations('N2');
    expect(copy).toMatchObject({ uid: 4_294_967_295, uidValidity: 4_294_967_295, id: expect.any(Number), arrivedAtMs: T0 + 3_000 });
  });

  it(`replay streams a history larger than one page (${REPLAY_PAGE_ROWS} rows), in order, each fact once`, async () => {
    const { url, ledger } = await fresh();
    const n = REPLAY_PAGE_ROWS * 2 + 7;
    // Written in bulk: the API would take a while for this many.
    await pg.query(
      dbOf(url),
      `INSERT INTO probes (id, path, seed, provider, message_id, status, created_at, deadline_ms, accepted_at, deadline_at, copies)
       SELECT 'B' || lpad(i::text, 6, '0'), 'peering', 'gmail-1', 'gmail', '<' || i || '@x>', 'accepted', $1::bigint, 60000, $1::bigint, $1::bigint + 60000, 1
       FROM generate_series(1, $2::int) AS i`,
      [T0, n],
    );
    await pg.query(
      dbOf(url),
      `INSERT INTO observations (probe_id, seed, folder, folder_role, placement, uid_validity, uid, observed_at, copy_number, kind, evidence)
       SELECT 'B' || lpad(i::text, 6, '0'), 'gmail-1', 'INBOX', 'inbox', 'inbox', 1, i, $1::bigint, 1, 'first', '{}'
       FROM generate_series(1, $2::int) AS i`,
      [T0, n],
    );
    const facts = await collect(ledger.replay());
    const sends = facts.filter((f) => f.type === 'send').map((f) => f.probe.id);
    const copies = facts.flatMap((f) => (f.type === 'copy' ? [f.copy.uid] : []));
    expect(sends).toHaveLength(n);
    expect(new Set(sends).size).toBe(n);
    expect(sends).toEqual([...sends].sort());
    expect(copies).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('a consumer that stops a replay early gives its connection back', async () => {
    const { ledger } = await fresh({ maxConnections: 1 });
    await accepted(ledger, 'E1');
    await accepted(ledger, 'E2');
    for await (const f of ledger.replay()) {
      expect(f.type).toBe('send');
      break;
    }
    // With one connection in the pool, this would wait forever if replay had kept it.
    expect((await ledger.getProbe('E2'))!.id).toBe('E2');
  });
});

describe('PostgresLedger: Postgres going away', () => {
  it('a write while Postgres is stopped fails and sets writeError (password never shown); after the restart a write clears it', async () => {
    const password = 'pg-secret-4711';
    const url = await pg.createDatabase(undefined, password);
    const transitions: (string | null)[] = [];
    const connectionErrors: string[] = [];
    const ledger = await another(url, { onWriteStateChange: (e) => transitions.push(e), onConnectionError: (m) => connectionErrors.push(m) });
    await accepted(ledger, 'W1');
    expect(ledger.writeError()).toBeNull();

    await pg.stop();
    try {
      await expect(ledger.insertProbe(probe('W2'))).rejects.toMatchObject({ code: 'LEDGER_WRITE' });
      await expect(ledger.setState('k', 'v')).rejects.toMatchObject({ code: 'LEDGER_WRITE' });
      // The last failure, for /readyz; reported to the log once, on the transition.
      expect(ledger.writeError()).toMatch(/^ledger write failed \(kv\): connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      expect(transitions).toEqual([expect.stringMatching(/^ledger write failed \(insert probe\): /)]);
    } finally {
      await pg.start();
    }
    await ledger.insertProbe(probe('W3'));
    expect(ledger.writeError()).toBeNull();
    expect(transitions).toEqual([expect.stringMatching(/^ledger write failed/), null]);
    expect((await ledger.getProbe('W1'))!.status).toBe('accepted');
    expect((await ledger.getProbe('W3'))!.status).toBe('sending');
    expect(JSON.stringify({ transitions, connectionErrors })).not.toContain(password);
  });

  it('cannot open while Postgres is down: LEDGER_OPEN naming host, port and database, never the password', async () => {
    const password = 'pg-secret-0815';
    const url = await pg.createDatabase(undefined, password);
    await pg.stop();
    try {
      const err = await PostgresLedger.open({ url }).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      expect(err).toMatchObject({ code: 'LEDGER_OPEN' });
      expect(err!.message).toContain(`cannot open the Postgres ledger 127.0.0.1:${pg.port}/${dbOf(url)}: `);
      expect(err!.message).not.toContain(password);
    } finally {
      await pg.start();
    }
  });
});

describe('PostgresLedger: a silent network cut (no FIN, no RST)', () => {
  it('a statement without an answer fails after the query timeout, the fleet agent stops holding seeds, and both recover when the network does', async () => {
    const url = await pg.createDatabase();
    const proxy = await startBlackholeProxy(pg.port);
    const viaProxy = url.replace(`:${pg.port}/`, `:${proxy.port}/`);
    const queryTimeoutMs = 1_500;
    const ledger = await another(viaProxy, { agent: 'agent-cut', queryTimeoutMs });
    const fleet = new PostgresFleet({ pool: await ledger.pool(), agent: 'agent-cut', seeds: ['s1', 's2'], log: silentLogger(), tickMs: 60_000, leaseMs: 15_000 });
    try {
      await fleet.pass();
      expect(fleet.problem()).toBeNull();
      expect([...fleet.held()].sort()).toEqual(['s1', 's2']);
      await accepted(ledger, 'CUT1');

      proxy.cut();
      const t0 = Date.now();
      const err = await ledger.insertProbe(probe('CUT2')).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      const waitedMs = Date.now() - t0;
      expect(err).toMatchObject({ code: 'LEDGER_WRITE' });
      // Bounded by the query timeout (a pooled connection) or the connect timeout (5 s, a new one), never TCP's.
      expect(waitedMs).toBeGreaterThanOrEqual(queryTimeoutMs - 50);
      expect(waitedMs).toBeLessThan(15_000);
      expect(ledger.writeError()).toMatch(/^ledger write failed \(insert probe\): /);
      await fleet.pass();
      expect(fleet.problem()).toMatch(/^the fleet database is out of reach: /);
      expect(fleet.held().size).toBe(0);
      expect(await fleet.claim(Date.now(), 'p', 's1')).toBe(false);

      proxy.heal();
      await fleet.pass();
      expect(fleet.problem()).toBeNull();
      expect([...fleet.held()].sort()).toEqual(['s1', 's2']);
      await ledger.insertProbe(probe('CUT3'));
      expect(ledger.writeError()).toBeNull();
      expect((await ledger.getProbe('CUT1'))!.status).toBe('accepted');
      expect(await ledger.getProbe('CUT2')).toBeNull();
      expect((await ledger.getProbe('CUT3'))!.status).toBe('sending');
    } finally {
      await fleet.stop();
      await proxy.close();
    }
  }, 60_000);
});

/** The database name of a harness URL. */
function dbOf(url: string): string {
  return new URL(url).pathname.slice(1);
}
