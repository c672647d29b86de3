import { quitConnection, type LiveConnection } from './smtp-transaction.js';

/**
 * How long a pooled session may sit idle before we QUIT it. Far below the idle timeouts of
 * real relays (Postfix smtpd 300 s; RFC 5321 §4.5.3.2.7 asks servers for at least 5 min), so
 * a session is never reused after the server has silently dropped it.
 */
export const POOL_IDLE_CLOSE_MS = 10_000;

export class PoolClosedError extends Error {
  readonly code = 'ECONNECTION';
  constructor() {
    super('the path is closed');
    this.name = 'PoolClosedError';
  }
}

interface Waiter {
  resolve: (c: LiveConnection) => void;
  reject: (err: unknown) => void;
}

/**
 * At most `max` SMTP sessions to one relay, reused for consecutive probes. A caller gets an
 * idle live session, or a new one while fewer than `max` exist, or waits its turn.
 */
export class ConnectionPool {
  private readonly idle: { live: LiveConnection; timer: NodeJS.Timeout }[] = [];
  private readonly waiters: Waiter[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly max: number,
    private readonly connect: () => Promise<LiveConnection>,
    private readonly idleCloseMs: number = POOL_IDLE_CLOSE_MS,
  ) {}

  get size(): number {
    return this.open;
  }

  acquire(): Promise<LiveConnection> {
    if (this.closed) return Promise.reject(new PoolClosedError());
    while (this.idle.length > 0) {
      const { live, timer } = this.idle.pop()!;
      clearTimeout(timer);
      if (live.alive) return Promise.resolve(live);
      this.open -= 1;
    }
    if (this.open < this.max) return this.create();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Give a session back; `reusable` false (or a dead session) closes it. */
  release(live: LiveConnection, reusable: boolean): void {
    if (!reusable || !live.alive || this.closed) {
      if (live.alive) quitConnection(live);
      this.open -= 1;
      this.serveWaiter();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(live);
      return;
    }
    const timer = setTimeout(() => {
      const i = this.idle.findIndex((e) => e.live === live);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.open -= 1;
        quitConnection(live);
        this.serveWaiter();
      }
    }, this.idleCloseMs);
    timer.unref();
    this.idle.push({ live, timer });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new PoolClosedError());
    for (const { live, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      quitConnection(live);
      this.open -= 1;
    }
  }

  private create(): Promise<LiveConnection> {
    this.open += 1;
    return this.connect().catch((err: unknown) => {
      this.open -= 1;
      this.serveWaiter();
      throw err;
    });
  }

  /** A slot freed up: open a session for the longest waiter. Its connect error is its own. */
  private serveWaiter(): void {
    if (this.closed || this.open >= this.max) return;
    const waiter = this.waiters.shift();
    if (waiter) this.create().then(waiter.resolve, waiter.reject);
  }
}
