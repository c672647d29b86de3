import type { Clock } from '../clock.js';
import { secretResolver, type Config, type SecretResolver, type SeedConfig } from '../config/load-config.js';
import type { SecretValue } from '../config/secret.js';
import type { AgentEvents } from '../events.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ProbeStatus } from '../domain/vocabulary.js';
import type { Logger } from '../log.js';
import type { ProbeIdFactory } from '../probe-id.js';
import type { ProbePath } from './probe-path.js';
import { sendProbe, type ProbeAttempt } from './send-probe.js';

export { createPaths, closePaths } from './create-paths.js';

export interface RunCycleOptions {
  config: Config;
  /** From createPaths(config, …); the caller owns them (closes them). */
  paths: ProbePath[];
  ledger: Ledger;
  clock: Clock;
  events: AgentEvents;
  logger: Logger;
  idFactory: ProbeIdFactory;
  /** The scheduler's cycle id (the ledger's cycles row); a new id when absent. */
  cycleId?: string;
  /** Defaults to config.seeds. */
  seeds?: Pick<SeedConfig, 'name' | 'address' | 'provider'>[];
  /** Resolves probe.dkim.privateKey; defaults to the config's resolver (env + files). */
  resolveSecret?: SecretResolver;
  /**
   * Fleet mode: asked before each path × seed; only a claim this agent wins is sent (each pair
   * once per tick, fleet-wide). Absent: everything is sent.
   */
  claim?: (path: string, seed: string) => Promise<boolean>;
  /** Only the pairs this says yes to (fleet mode: this agent's share of a tick). Absent: every pair. */
  only?: (path: string, seed: string) => boolean;
  /**
   * Scheduled cycles (the scheduler's CyclePace): the sends are spread until `sendUntilMs`
   * (epoch ms on `clock`), each probe at a random moment of its own equal share of the window,
   * instead of one burst at the tick — a burst of 1,000 probes makes the provider, the relays
   * and the watchers take them all at once, and detection waits in their queues. `signal`
   * aborts (the agent stops): probes not started yet are not sent; those in flight finish.
   * Absent, or a window already over: everything at once.
   */
  pace?: { sendUntilMs: number; signal?: AbortSignal };
  /** Waits before a paced send (tests); default a timer that the pace's signal cuts short. */
  sleep?: (ms: number) => Promise<void>;
  /** Where in its share of the window each probe goes (tests); default Math.random. */
  random?: () => number;
}

export interface PathCounts {
  total: number;
  accepted: number;
  failed: number;
  ambiguous: number;
  /** Not sent at all: bad template, broken path, ledger refused. */
  notSent: number;
}

export interface CycleResult {
  cycleId: string;
  startedAtMs: number;
  finishedAtMs: number;
  probes: ProbeAttempt[];
  byPath: Record<string, PathCounts>;
}

/**
 * One cycle: every path × every seed, at most `config.concurrency` sends in flight, spread over
 * the pace's window when there is one. Jobs are interleaved seed by seed so every path
 * progresses at once; a broken path (bad template, unreachable relay, TLS failure) produces its
 * own failures and delays no other path beyond the slots it occupies.
 */
export async function runCycle(opts: RunCycleOptions): Promise<CycleResult> {
  const { config, paths, clock, logger } = opts;
  const seeds = opts.seeds ?? config.seeds;
  const startedAtMs = clock.nowMs();
  const cycleId = opts.cycleId ?? opts.idFactory(startedAtMs);

  let dkimPrivateKey: SecretValue | undefined;
  let dkimError: string | undefined;
  if (config.probe.dkim) {
    try {
      dkimPrivateKey = (opts.resolveSecret ?? secretResolver(config))(config.probe.dkim.privateKey, 'probe.dkim.privateKey');
    } catch (err) {
      dkimError = (err as Error).message;
    }
  }

  const jobs: (() => Promise<ProbeAttempt | null>)[] = [];
  for (const seed of seeds) {
    for (const path of paths) {
      if (opts.only && !opts.only(path.name, seed.name)) continue;
      const pathIndex = config.paths.findIndex((p) => p.name === path.name);
      const pathHeaders = config.paths[pathIndex]?.headers ?? {};
      jobs.push(async () =>
        opts.claim && !(await opts.claim(path.name, seed.name))
          ? null
          : sendProbe({
          path,
          pathIndex,
          pathHeaders,
          seed,
          probe: config.probe,
          deadlineMs: config.deadline,
          ledger: opts.ledger,
          clock,
          events: opts.events,
          logger,
          idFactory: opts.idFactory,
          cycleId,
          agent: config.agent.name,
          ...(dkimPrivateKey ? { dkimPrivateKey } : {}),
          ...(dkimError ? { dkimError } : {}),
        }),
      );
    }
  }

  // Paced: job i is due at a random moment of the i-th of jobs.length equal shares of the window
  // (stratified, so the send rate is even and no two probes of a seed go out together).
  const signal = opts.pace?.signal;
  const windowMs = opts.pace ? Math.max(0, opts.pace.sendUntilMs - startedAtMs) : 0;
  const shareMs = jobs.length > 0 ? windowMs / jobs.length : 0;
  const random = opts.random ?? Math.random;
  const due = shareMs > 0 ? jobs.map((_, i) => startedAtMs + shareMs * (i + random())) : null;
  const sleep = opts.sleep ?? ((ms: number) => abortableSleep(ms, signal));

  const attempts: (ProbeAttempt | null)[] = new Array<ProbeAttempt | null>(jobs.length).fill(null);
  let next = 0;
  let dropped = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      if (due) {
        const wait = due[i] - clock.nowMs();
        if (wait > 0 && !signal?.aborted) await sleep(wait);
      }
      if (signal?.aborted) {
        dropped++;
        continue;
      }
      attempts[i] = await jobs[i]();
    }
  };
  const width = Math.max(1, Math.min(config.concurrency, jobs.length));
  await Promise.all(Array.from({ length: width }, worker));

  // Pairs another agent claimed are not ours: they are in its cycle, not this one. Pairs not
  // sent because the agent stopped are in no cycle.
  const probes = attempts.filter((a): a is ProbeAttempt => a !== null);
  const byPath: Record<string, PathCounts> = {};
  for (const p of paths) byPath[p.name] = emptyCounts();
  for (const a of probes) {
    const c = (byPath[a.path] ??= emptyCounts());
    c.total += 1;
    const status: ProbeStatus | null = a.row?.status ?? null;
    if (status === 'accepted') c.accepted += 1;
    else if (status === 'failed') c.failed += 1;
    else if (status === 'ambiguous') c.ambiguous += 1;
    else c.notSent += 1;
  }
  const finishedAtMs = clock.nowMs();
  logger.info({ cycleId, byPath, durationMs: finishedAtMs - startedAtMs, spreadMs: Math.round(windowMs), ...(dropped > 0 ? { notSentStopping: dropped } : {}) }, 'probe cycle finished');
  return { cycleId, startedAtMs, finishedAtMs, probes, byPath };
}

/** setTimeout that an abort signal ends early (at once when it is already aborted or `ms` ≤ 0). */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function emptyCounts(): PathCounts {
  return { total: 0, accepted: 0, failed: 0, ambiguous: 0, notSent: 0 };
}

/** One cycle's result from two runs in the same tick (a fleet agent's own share, then the pairs it swept up). */
export function mergeCycleResults(a: CycleResult, b: CycleResult): CycleResult {
  const byPath: Record<string, PathCounts> = {};
  for (const [name, c] of [...Object.entries(a.byPath), ...Object.entries(b.byPath)]) {
    const t = (byPath[name] ??= emptyCounts());
    t.total += c.total;
    t.accepted += c.accepted;
    t.failed += c.failed;
    t.ambiguous += c.ambiguous;
    t.notSent += c.notSent;
  }
  return { cycleId: a.cycleId, startedAtMs: a.startedAtMs, finishedAtMs: b.finishedAtMs, probes: [...a.probes, ...b.probes], byPath };
}
