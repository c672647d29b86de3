/**
 * The fleet bench: what running several agents on one PostgreSQL costs. Two agents sharing
 * 1,000 seeds on one PostgreSQL ledger, against one agent with 500 seeds on its SQLite ledger
 * (the default set-up, whose targets the main bench tracks): the same share of seeds per agent,
 * the same schedule, the same Dovecot and relays (bench/harness.ts). Prints figures; asserts
 * nothing. Part of `npm run bench`, never of the timed tests.
 *
 *   node dist/bench/run.js --fleet [--seeds 1000] [--period 30] [--cycles 2] [--json FILE]
 *   (also: node dist/bench/fleet-bench.js ...)
 *
 * Every agent is the real daemon (`node bin/seedwatch.js run`) as a child process, so /proc
 * gives its own CPU and RSS. Per phase: start the agents, wait until every mailbox they hold is
 * up, wait until nothing is in progress (no cycle running, every probe seen), then measure a
 * window of `cycles` cycles per agent until nothing is in progress again. In the window:
 *   - per agent: CPU, peak RSS, IMAP sessions, probes it sent, first copies it recorded;
 *     CPU per 1,000 probes = CPU / ((sent + recorded) / 2): a probe is one send and one watch,
 *     and in a fleet these are often done by different agents;
 *   - detection delay: the relay's LMTP hand-over into Dovecot → first copy in the ledger;
 *   - PostgreSQL: CPU of the postmaster's process tree (its backends and workers, including
 *     reaped ones; the bench's own backend subtracted), statements the agents ran
 *     (pg_stat_statements, preloaded for this run; the agents connect as their own role so the
 *     bench's reads are left out), transactions and tuples written (pg_stat_database);
 *   - pairs sent twice: two probes of one path × seed less than half a period apart (each pair
 *     must be sent once per tick, fleet-wide).
 * The fleet's agents are announced (a heartbeat row each) before they start, so each takes its
 * own share at its first pass; from a cold start the first agent would hold every seed for one
 * lease pass (5 s) before yielding half (the fleet test covers hand-overs).
 *
 * Sized for 3–4 minutes; a busy machine stretches it (13.6 min measured with other work on its
 * two cores: docs/benchmark.md, "Fleet").
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { PostgresLedger } from '../agent/ledger/postgres-ledger.js';
import { freePort } from '../test/helpers/ports.js';
import { PG_BIN, startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { onProcessExit } from '../test/helpers/processes.js';
import {
  BENCH_PASSWORD,
  BIN,
  cpuSeconds,
  dovecotMasterPid,
  fmt,
  httpStatus,
  memoryMiB,
  PASSWORD_ENV,
  PATH_HEADER,
  percentile,
  readLedger,
  ROOT,
  sleep,
  startBenchEnv,
  tcpSessionsTo,
  treeCpuSeconds,
  waitUntil,
  type BenchEnv,
} from './harness.js';

export interface FleetBenchOptions {
  /** Seeds of the fleet (the single agent gets seeds / agents). */
  seeds: number;
  agents: number;
  /** Seconds between cycles (cron seconds field): longer than a cycle plus its detection. */
  periodS: number;
  /** Cycles per agent in the measured window. */
  cycles: number;
  log?: (s: string) => void;
}

export interface Stats {
  p50: number;
  p99: number;
  n: number;
}

export interface AgentFigures {
  name: string;
  seedsHeld: number;
  sessions: number;
  /** Spawn → /readyz 200 (every mailbox it holds up). */
  readyS: number;
  cycleS: number[];
  /** Probes it sent (accepted) in the window. */
  sent: number;
  /** First copies it recorded in the window. */
  recorded: number;
  cpuS: number;
  cpuSPer1000: number;
  peakRssMiB: number;
  rssMiB: number;
  /** Detection delay of the first copies it recorded. */
  detection: Stats;
}

export interface PhaseFigures {
  label: string;
  seeds: number;
  agents: AgentFigures[];
  windowS: number;
  probes: number;
  observed: number;
  misplaced: number;
  /** Path × seed pairs sent twice less than half a period apart. */
  sentTwice: number;
  overlaps: number;
  /** Sum of the agents' CPU per 1,000 probes. */
  cpuSPer1000: number;
  dovecotCpuSPer1000: number;
  inbox: Stats;
  junk: Stats;
}

export interface PostgresFigures {
  cpuS: number;
  cpuSharePercent: number;
  cpuSPer1000: number;
  /** null when pg_stat_statements could not be loaded. */
  statementsPerProbe: number | null;
  statementsByKind: { kind: string; perProbe: number }[];
  transactionsPerProbe: number;
  tuplesInsertedPerProbe: number;
  tuplesUpdatedPerProbe: number;
  tuplesDeletedPerProbe: number;
  connections: number;
  /** The agents' most frequent statements (JSON output only). */
  topStatements: { query: string; calls: number }[];
}

export interface FleetBenchResult {
  options: Omit<FleetBenchOptions, 'log'>;
  minutes: number;
  loadAverage: { start: number[]; end: number[] };
  single: PhaseFigures;
  fleet: PhaseFigures;
  postgres: PostgresFigures;
}

/** The env variable carrying the agents' database URL (a secret in the config: never in the file). */
const PG_URL_ENV = 'SEEDWATCH_BENCH_PG_URL';
/** The agents' database role: pg_stat_statements is read for it alone, leaving the bench's reads out. */
const AGENT_ROLE = 'seedwatch';
const DATABASE = 'fleetbench';
/**
 * Bounds the start-up of an agent until every mailbox it holds is up: ~10 s for 500 seeds on a
 * quiet machine, but minutes when other work shares its two cores (4.5 min measured).
 */
const READY_TIMEOUT_MS = 900_000;
/** Bounds waiting for in-progress work to settle (cycles finished, every probe seen). */
const QUIET_TIMEOUT_MS = 120_000;
/** Bounds stopping Dovecot and the relays at the end. */
const CLEANUP_BUDGET_MS = 30_000;
/** Polling of the ledgers while waiting: cheap queries, rarely enough not to load PostgreSQL. */
const POLL_MS = 500;

const ms = (x: number) => x / 1000;
const stats = (xs: number[]): Stats => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });

interface CycleRow {
  agent: string | null;
  startedAtMs: number;
  finishedAtMs: number | null;
  overlapped: boolean;
}
interface ProbeRow {
  id: string;
  path: string;
  status: string;
  agent: string | null;
  createdAtMs: number;
}
interface FirstCopy {
  observedAtMs: number;
  placement: string;
  agent: string | null;
}
interface LedgerSnapshot {
  cycles: CycleRow[];
  probes: ProbeRow[];
  firstCopies: Map<string, FirstCopy>;
}

/** What the bench reads from a ledger: SQLite (the single agent) or PostgreSQL (the fleet). */
type LedgerReader = () => Promise<LedgerSnapshot>;

function sqliteReader(file: string, agent: string): LedgerReader {
  return async () => {
    const l = readLedger(file);
    return {
      cycles: l.cycles.map((c) => ({ agent, startedAtMs: c.startedAtMs, finishedAtMs: c.finishedAtMs, overlapped: c.overlapped })),
      probes: l.probes.map((p) => ({ id: p.id, path: p.path, status: p.status, agent, createdAtMs: p.createdAtMs })),
      firstCopies: new Map([...l.firstSeen].map(([id, f]) => [id, { ...f, agent }])),
    };
  };
}

/** The bench's own connection to PostgreSQL (as the superuser), counting the statements it runs. */
interface BenchClient {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  statements: number;
  backendPid: number;
  end(): Promise<void>;
}

async function benchClient(url: string): Promise<BenchClient> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const c: BenchClient = {
    statements: 0,
    backendPid: 0,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      c.statements++;
      return (await client.query<R>(sql, params)).rows;
    },
    end: () => client.end(),
  };
  c.backendPid = Number((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0].pid);
  return c;
}

function postgresReader(db: BenchClient): LedgerReader {
  return async () => {
    // One statement: a consistent snapshot, and one entry in the bench's own count.
    const [r] = await db.query<{ cycles: CycleRow[] | null; probes: ProbeRow[] | null; copies: (FirstCopy & { id: string })[] | null }>(
      `SELECT
         (SELECT json_agg(json_build_object('agent', agent, 'startedAtMs', started_at, 'finishedAtMs', finished_at, 'overlapped', overlapped = 1)) FROM cycles) AS cycles,
         (SELECT json_agg(json_build_object('id', id, 'path', path, 'status', status, 'agent', agent, 'createdAtMs', created_at)) FROM probes) AS probes,
         (SELECT json_agg(json_build_object('id', probe_id, 'observedAtMs', observed_at, 'placement', placement, 'agent', agent)) FROM observations WHERE copy_number = 1) AS copies`,
    );
    return {
      cycles: r.cycles ?? [],
      probes: r.probes ?? [],
      firstCopies: new Map((r.copies ?? []).map((c) => [c.id, { observedAtMs: c.observedAtMs, placement: c.placement, agent: c.agent }])),
    };
  };
}

/** Nothing in progress: no cycle running, every accepted probe created since `fromMs` seen. */
function quiet(s: LedgerSnapshot, fromMs: number): boolean {
  if (s.cycles.some((c) => !c.overlapped && c.finishedAtMs === null)) return false;
  return s.probes.every((p) => p.createdAtMs < fromMs || p.status !== 'accepted' || s.firstCopies.has(p.id));
}

interface BenchAgent {
  name: string;
  pid: number;
  url: string;
  dir: string;
  spawnedAtMs: number;
  ledgerFile: string;
  output(): string;
  stop(): Promise<void>;
}

function configYaml(env: BenchEnv, o: { name: string; port: number; seeds: number; periodS: number; postgres: boolean }): string {
  const seeds = env.users
    .slice(0, o.seeds)
    .map(
      (u, i) => `  - name: seed-${i}
    address: ${u.user}
    provider: ${u.kind === 'gmail' ? 'gmail' : 'generic'}
    imap: { host: 127.0.0.1, port: ${env.dc.imapPort}, secure: false, user: ${u.user}, password: { env: ${PASSWORD_ENV} } }`,
    )
    .join('\n');
  const path = (name: string, port: number) => `  - name: ${name}
    smtp: { host: 127.0.0.1, port: ${port}, maxConnections: 4 }
    headers: { ${PATH_HEADER}: ${name} }`;
  // The main bench's settings (bench/harness.ts agentConfigYaml), plus the fleet keys.
  return `agent: { name: ${o.name} }
listen: 127.0.0.1:${o.port}
dataDir: ./data
${o.postgres ? `ledger: { postgres: { url: { env: ${PG_URL_ENV} } } }\n` : ''}schedule: "*/${o.periodS} * * * * *"
deadline: 5m
concurrency: 8
probe:
  from: "Deliverability Probe <probe@mail.bench.test>"
watch: { pollInterval: 30s, cleanup: trash }
paths:
${path('peering', env.peering.port)}
${path('transit', env.transit.port)}
seeds:
${seeds}
`;
}

async function spawnBenchAgent(env: BenchEnv, o: { name: string; seeds: number; periodS: number; pgUrl?: string }): Promise<BenchAgent> {
  const dir = mkdtempSync(join(tmpdir(), `seedwatch-fleet-bench-${o.name}-`));
  const port = await freePort();
  const file = join(dir, 'seedwatch.yaml');
  writeFileSync(file, configYaml(env, { name: o.name, port, seeds: o.seeds, periodS: o.periodS, postgres: o.pgUrl !== undefined }));
  const spawnedAtMs = Date.now();
  const child = spawn(process.execPath, [BIN, 'run', '--config', file], {
    cwd: ROOT,
    env: { ...process.env, [PASSWORD_ENV]: BENCH_PASSWORD, ...(o.pgUrl ? { [PG_URL_ENV]: o.pgUrl } : {}), SEEDWATCH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Killed with the bench, also when a signal ends it (the harness's servers go the same way).
  const unregister = onProcessExit(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    name: o.name,
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    dir,
    spawnedAtMs,
    ledgerFile: join(dir, 'data', 'ledger.sqlite'),
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      unregister();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Two probes of one path × seed mailbox less than half a period apart: sent twice for one tick.
 * The mailbox comes from the relays' record (the recipient of each probe they received).
 */
function sentTwice(env: BenchEnv, probes: ProbeRow[], periodS: number): number {
  const recipient = new Map<string, string>();
  for (const m of [...env.peering.messages, ...env.transit.messages]) {
    const id = m.headers['x-seedwatch-probe']?.[0];
    if (id) recipient.set(id, m.to.join(','));
  }
  const byPair = new Map<string, number[]>();
  for (const p of probes) {
    const k = `${p.path}\u0000${recipient.get(p.id) ?? p.id}`;
    byPair.set(k, [...(byPair.get(k) ?? []), p.createdAtMs]);
  }
  let n = 0;
  for (const times of byPair.values()) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) if (times[i] - times[i - 1] < (periodS * 1000) / 2) n++;
  }
  return n;
}

/** What an agent's /readyz says is missing, in a few words. */
async function notReady(a: BenchAgent): Promise<string> {
  try {
    const r = (await (await fetch(`${a.url}/readyz`)).json()) as { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
    if (r.ready) return 'ready';
    return Object.entries(r.checks)
      .filter(([, c]) => !c.ok)
      .map(([k, c]) => (k === 'mailboxes' ? `${(c.detail ?? '').split(',').length} mailboxes never connected` : `${k}: ${c.detail ?? ''}`))
      .join('; ');
  } catch {
    return 'HTTP not up';
  }
}

interface PhaseHooks {
  /** Before the window opens / after it closes: PostgreSQL's counters. */
  open?: () => Promise<void>;
  close?: () => Promise<void>;
  /** The seeds each agent holds (fleet: its leases). */
  held: (agent: string) => Promise<number>;
}

async function measurePhase(
  env: BenchEnv,
  label: string,
  seeds: number,
  agents: BenchAgent[],
  read: LedgerReader,
  o: FleetBenchOptions,
  hooks: PhaseHooks,
  log: (s: string) => void,
): Promise<PhaseFigures> {
  const dcPid = dovecotMasterPid(env.dc);
  const readyS = new Map<string, number>();
  // On a loaded machine start-up can take minutes: say how far it is every 30 s.
  const progress = setInterval(() => {
    void Promise.all(agents.map((a) => notReady(a))).then((r) => log(`  ${label}: waiting for ${r.map((x, i) => `${agents[i].name}: ${x}`).join(', ')}`));
  }, 30_000);
  try {
    await Promise.all(
      agents.map(async (a) => {
        await waitUntil(async () => (await httpStatus(`${a.url}/readyz`)) === 200, `${a.name}: every mailbox it holds up (/readyz 200)`, READY_TIMEOUT_MS, 100);
        readyS.set(a.name, ms(Date.now() - a.spawnedAtMs));
      }),
    );
  } finally {
    clearInterval(progress);
  }
  log(`  ${label}: ready after ${agents.map((a) => `${a.name} ${fmt(readyS.get(a.name)!)} s`).join(', ')}`);
  await sleep(1_000); // the last IDLEs settle
  const sessions = new Map(agents.map((a) => [a.name, tcpSessionsTo(a.pid, env.dc.imapPort)]));
  const held = new Map<string, number>();
  for (const a of agents) held.set(a.name, await hooks.held(a.name));

  await waitUntil(async () => quiet(await read(), 0), `${label}: nothing in progress before the window`, QUIET_TIMEOUT_MS, POLL_MS);
  const t0 = Date.now();
  const cpu0 = new Map(agents.map((a) => [a.name, cpuSeconds(a.pid)]));
  const dc0 = treeCpuSeconds(dcPid);
  await hooks.open?.();
  log(`  ${label}: window open; waiting for ${o.cycles} cycles per agent (every ${o.periodS} s)`);

  const cyclesDone = (s: LedgerSnapshot) =>
    agents.every((a) => s.cycles.filter((c) => c.agent === a.name && !c.overlapped && c.startedAtMs >= t0 && c.finishedAtMs !== null).length >= o.cycles);
  await waitUntil(async () => cyclesDone(await read()), `${label}: ${o.cycles} cycles per agent`, (o.cycles + 2) * o.periodS * 1000 + QUIET_TIMEOUT_MS, POLL_MS);
  await waitUntil(async () => quiet(await read(), t0), `${label}: every probe of the window seen`, QUIET_TIMEOUT_MS, POLL_MS).catch(() =>
    log(`  ${label}: (not every probe was seen within ${QUIET_TIMEOUT_MS / 1000} s; the unseen ones count as not observed)`),
  );
  const t1 = Date.now();
  const cpu1 = new Map(agents.map((a) => [a.name, cpuSeconds(a.pid)]));
  const dc1 = treeCpuSeconds(dcPid);
  await hooks.close?.();
  const mem = new Map(agents.map((a) => [a.name, memoryMiB(a.pid)]));

  const s = await read();
  const inWindow = s.probes.filter((p) => p.createdAtMs >= t0 && p.createdAtMs <= t1);
  const accepted = inWindow.filter((p) => p.status === 'accepted');
  const inbox: number[] = [];
  const junk: number[] = [];
  const delayBy = new Map<string, number[]>();
  let misplaced = 0;
  for (const p of accepted) {
    const seen = s.firstCopies.get(p.id);
    const arrival = env.arrivals.get(p.id);
    if (!seen || !arrival) continue;
    if (seen.placement !== (p.path === 'transit' ? 'spam' : 'inbox')) misplaced++;
    const d = ms(seen.observedAtMs - arrival.atMs);
    (seen.placement === 'spam' ? junk : inbox).push(d);
    const by = seen.agent ?? '';
    delayBy.set(by, [...(delayBy.get(by) ?? []), d]);
  }
  const windowCycles = s.cycles.filter((c) => c.startedAtMs >= t0 && c.startedAtMs <= t1);
  const figures: AgentFigures[] = agents.map((a) => {
    const sent = accepted.filter((p) => p.agent === a.name).length;
    const recorded = accepted.filter((p) => s.firstCopies.get(p.id)?.agent === a.name).length;
    const cpuS = cpu1.get(a.name)! - cpu0.get(a.name)!;
    return {
      name: a.name,
      seedsHeld: held.get(a.name)!,
      sessions: sessions.get(a.name)!,
      readyS: readyS.get(a.name)!,
      cycleS: windowCycles.filter((c) => c.agent === a.name && !c.overlapped && c.finishedAtMs !== null).map((c) => ms(c.finishedAtMs! - c.startedAtMs)),
      sent,
      recorded,
      cpuS,
      cpuSPer1000: (cpuS / Math.max(1, (sent + recorded) / 2)) * 1000,
      peakRssMiB: mem.get(a.name)!.peak,
      rssMiB: mem.get(a.name)!.rss,
      detection: stats(delayBy.get(a.name) ?? []),
    };
  });
  const totalCpu = figures.reduce((t, f) => t + f.cpuS, 0);
  return {
    label,
    seeds,
    agents: figures,
    windowS: ms(t1 - t0),
    probes: accepted.length,
    observed: accepted.filter((p) => s.firstCopies.has(p.id)).length,
    misplaced,
    sentTwice: sentTwice(env, accepted, o.periodS),
    overlaps: windowCycles.filter((c) => c.overlapped).length,
    cpuSPer1000: (totalCpu / Math.max(1, accepted.length)) * 1000,
    dovecotCpuSPer1000: ((dc1 - dc0) / Math.max(1, accepted.length)) * 1000,
    inbox: stats(inbox),
    junk: stats(junk),
  };
}

/** The postmaster's pid, from the data directory of the test harness's cluster. */
function postmasterPid(server: PostgresServer): number {
  const file = join(server.dir, 'pg', 'data', 'postmaster.pid');
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

/** Sorts a statement (pg_stat_statements' normalised text) into what it is for. */
function statementKind(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim().toLowerCase();
  if (/^(begin|commit|rollback)\b/.test(q)) return 'BEGIN / COMMIT';
  if (q.includes('insert into fleet_claims')) return 'claims (one per path × seed per agent per tick)';
  if (/fleet_agents|fleet_leases|fleet_claims/.test(q)) return 'heartbeats and leases';
  if (/^insert into probes|^update probes set send_started_at|^update probes set status/.test(q)) return 'sends (insert, send started, result)';
  if (q.includes('deadline_at <') && q.includes('for update')) return 'deadlines (per watched seed every 10 s)';
  if (/observations|for update|^update probes set copies/.test(q)) return 'copies (one transaction each)';
  if (q.includes('folder_state')) return 'folder state';
  if (/cycles/.test(q)) return 'cycles';
  return 'other';
}

const STATS_COLUMNS = ['xact_commit', 'xact_rollback', 'tup_inserted', 'tup_updated', 'tup_deleted'] as const;
type DbStats = Record<(typeof STATS_COLUMNS)[number], number>;

export async function runFleetBench(o: FleetBenchOptions): Promise<FleetBenchResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const started = Date.now();
  const loadStart = loadavg();
  const perAgent = Math.round(o.seeds / o.agents);
  log(`fleet bench: Dovecot with ${o.seeds} seeds, PostgreSQL 15`);
  const [env, server] = await Promise.all([startBenchEnv(o.seeds), startPostgres()]);
  let db: BenchClient | null = null;
  try {
    // pg_stat_statements counts every statement the agents run; it must be preloaded, which
    // the test harness's cluster is not: set it and restart (ALTER SYSTEM writes
    // postgresql.auto.conf, read at start).
    const statementsAvailable = existsSync(join(PG_BIN, '..', 'lib', 'pg_stat_statements.so'));
    if (statementsAvailable) {
      await server.query('postgres', `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
      await server.stop();
      await server.start();
    }
    await server.query('postgres', `CREATE ROLE ${AGENT_ROLE} LOGIN`);
    await server.query('postgres', `CREATE DATABASE ${DATABASE} OWNER ${AGENT_ROLE}`);
    if (statementsAvailable) await server.query(DATABASE, 'CREATE EXTENSION pg_stat_statements');
    const agentUrl = `postgres://${AGENT_ROLE}@127.0.0.1:${server.port}/${DATABASE}`;
    // The schema, as the agents' role (the first agent would create it the same way).
    await (await PostgresLedger.open({ url: agentUrl })).close();
    db = await benchClient(server.url(DATABASE));
    const bench = db;
    log(`  Dovecot up in ${fmt(ms(env.dovecotStartMs))} s; PostgreSQL on 127.0.0.1:${server.port}${statementsAvailable ? ' with pg_stat_statements' : ' (pg_stat_statements not installed: statement counts left out)'}`);

    // 1. One agent, its share of the seeds, SQLite (the default).
    log(`single: 1 agent, ${perAgent} seeds, SQLite ledger`);
    const solo = await spawnBenchAgent(env, { name: 'solo', seeds: perAgent, periodS: o.periodS });
    let single: PhaseFigures;
    try {
      single = await measurePhase(env, 'single', perAgent, [solo], sqliteReader(solo.ledgerFile, 'solo'), o, { held: async () => perAgent }, log);
    } catch (err) {
      log(solo.output().slice(-4000));
      log(`single phase failed: ${(err as Error).message}`);
      throw err;
    } finally {
      await solo.stop();
    }

    // 2. The fleet: every seed, one PostgreSQL.
    const names = Array.from({ length: o.agents }, (_, i) => `agent-${String.fromCharCode(97 + i)}`);
    log(`fleet: ${o.agents} agents (${names.join(', ')}), ${o.seeds} seeds, one PostgreSQL`);
    await bench.query(`INSERT INTO fleet_agents (name) SELECT unnest($1::text[])`, [names]);
    // Keep announcing the agents that have not made their first pass yet (one holding a lease
    // has), so that none sees itself alone and takes every seed, however slow the start.
    const announcing = setInterval(() => {
      void bench
        .query(`UPDATE fleet_agents SET heartbeat_at = now() WHERE name = ANY($1::text[]) AND name NOT IN (SELECT agent FROM fleet_leases)`, [names])
        .catch(() => undefined);
    }, 2_000);
    const fleetAgents: BenchAgent[] = [];
    const pgPid = postmasterPid(server);
    let pg0 = 0;
    let pg1 = 0;
    let benchBackend0 = 0;
    let benchStatements0 = 0;
    let benchStatements = 0;
    let s0: DbStats | null = null;
    let s1: DbStats | null = null;
    let statements: { query: string; calls: number }[] = [];
    let connections = 0;
    const dbStats = async (): Promise<DbStats> => {
      const [r] = await bench.query<Record<string, string>>(`SELECT ${STATS_COLUMNS.join(', ')} FROM pg_stat_database WHERE datname = $1`, [DATABASE]);
      return Object.fromEntries(STATS_COLUMNS.map((c) => [c, Number(r[c])])) as DbStats;
    };
    let fleet: PhaseFigures;
    try {
      for (const name of names) fleetAgents.push(await spawnBenchAgent(env, { name, seeds: o.seeds, periodS: o.periodS, pgUrl: agentUrl }));
      fleet = await measurePhase(
        env,
        'fleet',
        o.seeds,
        fleetAgents,
        postgresReader(bench),
        o,
        {
          held: async (agent) =>
            Number((await bench.query<{ n: string }>(`SELECT COUNT(*) AS n FROM fleet_leases WHERE agent = $1 AND expires_at > now()`, [agent]))[0].n),
          open: async () => {
            clearInterval(announcing);
            if (statementsAvailable) await bench.query('SELECT pg_stat_statements_reset()');
            s0 = await dbStats();
            pg0 = treeCpuSeconds(pgPid);
            benchBackend0 = cpuSeconds(bench.backendPid);
            benchStatements0 = bench.statements;
          },
          close: async () => {
            pg1 = treeCpuSeconds(pgPid) - (cpuSeconds(bench.backendPid) - benchBackend0);
            benchStatements = bench.statements - benchStatements0;
            if (statementsAvailable) {
              statements = (
                await bench.query<{ query: string; calls: string }>(
                  `SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                   JOIN pg_database d ON d.oid = s.dbid WHERE r.rolname = $1 AND d.datname = $2`,
                  [AGENT_ROLE, DATABASE],
                )
              ).map((r) => ({ query: r.query, calls: Number(r.calls) }));
            }
            // Backends report their counters at most once a second: give them that second.
            await sleep(1_500);
            s1 = await dbStats();
            connections = Number((await bench.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE usename = $1`, [AGENT_ROLE]))[0].n);
          },
        },
        log,
      );
    } catch (err) {
      for (const a of fleetAgents) log(`--- ${a.name}\n${a.output().slice(-3000)}`);
      log(`fleet phase failed: ${(err as Error).message}`);
      throw err;
    } finally {
      clearInterval(announcing);
      await Promise.all(fleetAgents.map((a) => a.stop()));
    }

    const probes = Math.max(1, fleet.probes);
    const byKind = new Map<string, number>();
    for (const st of statements) byKind.set(statementKind(st.query), (byKind.get(statementKind(st.query)) ?? 0) + st.calls);
    const total = [...byKind.values()].reduce((a, b) => a + b, 0);
    const a0 = s0 as DbStats | null;
    const a1 = s1 as DbStats | null;
    const delta = (k: keyof DbStats) => (a0 && a1 ? a1[k] - a0[k] : NaN);
    const postgres: PostgresFigures = {
      cpuS: pg1 - pg0,
      cpuSharePercent: ((pg1 - pg0) / fleet.windowS) * 100,
      cpuSPer1000: ((pg1 - pg0) / probes) * 1000,
      statementsPerProbe: statementsAvailable ? total / probes : null,
      statementsByKind: [...byKind].sort((a, b) => b[1] - a[1]).map(([kind, calls]) => ({ kind, perProbe: calls / probes })),
      // Each of the bench's own statements is one transaction of its own: taken out.
      transactionsPerProbe: (delta('xact_commit') + delta('xact_rollback') - benchStatements) / probes,
      tuplesInsertedPerProbe: delta('tup_inserted') / probes,
      tuplesUpdatedPerProbe: delta('tup_updated') / probes,
      tuplesDeletedPerProbe: delta('tup_deleted') / probes,
      connections,
      topStatements: [...statements].sort((a, b) => b.calls - a.calls).slice(0, 25).map((st) => ({ query: st.query.replace(/\s+/g, ' ').slice(0, 160), calls: st.calls })),
    };
    return {
      options: { seeds: o.seeds, agents: o.agents, periodS: o.periodS, cycles: o.cycles },
      minutes: (Date.now() - started) / 60_000,
      loadAverage: { start: loadStart, end: loadavg() },
      single,
      fleet,
      postgres,
    };
  } finally {
    await db?.end().catch(() => undefined);
    // Bounded: after a failure a relay can wait for connections that never close, and a
    // promise nothing keeps alive would end the process (exit 13) before the error is shown.
    await Promise.race([env.stop(), sleep(CLEANUP_BUDGET_MS)]);
    await server.destroy();
  }
}

export function fleetTable(r: FleetBenchResult): string {
  const s = r.single;
  const f = r.fleet;
  const solo = s.agents[0];
  const cols = [`1 agent, ${s.seeds} seeds (SQLite)`, ...f.agents.map((a) => `fleet: ${a.name}`), `fleet: ${f.agents.length} agents, ${f.seeds} seeds`];
  const dash = '–';
  const perAgent = (fn: (a: AgentFigures) => string, whole: (p: PhaseFigures) => string = () => dash): string[] => [fn(solo), ...f.agents.map(fn), whole(f)];
  const p5099 = (x: Stats) => `${fmt(x.p50)} / ${fmt(x.p99)}`;
  const rows: [string, string[]][] = [
    ['seeds held / IMAP sessions', perAgent((a) => `${a.seedsHeld} / ${a.sessions}`, (p) => `${p.agents.reduce((t, a) => t + a.seedsHeld, 0)} / ${p.agents.reduce((t, a) => t + a.sessions, 0)}`)],
    ['start-up until every held mailbox is up, s', perAgent((a) => fmt(a.readyS))],
    ['cycles in the window, duration each, s', perAgent((a) => a.cycleS.map((c) => fmt(c, 1)).join(' / '))],
    ['probes sent (accepted) / first copies recorded', perAgent((a) => `${a.sent} / ${a.recorded}`, (p) => `${p.probes} / ${p.observed}`)],
    ['CPU in the window, s', perAgent((a) => fmt(a.cpuS, 1), (p) => fmt(p.agents.reduce((t, a) => t + a.cpuS, 0), 1))],
    ['CPU in the window, share of one core', perAgent((a) => `${fmt((a.cpuS / (a.name === solo.name ? s.windowS : f.windowS)) * 100, 1)} %`)],
    ['**CPU per 1,000 probes, s** (agent: per (sent + recorded) / 2)', perAgent((a) => fmt(a.cpuSPer1000), (p) => `${fmt(p.cpuSPer1000)} (all agents)`)],
    ['peak RSS (VmHWM) / RSS at the end, MiB', perAgent((a) => `${fmt(a.peakRssMiB, 0)} / ${fmt(a.rssMiB, 0)}`)],
    ['**detection delay p50 / p99, s** (copies it recorded)', perAgent((a) => p5099(a.detection))],
    ['detection delay inbox p50 / p99, s', [p5099(s.inbox), ...f.agents.map(() => dash), p5099(f.inbox)]],
    ['detection delay junk p50 / p99, s', [p5099(s.junk), ...f.agents.map(() => dash), p5099(f.junk)]],
    ['probes observed / accepted (misplaced)', [`${s.observed} / ${s.probes} (${s.misplaced})`, ...f.agents.map(() => dash), `${f.observed} / ${f.probes} (${f.misplaced})`]],
    ['path × seed pairs sent twice in one tick (relays\u2019 record)', [String(s.sentTwice), ...f.agents.map(() => dash), String(f.sentTwice)]],
    ['ticks skipped (cycle overlaps)', [String(s.overlaps), ...f.agents.map(() => dash), String(f.overlaps)]],
    ['Dovecot CPU per 1,000 probes, s', [fmt(s.dovecotCpuSPer1000), ...f.agents.map(() => dash), fmt(f.dovecotCpuSPer1000)]],
    ['window, s', [fmt(s.windowS, 0), ...f.agents.map(() => dash), fmt(f.windowS, 0)]],
  ];
  const head = `| | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:').join('|')}|`;
  const main = [head, ...rows.map(([label, v]) => `| ${label} | ${v.join(' | ')} |`)].join('\n');
  const p = r.postgres;
  const pgRows: [string, string][] = [
    ['CPU in the window, s (share of one core)', `${fmt(p.cpuS, 1)} (${fmt(p.cpuSharePercent, 1)} %)`],
    ['**CPU per 1,000 probes, s**', fmt(p.cpuSPer1000)],
    ['**statements per probe** (pg_stat_statements, the agents\u2019 role)', p.statementsPerProbe === null ? 'n/a' : fmt(p.statementsPerProbe, 1)],
    ...p.statementsByKind.map((k): [string, string] => [`\u2003${k.kind}`, fmt(k.perProbe, 2)]),
    ['transactions per probe (pg_stat_database xact_commit + xact_rollback)', fmt(p.transactionsPerProbe, 1)],
    ['tuples inserted / updated / deleted per probe (pg_stat_database)', `${fmt(p.tuplesInsertedPerProbe, 1)} / ${fmt(p.tuplesUpdatedPerProbe, 1)} / ${fmt(p.tuplesDeletedPerProbe, 1)}`],
    ['connections held by the agents', String(p.connections)],
  ];
  const pgTable = ['| PostgreSQL, fleet window | |', '|---|---:|', ...pgRows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
  const la = (x: number[]) => x.map((v) => fmt(v, 2)).join(' ');
  return `${main}\n\n${pgTable}\n\nrun: ${fmt(r.minutes, 1)} min; cycle every ${r.options.periodS} s, ${r.options.cycles} per agent measured; load average (1/5/15 min) at start ${la(r.loadAverage.start)}, at end ${la(r.loadAverage.end)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (n: string) => {
    const i = process.argv.indexOf(n);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const r = await runFleetBench({ seeds: Number(arg('--seeds') ?? 1000), agents: 2, periodS: Number(arg('--period') ?? 30), cycles: Number(arg('--cycles') ?? 2) });
  process.stdout.write(fleetTable(r) + '\n');
  if (arg('--json')) writeFileSync(arg('--json')!, JSON.stringify(r, null, 2));
  process.exit(0);
}
