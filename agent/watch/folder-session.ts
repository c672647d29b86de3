/**
 * The two ways a folder is watched on one IMAP session:
 *   - IdleFolderSession: the folder stays selected and in IDLE (re-issued by imapflow every
 *     maxIdleTime = the seed's idleRefreshMs); an EXISTS push triggers a push scan (one UID
 *     FETCH, no NOOP: the push says the session already holds the new mail). A safety check
 *     runs every pollInterval too: a NOOP, and a full scan (UID SEARCH) only when it reveals
 *     something the pushes did not (a lost push). It is what proves a folder seen up to a
 *     moment, which a push scan does not.
 *   - PollSession: several folders share one session: every pollInterval, STATUS (UIDNEXT,
 *     UIDVALIDITY) per folder, and a scan only for folders that changed.
 * Scans of one session never overlap; a push during a scan schedules one more. A scan error
 * that leaves the connection usable is reported and retried at the next trigger; a dead
 * connection ends the session (the watcher reconnects).
 */
import type { ImapFlow } from 'imapflow';
import { PUSH_SCAN_MAX_NEW, scanFolder, type ScanContext, type ScanOptions, type ScanResult, type WatchedFolder } from './folder-scan.js';

export interface SessionHooks {
  /** A scan failed but the session is still usable. */
  scanFailed(folder: WatchedFolder, err: unknown): void;
  /** A scan completed. */
  scanned(folder: WatchedFolder, r: ScanResult): void;
  /** A poll found the folder unchanged since the last scan, as of `checkedFromMs`. */
  upToDate(folder: WatchedFolder, checkedFromMs: number): void;
}

export interface FolderSessionLike {
  /** Select and catch up; resolves once every folder of the session was scanned once. */
  start(): Promise<void>;
  stop(): void;
  /** Trigger a scan now (tests, `seedwatch probe --wait`); resolves when it is done. */
  scanNow(): Promise<void>;
}

async function lockedScan(client: ImapFlow, folder: WatchedFolder, ctx: ScanContext, opts: ScanOptions = {}): Promise<ScanResult> {
  const lock = await client.getMailboxLock(folder.path);
  try {
    return await scanFolder(client, folder, ctx, opts);
  } finally {
    lock.release();
  }
}

/**
 * Serialises triggers: one run at a time, a trigger during a run causes exactly one more.
 * A trigger may carry the moment the server announced new mail; a run gets the earliest
 * announcement not yet served (null when its triggers announced nothing), and whether any of
 * its triggers asked for a synced scan (a timer's safety scan is never absorbed into a push
 * scan: under steady pushes it is what keeps proving the folder scanned).
 */
class Serial {
  private running: Promise<void> | null = null;
  private again = false;
  private announcedAtMs: number | null = null;
  private sync = false;
  constructor(private readonly body: (announcedAtMs: number | null, sync: boolean) => Promise<void>) {}
  trigger(announcedAtMs?: number): Promise<void> {
    if (announcedAtMs !== undefined) this.announcedAtMs = Math.min(this.announcedAtMs ?? announcedAtMs, announcedAtMs);
    else this.sync = true;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const announced = this.announcedAtMs;
          const sync = this.sync;
          this.announcedAtMs = null;
          this.sync = false;
          await this.body(announced, sync);
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}

export class IdleFolderSession implements FolderSessionLike {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The folder's message count when the last scan ended (null: unknown, the next scan is a full one). */
  private existsAfterScan: number | null = null;
  private readonly serial: Serial;
  /** EXISTS pushes seen on this session (a safety check compares it before and after its NOOP). */
  private pushes = 0;
  private readonly onExists = (ev: { path?: string }) => {
    if (!ev?.path || ev.path === this.folder.path) this.pushes++;
    if (!this.stopped && (!ev?.path || ev.path === this.folder.path)) void this.serial.trigger(this.ctx.clock.nowMs());
  };

  constructor(
    private readonly client: ImapFlow,
    private readonly folder: WatchedFolder,
    private readonly ctx: ScanContext,
    private readonly pollIntervalMs: number,
    private readonly hooks: SessionHooks,
  ) {
    this.serial = new Serial(async (announcedAtMs, sync) => {
      if (this.stopped || !this.client.usable) return;
      // The safety check (timer, nothing announced): a NOOP makes the server report whatever
      // it has not pushed; when that is nothing (no EXISTS, the same message count as after
      // the last scan, whose own pushes were all served by a scan after them), the folder is
      // seen up to the NOOP's start without a SEARCH. Anything else: the full synced scan.
      if (sync && announcedAtMs === null && this.existsAfterScan !== null) {
        const pushes = this.pushes;
        const checkedFromMs = this.ctx.clock.nowMs();
        try {
          const lock = await this.client.getMailboxLock(this.folder.path);
          try {
            await this.client.noop();
          } finally {
            lock.release();
          }
        } catch (err) {
          this.existsAfterScan = null;
          if (!this.stopped && this.client.usable) this.hooks.scanFailed(this.folder, err);
          return;
        }
        if (this.pushes === pushes && this.exists() === this.existsAfterScan) {
          this.hooks.upToDate(this.folder, checkedFromMs);
          return;
        }
      }
      // A push scan only when the push accounts for few messages since the last scan (its one
      // FETCH carries every new message's header block); else the full scan, in slices.
      const exists = this.exists();
      const push = !sync && announcedAtMs !== null && this.existsAfterScan !== null && exists !== null && exists - this.existsAfterScan <= PUSH_SCAN_MAX_NEW;
      try {
        const r = await lockedScan(this.client, this.folder, this.ctx, {
          ...(announcedAtMs !== null ? { announcedAtMs } : {}),
          push,
        });
        this.existsAfterScan = this.exists();
        this.hooks.scanned(this.folder, r);
      } catch (err) {
        this.existsAfterScan = null;
        if (!this.stopped && this.client.usable) this.hooks.scanFailed(this.folder, err);
      }
    });
  }

  /** Messages in the selected folder as the session knows it (EXISTS/EXPUNGE keep it current). */
  private exists(): number | null {
    const box = this.client.mailbox;
    return box && typeof box.exists === 'number' ? box.exists : null;
  }

  async start(): Promise<void> {
    await this.client.mailboxOpen(this.folder.path);
    // The catch-up scan: its errors are the caller's (the session is not up yet).
    const first = await lockedScan(this.client, this.folder, this.ctx);
    this.hooks.scanned(this.folder, first);
    this.existsAfterScan = this.exists();
    this.client.on('exists', this.onExists);
    this.timer = setInterval(() => void this.serial.trigger(), this.pollIntervalMs);
    this.timer.unref();
  }

  scanNow(): Promise<void> {
    return this.serial.trigger();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.client.off('exists', this.onExists);
  }
}

export class PollSession implements FolderSessionLike {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly serial: Serial;

  constructor(
    private readonly client: ImapFlow,
    private readonly folders: WatchedFolder[],
    private readonly ctx: ScanContext,
    private readonly pollIntervalMs: number,
    private readonly hooks: SessionHooks,
  ) {
    this.serial = new Serial(() => this.poll(false));
  }

  private async poll(all: boolean): Promise<void> {
    // Before the NOOP: whatever STATUS says unchanged was unchanged from this moment on.
    const startedAtMs = this.ctx.clock.nowMs();
    if (!all) {
      // Dovecot answers STATUS of the selected folder from its session view, which a NOOP
      // refreshes; without it a delivery stays invisible until another folder is selected.
      try {
        if (this.client.usable) await this.client.noop();
      } catch (err) {
        if (!this.stopped && this.client.usable) this.hooks.scanFailed(this.folders[0], err);
        return;
      }
    }
    for (const folder of this.folders) {
      if (this.stopped || !this.client.usable) return;
      try {
        if (!all && !(await this.changed(folder))) {
          this.hooks.upToDate(folder, startedAtMs);
          continue;
        }
        this.hooks.scanned(folder, await lockedScan(this.client, folder, this.ctx));
      } catch (err) {
        if (all) throw err;
        if (!this.stopped && this.client.usable) this.hooks.scanFailed(folder, err);
      }
    }
  }

  /** STATUS says whether the folder has UIDs we have not seen (or was renumbered). */
  private async changed(folder: WatchedFolder): Promise<boolean> {
    const st = await this.client.status(folder.path, { uidNext: true, uidValidity: true });
    if (!st) return true;
    const state = await this.ctx.folderStates.get(folder.path);
    if (!state || st.uidValidity === undefined || st.uidNext === undefined) return true;
    return Number(st.uidValidity) !== state.uidValidity || Number(st.uidNext) - 1 > state.lastUid;
  }

  async start(): Promise<void> {
    await this.poll(true);
    this.timer = setInterval(() => void this.serial.trigger(), this.pollIntervalMs);
    this.timer.unref();
  }

  scanNow(): Promise<void> {
    return this.serial.trigger();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
