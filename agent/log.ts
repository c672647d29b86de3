import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout is for command output such as tables and JSON).
 * Secrets are SecretValue objects that serialise as "[redacted]"; the redact list is a second
 * line of defence for fields that might carry one by mistake.
 */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream | number } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.SEEDWATCH_LOG_LEVEL ?? 'info',
      base: { app: 'seedwatch' },
      redact: {
        paths: ['password', 'pass', 'token', 'accessToken', 'refreshToken', 'clientSecret', 'privateKey', '*.password', '*.pass', '*.accessToken', '*.refreshToken', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination(typeof opts.destination === 'number' ? opts.destination : 2),
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
