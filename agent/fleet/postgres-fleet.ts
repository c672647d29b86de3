/**
 * Agents sharing a PostgreSQL ledger: each seed is watched by exactly one live agent, and each
 * path × seed of a tick is sent once, fleet-wide. PostgreSQL is the coordinator; there is no
 * cluster code of our own. Leases are rows with an expiry (the database's clock), not session
 * advisory locks, so the holder of each seed is visible (status page, /readyz) and a
 * hand-over can be gap-free:
 *
 *   every FLEET_TICK_MS each agent
 *     1. writes its heartbeat;
 *     2. reads the live agents (heartbeat younger than LEASE_MS) and assigns every seed to one
 *        of them by rendezvous hashing (the same answer on every agent);
 *     3. takes or renews the lease of each seed assigned to it, when that lease is its own,
 *        free or expired;
 *     4. yields the seeds it holds that are now someone else's: it expires their lease but
 *        keeps watching until the new owner has taken it (two watchers for a moment are
 *        harmless: the ledger records each copy once), then stops.
 *   An agent that dies stops renewing: its leases expire within LEASE_MS and the others take
 *   them at their next pass, so its seeds are watched again within LEASE_MS + FLEET_TICK_MS
 *   (+ a catch-up scan from the folder state in the ledger: nothing is lost meanwhile).
 *   An agent whose database is out of reach holds nothing and claims nothing until it is back.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import { assignSeeds, type Fleet, type FleetView, type PathSeed } from './fleet.js';

/** How often an agent heartbeats, renews and rebalances. Bounds a hand-over to about two of these. */
export const FLEET_TICK_MS = 5_000;
/** A lease (and an agent's liveness) lasts this long without renewal: failover ≤ LEASE_MS + FLEET_TICK_MS. */
export const LEASE_MS = 15_000;
/** Claims older than this are deleted (they only guard ticks in progress). */
const CLAIM_RETENTION_MS = 24 * 3_600_000;

/* Tables: fleet_agents, fleet_leases, fleet_claims (agent/ledger/postgres-migrations.ts, version 3). */

export interface PostgresFleetOptions {
  /** The Postgres ledger's pool: connected, and migrated (the fleet tables exist). */
  pool: pg.Pool;
  agent: string;
  seeds: readonly string[];
  log: Logger;
  tickMs?: number;
  leaseMs?: number;
}

export class PostgresFleet implements Fleet {
  readonly agent: string;
  private heldSeeds = new Set<string>();
  private ownedSeeds = new Set<string>();
  private listeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private lastProblem: string | null = 'not started';
  private lastView: FleetView;
  private liveAgents: readonly string[] = [];
  private stopped = false;
  private readonly tickMs: number;
  private readonly leaseMs: number;

  constructor(private readonly o: PostgresFleetOptions) {
    this.agent = o.agent;
    this.tickMs = o.tickMs ?? FLEET_TICK_MS;
    this.leaseMs = o.leaseMs ?? LEASE_MS;
    this.lastView = { mode: 'postgres', agent: o.agent, agents: [] };
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.pass();
    this.timer = setInterval(() => void this.pass(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.passing;
    // Leave cleanly: the others take our seeds at their next pass instead of after LEASE_MS.
    try {
      await this.o.pool.query(`DELETE FROM fleet_leases WHERE agent = $1`, [this.agent]);
      await this.o.pool.query(`DELETE FROM fleet_agents WHERE name = $1`, [this.agent]);
    } catch {
      /* the database is gone: the leases expire by themselves */
    }
    this.setHeld(new Set(), new Set());
  }

  held(): ReadonlySet<string> {
    return this.heldSeeds;
  }

  owned(): ReadonlySet<string> {
    return this.ownedSeeds;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  problem(): string | null {
    return this.lastProblem;
  }

  view(): FleetView {
    return this.lastView;
  }

  async claim(tickAtMs: number, path: string, seed: string): Promise<boolean> {
    if (this.lastProblem !== null) return false;
    try {
      const r = await this.o.pool.query(
        `INSERT INTO fleet_claims (tick_at, path, seed, agent) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
        [tickAtMs, path, seed, this.agent],
      );
      return r.rowCount === 1;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  async claimMany(tickAtMs: number, pairs: readonly PathSeed[]): Promise<PathSeed[]> {
    if (this.lastProblem !== null || pairs.length === 0) return [];
    try {
      const r = await this.o.pool.query<{ path: string; seed: string }>(
        `INSERT INTO fleet_claims (tick_at, path, seed, agent)
           SELECT $1, p, s, $4 FROM unnest($2::text[], $3::text[]) AS t(p, s)
         ON CONFLICT DO NOTHING RETURNING path, seed`,
        [tickAtMs, pairs.map((x) => x.path), pairs.map((x) => x.seed), this.agent],
      );
      return r.rows.map((x) => ({ path: x.path, seed: x.seed }));
    } catch (err) {
      this.fail(err);
      return [];
    }
  }

  live(): readonly string[] {
    return this.lastProblem === null ? this.liveAgents : [];
  }

  /** One heartbeat-and-rebalance pass; never overlaps itself, never rejects. */
  pass(): Promise<void> {
    if (this.passing || this.stopped) return this.passing ?? Promise.resolve();
    const run = this.passOnce().catch((err) => this.fail(err));
    this.passing = run.finally(() => {
      this.passing = null;
    });
    return this.passing;
  }

  private async passOnce(): Promise<void> {
    const { pool } = this.o;
    const me = this.agent;
    const lease = `${this.leaseMs} milliseconds`;
    await pool.query(
      `INSERT INTO fleet_agents (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET heartbeat_at = now()`,
      [me],
    );
    const live = (
      await pool.query<{ name: string }>(`SELECT name FROM fleet_agents WHERE heartbeat_at > now() - $1::interval ORDER BY name`, [lease])
    ).rows.map((r) => r.name);
    const alive = live.includes(me) ? live : [...live, me].sort();
    this.liveAgents = alive;
    const assignment = assignSeeds(this.o.seeds, alive);
    const mine = this.o.seeds.filter((s) => assignment.get(s) === me);
    // Take or renew what is ours when the lease is ours, free or expired.
    const taken = (
      await pool.query<{ seed: string }>(
        `INSERT INTO fleet_leases (seed, agent, expires_at)
           SELECT s, $2, now() + $3::interval FROM unnest($1::text[]) AS s
         ON CONFLICT (seed) DO UPDATE SET agent = excluded.agent, expires_at = excluded.expires_at
           WHERE fleet_leases.agent = excluded.agent OR fleet_leases.expires_at < now()
         RETURNING seed`,
        [mine, me, lease],
      )
    ).rows.map((r) => r.seed);
    // Yield what is someone else's now; keep watching it until they have taken it.
    const others = this.o.seeds.filter((s) => assignment.get(s) !== me);
    const stillMine = (
      await pool.query<{ seed: string }>(
        `UPDATE fleet_leases SET expires_at = LEAST(expires_at, now() - interval '1 millisecond')
         WHERE agent = $1 AND seed = ANY($2::text[]) RETURNING seed`,
        [me, others],
      )
    ).rows.map((r) => r.seed);
    const leases = (
      await pool.query<{ seed: string; agent: string; heartbeat_ms: string }>(
        `SELECT l.seed, l.agent, (extract(epoch from a.heartbeat_at) * 1000)::bigint AS heartbeat_ms
         FROM fleet_leases l JOIN fleet_agents a ON a.name = l.agent WHERE a.heartbeat_at > now() - $1::interval`,
        [lease],
      )
    ).rows;
    if (Math.random() < this.tickMs / 3_600_000) {
      await pool.query(`DELETE FROM fleet_claims WHERE tick_at < $1`, [Date.now() - CLAIM_RETENTION_MS]);
    }
    const agents = new Map<string, { heartbeatAtMs: number; seeds: string[] }>();
    for (const name of live) agents.set(name, { heartbeatAtMs: 0, seeds: [] });
    for (const l of leases) {
      const a = agents.get(l.agent) ?? { heartbeatAtMs: 0, seeds: [] };
      a.heartbeatAtMs = Number(l.heartbeat_ms);
      a.seeds.push(l.seed);
      agents.set(l.agent, a);
    }
    this.lastView = {
      mode: 'postgres',
      agent: me,
      agents: [...agents].map(([name, a]) => ({ name, heartbeatAtMs: a.heartbeatAtMs, seeds: a.seeds.sort() })),
    };
    if (this.lastProblem !== null) this.o.log.info({ agent: me }, 'fleet coordination working');
    this.lastProblem = null;
    this.setHeld(new Set([...taken, ...stillMine]), new Set(taken));
  }

  private fail(err: unknown): void {
    const message = `the fleet database is out of reach: ${(err as Error)?.message ?? String(err)}`;
    if (this.lastProblem !== message) this.o.log.error({ agent: this.agent, err: message }, 'fleet coordination failed: not watching, not sending until it is back');
    this.lastProblem = message;
    this.setHeld(new Set(), new Set());
  }

  private setHeld(next: Set<string>, owned: Set<string>): void {
    const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((s) => b.has(s));
    if (same(next, this.heldSeeds) && same(owned, this.ownedSeeds)) return;
    this.heldSeeds = next;
    this.ownedSeeds = owned;
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        /* listeners must not throw */
      }
    }
  }
}
