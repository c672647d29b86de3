/**
 * Starts and stops one MailboxWatcher per configured seed and reports their health
 * (for /readyz, the status page and `seedwatch probe`).
 */
import type { SeedConfig } from '../config/load-config.js';
import type { LoginGate } from './login-gate.js';
import { MailboxWatcher, type MailboxHealth, type MailboxWatcherOptions } from './mailbox-watcher.js';

/**
 * Every watcher gets the same options; only the seed differs. `logins` is required: the gate
 * holds the agent's login pacing state per IMAP server, and stateful collaborators come from
 * the composition root (ARCHITECTURE.md, "Defaults"), never from a silent default here.
 */
export type WatchAllOptions = Omit<MailboxWatcherOptions, 'seed' | 'logins'> & { seeds: SeedConfig[]; logins: Pick<LoginGate, 'acquire'> };

export interface WatchAll {
  /** Watch every seed. */
  start(): void;
  /**
   * Watch exactly these seeds (fleet mode: the ones this agent holds); watchers of the others
   * stop. Resolves once the stopped ones are logged out.
   */
  setActive(seeds: ReadonlySet<string>): Promise<void>;
  stop(): Promise<void>;
  /** Health of every watched seed, in config order. */
  health(): MailboxHealth[];
  /** True once every watched seed's watcher has been up at least once (readiness). */
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
  // One gate for all (in `shared`): session set-ups are paced per IMAP server across every seed on it.
  for (const seed of seeds) watchers.set(seed.name, new MailboxWatcher({ ...shared, seed }));
  const active = new Set<string>();
  const watched = () => [...watchers].filter(([seed]) => active.has(seed)).map(([, w]) => w);
  return {
    start() {
      for (const [seed, w] of watchers) {
        active.add(seed);
        w.start();
      }
    },
    async setActive(seeds) {
      const stopping: Promise<void>[] = [];
      for (const [seed, w] of watchers) {
        if (seeds.has(seed) && !active.has(seed)) {
          active.add(seed);
          w.start();
        } else if (!seeds.has(seed) && active.has(seed)) {
          active.delete(seed);
          stopping.push(w.stop());
        }
      }
      await Promise.all(stopping);
    },
    async stop() {
      active.clear();
      await Promise.all([...watchers.values()].map((w) => w.stop()));
    },
    health() {
      return watched().map((w) => w.health());
    },
    ready() {
      // Polled by /readyz and `probe`: no health copies of every watcher.
      for (const [seed, w] of watchers) if (active.has(seed) && !w.connectedOnce) return false;
      return true;
    },
    async scanNow() {
      await Promise.all(watched().map((w) => w.scanNow()));
    },
    watcher(seed) {
      return watchers.get(seed);
    },
    scannedFrom() {
      const out = new Map<string, number>();
      for (const [seed, w] of watchers) {
        if (!active.has(seed)) continue;
        const t = w.scannedFromMs();
        if (t !== null) out.set(seed, t);
      }
      return out;
    },
  };
}
