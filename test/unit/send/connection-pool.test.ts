import { describe, expect, it } from 'vitest';
import { ConnectionPool, PoolClosedError } from '../../../agent/send/connection-pool.js';
import type { LiveConnection } from '../../../agent/send/smtp-transaction.js';

function fakeConn(n: number): LiveConnection {
  return { conn: { quit() {}, close() {} } as never, alive: true, messages: 0, remote: `fake:${n}` };
}

describe('ConnectionPool', () => {
  it('opens at most max sessions, reuses released ones, and queues the rest', async () => {
    let opened = 0;
    const pool = new ConnectionPool(2, async () => fakeConn(++opened), 60_000);
    const a = await pool.acquire();
    const b = await pool.acquire();
    let third: LiveConnection | undefined;
    const waiting = pool.acquire().then((c) => (third = c));
    await Promise.resolve();
    expect(opened).toBe(2);
    expect(third).toBeUndefined();
    pool.release(a, true);
    await waiting;
    expect(third).toBe(a); // handed over, not a new session
    pool.release(b, false); // closed: the next caller gets a fresh one
    const d = await pool.acquire();
    expect(d.remote).toBe('fake:3');
    await pool.close();
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('skips a dead idle session and gives each waiter its own connect error', async () => {
    let n = 0;
    const pool = new ConnectionPool(1, async () => {
      n += 1;
      if (n >= 2) throw Object.assign(new Error(`refused ${n}`), { code: 'ESOCKET' });
      return fakeConn(n);
    }, 60_000);
    const a = await pool.acquire();
    pool.release(a, true);
    a.alive = false; // server dropped it while idle
    await expect(pool.acquire()).rejects.toThrow('refused 2');
    await expect(pool.acquire()).rejects.toThrow('refused 3');
    expect(pool.size).toBe(0);
  });
});
