/**
 * One watcher per seed: logs in, maps the folders (SPECIAL-USE first, preset names second),
 * catches up on what arrived while it was away, then watches INBOX with IDLE and the spam
 * folder (and Gmail's All Mail) with IDLE sessions of their own or one polling session,
 * within the provider's connection budget. Any lost session tears the set down and the
 * watcher reconnects with capped exponential backoff (a rejected login: slowly). It never
 * throws into its caller and never leaves an unhandled rejection behind.
 */
import { ImapFlow, type ImapFlowOptions, type ListResponse } from 'imapflow';
import { resolveFolderRoles, type FolderRole, type FolderRoles, type ResolvedFolder } from '../analyze/folder-roles.js';
import { systemClock, type Clock } from '../clock.js';
import type { SecretResolver, SeedConfig } from '../config/load-config.js';
import type { AgentEvents } from '../events.js';
import type { Ledger } from '../ledger/ledger.js';
import type { MailboxErrorKind } from '../domain/vocabulary.js';
import { silentLogger, type Logger } from '../log.js';
import { recordMailboxError } from '../record/recorder.js';
import { DEFAULT_BACKOFF, reconnectDelayMs, type BackoffPolicy } from './backoff.js';
import type { ScanContext, WatchedFolder } from './folder-scan.js';
import { FolderStates } from './folder-states.js';
import { IdleFolderSession, PollSession, type FolderSessionLike, type SessionHooks } from './folder-session.js';
import type { OAuth2Tokens } from '../auth/oauth2-tokens.js';
import { imapAuth, imapLoginRefused, type ImapAuth } from './imap-auth.js';
import { imapClientOptions } from './imap-client.js';
import type { LoginGate } from './login-gate.js';
import { describeError, mailboxErrorKind, WatchError } from './watch-error.js';

/** Bounds the polite LOGOUT on stop; after it the sockets are closed anyway. */
export const LOGOUT_TIMEOUT_MS = 2_000;
/** A session that stayed up this long resets the reconnect backoff to its first step. */
export const STABLE_SESSION_MS = 60_000;

export type WatchMode = 'auto' | 'idle' | 'poll';

export interface MailboxWatcherOptions {
  seed: SeedConfig;
  ledger: Ledger;
  events: AgentEvents;
  resolveSecret: SecretResolver;
  /** config.watch.pollInterval: how often folders without IDLE are polled. */
  pollIntervalMs: number;
  /** config.watch.idleCheck: the safety check of IDLE folders. Default pollIntervalMs. */
  idleCheckIntervalMs?: number;
  /** config.deadline: the catch-up window when a folder has no usable state. */
  deadlineMs: number;
  /** This agent's name (config agent.name), recorded on every copy it sees. */
  agent?: string;
  clock?: Clock;
  log?: Logger;
  /**
   * auto (default): one IDLE session per watched folder when that leaves one session of the
   * provider's budget free, else INBOX on IDLE and the other folders polled on one session.
   */
  mode?: WatchMode;
  backoff?: BackoffPolicy;
  /** Extra imapflow options (tests: a private CA in tls.ca). Never used to weaken TLS. */
  imapOptions?: Partial<ImapFlowOptions>;
  /**
   * OAuth2 access tokens of oauth2 seeds (the composition root's store: shared cache, rotated
   * refresh tokens persisted in the ledger). Required for oauth2 seeds.
   */
  oauth2?: OAuth2Tokens;
  /** Paces session set-ups per IMAP server, shared by every watcher (watchAll makes one). */
  logins?: Pick<LoginGate, 'acquire'>;
}

export interface MailboxHealth {
  seed: string;
  provider: string;
  /** Every session connected and caught up. */
  up: boolean;
  connectedOnce: boolean;
  lastError: { kind: MailboxErrorKind; message: string; atMs: number } | null;
  /** Folder map of the last login (role → folder and the rule that chose it). */
  folders: Record<FolderRole, ResolvedFolder | null> | null;
  watched: { path: string; role: string; via: 'idle' | 'poll' }[];
  capabilities: string[];
  sessions: number;
  reconnects: number;
  lastScanAtMs: number | null;
  nextRetryAtMs: number | null;
}

/** Folder list entries in the shape resolveFolderRoles takes. */
export function listEntries(list: ListResponse[]) {
  return list.map((m) => ({
    path: m.path,
    specialUse: m.specialUseSource === 'extension' ? m.specialUse : undefined,
    flags: [...(m.flags ?? [])],
    delimiter: m.delimiter,
  }));
}

/** The seed's folder roles from a LIST response. */
export function seedFolderRoles(seed: SeedConfig, list: ListResponse[]): FolderRoles {
  return resolveFolderRoles(
    listEntries(list),
    { spam: seed.preset.folders.spam.names, trash: seed.preset.folders.trash.names, all: seed.preset.folders.all?.names },
    seed.folders,
  );
}

/** Folders a watcher watches: INBOX, spam, and All Mail where the provider has Gmail tabs. */
export function watchedFolders(seed: SeedConfig, roles: FolderRoles): WatchedFolder[] {
  const out: WatchedFolder[] = [];
  const inbox = roles.inbox ?? { path: 'INBOX', rule: 'default' as const };
  out.push({ path: inbox.path, role: 'inbox', rule: inbox.rule });
  if (roles.spam && roles.spam.path !== inbox.path) out.push({ path: roles.spam.path, role: 'spam', rule: roles.spam.rule });
  if (seed.preset.capabilities.gmailTabs && roles.all) out.push({ path: roles.all.path, role: 'all', rule: roles.all.rule });
  return out;
}

/** IDLE for every folder, or INBOX on IDLE and the rest polled, within the connection budget. */
export function planSessions(folders: number, budget: number, mode: WatchMode): 'idle' | 'poll' | 'poll-all' {
  if (budget < 2) return 'poll-all';
  if (mode === 'idle') return folders <= budget ? 'idle' : 'poll';
  if (mode === 'poll') return 'poll';
  // Keep one session of the budget for `seedwatch check` or a human with a mail client.
  return folders + 1 <= budget ? 'idle' : 'poll';
}

export class MailboxWatcher {
  private readonly seed: SeedConfig;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private stopped = true;
  private loop: Promise<void> | null = null;
  private clients: ImapFlow[] = [];
  private sessions: FolderSessionLike[] = [];
  private wake: (() => void) | null = null;
  private endSession: ((err: unknown) => void) | null = null;
  private readonly state: MailboxHealth;
  private readonly oauth2: OAuth2Tokens | null;
  /** Per watched folder: the start of its latest complete scan (or unchanged check) this session. */
  private readonly scannedFrom = new Map<string, number>();
  /** Credentials of the last connect attempt (to drop an access token the server refused). */
  private lastAuth: ImapAuth | null = null;

  constructor(private readonly opts: MailboxWatcherOptions) {
    this.seed = opts.seed;
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger()).child({ seed: opts.seed.name });
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.oauth2 = opts.oauth2 ?? null;
    this.state = {
      seed: opts.seed.name,
      provider: opts.seed.provider,
      up: false,
      connectedOnce: false,
      lastError: null,
      folders: null,
      watched: [],
      capabilities: [],
      sessions: 0,
      reconnects: 0,
      lastScanAtMs: null,
      nextRetryAtMs: null,
    };
  }

  /** Every session of the seed has been up at least once (readiness; cheaper than health()). */
  get connectedOnce(): boolean {
    return this.state.connectedOnce;
  }

  health(): MailboxHealth {
    return { ...this.state, watched: [...this.state.watched], capabilities: [...this.state.capabilities] };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.supervise().catch((err) => {
      // supervise() handles everything itself; this is the last line of defence.
      this.log.error({ err: describeError(err) }, 'mailbox watcher loop failed');
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    for (const sess of this.sessions) sess.stop();
    const clients = [...this.clients];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(clients.map((c) => (c.usable ? c.logout() : Promise.resolve()))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, LOGOUT_TIMEOUT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    this.endSession?.(null);
    this.closeAll();
    await this.loop;
    this.loop = null;
  }

  /**
   * Every copy delivered to the seed before this moment has been recorded: the oldest of the
   * watched folders' latest complete scans. Null while the seed is not up (down, or still
   * catching up after a (re)connect): then nothing can be concluded missing for it.
   */
  scannedFromMs(): number | null {
    if (!this.state.up || this.state.watched.length === 0) return null;
    let oldest = Infinity;
    for (const w of this.state.watched) {
      const t = this.scannedFrom.get(w.path);
      if (t === undefined) return null;
      oldest = Math.min(oldest, t);
    }
    return oldest;
  }

  /** Scan every watched folder now; resolves when done (no-op while disconnected). */
  async scanNow(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.scanNow()));
  }

  private async supervise(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      const startedAt = this.clock.nowMs();
      let failure: unknown = null;
      try {
        await this.runSession();
      } catch (err) {
        failure = err;
      }
      const wasUp = this.state.up;
      this.state.up = false;
      this.closeAll();
      if (wasUp) this.opts.events.mailboxState(this.seed.name, false);
      if (this.stopped) break;
      const err = failure ?? new WatchError('SESSION_CLOSED', 'IMAP session closed by the server');
      const kind = mailboxErrorKind(err);
      await this.reportError(kind, err);
      if (wasUp && this.clock.nowMs() - startedAt >= STABLE_SESSION_MS) attempt = 0;
      // A refused OAuth2 access token is dropped; when it came from the cache (not straight from
      // a refresh), a refreshed one may well be accepted: retry at the first backoff step instead
      // of the slow login pace. A refused refresh or a fresh token refused stays slow.
      const retrySoon = kind === 'login' && imapLoginRefused(this.lastAuth, err, this.oauth2);
      const delay = retrySoon ? reconnectDelayMs(0, 'connection', this.backoff) : reconnectDelayMs(attempt++, kind, this.backoff);
      this.state.nextRetryAtMs = this.clock.nowMs() + delay;
      this.log.warn({ kind, err: describeError(err), retryInMs: delay }, 'mailbox session lost; reconnecting later');
      await this.sleep(delay);
      this.state.nextRetryAtMs = null;
      this.state.reconnects++;
    }
  }

  private async reportError(kind: MailboxErrorKind, err: unknown): Promise<void> {
    const message = describeError(err);
    this.state.lastError = { kind, message, atMs: this.clock.nowMs() };
    try {
      await recordMailboxError(this.opts.ledger, this.opts.events, this.seed.name, kind, this.clock.nowMs(), message);
    } catch (e) {
      this.log.error({ err: describeError(e) }, 'cannot record the mailbox error in the ledger');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      t.unref();
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private newClient(auth: ImapAuth, idle: boolean): ImapFlow {
    const client = new ImapFlow(imapClientOptions(this.seed, auth, { idle, log: this.log, extra: this.opts.imapOptions }));
    client.on('error', (err: unknown) => this.endSession?.(err));
    client.on('close', () => this.endSession?.(new WatchError('SESSION_CLOSED', 'IMAP session closed')));
    this.clients.push(client);
    return client;
  }

  /** Log in one session, paced per server with every other watcher's (opts.logins). */
  private async connect(client: ImapFlow): Promise<void> {
    const release = this.opts.logins ? await this.opts.logins.acquire(`${this.seed.imap.host}:${this.seed.imap.port}`) : null;
    try {
      // Stopped while waiting for a slot: closeAll has already closed this client; never open it.
      if (this.stopped) throw new WatchError('SESSION_CLOSED', 'mailbox watcher stopped');
      await client.connect();
    } finally {
      release?.();
    }
  }

  private closeAll(): void {
    this.scannedFrom.clear();
    for (const s of this.sessions) s.stop();
    this.sessions = [];
    for (const c of this.clients) {
      try {
        c.close();
      } catch {
        /* already closed */
      }
    }
    this.clients = [];
    this.state.sessions = 0;
  }

  /** One connected period: resolves or rejects when any session ends. */
  private async runSession(): Promise<void> {
    const ended = new Promise<void>((resolve, reject) => {
      this.endSession = (err) => {
        this.endSession = null;
        if (err) reject(err);
        else resolve();
      };
    });
    ended.catch(() => undefined);
    const work = this.connectAndWatch();
    work.catch(() => undefined);
    // Whichever comes first: setup failing, or a session ending (also during setup).
    await Promise.race([work, ended]);
    await ended;
  }

  private async connectAndWatch(): Promise<void> {
    const seed = this.seed;
    this.lastAuth = null;
    const auth = await imapAuth(seed, this.opts.resolveSecret, this.oauth2 ?? undefined);
    this.lastAuth = auth;
    if (this.stopped) return;
    const primary = this.newClient(auth, seed.preset.connectionBudget >= 2);
    await this.connect(primary);
    this.state.capabilities = [...primary.capabilities.keys()].sort();
    const roles = seedFolderRoles(seed, await primary.list());
    this.state.folders = { ...roles };
    if (!roles.spam) this.log.warn('no spam folder found (neither SPECIAL-USE \\Junk nor a preset name); only INBOX is watched');
    const folders = watchedFolders(seed, roles);
    const plan = planSessions(folders.length, seed.preset.connectionBudget, this.opts.mode ?? 'auto');
    const ctx: ScanContext = {
      seed,
      ledger: this.opts.ledger,
      events: this.opts.events,
      clock: this.clock,
      log: this.log,
      deadlineMs: this.opts.deadlineMs,
      trashPath: roles.trash?.path ?? null,
      folderStates: new FolderStates(this.opts.ledger, seed.name),
      ...(this.opts.agent ? { agent: this.opts.agent } : {}),
    };
    const hooks: SessionHooks = {
      scanned: (folder, r) => {
        this.state.lastScanAtMs = this.clock.nowMs();
        // Only a synced scan (NOOP first) proves the folder seen up to its start; a push scan
        // records what it found and proves nothing more (the next safety scan does).
        if (r.synced) this.scannedFrom.set(folder.path, r.startedAtMs);
      },
      upToDate: (folder, checkedFromMs) => {
        this.scannedFrom.set(folder.path, checkedFromMs);
      },
      scanFailed: (folder, err) => {
        const kind = mailboxErrorKind(err);
        this.log.warn({ folder: folder.path, err: describeError(err) }, 'folder scan failed; retrying at the next trigger');
        const imapRefusal = typeof (err as { responseStatus?: unknown })?.responseStatus === 'string';
        if (imapRefusal) void this.reportError(kind, err);
        else this.state.lastError = { kind, message: describeError(err), atMs: this.clock.nowMs() };
      },
    };
    const poll = this.opts.pollIntervalMs;
    const idleCheck = this.opts.idleCheckIntervalMs ?? poll;
    const sessions: FolderSessionLike[] = [];
    const watched: MailboxHealth['watched'] = [];
    // Catch-up: each session scans its folders once before the seed counts as up. A session
    // starts (select, catch-up scan) as soon as it is logged in, while the seed's next one logs
    // in: the account's logins stay one after the other, its catch-ups do not wait for them.
    const starting: Promise<void>[] = [];
    const begin = (sess: FolderSessionLike) => {
      sessions.push(sess);
      this.sessions = [...sessions];
      const p = sess.start();
      p.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      starting.push(p);
    };
    if (plan === 'poll-all') {
      // The primary client was created for IDLE; a poll-all session must not auto-IDLE.
      folders.forEach((f) => watched.push({ path: f.path, role: f.role, via: 'poll' }));
      begin(new PollSession(primary, folders, ctx, poll, hooks));
    } else {
      watched.push({ path: folders[0].path, role: folders[0].role, via: 'idle' });
      begin(new IdleFolderSession(primary, folders[0], ctx, idleCheck, hooks));
      const rest = folders.slice(1);
      if (plan === 'idle') {
        for (const f of rest) {
          const c = this.newClient(auth, true);
          await this.connect(c);
          watched.push({ path: f.path, role: f.role, via: 'idle' });
          begin(new IdleFolderSession(c, f, ctx, idleCheck, hooks));
        }
      } else if (rest.length > 0) {
        const c = this.newClient(auth, false);
        await this.connect(c);
        rest.forEach((f) => watched.push({ path: f.path, role: f.role, via: 'poll' }));
        begin(new PollSession(c, rest, ctx, poll, hooks));
      }
    }
    this.state.watched = watched;
    this.state.sessions = this.clients.length;
    await Promise.all(starting);
    if (this.stopped) return;
    this.state.up = true;
    this.state.connectedOnce = true;
    this.state.lastError = null;
    this.opts.events.mailboxState(seed.name, true);
    this.log.info({ watched, capabilities: this.state.capabilities.length }, 'mailbox watcher up');
  }
}
