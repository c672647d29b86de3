/**
 * `seedwatch auth --provider gmail|outlook --client-id …`: obtain the first refresh token of a
 * seed mailbox (Microsoft: device code flow; Google: installed-app loopback flow with PKCE),
 * write it to a file of mode 0600 and print the config lines that point at it. The token itself
 * is never printed.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync, chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import { deviceCodeFlow } from '../auth/device-code-flow.js';
import { loopbackFlow } from '../auth/loopback-flow.js';
import { expandTokenUrl } from '../auth/oauth2-credentials.js';
import { OAuth2Error } from '../auth/oauth2-error.js';
import type { FetchLike } from '../auth/token-endpoint.js';
import { loadPresets, type ProviderPreset } from '../config/preset.js';
import { SecretValue } from '../config/secret.js';

/** Exit codes as in cli.ts (not imported: cli.ts imports the commands lazily). */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_ERROR = 2;

/** Google's authorization endpoint (the token endpoint comes from the gmail preset). */
export const GOOGLE_AUTHORIZE_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
/** Microsoft's device authorization endpoint; {tenant} as in the outlook preset's token URL. */
export const MICROSOFT_DEVICE_CODE_URL = 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode';

export interface AuthCommandOptions {
  provider: string;
  clientId: string;
  /** Read the client secret from this environment variable (Google desktop clients have one). */
  clientSecretEnv?: string;
  /** Read the client secret from this file. */
  clientSecretFile?: string;
  /** Microsoft tenant: consumers (Outlook.com, the default), organizations, or a tenant id. */
  tenant?: string;
  /** Override the preset's scope. */
  scope?: string;
  /** The seed's address (Google: pre-selects the account; also used in the printed snippet). */
  loginHint?: string;
  /** Where to write the refresh token (mode 0600). Default ./<provider>-refresh-token. */
  out?: string;
  /** Overwrite --out if it exists. */
  force?: boolean;
  /** Google: loopback port of the redirect (default: any free port). */
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

export async function authCommand(opts: AuthCommandOptions, io: AuthCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const say = (s: string) => stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  try {
    if (opts.provider !== 'gmail' && opts.provider !== 'outlook') {
      stderr.write(`seedwatch auth: --provider must be gmail or outlook (got "${opts.provider}")\n`);
      return EXIT_ERROR;
    }
    if (!opts.clientId) {
      stderr.write('seedwatch auth: --client-id is required (the OAuth client registered for seedwatch)\n');
      return EXIT_ERROR;
    }
    const preset = (io.presets ?? loadPresets()).get(opts.provider);
    if (!preset?.oauth2) throw new Error(`provider preset ${opts.provider} has no oauth2 section`);
    const scope = opts.scope ?? preset.oauth2.scope;
    const tenant = opts.tenant ?? preset.oauth2.defaultTenant;
    const tokenUrl = opts.tokenUrl ?? expandTokenUrl(preset.oauth2.tokenUrl, tenant, preset.oauth2.defaultTenant);
    const clientSecret = readClientSecret(opts, env);
    const out = resolve(opts.out ?? `${opts.provider}-refresh-token`);
    if (existsSync(out) && !opts.force) {
      stderr.write(`seedwatch auth: ${out} exists; pass --force to overwrite it or --out to choose another file\n`);
      return EXIT_ERROR;
    }

    const result =
      opts.provider === 'outlook'
        ? await deviceCodeFlow({
            deviceCodeUrl: opts.deviceCodeUrl ?? expandTokenUrl(MICROSOFT_DEVICE_CODE_URL, tenant, preset.oauth2.defaultTenant),
            tokenUrl,
            clientId: opts.clientId,
            scope,
            prompt: (text) => say(`\n${text}\n\nWaiting for the sign-in to finish…`),
            fetch: io.fetch,
            signal: io.signal,
          })
        : await loopbackFlow({
            authorizeUrl: opts.authorizeUrl ?? GOOGLE_AUTHORIZE_URL,
            tokenUrl,
            clientId: opts.clientId,
            clientSecret,
            scope,
            loginHint: opts.loginHint,
            port: opts.port,
            prompt: (text) => say(`\n${text}\nWaiting for the browser…`),
            fetch: io.fetch,
            signal: io.signal,
          });
    if (!result.refreshToken) {
      stderr.write(
        `seedwatch auth: the provider issued no refresh token (${opts.provider === 'outlook' ? 'is offline_access in the scope?' : 'was consent given for offline access?'})\n`,
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
      ...(opts.provider === 'outlook' && opts.tenant && opts.tenant !== preset.oauth2.defaultTenant ? [`      tenant: ${opts.tenant}`] : []),
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
    const msg = err instanceof OAuth2Error || err instanceof Error ? err.message : String(err);
    stderr.write(`seedwatch auth: ${msg.replace(/^seedwatch auth: /, '')}\n`);
    return err instanceof OAuth2Error ? EXIT_FAILED : EXIT_ERROR;
  }
}
