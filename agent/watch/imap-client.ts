/** imapflow options for one seed session: TLS, timeouts, IDLE behaviour, logging. */
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
  const imapLog = !opts.log || opts.log.level === 'silent' ? false : opts.log.child({ component: 'imapflow' }, { level: 'warn' });
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
