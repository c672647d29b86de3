import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
/**
 * For `seedwatch check`: log into one seed, list its folders, and say what the watcher would
 * watch and how. One session, logged out at the end; never throws.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { FolderRole, ResolvedFolder } from '../analyze/folder-roles.js';
import type { SecretResolver, SeedConfig } from '../config/load-config.js';
import type { MailboxErrorKind } from '../domain/vocabulary.js';
import { imapAuth } from './imap-auth.js';
import { imapClientOptions } from './imap-client.js';
import { planSessions, seedFolderRoles, watchedFolders, type WatchMode } from './mailbox-watcher.js';
import { describeError, mailboxErrorKind } from './watch-error.js';

export interface SeedInspection {
  seed: string;
  provider: string;
  ok: boolean;
  error?: { kind: MailboxErrorKind; message: string };
  folders?: Record<FolderRole, ResolvedFolder | null>;
  watched?: { path: string; role: string; via: 'idle' | 'poll' }[];
  capabilities?: string[];
  gmailTabs?: 'x-gm-raw' | 'not advertised' | 'not used';
}

export async function inspectSeed(
  seed: SeedConfig,
  resolveSecret: SecretResolver,
  opts: { mode?: WatchMode; imapOptions?: Partial<ImapFlowOptions>; oauth2?: OAuth2Tokens } = {},
): Promise<SeedInspection> {
  const out: SeedInspection = { seed: seed.name, provider: seed.provider, ok: false };
  let client: ImapFlow | undefined;
  try {
    const auth = await imapAuth(seed, resolveSecret, opts.oauth2);
    client = new ImapFlow(imapClientOptions(seed, auth, { idle: false, extra: opts.imapOptions }));
    client.on('error', () => undefined); // the awaited commands report it
    await client.connect();
    out.capabilities = [...client.capabilities.keys()].sort();
    const roles = seedFolderRoles(seed, await client.list());
    out.folders = roles;
    const folders = watchedFolders(seed, roles);
    const plan = planSessions(folders.length, seed.preset.connectionBudget, opts.mode ?? 'auto');
    out.watched = folders.map((f, i) => ({ path: f.path, role: f.role, via: plan === 'idle' || (plan === 'poll' && i === 0) ? 'idle' : 'poll' }));
    out.gmailTabs = !seed.preset.capabilities.gmailTabs ? 'not used' : client.capabilities.has('X-GM-EXT-1') ? 'x-gm-raw' : 'not advertised';
    out.ok = true;
    await client.logout();
  } catch (err) {
    out.error = { kind: mailboxErrorKind(err), message: describeError(err) };
    try {
      client?.close();
    } catch {
      /* already closed */
    }
  }
  return out;
}
