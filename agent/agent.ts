/**
 * The composition root: the one place that builds the ledger, the OAuth2 token store, the
 * paths, watchers, reconciler, metrics, HTTP, pages, scheduler and mailer, for every mode:
 * the daemon and `probe` and `demo` (startAgent), `probe --send-only` (sendOnce), `check`'s
 * live part (connectivity) and `report` (openReadOnlyLedger). Every module gets its
 * collaborators from here; the CLI only parses arguments and prints.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from './clock.js';
import { checkSecrets, ConfigError, secretResolver, type Config, type SecretResolver } from './config/load-config.js';
import { fanOut, noopEvents, type AgentEvents } from './events.js';
import { createApp, listen, type Readiness, type ReloadResult } from './http/server.js';
import type { Ledger } from './ledger/ledger.js';
import { ledgerPath } from './ledger/sqlite-ledger.js';
import { migrateLedgerToPostgres, openLedger, type LedgerMigration } from './ledger/open-ledger.js';
import type { CopyProgress } from './ledger/copy-ledger.js';

export { ledgerPath };
import { createLogger, silentLogger, type Logger } from './log.js';
import { Metrics, type ReloadState } from './metrics/metrics.js';
import { OAuth2Tokens } from './auth/oauth2-tokens.js';
import { deviceCodeFlow } from './auth/device-code-flow.js';
import { loopbackFlow } from './auth/loopback-flow.js';
import { expandTokenUrl } from './auth/oauth2-credentials.js';
import type { FetchLike, TokenResponse } from './auth/token-endpoint.js';
import type { ProviderPreset } from './config/preset.js';
import type { SecretValue } from './config/secret.js';
import { createProbeIdFactory } from './probe-id.js';
import { Scheduler, type CyclePace } from './schedule/scheduler.js';
import { abortableSleep, closePaths, createPaths, mergeCycleResults, runCycle, type CycleResult } from './send/run-cycle.js';
import type { ProbePath } from './send/probe-path.js';
import { Reconciler } from './watch/reconciler.js';
import { lockDataDir } from './fleet/data-dir-lock.js';
import { preferredSender, soloFleet, type Fleet, type PathSeed } from './fleet/fleet.js';
import { PostgresFleet } from './fleet/postgres-fleet.js';
import { PostgresLedger } from './ledger/postgres-ledger.js';
import { WeeklyMailer } from './report/weekly-mailer.js';
import { watchAll, type WatchAll } from './watch/watch-all.js';
import { LoginGate } from './watch/login-gate.js';
import type { MailboxHealth } from './watch/mailbox-watcher.js';
import { mountPages } from './pages/mount-pages.js';
import { verifyPath } from './send/verify-path.js';
import { inspectSeed, type SeedInspection } from './watch/inspect-seed.js';
import { join } from 'node:path';
import { AccessTokenSource } from './auth/access-token-source.js';
import { LedgerRefreshTokenStore, STORE_KEY_FILE } from './auth/refresh-token-store.js';
import { ReputationMetrics } from './reputation/reputation-metrics.js';
import { ReputationMonitor } from './reputation/reputation-monitor.js';
import { postmasterCredentials } from './reputation/postmaster.js';

/** Shutdown must finish within this (SIGTERM → exit); what is not done by then is abandoned. */
export const SHUTDOWN_BUDGET_MS = 9_000;

export interface AgentOptions {
  config: Config;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  clock?: Clock;
  /** Run cycles on config.schedule (default true; `probe` drives one cycle itself). */
  schedule?: boolean;
  /** Serve HTTP on config.listen (default true). */
  http?: boolean;
  /** Extra listeners (e.g. `probe`'s live progress). */
  events?: Partial<AgentEvents>;
  /** Serve the status page and the weekly report (default false: only /metrics, health, API). */
  pages?: boolean;
  /** The daemon's reload state (shared across reloads) and how to reload (POST /-/reload). */
  reloadState?: ReloadState;
  reload?: () => Promise<ReloadResult>;
  /** Ledger file; default <dataDir>/ledger.sqlite. */
  ledgerFile?: string;
  /** How often deadlines are checked (default RECONCILE_INTERVAL_MS; tests shorten it). */
  reconcileIntervalMs?: number;
}

export interface Agent {
  config: Config;
  ledger: Ledger;
  metrics: Metrics;
  watchers: WatchAll;
  paths: ProbePath[];
  /** http://host:port of the HTTP server, or '' without HTTP. */
  url: string;
  readiness(): Readiness;
  mailboxes(): MailboxHealth[];
  /** The weekly report e-mailer, when `report.email` is configured. */
  mailer: WeeklyMailer | null;
  /** The reputation sources (DNSBL, DNS hygiene, SNDS, Postmaster), when `reputation` is configured and the agent schedules. */
  reputation: ReputationMonitor | null;
  /** One cycle now (outside the schedule), sharing the no-overlap guard. */
  runCycleNow(): Promise<CycleResult>;
  stop(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger();
  const clock = opts.clock ?? systemClock;

  const secretProblems = checkSecrets(config, env).filter((s) => s.error);
  if (secretProblems.length > 0) throw new ConfigError(secretProblems.map((s) => s.error!));
  const resolveSecret = secretResolver(config, env);

  // A daemon (it schedules cycles) owns its data directory: a second one there would send and
  // watch everything twice. `probe` (no schedule) may run beside it. In fleet mode (a Postgres
  // ledger) the agents coordinate through the database instead.
  const fleetMode = config.ledger?.postgres !== undefined;
  const dirLock = opts.schedule !== false && !fleetMode ? lockDataDir(config.dataDirAbs) : null;
  const releaseOnFailure = async (err: unknown): Promise<never> => {
    dirLock?.release();
    throw err;
  };

  // sendProbe, the watchers and the scheduler turn a failed write into a result or a log line
  // (they never throw); the ledger itself tracks write health for /readyz and logs here.
  const ledger = openLedger(config, {
    resolveSecret,
    file: opts.ledgerFile,
    onWriteStateChange: (error) => {
      if (error === null) logger.info('ledger writable again');
      else logger.error({ err: error }, 'ledger write failed: nothing can be recorded; not ready until a write succeeds');
    },
    onConnectionError: (message) => logger.warn({ err: message }, 'ledger connection lost; the next write reconnects'),
  });
  const interrupted = await ledger.recoverInterrupted(clock.nowMs()).catch(async (err) => {
    await ledger.close();
    return releaseOnFailure(err);
  });
  if (interrupted.length > 0) {
    logger.warn({ count: interrupted.length }, 'probes interrupted mid-send by the last stop recorded as ambiguous (never re-sent)');
  }

  const metrics = new Metrics(config, ledger, clock, {
    ...(opts.reloadState ? { reloadState: opts.reloadState } : {}),
    ...(fleetMode ? { agent: config.agent.name } : {}),
  });
  await metrics.bootstrap();
  const events = fanOut(metrics.events, opts.events ?? {});
  const idFactory = createProbeIdFactory();
  const oauth2 = OAuth2Tokens.withLedger(ledger, config.dataDirAbs, { clock, log: logger });
  // Only the paths this agent may use (paths[].agents: the hosts that own their source IP).
  const mayUse = (p: Config['paths'][number]) => !p.agents || p.agents.includes(config.agent.name);
  const allPaths = createPaths(config, resolveSecret, logger, clock, oauth2);
  const paths = allPaths.filter((p) => mayUse(config.paths.find((c) => c.name === p.name)!));
  await closePaths(allPaths.filter((p) => !paths.includes(p)));
  const seedNames = config.seeds.map((s) => s.name);
  const fleet: Fleet =
    fleetMode && ledger instanceof PostgresLedger
      ? new PostgresFleet({ pool: await ledger.pool(), agent: config.agent.name, seeds: seedNames, log: logger })
      : soloFleet(config.agent.name, seedNames, clock);

  const watchers = watchAll({
    seeds: config.seeds,
    ledger,
    events,
    resolveSecret,
    pollIntervalMs: config.watch.pollInterval,
    idleCheckIntervalMs: config.watch.idleCheck,
    deadlineMs: config.deadline,
    clock,
    log: logger,
    oauth2,
    agent: config.agent.name,
    // One gate for every watcher: logins are paced per IMAP server across all seeds on it.
    logins: new LoginGate(),
  });
  const reconciler = new Reconciler({ ledger, events, scannedFrom: () => watchers.scannedFrom(), graceMs: config.watch.arrivalGrace, clock, log: logger, ...(opts.reconcileIntervalMs ? { intervalMs: opts.reconcileIntervalMs } : {}) });
  const mailer = config.report ? new WeeklyMailer(config.report.email, { ledger, clock, logger, resolveSecret }) : null;
  // Reputation: its metrics on the agent's registry; the sources start with the schedule (below).
  const rep = config.reputation;
  const reputationMetrics = rep
    ? new ReputationMetrics(metrics.registry, { dnsblZones: rep.dnsbl?.zones, hygiene: rep.hygiene !== undefined, snds: rep.snds !== undefined, postmaster: rep.postmaster !== undefined }, { ledger, ...(fleetMode ? { agent: config.agent.name } : {}) })
    : null;
  const egressIps = Object.fromEntries(config.paths.map((p) => [p.name, p.ips]));
  let reputation: ReputationMonitor | null = null;

  let cycleRunning: Promise<CycleResult> | null = null;
  // Outside the schedule (probe, runCycleNow) the tick is now; in a fleet each path × seed of a
  // tick is claimed, so it is sent once whichever agents are alive.
  // `pace` (scheduled cycles): the scheduler's window for the sends, up to ¾ of the period.
  const cycleOf = (cycleId: string | undefined, more: Partial<Parameters<typeof runCycle>[0]>): Promise<CycleResult> =>
    runCycle({ config, paths, ledger, clock, events, logger, idFactory, resolveSecret, cycleId, ...more });
  const oneCycle = async (cycleId?: string, tickAtMs?: number, pace?: CyclePace): Promise<CycleResult> => {
    if (!fleetMode) return cycleOf(cycleId, pace ? { pace } : {});
    const tick = tickAtMs ?? Math.floor(clock.nowMs() / 1000) * 1000;
    const claim = (path: string, seed: string) => fleet.claim(tick, path, seed);
    // Outside the schedule (probe, runCycleNow) the tick is this agent's alone: every pair.
    if (tickAtMs === undefined || !pace) return cycleOf(cycleId, { claim, ...(pace ? { pace } : {}) });
    // A scheduled tick: this agent sends its share (fleet.ts, preferredSender), then, between
    // the end of the send window and the next tick, claims every other pair it may send in one
    // statement: what an agent that died mid-cycle left unsent goes out then, once.
    const live = fleet.live();
    const mine = new Set<string>();
    const rest: PathSeed[] = [];
    for (const p of paths) {
      const allowed = config.paths.find((c) => c.name === p.name)?.agents;
      const senders = allowed ? live.filter((a) => allowed.includes(a)) : live;
      for (const seed of config.seeds) {
        if (preferredSender(p.name, seed.name, senders) === config.agent.name) mine.add(`${p.name}\u0000${seed.name}`);
        else rest.push({ path: p.name, seed: seed.name });
      }
    }
    const own = await cycleOf(cycleId, { claim, pace, only: (path, seed) => mine.has(`${path}\u0000${seed}`) });
    const sweepAtMs = pace.sendUntilMs + (pace.nextTickAtMs - pace.sendUntilMs) / 2;
    await abortableSleep(sweepAtMs - clock.nowMs(), pace.signal);
    if (pace.signal.aborted || rest.length === 0) return own;
    const won = await fleet.claimMany(tick, rest);
    if (won.length === 0) return own;
    logger.warn({ cycle: own.cycleId, pairs: won.length }, 'sending the pairs of this tick that no live agent sent (an agent stopped mid-cycle?)');
    const left = new Set(won.map((w) => `${w.path}\u0000${w.seed}`));
    const swept = await cycleOf(own.cycleId, { only: (path, seed) => left.has(`${path}\u0000${seed}`) });
    return mergeCycleResults(own, swept);
  };
  const guardedCycle = (cycleId?: string, tickAtMs?: number, pace?: CyclePace): Promise<CycleResult> => {
    if (cycleRunning) return cycleRunning;
    cycleRunning = oneCycle(cycleId, tickAtMs, pace).finally(() => {
      cycleRunning = null;
    });
    return cycleRunning;
  };

  const scheduler = new Scheduler({
    expression: config.schedule,
    jitterMs: config.jitter,
    ledger,
    clock,
    logger,
    newId: () => idFactory(clock.nowMs()),
    runCycle: async (cycleId, tickAtMs, pace) => (await guardedCycle(cycleId, tickAtMs, pace)).probes.length,
    onCycleFinished: (at) => metrics.cycleFinished(at),
    onOverlap: () => metrics.cycleOverlapped(),
  });

  const readiness = (): Readiness => {
    const health = watchers.health();
    const down = health.filter((h) => !h.connectedOnce).map((h) => h.seed);
    const checks: Readiness['checks'] = {
      config: { ok: true, detail: config.file },
      ledger: ledger.writeError() ? { ok: false, detail: ledger.writeError()! } : { ok: true },
      mailboxes: down.length ? { ok: false, detail: `never connected: ${down.join(', ')}` } : { ok: true },
      ...(fleetMode
        ? {
            fleet: fleet.problem()
              ? { ok: false, detail: fleet.problem()! }
              : { ok: true, detail: fleet.view().agents.map((a) => `${a.name}: ${a.seeds.join(' ') || '-'}`).join('; ') },
          }
        : {}),
    };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };

  let server: Server | null = null;
  const agent: Agent = {
    config,
    ledger,
    metrics,
    watchers,
    paths,
    mailer,
    reputation: null,
    url: '',
    readiness,
    mailboxes: () => watchers.health(),
    runCycleNow: () => guardedCycle(),
    stop: async () => {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
      const orderly = (async () => {
        await scheduler.stop(); // no new cycles; the running one finishes its sends
        if (cycleRunning) await cycleRunning.catch(() => undefined);
        await Promise.allSettled([fleet.stop(), watchers.stop(), reconciler.stop(), closePaths(paths), mailer?.stop(), reputation?.stop(), metrics.settled()]);
        if (server) {
          const s = server;
          await new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          });
        }
      })();
      await Promise.race([orderly, deadline]);
      await ledger.close();
      dirLock?.release();
    },
  };

  // HTTP first: when the listen address is taken, fail before any mailbox session or timer
  // exists, so the process can exit at once.
  if (opts.http !== false) {
    const app = createApp({
      ledger,
      registry: metrics.registry,
      clock,
      logger,
      readiness,
      token: config.http.token ? resolveSecret(config.http.token, 'http.token') : undefined,
      protectMetrics: config.http.protectMetrics,
      ...(config.http.reload && opts.reload ? { reload: opts.reload } : {}),
      reputation: () => reputation?.snapshot() ?? null,
      egressIps,
      mount: opts.pages
        ? (a, guard) =>
            mountPages(a, guard, {
              ledger,
              clock,
              mailboxes: () => watchers.health(),
              reputation: () => reputation?.snapshot() ?? null,
              egressIps,
              fleet: () => fleet.view(),
            })
        : undefined,
    });
    try {
      server = await listen(app, config.listen);
    } catch (err) {
      await Promise.allSettled([closePaths(paths)]);
      await ledger.close();
      dirLock?.release();
      throw err;
    }
    const addr = server.address() as AddressInfo;
    agent.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }
  if (fleetMode) {
    // Watch what this agent holds, as the fleet decides it (and nothing while the database is
    // out of reach); mailbox_up follows.
    const follow = () => {
      metrics.setWatched(fleet.owned(), (seed) => watchers.watcher(seed)?.health().up ?? false);
      void watchers.setActive(fleet.held());
    };
    fleet.onChange(follow);
    metrics.setWatched(new Set());
    await fleet.start();
    follow();
  } else {
    watchers.start();
  }
  reconciler.start();
  if (opts.schedule !== false) {
    scheduler.start();
    mailer?.start();
    if (rep && reputationMetrics) {
      const pm = rep.postmaster;
      reputation = agent.reputation = await ReputationMonitor.start({
        config,
        ledger,
        metrics: reputationMetrics,
        clock,
        log: logger.child({ component: 'reputation' }),
        ...(rep.snds ? { sndsKey: () => resolveSecret(rep.snds!.key, 'reputation.snds.key') } : {}),
        ...(pm
          ? {
              postmasterTokens: new AccessTokenSource(postmasterCredentials(pm.oauth2), {
                resolveSecret,
                store: LedgerRefreshTokenStore.open(ledger, join(config.dataDirAbs, STORE_KEY_FILE), logger),
                clock,
                log: logger,
              }),
            }
          : {}),
      });
    }
  }
  logger.info(
    { paths: config.paths.length, seeds: config.seeds.length, schedule: config.schedule, url: agent.url || undefined },
    'seedwatch agent started',
  );
  return agent;
}

/** What every one-shot command needs: the config's secrets, the ledger, the token store. */
interface OneShot {
  resolveSecret: SecretResolver;
  ledger: Ledger;
  oauth2: OAuth2Tokens;
}

async function oneShot<T>(config: Config, env: NodeJS.ProcessEnv, logger: Logger, clock: Clock, body: (r: OneShot) => Promise<T>): Promise<T> {
  // The daemon's ledger holds rotated OAuth2 refresh tokens: every command uses (and saves) the same.
  const resolveSecret = secretResolver(config, env);
  const ledger = openLedger(config, { resolveSecret });
  try {
    const oauth2 = OAuth2Tokens.withLedger(ledger, config.dataDirAbs, { clock, log: logger });
    return await body({ resolveSecret, ledger, oauth2 });
  } finally {
    await ledger.close();
  }
}

export interface OneShotOptions {
  config: Config;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  clock?: Clock;
}

/**
 * `seedwatch probe --send-only`: one cycle now into the ledger, without watching. A daemon on
 * the same ledger counts these probes in its metrics from its next start (it counts only what
 * it recorded itself while running).
 */
export async function sendOnce(opts: OneShotOptions): Promise<CycleResult> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger();
  const clock = opts.clock ?? systemClock;
  return oneShot(config, opts.env ?? process.env, logger, clock, async ({ resolveSecret, ledger, oauth2 }) => {
    const paths = createPaths(config, resolveSecret, logger, clock, oauth2);
    try {
      return await runCycle({ config, paths, ledger, clock, events: noopEvents, logger, idFactory: createProbeIdFactory(), resolveSecret });
    } finally {
      await closePaths(paths);
    }
  });
}

export interface ConnectivityReport {
  seeds: SeedInspection[];
  paths: { path: string; ok: boolean; detail: string }[];
}

/** `seedwatch check`'s live part: log into every seed (folder map, capabilities), verify every path. */
export async function connectivity(opts: OneShotOptions): Promise<ConnectivityReport> {
  const { config } = opts;
  const logger = opts.logger ?? silentLogger();
  const clock = opts.clock ?? systemClock;
  return oneShot(config, opts.env ?? process.env, logger, clock, async ({ resolveSecret, oauth2 }) => {
    const seedsP = Promise.all(config.seeds.map((s) => inspectSeed(s, resolveSecret, { oauth2 })));
    const paths = createPaths(config, resolveSecret, logger, clock, oauth2);
    try {
      const verified = await Promise.all(paths.map((p) => verifyPath(p)));
      return { seeds: await seedsP, paths: verified.map((v, i) => ({ path: paths[i].name, ok: v.ok, detail: v.detail })) };
    } finally {
      await closePaths(paths);
      await seedsP.catch(() => undefined);
    }
  });
}

/** `seedwatch report`: the ledger, read-only (a live agent may be writing it). */
export function openReadOnlyLedger(config: Config): Ledger {
  return openLedger(config, { readonly: true, resolveSecret: secretResolver(config) });
}

/**
 * `seedwatch ledger migrate --to postgres`: the SQLite ledger's history (of dataDir, or `from`)
 * into the config's empty Postgres ledger.
 */
export function migrateLedger(opts: { config: Config; env?: NodeJS.ProcessEnv; from?: string; progress?: CopyProgress }): Promise<LedgerMigration> {
  return migrateLedgerToPostgres(opts.config, { resolveSecret: secretResolver(opts.config, opts.env ?? process.env), from: opts.from, progress: opts.progress });
}

export interface Daemon {
  /** The agent running now (a reload replaces it). */
  current(): Agent;
  /**
   * Load the config file again; when it validates and its secrets resolve, the agent is rebuilt
   * from it in this process (paths, watchers, scheduler, HTTP; counters continue from the
   * ledger). When not, the agent keeps running on the previous config and the reason is
   * returned (and logged). Reloads never overlap.
   */
  reload(): Promise<ReloadResult>;
  /** POST /-/reload: validate now, answer, then swap (the swap stops the server carrying the request). */
  requestReload(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

/** Lets the answer to POST /-/reload leave before the agent it came through is replaced. */
const RELOAD_ANSWER_GRACE_MS = 100;

export interface DaemonOptions extends Omit<AgentOptions, 'config' | 'reloadState' | 'reload'> {
  config: Config;
  /** Reads and validates the config file again (throws ConfigError naming file and field). */
  loadConfig: () => Config;
}

/** `seedwatch run`: the agent, reloadable (SIGHUP, POST /-/reload). */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const logger = opts.logger ?? createLogger();
  const clock = opts.clock ?? systemClock;
  const env = opts.env ?? process.env;
  const state: ReloadState = { successful: true, lastSuccessAtMs: clock.nowMs() };
  let config = opts.config;
  let reloading: Promise<ReloadResult> | null = null;
  const build = (c: Config) => startAgent({ ...opts, config: c, logger, clock, env, reloadState: state, reload: () => daemon.requestReload() });
  let agent = await build(config);

  const refuse = (error: string): ReloadResult => {
    state.successful = false;
    logger.error({ err: error }, 'config reload refused; still running on the previous config');
    return { ok: false, error };
  };
  const validate = (): Config | string => {
    try {
      const next = opts.loadConfig();
      const secretProblems = checkSecrets(next, env).filter((s) => s.error);
      if (secretProblems.length > 0) throw new ConfigError(secretProblems.map((s) => s.error!));
      return next;
    } catch (err) {
      return (err as Error).message;
    }
  };
  const swap = async (next: Config): Promise<ReloadResult> => {
    await agent.stop();
    try {
      agent = await build(next);
    } catch (err) {
      // The new config validated but cannot run (its listen address is taken, say): back to the old one.
      const error = `the new config cannot start: ${(err as Error).message}`;
      agent = await build(config);
      return refuse(error);
    }
    config = next;
    state.successful = true;
    state.lastSuccessAtMs = clock.nowMs();
    logger.info({ file: config.file, paths: config.paths.length, seeds: config.seeds.length }, 'config reloaded');
    return { ok: true };
  };
  const serial = (fn: () => Promise<ReloadResult>): Promise<ReloadResult> => {
    const run = (reloading ?? Promise.resolve({ ok: true } as ReloadResult)).then(fn, fn);
    reloading = run.finally(() => {
      if (reloading === run) reloading = null;
    });
    return run;
  };
  const daemon: Daemon = {
    current: () => agent,
    reload: () =>
      serial(async () => {
        const next = validate();
        return typeof next === 'string' ? refuse(next) : swap(next);
      }),
    requestReload: () =>
      serial(async () => {
        const next = validate();
        if (typeof next === 'string') return refuse(next);
        // Answer the HTTP request first: the swap stops the server that carries it.
        setTimeout(() => void serial(() => swap(next)), RELOAD_ANSWER_GRACE_MS).unref();
        return { ok: true };
      }),
    stop: async () => {
      await reloading?.catch(() => undefined);
      await agent.stop();
    },
  };
  return daemon;
}

export interface SignInOptions {
  preset: ProviderPreset;
  clientId: string;
  clientSecret?: SecretValue;
  /** Overrides of the preset's scope, tenant and endpoints. */
  scope?: string;
  tenant?: string;
  authorizeUrl?: string;
  deviceCodeUrl?: string;
  tokenUrl?: string;
  loginHint?: string;
  /** Loopback flow: the redirect port. */
  port?: number;
  /** Shows the user what to do (the device code, or the URL to open). */
  prompt: (text: string) => void;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/**
 * `seedwatch auth`: a seed's first OAuth2 tokens, with the sign-in flow its preset declares
 * (device code, or authorization code on a loopback redirect with PKCE).
 */
export async function signIn(o: SignInOptions): Promise<TokenResponse> {
  const p = o.preset.oauth2;
  if (!p?.flow) throw new Error(`preset "${o.preset.name}" declares no OAuth2 sign-in flow`);
  const tenant = o.tenant ?? p.defaultTenant;
  const endpoint = (url: string) => expandTokenUrl(url, tenant, p.defaultTenant);
  const tokenUrl = o.tokenUrl ?? endpoint(p.tokenUrl);
  const scope = o.scope ?? p.scope;
  // The preset schema requires deviceCodeUrl for device-code and authorizeUrl for loopback.
  return p.flow === 'device-code'
    ? deviceCodeFlow({ deviceCodeUrl: o.deviceCodeUrl ?? endpoint(p.deviceCodeUrl!), tokenUrl, clientId: o.clientId, scope, prompt: o.prompt, fetch: o.fetch, signal: o.signal })
    : loopbackFlow({
        authorizeUrl: o.authorizeUrl ?? endpoint(p.authorizeUrl!),
        tokenUrl,
        clientId: o.clientId,
        clientSecret: o.clientSecret,
        scope,
        authorizeParams: p.authorizeParams,
        loginHint: o.loginHint,
        port: o.port,
        prompt: o.prompt,
        fetch: o.fetch,
        signal: o.signal,
      });
}
