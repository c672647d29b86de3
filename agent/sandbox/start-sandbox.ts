/**
 * The sandbox: simulated mailbox providers on 127.0.0.1 for `seedwatch demo` and tests.
 *   - one SMTP listener per egress path (the agent's relay for that path), which routes each
 *     recipient by domain to its provider and applies that provider × path's behaviour;
 *   - one hoodiecrow IMAP server per seed mailbox, with the provider's folders.
 * No credentials, no traffic off loopback.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../log.js';
import { BehaviourModel, PROVIDER_DOMAINS, SANDBOX_PROVIDERS, type BehaviourOverrides, type SandboxProvider } from './behaviour.js';
import { demoConfigYaml, type DemoConfigOptions } from './demo-config.js';
import { SANDBOX_HOST, SandboxMailbox } from './mailbox-server.js';
import { PathListener, type SeedTarget } from './path-listener.js';
import { createPrng, type Random } from './prng.js';
import type { Egress } from './provider-headers.js';
import { SandboxStats, type SandboxStatsSnapshot } from './sandbox-stats.js';

export interface SandboxOptions {
  /** Default: all four. */
  providers?: SandboxProvider[];
  /** Egress path names. Default ['peering', 'transit']. */
  paths?: string[];
  /** Timestamps in headers and the incident schedule. Delays themselves are real timers. */
  clock?: Clock;
  /** Every decision and generated id. Default: a PRNG seeded from the clock. */
  random?: Random;
  behaviour?: BehaviourOverrides;
  logger?: Logger;
  /** The seeds' IMAP password. Default: random. */
  password?: string;
}

export interface SandboxPath {
  name: string;
  host: string;
  port: number;
}

export interface SandboxSeed {
  name: string;
  provider: SandboxProvider;
  address: string;
  imap: { host: string; port: number; user: string; password: string };
}

export interface Sandbox {
  paths: SandboxPath[];
  seeds: SandboxSeed[];
  /** The agent configuration for this sandbox (see demo-config.ts). */
  configYaml(opts: DemoConfigOptions): string;
  /** The mailbox of a seed, by seed name (tests). */
  mailbox(seed: string): SandboxMailbox;
  /** Resolves when no delivery is waiting for its simulated delay. */
  settled(): Promise<void>;
  stats(): SandboxStatsSnapshot;
  stop(): Promise<void>;
}

/** How each path's MTA looks to the providers (documentation addresses, RFC 5737; never dialled). */
export function egressFor(path: string, index: number): Egress {
  if (path === 'peering') return { helo: 'out-peering.mail.example.com', ip: '192.0.2.10' };
  if (path === 'transit') return { helo: 'out-transit.mail.example.com', ip: '198.51.100.7' };
  const label = path.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return { helo: `out-${label}.mail.example.com`, ip: `203.0.113.${10 + (index % 240)}` };
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const providers = opts.providers ?? [...SANDBOX_PROVIDERS];
  const pathNames = opts.paths ?? ['peering', 'transit'];
  if (pathNames.length === 0) throw new Error('startSandbox: at least one path');
  if (new Set(pathNames).size !== pathNames.length) throw new Error('startSandbox: path names must be unique');
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? createPrng(clock.nowMs() % 2 ** 32);
  const log = opts.logger ?? silentLogger();
  const password = opts.password ?? randomBytes(18).toString('base64url');
  const model = new BehaviourModel(opts.behaviour);
  const stats = new SandboxStats();

  const mailboxes = new Map<string, SandboxMailbox>();
  const listeners: PathListener[] = [];
  const stopAll = async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    await Promise.all([...mailboxes.values()].map((m) => m.stop()));
  };

  try {
    const seeds: SandboxSeed[] = [];
    const targets = new Map<string, SeedTarget>();
    const domains = new Map<string, SandboxProvider>();
    const uidValidity = Math.floor(clock.nowMs() / 1000);
    for (const provider of providers) {
      const name = `${provider}-1`;
      const address = `seedwatch.demo1@${PROVIDER_DOMAINS[provider]}`;
      const mailbox = new SandboxMailbox({ provider, user: address, password, uidValidity });
      mailboxes.set(name, mailbox);
      const port = await mailbox.start();
      seeds.push({ name, provider, address, imap: { host: SANDBOX_HOST, port, user: address, password } });
      targets.set(address.toLowerCase(), { name, provider, mailbox });
      domains.set(PROVIDER_DOMAINS[provider], provider);
    }
    const paths: SandboxPath[] = [];
    for (const [i, name] of pathNames.entries()) {
      const listener = new PathListener({ name, egress: egressFor(name, i), seeds: targets, domains, model, clock, random, stats, log });
      listeners.push(listener);
      paths.push({ name, host: SANDBOX_HOST, port: await listener.start() });
    }
    log.info({ paths: paths.map((p) => `${p.name}=${p.host}:${p.port}`), seeds: seeds.map((s) => `${s.name}=${s.imap.port}`) }, 'sandbox providers up');

    let stopped: Promise<void> | null = null;
    return {
      paths,
      seeds,
      configYaml: (o) => demoConfigYaml({ paths, seeds }, o),
      mailbox: (seed) => {
        const m = mailboxes.get(seed);
        if (!m) throw new Error(`sandbox: no seed named "${seed}"`);
        return m;
      },
      settled: async () => {
        await Promise.all(listeners.map((l) => l.settled()));
      },
      stats: () => stats.snapshot(),
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
