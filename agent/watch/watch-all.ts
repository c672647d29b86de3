/**
 * Starts and stops one MailboxWatcher per configured seed and reports their health
 * (for /readyz, the status page and `seedwatch probe`).
 */
import type { ImapFlowOptions } from 'imapflow';
import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import type { Clock } from '../clock.js';
import type { SecretResolver, SeedConfig } from '../config/load-config.js';
import type { AgentEvents } from '../events.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import type { BackoffPolicy } from './backoff.js';
import { MailboxWatcher, type MailboxHealth, type WatchMode } from './mailbox-watcher.js';

export interface WatchAllOptions {
  seeds: SeedConfig[];
  ledger: Ledger;
  events: AgentEvents;
  resolveSecret: SecretResolver;
  pollIntervalMs: number;
  deadlineMs: number;
  clock?: Clock;
  log?: Logger;
  mode?: WatchMode;
  backoff?: BackoffPolicy;
  imapOptions?: Partial<ImapFlowOptions>;
  /** Shared OAuth2 tokens (one cache per account; rotated refresh tokens persisted). */
  oauth2?: OAuth2Tokens;
}

export interface WatchAll {
  start(): void;
  stop(): Promise<void>;
  /** Health of every seed, in config order. */
  health(): MailboxHealth[];
  /** True once every seed's watcher has been up at least once (readiness). */
  ready(): boolean;
  /** Scan every folder of every seed now (e.g. `probe --wait` before the final table). */
  scanNow(): Promise<void>;
  watcher(seed: string): MailboxWatcher | undefined;
}

export function watchAll(opts: WatchAllOptions): WatchAll {
  const watchers = new Map<string, MailboxWatcher>();
  for (const seed of opts.seeds) {
    watchers.set(
      seed.name,
      new MailboxWatcher({
        seed,
        ledger: opts.ledger,
        events: opts.events,
        resolveSecret: opts.resolveSecret,
        pollIntervalMs: opts.pollIntervalMs,
        deadlineMs: opts.deadlineMs,
        clock: opts.clock,
        log: opts.log,
        mode: opts.mode,
        backoff: opts.backoff,
        imapOptions: opts.imapOptions,
        oauth2: opts.oauth2,
      }),
    );
  }
  return {
    start() {
      for (const w of watchers.values()) w.start();
    },
    async stop() {
      await Promise.all([...watchers.values()].map((w) => w.stop()));
    },
    health() {
      return [...watchers.values()].map((w) => w.health());
    },
    ready() {
      return [...watchers.values()].every((w) => w.health().connectedOnce);
    },
    async scanNow() {
      await Promise.all([...watchers.values()].map((w) => w.scanNow()));
    },
    watcher(seed) {
      return watchers.get(seed);
    },
  };
}
