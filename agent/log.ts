import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';

/**
 * pino-pretty (~10 MiB of RSS with its dependencies) is loaded only when a logger is pretty: a
 * daemon under systemd, in a container or behind a pipe logs JSON and never needs it.
 * It is a CommonJS package, so a synchronous require keeps createLogger synchronous.
 */
function loadPrettyFactory(): typeof PrettyFactory {
  return (createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof PrettyFactory }).prettyFactory;
}

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * The CLI's --log-level and --log-format land in these variables (applyLogFlags), so every
 * command's logger follows them; a service manager can set them too.
 */
export const LOG_LEVEL_ENV = 'SEEDWATCH_LOG_LEVEL';
export const LOG_FORMAT_ENV = 'SEEDWATCH_LOG_FORMAT';

export interface LoggerOptions {
  /** Default: SEEDWATCH_LOG_LEVEL, else info. */
  level?: string;
  /** Default: SEEDWATCH_LOG_FORMAT, else `pretty` when the destination is a terminal, else `json`. */
  format?: LogFormat;
  /** A file descriptor (default 2, stderr) or a stream. */
  destination?: NodeJS.WritableStream | number;
  env?: NodeJS.ProcessEnv;
}

type ColorStream = NodeJS.WritableStream & { isTTY?: boolean; hasColors?: () => boolean };

/** The process's own stream for fd 1 or 2 (it knows whether the terminal has colours). */
function streamOf(destination: NodeJS.WritableStream | number): ColorStream | null {
  if (typeof destination !== 'number') return destination as ColorStream;
  if (destination === 2) return process.stderr;
  if (destination === 1) return process.stdout;
  return null;
}

function isTerminal(destination: NodeJS.WritableStream | number): boolean {
  if (typeof destination === 'number') return isatty(destination);
  return (destination as ColorStream).isTTY === true;
}

/** pretty on a terminal, json otherwise (a pipe, a file, journald, a container log). */
export function resolveLogFormat(opts: { format?: LogFormat; destination: NodeJS.WritableStream | number; env: NodeJS.ProcessEnv }): LogFormat {
  if (opts.format) return opts.format;
  const fromEnv = opts.env[LOG_FORMAT_ENV];
  if (fromEnv === 'json' || fromEnv === 'pretty') return fromEnv;
  return isTerminal(opts.destination) ? 'pretty' : 'json';
}

/**
 * Logs on stderr (stdout is for command output such as tables and JSON): one JSON object per
 * line for machines, or on a terminal one readable line per entry (time, level, message, then
 * the fields), coloured when the terminal supports it (Node's hasColors: honours NO_COLOR,
 * FORCE_COLOR and TERM). Secrets are SecretValue objects that serialise as "[redacted]"; the
 * redact list is a second line of defence for fields that might carry one by mistake, and
 * applies before either format.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const env = opts.env ?? process.env;
  const destination = opts.destination ?? 2;
  const format = resolveLogFormat({ format: opts.format, destination, env });
  const options = {
    level: opts.level ?? env[LOG_LEVEL_ENV] ?? 'info',
    base: { app: 'seedwatch' },
    redact: {
      paths: ['password', 'pass', 'token', 'accessToken', 'refreshToken', 'clientSecret', 'privateKey', '*.password', '*.pass', '*.accessToken', '*.refreshToken', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const out: DestinationStream = typeof destination === 'number' ? pino.destination(destination) : (destination as DestinationStream);
  if (format === 'pretty') {
    // pino-pretty's formatter in this process (not its transport: no worker thread, and the
    // transport would put `err` back on lines of its own).
    const prettify = loadPrettyFactory()({
      colorize: streamOf(destination)?.hasColors?.() ?? false,
      singleLine: true,
      // One line per entry: `err` inline like any other field (by default it is a block).
      errorLikeObjectKeys: [],
      translateTime: 'SYS:HH:MM:ss.l',
      // Constant on every line (app), or noise on a terminal (pid, hostname).
      ignore: 'app,pid,hostname',
    });
    return pino(options, { write: (line: string) => out.write(prettify(line)) });
  }
  return pino(options, out);
}

/** The CLI's global flags → the variables createLogger reads. */
export function applyLogFlags(flags: { logLevel?: string; logFormat?: string }, env: NodeJS.ProcessEnv = process.env): void {
  if (flags.logLevel) env[LOG_LEVEL_ENV] = flags.logLevel;
  if (flags.logFormat) env[LOG_FORMAT_ENV] = flags.logFormat;
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
