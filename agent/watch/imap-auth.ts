import type { SecretResolver, SeedConfig } from '../config/load-config.js';
import { WatchError } from './watch-error.js';

/**
 * imapflow's `auth` option. `pass` for password login; `accessToken` (XOAUTH2 / OAUTHBEARER)
 * is where issue 8 plugs OAuth2 in without touching the watcher.
 */
export type ImapAuth = { user: string; pass: string } | { user: string; accessToken: string };

/**
 * The login credentials of one seed, resolved at each (re)connect so a rotated secret file is
 * picked up without a restart. Throws WatchError (code OAUTH2_UNSUPPORTED or SECRET_UNAVAILABLE);
 * the message names the field, never the value.
 */
export async function imapAuth(seed: SeedConfig, resolveSecret: SecretResolver): Promise<ImapAuth> {
  const a = seed.imap.auth;
  if (a.kind === 'oauth2') {
    throw new WatchError(
      'OAUTH2_UNSUPPORTED',
      `seed ${seed.name}: ${a.fieldPath}: OAuth2 login for IMAP is not supported yet (use a password / app password for now)`,
    );
  }
  try {
    const secret = resolveSecret(a.password, a.fieldPath);
    return { user: seed.imap.user, pass: secret.reveal() };
  } catch (err) {
    throw new WatchError('SECRET_UNAVAILABLE', `seed ${seed.name}: ${(err as Error).message}`, { cause: err });
  }
}
