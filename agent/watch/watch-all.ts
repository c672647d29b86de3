/**
 * Starts and stops one MailboxWatcher per configured seed and reports their health
 * (for /readyz, the status page and `seedwatch probe`).
 */
import type { SeedConfig } from '../config/load-config.js';
import { MailboxWatcher, type MailboxHealth, type MailboxWatcherOptions } from './mailbox-watcher.js';

/** Every watcher gets the same options; only the seed differs. */
export type WatchAllOptions = Omit<MailboxWatcherOptions, 'seed'> & { seeds: SeedConfig[] };

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
  /** Per seed that is up: the moment before which every delivered copy has been recorded. */
  scannedFrom(): Map<string, number>;
}

export function watchAll(opts: WatchAllOptions): WatchAll {
  const watchers = new Map<string, MailboxWatcher>();
  const { seeds, ...shared } = opts;
  for (const seed of seeds) {
    watchers.set(
      seed.name,
      new MailboxWatcher({ ...shared, seed }),
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
    scannedFrom() {
      const out = new Map<string, number>();
      for (const [seed, w] of watchers) {
        const t = w.scannedFromMs();
        if (t !== null) out.set(seed, t);
      }
      return out;
    },
  };
}
