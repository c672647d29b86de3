/**
 * Which seeds this agent watches and which path × seed it sends at a tick. One agent alone
 * (the SQLite default) holds every seed and sends everything (`soloFleet`); agents sharing a
 * PostgreSQL ledger coordinate through it (`postgres-fleet.ts`).
 */
import type { Clock } from '../clock.js';

export interface FleetAgent {
  name: string;
  /** Last heartbeat, epoch ms (the database's clock). */
  heartbeatAtMs: number;
  /** Seeds whose lease it holds. */
  seeds: string[];
}

export interface FleetView {
  mode: 'solo' | 'postgres';
  /** This agent's name. */
  agent: string;
  /** Agents alive (heartbeat within the lease time), with the seeds each holds. */
  agents: FleetAgent[];
}

export interface PathSeed {
  path: string;
  seed: string;
}

export interface Fleet {
  readonly agent: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The seeds this agent watches now (its own, and those it is handing over). */
  held(): ReadonlySet<string>;
  /** The seeds this agent owns (holds the lease of): it exports their mailbox state, no one else. */
  owned(): ReadonlySet<string>;
  /** `listener` runs whenever held() changes. */
  onChange(listener: () => void): void;
  /**
   * Claim one path × seed of the tick scheduled at `tickAtMs`: true when this agent is the one
   * that sends it (each pair is sent once per tick, fleet-wide), false otherwise.
   */
  claim(tickAtMs: number, path: string, seed: string): Promise<boolean>;
  /**
   * Claim several pairs of a tick in one round trip; returns those this agent won (the rest
   * were claimed already, by it or another agent). Empty while the database is out of reach.
   */
  claimMany(tickAtMs: number, pairs: readonly PathSeed[]): Promise<PathSeed[]>;
  /** The names of the live agents as of the last coordination pass (this one included); empty while out of reach. */
  live(): readonly string[];
  /** Why this agent can neither watch nor send now (its database is out of reach), or null. */
  problem(): string | null;
  view(): FleetView;
}

/** One agent, no coordination: every seed is ours, every claim succeeds. Its heartbeat is now, on the agent's clock. */
export function soloFleet(agent: string, seeds: readonly string[], clock: Clock): Fleet {
  const all = new Set(seeds);
  return {
    agent,
    async start() {},
    async stop() {},
    held: () => all,
    owned: () => all,
    onChange() {},
    claim: async () => true,
    claimMany: async (_tick, pairs) => [...pairs],
    live: () => [agent],
    problem: () => null,
    view: () => ({ mode: 'solo', agent, agents: [{ name: agent, heartbeatAtMs: clock.nowMs(), seeds: [...all] }] }),
  };
}

/**
 * Rendezvous (highest random weight) hashing: each seed goes to the live agent with the highest
 * hash of (seed, agent). Even spread, and when an agent joins or leaves only the seeds it wins
 * or held move. Pure.
 */
export function assignSeeds(seeds: readonly string[], agents: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (agents.length === 0) return out;
  for (const seed of seeds) {
    let best = agents[0];
    let bestWeight = -1;
    for (const a of agents) {
      const w = fnv1a(`${seed}\u0000${a}`);
      if (w > bestWeight || (w === bestWeight && a < best)) {
        best = a;
        bestWeight = w;
      }
    }
    out.set(seed, best);
  }
  return out;
}

/**
 * Which agent sends a path × seed at a scheduled tick: rendezvous hashing of the pair over
 * `candidates` (the live agents that may use the path), the same answer on every agent that
 * sees the same live set. Each agent sends its own pairs (a claim each, so a disagreement
 * between two agents' views still sends a pair once) and, late in the tick, claims the rest in
 * one statement: what an agent that died mid-cycle left unsent goes out then. So a tick costs
 * one claim per probe instead of one per probe per agent. Null without candidates. Pure.
 */
export function preferredSender(path: string, seed: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1;
  for (const a of candidates) {
    const w = fnv1a(`${path}\u0000${seed}\u0000${a}`);
    if (w > bestWeight || (w === bestWeight && best !== null && a < best)) {
      best = a;
      bestWeight = w;
    }
  }
  return best;
}

/** 32-bit FNV-1a, then a murmur3 finalizer so close strings spread. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
