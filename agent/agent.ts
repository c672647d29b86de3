/**
 * The composition root: the one place that wires config, ledger, paths, watchers,
 * reconciler, metrics, HTTP and scheduler. Every module gets its collaborators from here.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { systemClock, type Clock } from './clock.js';
import { checkSecrets, ConfigError, secretResolver, type Config } from './config/load-config.js';
import { fanOut, type AgentEvents } from './events.js';
import { createApp, listen, type Readiness } from './http/server.js';
import type { Ledger } from './ledger/ledger.js';
import { ledgerPath, SqliteLedger } from './ledger/sqlite-ledger.js';

export { ledgerPath };
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics/metrics.js';
import { OAuth2Tokens } from './auth/oauth2-tokens.js';
import { createProbeIdFactory } from './probe-id.js';
import { Scheduler } from './schedule/scheduler.js';
import { closePaths, createPaths, runCycle, type CycleResult } from './send/run-cycle.js';
import type { ProbePath } from './send/probe-path.js';
import { Reconciler } from './watch/reconciler.js';
import { WeeklyMailer } from './report/weekly-mailer.js';
import { watchAll, type WatchAll } from './watch/watch-all.js';
import type { MailboxHealth } from './watch/mailbox-watcher.js';

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
  /** Extra routes (status page, weekly report). */
  mount?: (app: express.Express, guard: express.RequestHandler, agent: Agent) => void;
  /** Ledger file; default <dataDir>/ledger.sqlite. */
  ledgerFile?: string;
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

  // sendProbe, the watchers and the scheduler turn a failed write into a result or a log line
  // (they never throw); the ledger itself tracks write health for /readyz and logs here.
  const ledger = SqliteLedger.open(opts.ledgerFile ?? ledgerPath(config), {
    onWriteStateChange: (error) => {
      if (error === null) logger.info('ledger writable again');
      else logger.error({ err: error }, 'ledger write failed: nothing can be recorded; not ready until a write succeeds');
    },
  });
  const interrupted = await ledger.recoverInterrupted(clock.nowMs());
  if (interrupted.length > 0) {
    logger.warn({ count: interrupted.length }, 'probes interrupted mid-send by the last stop recorded as ambiguous (never re-sent)');
  }

  const metrics = new Metrics(config, ledger, clock);
  await metrics.bootstrap();
  const events = fanOut(metrics.events, opts.events ?? {});
  const idFactory = createProbeIdFactory();
  const oauth2 = OAuth2Tokens.withLedger(ledger, config.dataDirAbs, { clock, log: logger });
  const paths = createPaths(config, resolveSecret, logger, clock, oauth2);

  const watchers = watchAll({
    seeds: config.seeds,
    ledger,
    events,
    resolveSecret,
    pollIntervalMs: config.watch.pollInterval,
    deadlineMs: config.deadline,
    clock,
    log: logger,
    oauth2,
  });
  const reconciler = new Reconciler({ ledger, events, scannedFrom: () => watchers.scannedFrom(), clock, log: logger });
  const mailer = config.report ? new WeeklyMailer(config.report.email, { ledger, clock, logger, resolveSecret }) : null;

  let cycleRunning: Promise<CycleResult> | null = null;
  const oneCycle = (cycleId?: string): Promise<CycleResult> =>
    runCycle({ config, paths, ledger, clock, events, logger, idFactory, resolveSecret, cycleId });
  const guardedCycle = (cycleId?: string): Promise<CycleResult> => {
    if (cycleRunning) return cycleRunning;
    cycleRunning = oneCycle(cycleId).finally(() => {
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
    runCycle: async (cycleId) => (await guardedCycle(cycleId)).probes.length,
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
    url: '',
    readiness,
    mailboxes: () => watchers.health(),
    runCycleNow: () => guardedCycle(),
    stop: async () => {
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
      const orderly = (async () => {
        await scheduler.stop(); // no new cycles; the running one finishes its sends
        if (cycleRunning) await cycleRunning.catch(() => undefined);
        await Promise.allSettled([watchers.stop(), reconciler.stop(), closePaths(paths), mailer?.stop()]);
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
      mount: opts.mount ? (a, guard) => opts.mount!(a, guard, agent) : undefined,
    });
    try {
      server = await listen(app, config.listen);
    } catch (err) {
      await Promise.allSettled([closePaths(paths)]);
      await ledger.close();
      throw err;
    }
    const addr = server.address() as AddressInfo;
    agent.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }
  watchers.start();
  reconciler.start();
  if (opts.schedule !== false) {
    scheduler.start();
    mailer?.start();
  }
  logger.info(
    { paths: config.paths.length, seeds: config.seeds.length, schedule: config.schedule, url: agent.url || undefined },
    'seedwatch agent started',
  );
  return agent;
}
