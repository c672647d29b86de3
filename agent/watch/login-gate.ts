/**
 * Paces IMAP logins per server, shared by every watcher of an agent: at most `inFlight` session
 * set-ups (TCP, TLS, greeting, authentication) at once towards one server, and new ones
 * started at most `perSecond` a second. Without it, 500 seeds open 1,250 sessions in the same
 * instant (and again after every outage of the server): a provider sees a login storm from one
 * address, and its login service is what rate-limits or locks accounts.
 *
 * The numbers (docs/benchmark.md, "Start-up"): per account, a watcher opens its 2–3 sessions
 * one after the other, within the provider's connection budget less one; per server, 32
 * set-ups in flight and 200 a second, so 500 seeds (1,250 sessions) are logged in within
 * about 6–8 s when the server answers a login in 100–150 ms.
 */
export const LOGINS_IN_FLIGHT_PER_SERVER = 32;
export const LOGINS_PER_SECOND_PER_SERVER = 200;

export interface LoginGateOptions {
  inFlight: number;
  perSecond: number;
  /** Injectable for tests. */
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface ServerState {
  inFlight: number;
  /** The earliest moment the next set-up may start. */
  nextAtMs: number;
  waiting: (() => void)[];
}

const realSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
  });

export class LoginGate {
  private readonly servers = new Map<string, ServerState>();
  private readonly intervalMs: number;
  private readonly nowMs: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: LoginGateOptions = { inFlight: LOGINS_IN_FLIGHT_PER_SERVER, perSecond: LOGINS_PER_SECOND_PER_SERVER }) {
    this.intervalMs = 1000 / Math.max(1e-3, o.perSecond);
    this.nowMs = o.nowMs ?? Date.now;
    this.sleep = o.sleep ?? realSleep;
  }

  /** Waits for a set-up slot towards `server` (host:port); call the result once the set-up ended, however. */
  async acquire(server: string): Promise<() => void> {
    let s = this.servers.get(server);
    if (!s) {
      s = { inFlight: 0, nextAtMs: 0, waiting: [] };
      this.servers.set(server, s);
    }
    const st = s;
    // FIFO: a set-up waits while the server has its fill; a release hands its slot straight to
    // the first one waiting (so no newcomer slips in between).
    if (st.inFlight < this.o.inFlight && st.waiting.length === 0) st.inFlight++;
    else await new Promise<void>((resolve) => st.waiting.push(resolve));
    const now = this.nowMs();
    const at = Math.max(now, st.nextAtMs);
    st.nextAtMs = at + this.intervalMs;
    if (at > now) await this.sleep(at - now);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = st.waiting.shift();
      if (next) next();
      else st.inFlight--;
    };
  }
}
