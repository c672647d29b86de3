/** imapflow options for one seed session: TLS, timeouts, IDLE behaviour, logging. */
import { isIP } from 'node:net';
import type { ImapFlowOptions } from 'imapflow';
import type { SeedConfig } from '../config/load-config.js';
import type { Logger } from '../log.js';
import type { ImapAuth } from './imap-auth.js';

/** Bounds TCP connect to the IMAP server. */
export const IMAP_CONNECT_TIMEOUT_MS = 30_000;
/** Bounds the wait for the server greeting after connect. */
export const IMAP_GREETING_TIMEOUT_MS = 16_000;
/**
 * Bounds silence on a session (no byte from the server). IDLE sessions are refreshed every
 * idleRefreshMs (< 10 min for Gmail) and polled every pollInterval, so a healthy session is
 * never silent this long; a half-open TCP connection is detected by it.
 */
export const IMAP_SOCKET_TIMEOUT_MS = 11 * 60_000;
/**
 * How long a session waits after its last command before entering IDLE. imapflow's default
 * is 15 s, during which no push arrives (docs/components.md, "imapflow"); scans hold the mailbox lock, so a
 * short delay never interleaves IDLE between the commands of one scan.
 */
export const AUTO_IDLE_DELAY_MS = 50;

export function imapClientOptions(
  seed: SeedConfig,
  auth: ImapAuth,
  opts: { idle: boolean; log?: Logger; extra?: Partial<ImapFlowOptions> },
): ImapFlowOptions {
  const extra = opts.extra ?? {};
  const imapLog = !opts.log || opts.log.level === 'silent' ? false : imapLogger(seed, opts.log);
  return {
    ...extra,
    host: seed.imap.host,
    port: seed.imap.port,
    secure: seed.imap.secure,
    // Verified unless the seed's config says otherwise; extra.tls may only add (e.g. a CA).
    tls: {
      ...(extra.tls ?? {}),
      rejectUnauthorized: seed.imap.tls.rejectUnauthorized,
      ...(seed.imap.tls.servername ? { servername: seed.imap.tls.servername } : {}),
    },
    auth: auth as ImapFlowOptions['auth'],
    logger: imapLog as ImapFlowOptions['logger'],
    disableAutoIdle: !opts.idle,
    autoIdleDelay: AUTO_IDLE_DELAY_MS,
    maxIdleTime: seed.idleRefreshMs,
    connectionTimeout: IMAP_CONNECT_TIMEOUT_MS,
    greetingTimeout: IMAP_GREETING_TIMEOUT_MS,
    socketTimeout: IMAP_SOCKET_TIMEOUT_MS,
    clientInfo: { name: 'seedwatch' },
  };
}

/**
 * imapflow's warning when a plain session continues without TLS (the server offers no
 * STARTTLS): "Server does not support STARTTLS, continuing over an unencrypted connection",
 * and its PREAUTH and transport variants.
 */
const PLAIN_SESSION_WARNING = /continuing over an unencrypted connection/;

/** Seeds whose plain-session warning was logged already: once per seed, not per session. */
const warnedPlain = new WeakSet<SeedConfig>();

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost: traffic that never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * A seed the config marks plain on purpose: `secure: false` on a loopback host (a local IMAP
 * server, a test or a tunnel). Every provider preset is implicit TLS on a public host, so both
 * come from the seed's own imap settings, never from a preset. The port is not part of the rule
 * (docs/deploy.md, "Logs"): the loaded config holds the seed's port or the preset's without
 * saying which, and the two settings above already tell a seed's own choice.
 */
export function plainOnPurpose(seed: SeedConfig): boolean {
  return !seed.imap.secure && isLoopbackHost(seed.imap.host);
}

type LogEntry = { msg?: string } & Record<string, unknown>;
type ImapLogger = Exclude<NonNullable<ImapFlowOptions['logger']>, false>;

/**
 * The seed's imapflow logger (warnings and errors only). Every session of a plain seed would
 * repeat the same STARTTLS warning (one per folder watched, per reconnect): it is logged once
 * per seed, and not at all for a seed the config marks plain on purpose.
 */
export function imapLogger(seed: SeedConfig, log: Logger): ImapLogger {
  const child = log.child({ component: 'imapflow', seed: seed.name }, { level: 'warn' });
  const forward = (level: 'debug' | 'info' | 'error') => (entry: LogEntry) => child[level](entry);
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: (entry: LogEntry) => {
      if (typeof entry?.msg === 'string' && PLAIN_SESSION_WARNING.test(entry.msg)) {
        if (plainOnPurpose(seed) || warnedPlain.has(seed)) return;
        warnedPlain.add(seed);
        child.warn({ ...entry, msg: `${entry.msg} (logged once per seed)` });
        return;
      }
      child.warn(entry);
    },
    error: forward('error'),
  };
}
