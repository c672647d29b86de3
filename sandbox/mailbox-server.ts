/**
 * One seed mailbox: a hoodiecrow IMAP server on 127.0.0.1 serving one account, in memory,
 * with the provider's folder layout and SPECIAL-USE attributes, IDLE, MOVE, UIDPLUS, and for
 * Gmail X-GM-EXT-1 with X-GM-RAW category search. Delivery goes through hoodiecrow's storage
 * API (`appendMessage`), which notifies every session that has the folder selected, so an
 * idling watcher gets its EXISTS at once. Logins: LOGIN with the password, or for OAuth2-only
 * providers SASL XOAUTH2 with a token from the sandbox's token endpoint (auth-plugin.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { authPlugin, type LoginAttempt, type MailboxAuth } from './auth-plugin.js';
import type { GmailTab, SandboxProvider } from './behaviour.js';
import { silentLogger, type Logger } from '../agent/log.js';
import { gmailPlugin } from './gmail-plugin.js';
import { createHoodiecrow, type HcFolderSpec, type HcMailbox, type HcServer } from './hoodiecrow.js';
import { idlePlugin } from './idle-plugin.js';
import { listenLoopback } from './listen-loopback.js';

export { SANDBOX_HOST } from './listen-loopback.js';

/**
 * Bounds the Trash folders: a watcher with cleanup "trash" moves every probe there, and nothing
 * empties it (real providers purge after 30 days). The oldest messages go beyond this many.
 */
export const MAX_TRASH_MESSAGES = 500;

interface FolderLayout {
  /** Folder tree below the personal namespace. */
  folders: Record<string, HcFolderSpec>;
  /** Where spam is delivered and what counts as Trash. */
  spam: string;
  trash: string;
}

/** The folder layout each provider shows over IMAP (names as the real services list them). */
export const PROVIDER_FOLDERS: Record<SandboxProvider, FolderLayout> = {
  gmail: {
    folders: {
      '[Gmail]': {
        flags: ['\\Noselect'],
        folders: {
          'All Mail': { 'special-use': '\\All' },
          Drafts: { 'special-use': '\\Drafts' },
          'Sent Mail': { 'special-use': '\\Sent' },
          Spam: { 'special-use': '\\Junk' },
          Starred: { 'special-use': '\\Flagged' },
          Trash: { 'special-use': '\\Trash' },
        },
      },
    },
    spam: '[Gmail]/Spam',
    trash: '[Gmail]/Trash',
  },
  outlook: {
    folders: {
      Archive: { 'special-use': '\\Archive' },
      'Deleted Items': { 'special-use': '\\Trash' },
      Drafts: { 'special-use': '\\Drafts' },
      'Junk Email': { 'special-use': '\\Junk' },
      'Sent Items': { 'special-use': '\\Sent' },
    },
    spam: 'Junk Email',
    trash: 'Deleted Items',
  },
  yahoo: {
    folders: {
      Archive: { 'special-use': '\\Archive' },
      Bulk: { 'special-use': '\\Junk' },
      Draft: { 'special-use': '\\Drafts' },
      Sent: { 'special-use': '\\Sent' },
      Trash: { 'special-use': '\\Trash' },
    },
    spam: 'Bulk',
    trash: 'Trash',
  },
  orange: {
    folders: {
      CORBEILLE: { 'special-use': '\\Trash' },
      ENVOYES: { 'special-use': '\\Sent' },
      QUARANTAINE: { 'special-use': '\\Junk' },
    },
    spam: 'QUARANTAINE',
    trash: 'CORBEILLE',
  },
};

export interface DepositedMessage {
  folder: string;
  uid: number;
}

/** Keeps this many login attempts per mailbox (the watcher reconnects for as long as the demo runs). */
export const MAX_RECORDED_LOGINS = 200;

export interface SandboxMailboxOptions {
  provider: SandboxProvider;
  user: string;
  /**
   * How the account logs in: its password (LOGIN), or OAuth2 access tokens (SASL XOAUTH2 only,
   * LOGIN refused) checked by `validAccessToken`, e.g. the sandbox token endpoint's.
   */
  auth: { kind: 'password'; password: string } | { kind: 'oauth2'; validAccessToken(user: string, token: string): boolean };
  /**
   * UIDVALIDITY of every folder. Each sandbox start must use a new one: its UIDs start at 1
   * again, and a watcher that kept its folder state (a reused --data-dir) would otherwise wait
   * for UIDs above the ones it saw last time. Default: seconds since the epoch, as Dovecot does.
   */
  uidValidity?: number;
  /** Each login attempt is logged at info (mechanism and outcome, never a secret). */
  logger?: Logger;
}

function withUidValidity(folders: Record<string, HcFolderSpec>, uidValidity: number): Record<string, HcFolderSpec> {
  const out: Record<string, HcFolderSpec> = {};
  for (const [name, spec] of Object.entries(folders)) {
    out[name] = { ...spec, uidvalidity: uidValidity, ...(spec.folders ? { folders: withUidValidity(spec.folders, uidValidity) } : {}) };
  }
  return out;
}

export class SandboxMailbox {
  readonly provider: SandboxProvider;
  readonly user: string;
  readonly layout: FolderLayout;
  /** How clients log in to this mailbox. */
  readonly authKind: 'password' | 'oauth2';
  private readonly server: HcServer;
  private readonly sockets = new Set<Socket>();
  private readonly loginAttempts: LoginAttempt[] = [];
  private readonly loginCounts = new Map<string, number>();
  private portNumber = 0;

  constructor(opts: SandboxMailboxOptions) {
    this.provider = opts.provider;
    this.user = opts.user;
    this.layout = PROVIDER_FOLDERS[opts.provider];
    this.authKind = opts.auth.kind;
    const auth: MailboxAuth = opts.auth.kind === 'password' ? { kind: 'password' } : opts.auth;
    const log = opts.logger ?? silentLogger();
    const onLogin = (a: Omit<LoginAttempt, 'atMs'>) => {
      log.info({ user: a.user, mechanism: a.mechanism, ok: a.ok }, a.ok ? 'sandbox imap login' : 'sandbox imap login refused');
      this.loginAttempts.push({ ...a, atMs: Date.now() });
      if (this.loginAttempts.length > MAX_RECORDED_LOGINS) this.loginAttempts.shift();
      const key = `${a.mechanism}:${a.ok ? 'ok' : 'failed'}`;
      this.loginCounts.set(key, (this.loginCounts.get(key) ?? 0) + 1);
    };
    const plugins = [authPlugin({ user: opts.user, auth, onLogin }), idlePlugin, 'SPECIAL-USE', 'MOVE', 'UIDPLUS', 'UNSELECT', 'ID', 'NAMESPACE'] as (
      | string
      | ((s: HcServer) => void)
    )[];
    if (opts.provider === 'gmail') plugins.push('X-GM-EXT-1', gmailPlugin);
    const uidValidity = opts.uidValidity ?? Math.floor(Date.now() / 1000);
    // An OAuth2 account has no password; LOGIN is refused before one would be compared anyway.
    const password = opts.auth.kind === 'password' ? opts.auth.password : randomBytes(24).toString('base64url');
    this.server = createHoodiecrow({
      plugins,
      users: { [opts.user]: { password } },
      storage: {
        INBOX: { uidvalidity: uidValidity },
        // Fresh objects: hoodiecrow keeps its state in the objects it is given.
        '': { separator: '/', type: 'personal', folders: withUidValidity(this.layout.folders, uidValidity) },
      },
    });
    this.server.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return this.portNumber;
  }

  /** Listens on 127.0.0.1 on a free port. */
  async start(): Promise<number> {
    this.portNumber = await listenLoopback(this.server, this.server.server);
    return this.portNumber;
  }

  /** Closes the listener and every session (a watcher sees its connection drop). */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      if (!this.server.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** Delivers a message into INBOX or the spam folder; the Gmail tab is remembered for X-GM-RAW. */
  deposit(raw: Buffer, where: 'inbox' | 'spam', internalDate: Date, tab?: GmailTab): DepositedMessage {
    const path = where === 'inbox' ? 'INBOX' : this.layout.spam;
    const { message } = this.server.appendMessage(path, [], internalDate, raw.toString('latin1'));
    if (tab && where === 'inbox') message.gmailTab = tab;
    this.pruneTrash();
    return { folder: path, uid: message.uid };
  }

  /** The messages of a folder (tests and stats); raw as Buffers. */
  messages(path: string): { uid: number; raw: Buffer; gmailTab?: string }[] {
    const box = this.server.getMailbox(path);
    return (box?.messages ?? []).map((m) => ({ uid: m.uid, raw: Buffer.from(m.raw, 'latin1'), gmailTab: m.gmailTab }));
  }

  /** The login attempts so far (the last MAX_RECORDED_LOGINS), oldest first. */
  logins(): LoginAttempt[] {
    return this.loginAttempts.map((a) => ({ ...a }));
  }

  /** Login attempts since start, by `MECHANISM:ok` / `MECHANISM:failed` (not bounded like logins()). */
  loginCountsByMechanism(): Record<string, number> {
    return Object.fromEntries(this.loginCounts);
  }

  private pruneTrash(): void {
    const box: HcMailbox | undefined = this.server.getMailbox(this.layout.trash);
    if (!box || box.messages.length <= MAX_TRASH_MESSAGES) return;
    const excess = box.messages.length - MAX_TRASH_MESSAGES;
    for (let i = 0; i < excess; i++) {
      box.messages.shift();
      // Sequence number 1 each time: the oldest message goes first.
      this.server.notify({ tag: '*', attributes: [1, { type: 'ATOM', value: 'EXPUNGE' }] }, box);
    }
  }
}
