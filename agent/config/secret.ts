import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspect } from 'node:util';

/** How a secret is written in the config. A literal string is accepted with a warning. */
export type SecretRef = { env: string } | { file: string } | { literal: string };

const REDACTED = '[redacted]';

/**
 * A resolved secret. It prints as `[redacted]` in every form (String(), JSON, util.inspect,
 * template literals), so passing one to a logger or an error message by mistake leaks nothing;
 * only `reveal()` hands out the value, at the one place a protocol needs it.
 */
export class SecretValue {
  readonly #value: string;
  constructor(value: string, readonly source: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

export class SecretError extends Error {
  readonly code = 'SECRET_UNAVAILABLE';
  constructor(readonly fieldPath: string, message: string) {
    super(`${fieldPath}: ${message}`);
    this.name = 'SecretError';
  }
}

/** Where a secret comes from, for messages and `seedwatch check`; never the value. */
export function describeSecret(ref: SecretRef): string {
  if ('env' in ref) return `env ${ref.env}`;
  if ('file' in ref) return `file ${ref.file}`;
  return 'literal in config';
}

export function resolveSecret(
  ref: SecretRef,
  fieldPath: string,
  opts: { env?: NodeJS.ProcessEnv; baseDir?: string } = {},
): SecretValue {
  const env = opts.env ?? process.env;
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      throw new SecretError(fieldPath, `environment variable ${ref.env} is not set`);
    }
    return new SecretValue(v, describeSecret(ref));
  }
  if ('file' in ref) {
    const path = resolve(opts.baseDir ?? process.cwd(), ref.file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new SecretError(fieldPath, `secret file ${ref.file} cannot be read (${code})`);
    }
    // Files written by `echo` or editors end in a newline that is not part of the secret.
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new SecretError(fieldPath, `secret file ${ref.file} is empty`);
    return new SecretValue(value, describeSecret(ref));
  }
  return new SecretValue(ref.literal, describeSecret(ref));
}
