/**
 * Which IMAP folder plays which role in a seed mailbox. Decided in this order, the first
 * that gives an answer wins, and the answer says which rule chose it (shown by `seedwatch
 * check` so a wrong guess is visible):
 *   1. `config`       — an explicit override from the seed's configuration;
 *   2. `special-use`  — RFC 6154 attributes (`\Junk`, `\Trash`, `\All`);
 *   3. `name`         — the provider preset's folder names, case-insensitively, either the
 *                       full path or the last hierarchy level (`[Gmail]/Spam`, `INBOX.Junk`);
 *   4. `default`      — only for the inbox, which is always INBOX (RFC 3501, case-insensitive).
 * Folders flagged `\Noselect`/`\NonExistent` cannot hold mail and are never chosen.
 */

export interface MailboxListEntry {
  path: string;
  /** As imapflow reports it, e.g. `\Junk`. */
  specialUse?: string;
  flags?: string[] | Iterable<string>;
  delimiter?: string;
}

export interface FolderRolePreset {
  spam: string[];
  trash: string[];
  all?: string[];
}

export interface FolderRoleOverrides {
  spam?: string;
  trash?: string;
}

import type { FolderRole } from '../domain/vocabulary.js';
export type { FolderRole };
export type FolderRoleRule = 'config' | 'special-use' | 'name' | 'default';

export interface ResolvedFolder {
  path: string;
  rule: FolderRoleRule;
}

export type FolderRoles = Record<FolderRole, ResolvedFolder | null>;

const SPECIAL_USE: Record<Exclude<FolderRole, 'inbox'>, string> = {
  spam: '\\junk',
  trash: '\\trash',
  all: '\\all',
};

const norm = (s: string) => s.normalize('NFC').toLowerCase();

function flagsOf(e: MailboxListEntry): string[] {
  const out: string[] = [];
  try {
    if (typeof e.specialUse === 'string') out.push(norm(e.specialUse));
    if (e.flags && typeof (e.flags as Iterable<string>)[Symbol.iterator] === 'function') {
      for (const f of e.flags) if (typeof f === 'string') out.push(norm(f));
    }
  } catch {
    // A broken flags value only loses the special-use hint.
  }
  return out;
}

interface Entry {
  path: string;
  key: string;
  leaf: string;
  depth: number;
  flags: string[];
}

function toEntry(e: MailboxListEntry): Entry | null {
  if (!e || typeof e.path !== 'string' || e.path.length === 0) return null;
  const flags = flagsOf(e);
  if (flags.includes('\\noselect') || flags.includes('\\nonexistent')) return null;
  let parts: string[];
  if (typeof e.delimiter === 'string' && e.delimiter.length > 0) parts = e.path.split(e.delimiter);
  else parts = e.path.split(/[/.]/);
  const nonEmpty = parts.filter((p) => p.length > 0);
  return {
    path: e.path,
    key: norm(e.path),
    leaf: norm(nonEmpty[nonEmpty.length - 1] ?? e.path),
    depth: nonEmpty.length,
    flags,
  };
}

function byName(entries: Entry[], names: string[] | undefined): Entry | undefined {
  const wanted = (Array.isArray(names) ? names : []).filter((n) => typeof n === 'string' && n.length > 0).map(norm);
  for (const w of wanted) {
    const exact = entries.find((e) => e.key === w);
    if (exact) return exact;
  }
  for (const w of wanted) {
    const leaves = entries.filter((e) => e.leaf === w);
    if (leaves.length > 0) return leaves.reduce((a, b) => (b.depth < a.depth ? b : a));
  }
  return undefined;
}

export function resolveFolderRoles(
  list: MailboxListEntry[],
  preset: FolderRolePreset,
  overrides: FolderRoleOverrides = {},
): FolderRoles {
  const entries = (Array.isArray(list) ? list : []).map(toEntry).filter((e): e is Entry => e !== null);
  const inboxEntry = entries.find((e) => e.key === 'inbox');
  const roles: FolderRoles = {
    inbox: { path: inboxEntry ? inboxEntry.path : 'INBOX', rule: 'default' },
    spam: null,
    trash: null,
    all: null,
  };
  const p: Partial<FolderRolePreset> = preset ?? {};
  const o: FolderRoleOverrides = overrides ?? {};
  for (const role of ['spam', 'trash', 'all'] as const) {
    const override = role === 'all' ? undefined : o[role];
    if (typeof override === 'string' && override.length > 0) {
      // Keep the server's spelling when the configured name matches a listed folder.
      const listed = entries.find((e) => e.key === norm(override));
      roles[role] = { path: listed ? listed.path : override, rule: 'config' };
      continue;
    }
    const special = entries.find((e) => e.flags.includes(SPECIAL_USE[role]));
    if (special) {
      roles[role] = { path: special.path, rule: 'special-use' };
      continue;
    }
    const named = byName(entries, p[role]);
    if (named) roles[role] = { path: named.path, rule: 'name' };
  }
  return roles;
}
