import { OAuth2Error } from '../auth/oauth2-error.js';
import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import type { SecretResolver, SeedConfig } from '../config/load-config.js';
import { SecretError } from '../config/secret.js';
import { WatchError } from './watch-error.js';

/**
 * imapflow's `auth` option. `pass` for password login; `accessToken` for SASL OAUTHBEARER
 * (RFC 7628) when the server offers it, else XOAUTH2 — imapflow picks by capability.
 */
export type ImapAuth = { user: string; pass: string } | { user: string; accessToken: string };

/**
 * The login credentials of one seed, resolved at each (re)connect so a rotated secret file is
 * picked up without a restart. OAuth2 seeds get an access token from `tokens` (cached until
 * shortly before expiry, refreshed from the refresh token otherwise). The token store is the
 * composition root's (rotated refresh tokens persist in the ledger): without it an OAuth2 seed
 * cannot log in, and says so — no throw-away store is made up here.
 *
 * Throws WatchError SECRET_UNAVAILABLE (a secret cannot be read) or OAuth2Error (the token
 * endpoint refused or failed; `authenticationFailed` set when the grant itself was refused).
 * Messages name the seed and the field, never a value.
 */
export async function imapAuth(seed: SeedConfig, resolveSecret: SecretResolver, tokens?: OAuth2Tokens): Promise<ImapAuth> {
  const a = seed.imap.auth;
  try {
    if (a.kind === 'oauth2') {
      if (!tokens) throw new WatchError('OAUTH2_UNSUPPORTED', `seed ${seed.name}: an OAuth2 login needs the agent's token store, and none was given`);
      const source = tokens.forSeed(seed, resolveSecret);
      return { user: seed.imap.user, accessToken: (await source.accessToken()).reveal() };
    }
    const secret = resolveSecret(a.password, a.fieldPath);
    return { user: seed.imap.user, pass: secret.reveal() };
  } catch (err) {
    if (err instanceof OAuth2Error) throw err; // already names the seed
    if (err instanceof SecretError || (err as { code?: unknown })?.code === 'SECRET_UNAVAILABLE' || a.kind === 'password') {
      throw new WatchError('SECRET_UNAVAILABLE', `seed ${seed.name}: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * The IMAP server refused a login made with `auth`: drop a refused access token so the next
 * attempt refreshes. True when that next attempt is worth making soon (the refused token was
 * not a fresh one, so a refresh may well fix it); false for passwords, for failures before the
 * server was asked (token endpoint, secrets) and for a fresh token refused (retry slowly).
 */
export function imapLoginRefused(auth: ImapAuth | null, err: unknown, tokens: OAuth2Tokens | null): boolean {
  if (!tokens || !auth || !('accessToken' in auth) || err instanceof OAuth2Error) return false;
  if ((err as { authenticationFailed?: unknown })?.authenticationFailed !== true) return false;
  return tokens.invalidateAccessToken(auth.accessToken);
}
