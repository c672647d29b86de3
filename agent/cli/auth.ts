/**
 * `seedwatch auth --provider P --client-id …`: obtain the first refresh token of a seed mailbox
 * with the sign-in flow the preset P declares (`oauth2.flow`: device-code as for outlook, or
 * loopback with PKCE as for gmail; endpoints, scope and tenant from the preset too), write it to
 * a file of mode 0600 and print the config lines that point at it. The token itself is never
 * printed. Any preset with an `oauth2.flow` works; nothing here knows a provider.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync, chmodSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FetchLike } from '../auth/token-endpoint.js';
import { loadPresets, type OAuth2Preset, type ProviderPreset } from '../config/preset.js';
import { SecretValue } from '../config/secret.js';
import { EXIT_ERROR, EXIT_FAILED, EXIT_OK } from '../exit-codes.js';


export interface AuthCommandOptions {
  provider: string;
  clientId: string;
  /** Read the client secret from this environment variable (Google desktop clients have one). */
  clientSecretEnv?: string;
  /** Read the client secret from this file. */
  clientSecretFile?: string;
  /** Fills `{tenant}` of the preset's URLs (outlook: consumers, the default; organizations; a tenant id). */
  tenant?: string;
  /** Override the preset's scope. */
  scope?: string;
  /** The seed's address (loopback flow: pre-selects the account; also used in the printed snippet). */
  loginHint?: string;
  /** Where to write the refresh token (mode 0600). Default ./<provider>-refresh-token. */
  out?: string;
  /** Overwrite --out if it exists. */
  force?: boolean;
  /** Loopback flow: port of the redirect (default: any free port). */
  port?: number;
  /** Endpoint overrides (a test's stand-in, a sovereign cloud). */
  authorizeUrl?: string;
  deviceCodeUrl?: string;
  tokenUrl?: string;
}

export interface AuthCommandIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  signal?: AbortSignal;
  presets?: Map<string, ProviderPreset>;
}

function readClientSecret(opts: AuthCommandOptions, env: NodeJS.ProcessEnv): SecretValue | undefined {
  if (opts.clientSecretEnv) {
    const v = env[opts.clientSecretEnv];
    if (!v) throw new Error(`--client-secret-env: environment variable ${opts.clientSecretEnv} is not set`);
    return new SecretValue(v, `env ${opts.clientSecretEnv}`);
  }
  if (opts.clientSecretFile) {
    let v: string;
    try {
      v = readFileSync(opts.clientSecretFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`--client-secret-file: ${opts.clientSecretFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!v) throw new Error(`--client-secret-file: ${opts.clientSecretFile} is empty`);
    return new SecretValue(v, `file ${opts.clientSecretFile}`);
  }
  return undefined;
}

/** Write the token with mode 0600 (created so; an existing file is tightened before writing). */
function writeTokenFile(path: string, token: SecretValue, force: boolean): void {
  if (existsSync(path) && !force) throw new Error(`${path} exists; pass --force to overwrite it`);
  const fd = openSync(path, force ? 'w' : 'wx', 0o600);
  try {
    chmodSync(path, 0o600);
    writeSync(fd, token.reveal() + '\n');
  } finally {
    closeSync(fd);
  }
}

function usesTenant(o: OAuth2Preset): boolean {
  return [o.tokenUrl, o.deviceCodeUrl, o.authorizeUrl].some((u) => u?.includes('{tenant}'));
}

export async function authCommand(opts: AuthCommandOptions, io: AuthCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (s: string) => stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  try {
    const presets = io.presets ?? loadPresets();
    const withFlow = [...presets.values()].filter((p) => p.oauth2?.flow).map((p) => p.name);
    const preset = presets.get(opts.provider);
    if (!preset) {
      stderr.write(`seedwatch auth: --provider: unknown provider ${JSON.stringify(opts.provider)} (presets with an OAuth2 sign-in: ${withFlow.join(', ') || 'none'})\n`);
      return EXIT_ERROR;
    }
    const o = preset.oauth2;
    if (!o?.flow) {
      stderr.write(
        `seedwatch auth: --provider: preset "${preset.name}" declares no OAuth2 sign-in flow (oauth2.flow in its preset file); presets with one: ${withFlow.join(', ') || 'none'}\n`,
      );
      return EXIT_ERROR;
    }
    if (!opts.clientId) {
      stderr.write('seedwatch auth: --client-id is required (the OAuth client registered for seedwatch)\n');
      return EXIT_ERROR;
    }
    const clientSecret = readClientSecret(opts, env);
    const out = resolve(opts.out ?? `${opts.provider}-refresh-token`);
    if (existsSync(out) && !opts.force) {
      stderr.write(`seedwatch auth: ${out} exists; pass --force to overwrite it or --out to choose another file\n`);
      return EXIT_ERROR;
    }
    // Before the sign-in, not after: a token obtained and then not writable is lost.
    try {
      mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
    } catch (err) {
      stderr.write(`seedwatch auth: cannot create the directory of ${out}: ${(err as Error).message}\n`);
      return EXIT_ERROR;
    }

    const { signIn } = await import('../agent.js');
    const result = await signIn({
      preset,
      clientId: opts.clientId,
      ...(clientSecret ? { clientSecret } : {}),
      scope: opts.scope,
      tenant: opts.tenant,
      loginHint: opts.loginHint,
      port: opts.port,
      authorizeUrl: opts.authorizeUrl,
      deviceCodeUrl: opts.deviceCodeUrl,
      tokenUrl: opts.tokenUrl,
      prompt: (text) => say(o.flow === 'device-code' ? `\n${text}\n\nWaiting for the sign-in to finish…` : `\n${text}\nWaiting for the browser…`),
      fetch: io.fetch,
      signal: io.signal,
    });
    if (!result.refreshToken) {
      stderr.write(
        `seedwatch auth: the provider issued no refresh token (do the scope and oauth2.authorizeParams of preset "${preset.name}" ask for offline access?)\n`,
      );
      return EXIT_FAILED;
    }
    writeTokenFile(out, result.refreshToken, opts.force ?? false);
    const lines = [
      '',
      `Refresh token written to ${out} (mode 0600). Keep it like a password.`,
      '',
      'Put this under the seed in the seedwatch config (seeds[].imap):',
      '',
      `    user: ${opts.loginHint ?? '<the seed address>'}`,
      '    oauth2:',
      `      clientId: ${opts.clientId}`,
      // Only where it changes something: the preset's URLs have a {tenant} and it is not the default.
      ...(opts.tenant && opts.tenant !== o.defaultTenant && usesTenant(o) ? [`      tenant: ${opts.tenant}`] : []),
      ...(clientSecret
        ? [`      clientSecret: ${opts.clientSecretEnv ? `{ env: ${opts.clientSecretEnv} }` : `{ file: ${resolve(opts.clientSecretFile!)} }`}`]
        : []),
      `      refreshToken: { file: ${out} }`,
      ...(opts.tokenUrl ? [`      tokenUrl: ${opts.tokenUrl}`] : []),
      '',
      'A seedwatch agent that already ran this seed with another refresh token switches to this',
      'one at its next login (a changed config token wins over the rotated one it stored).',
    ];
    say(lines.join('\n'));
    return EXIT_OK;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    stderr.write(`seedwatch auth: ${msg.replace(/^seedwatch auth: /, '')}\n`);
    // The provider refused or failed (an OAuth2 error code): the sign-in failed, not the command.
    return String((err as { code?: unknown })?.code ?? '').startsWith('OAUTH2_') ? EXIT_FAILED : EXIT_ERROR;
  }
}
