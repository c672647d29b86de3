/**
 * The sandbox: simulated mailbox providers on 127.0.0.1 for `seedwatch demo` and tests.
 *   - one SMTP listener per egress path (the agent's relay for that path), which routes each
 *     recipient by domain to its provider and applies that provider × path's behaviour;
 *   - one hoodiecrow IMAP server per seed mailbox, with the provider's folders;
 *   - an OAuth2 token endpoint (refresh_token grant) for the providers that allow OAuth2 only
 *     (Outlook): their mailboxes accept its access tokens over SASL XOAUTH2 and refuse LOGIN;
 *   - a DNSBL (UDP DNS on 127.0.0.1) that lists a path's egress IP while an incident is on
 *     on that path, so the agent's DNSBL check shows the listing next to the spam spike.
 * No real credentials, no traffic off loopback.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../agent/clock.js';
import { silentLogger, type Logger } from '../agent/log.js';
import { BehaviourModel, incidentActive, PROVIDER_DOMAINS, SANDBOX_PROVIDERS, type BehaviourOverrides, type SandboxProvider } from './behaviour.js';
import { DnsblServer } from './dnsbl-server.js';
import { demoConfigYaml, type DemoConfigOptions, type SandboxSeedImap } from './demo-config.js';
import { SANDBOX_HOST, SandboxMailbox } from './mailbox-server.js';
import { SANDBOX_OAUTH2_CLIENT_ID, SandboxTokenEndpoint } from './oauth-endpoint.js';
import { PathListener, type SeedTarget } from './path-listener.js';
import { createPrng, type Random } from './prng.js';
import type { Egress } from './provider-headers.js';
import { SandboxStats, type SandboxStatsSnapshot } from './sandbox-stats.js';

export type { SandboxSeedImap, SandboxSeedOAuth2 } from './demo-config.js';

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
  /** The password of the seeds that log in with one. Default: random. */
  password?: string;
  /**
   * Providers whose seeds log in with OAuth2 only (XOAUTH2; LOGIN refused). Default
   * ['outlook'], as the shipped presets say: Microsoft turned basic auth off.
   */
  oauth2Providers?: SandboxProvider[];
  /** The starting refresh token of each OAuth2 seed, by provider. Default: random. */
  refreshTokens?: Partial<Record<SandboxProvider, string>>;
  /** Lifetime of the token endpoint's access tokens, seconds. Default 1 h. */
  accessTokenTtlSeconds?: number;
  /** Serve the demo DNSBL (default true). */
  dnsbl?: boolean;
}

/** The demo DNSBL's zone (RFC 6761 .test: never a real list). */
export const SANDBOX_DNSBL_ZONE = 'bl.sandbox.test';

export interface SandboxPath {
  name: string;
  host: string;
  port: number;
  /** The egress IP the providers see for this path (its `ips` in the config). */
  ip: string;
}

export interface SandboxSeed {
  name: string;
  provider: SandboxProvider;
  address: string;
  imap: SandboxSeedImap;
}

export interface Sandbox {
  paths: SandboxPath[];
  seeds: SandboxSeed[];
  /** The OAuth2 token endpoint of the OAuth2-only providers. */
  oauth: SandboxTokenEndpoint;
  /** The demo DNSBL: its zone and `127.0.0.1:port`; null when started without one. */
  dnsbl: { zone: string; server: string } | null;
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
  const oauth2Providers = new Set(opts.oauth2Providers ?? ['outlook']);
  const oauthAccounts = providers
    .filter((p) => oauth2Providers.has(p))
    .map((p) => ({ provider: p, user: `seedwatch.demo1@${PROVIDER_DOMAINS[p]}`, refreshToken: opts.refreshTokens?.[p] ?? randomBytes(24).toString('base64url') }));
  const oauth = new SandboxTokenEndpoint({
    accounts: oauthAccounts,
    clientId: SANDBOX_OAUTH2_CLIENT_ID,
    ...(opts.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: opts.accessTokenTtlSeconds } : {}),
    logger: log,
  });

  const mailboxes = new Map<string, SandboxMailbox>();
  const listeners: PathListener[] = [];
  // A path's egress IP is listed while one of its incidents is on (the listing a real spam run earns).
  const egressByIp = new Map(pathNames.map((name, i) => [egressFor(name, i).ip, name]));
  const dnsbl =
    opts.dnsbl === false
      ? null
      : new DnsblServer({
          zone: SANDBOX_DNSBL_ZONE,
          listed: (ip) => {
            const path = egressByIp.get(ip);
            const on = path !== undefined && model.incidents.some((i) => i.path === path && incidentActive(i, clock.nowMs()));
            return on ? `Listed by the seedwatch sandbox: spam-trap hits from ${ip} (path ${path}) during its incident` : null;
          },
        });
  const stopAll = async () => {
    await Promise.all(listeners.map((l) => l.stop()));
    await Promise.all([...mailboxes.values()].map((m) => m.stop()));
    await oauth.stop();
    await dnsbl?.stop();
  };

  try {
    const seeds: SandboxSeed[] = [];
    const targets = new Map<string, SeedTarget>();
    const domains = new Map<string, SandboxProvider>();
    const uidValidity = Math.floor(clock.nowMs() / 1000);
    if (oauthAccounts.length > 0) await oauth.start();
    await dnsbl?.start();
    for (const provider of providers) {
      const name = `${provider}-1`;
      const address = `seedwatch.demo1@${PROVIDER_DOMAINS[provider]}`;
      const account = oauthAccounts.find((a) => a.provider === provider);
      const mailbox = new SandboxMailbox({
        provider,
        user: address,
        auth: account ? { kind: 'oauth2', validAccessToken: (user, token) => oauth.validAccessToken(user, token) } : { kind: 'password', password },
        uidValidity,
        logger: log.child({ seed: name }),
      });
      mailboxes.set(name, mailbox);
      const port = await mailbox.start();
      const where = { host: SANDBOX_HOST, port, user: address };
      seeds.push({
        name,
        provider,
        address,
        imap: account
          ? { ...where, oauth2: { clientId: SANDBOX_OAUTH2_CLIENT_ID, refreshToken: account.refreshToken, tokenUrl: oauth.tokenUrl } }
          : { ...where, password },
      });
      targets.set(address.toLowerCase(), { name, provider, mailbox });
      domains.set(PROVIDER_DOMAINS[provider], provider);
    }
    const paths: SandboxPath[] = [];
    for (const [i, name] of pathNames.entries()) {
      const egress = egressFor(name, i);
      const listener = new PathListener({ name, egress, seeds: targets, domains, model, clock, random, stats, log });
      listeners.push(listener);
      paths.push({ name, host: SANDBOX_HOST, port: await listener.start(), ip: egress.ip });
    }
    log.info(
      {
        paths: paths.map((p) => `${p.name}=${p.host}:${p.port}`),
        seeds: seeds.map((s) => `${s.name}=${s.imap.port}${s.imap.oauth2 ? ' (oauth2)' : ''}`),
        ...(oauthAccounts.length > 0 ? { tokenUrl: oauth.tokenUrl } : {}),
        ...(dnsbl ? { dnsbl: `${dnsbl.zone}@${dnsbl.server}` } : {}),
      },
      'sandbox providers up',
    );

    let stopped: Promise<void> | null = null;
    return {
      paths,
      seeds,
      oauth,
      dnsbl: dnsbl ? { zone: dnsbl.zone, server: dnsbl.server } : null,
      configYaml: (o) => demoConfigYaml({ paths, seeds, ...(dnsbl ? { dnsbl: { zone: dnsbl.zone, server: dnsbl.server } } : {}) }, o),
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
