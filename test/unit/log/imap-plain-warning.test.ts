/**
 * imapflow warns on every plain session whose server offers no STARTTLS. seedwatch opens one
 * session per watched folder and reconnects, so the warning is logged once per seed; a seed the
 * config marks plain on purpose (secure: false on a loopback host) does not log it at all.
 * The entries are imapflow's own (see _failSTARTTLS in imapflow); other warnings pass through.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SeedConfig } from '../../../agent/config/load-config.js';
import { createLogger } from '../../../agent/log.js';
import { imapLogger, isLoopbackHost, plainOnPurpose } from '../../../agent/watch/imap-client.js';

/** What imapflow logs when a plain session goes on without TLS. */
const starttlsWarning = (cid: string) => ({
  msg: 'Server does not support STARTTLS, continuing over an unencrypted connection',
  host: 'imap.example.net',
  port: 143,
  cid,
});

function seed(name: string, host: string, secure: boolean): SeedConfig {
  return { name, imap: { host, port: 143, secure } } as unknown as SeedConfig;
}

function capture() {
  const sink = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  sink.on('data', (c: Buffer) => {
    for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { logger: createLogger({ destination: sink, format: 'json', level: 'info', env: {} }), lines };
}

describe('plain-session warning', () => {
  it('is logged once per seed, whatever the number of sessions', () => {
    const { logger, lines } = capture();
    const a = seed('outlook-1', 'imap.example.net', false);
    const b = seed('outlook-2', 'imap.example.net', false);
    for (const cid of ['s1', 's2', 's3']) imapLogger(a, logger).warn(starttlsWarning(cid));
    imapLogger(b, logger).warn(starttlsWarning('s4'));
    imapLogger(b, logger).warn(starttlsWarning('s5'));
    expect(lines.map((l) => [l.seed, l.cid])).toEqual([
      ['outlook-1', 's1'],
      ['outlook-2', 's4'],
    ]);
    expect(lines[0]).toMatchObject({ level: 40, component: 'imapflow', msg: 'Server does not support STARTTLS, continuing over an unencrypted connection (logged once per seed)' });
  });

  it('is not logged for a loopback seed the config marks plain', () => {
    const { logger, lines } = capture();
    for (const host of ['127.0.0.1', '::1', '[::1]', 'localhost', '127.0.0.53']) {
      const s = seed(`local-${host}`, host, false);
      expect(plainOnPurpose(s), host).toBe(true);
      imapLogger(s, logger).warn(starttlsWarning('x'));
    }
    expect(lines).toEqual([]);
  });

  it('other warnings and errors still pass through on every session', () => {
    const { logger, lines } = capture();
    const s = seed('local', '127.0.0.1', false);
    imapLogger(s, logger).warn({ msg: 'Lock held too long', cid: 'a' });
    imapLogger(s, logger).warn({ msg: 'Lock held too long', cid: 'b' });
    imapLogger(s, logger).error({ msg: 'Connection closed', cid: 'c' });
    // below the imapflow child's level (warn): dropped
    imapLogger(s, logger).info({ msg: 'Established IMAP session', cid: 'd' });
    expect(lines.map((l) => [l.level, l.msg, l.cid])).toEqual([
      [40, 'Lock held too long', 'a'],
      [40, 'Lock held too long', 'b'],
      [50, 'Connection closed', 'c'],
    ]);
  });

  it('loopback means 127.0.0.0/8, ::1 and localhost; TLS or a remote host is never plain on purpose', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'LOCALHOST', 'imap.localhost'].map(isLoopbackHost)).toEqual([true, true, true, true, true, true]);
    expect(['128.0.0.1', '10.0.0.1', '::2', 'localhost.example.com', 'imap.gmail.com', '0.0.0.0'].map(isLoopbackHost)).toEqual([false, false, false, false, false, false]);
    expect(plainOnPurpose(seed('tls-local', '127.0.0.1', true))).toBe(false);
    expect(plainOnPurpose(seed('remote', '192.0.2.10', false))).toBe(false);
  });
});
