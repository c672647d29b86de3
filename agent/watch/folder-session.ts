/**
 * The two ways a folder is watched on one IMAP session:
 *   - IdleFolderSession: the folder stays selected and in IDLE (re-issued by imapflow every
 *     maxIdleTime = the seed's idleRefreshMs); an EXISTS push triggers a scan. A safety scan
 *     runs every pollInterval too (NOOP + UID SEARCH: cheap, and it catches a lost push).
 *   - PollSession: several folders share one session: every pollInterval, STATUS (UIDNEXT,
 *     UIDVALIDITY) per folder, and a scan only for folders that changed.
 * Scans of one session never overlap; a push during a scan schedules one more. A scan error
 * that leaves the connection usable is reported and retried at the next trigger; a dead
 * connection ends the session (the watcher reconnects).
 */
import type { ImapFlow } from 'imapflow';
import { scanFolder, type ScanContext, type ScanResult, type WatchedFolder } from './folder-scan.js';

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

async function lockedScan(client: ImapFlow, folder: WatchedFolder, ctx: ScanContext, announcedAtMs?: number): Promise<ScanResult> {
  const lock = await client.getMailboxLock(folder.path);
  try {
    return await scanFolder(client, folder, ctx, announcedAtMs);
  } finally {
    lock.release();
  }
}

/**
 * Serialises triggers: one run at a time, a trigger during a run causes exactly one more.
 * A trigger may carry the moment the server announced new mail; a run gets the earliest
 * announcement not yet served (null when its triggers announced nothing).
 */
class Serial {
  private running: Promise<void> | null = null;
  private again = false;
  private announcedAtMs: number | null = null;
  constructor(private readonly body: (announcedAtMs: number | null) => Promise<void>) {}
  trigger(announcedAtMs?: number): Promise<void> {
    if (announcedAtMs !== undefined) this.announcedAtMs = Math.min(this.announcedAtMs ?? announcedAtMs, announcedAtMs);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const announced = this.announcedAtMs;
          this.announcedAtMs = null;
          await this.body(announced);
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
  private readonly serial: Serial;
  private readonly onExists = (ev: { path?: string }) => {
    if (!this.stopped && (!ev?.path || ev.path === this.folder.path)) void this.serial.trigger(this.ctx.clock.nowMs());
  };

  constructor(
    private readonly client: ImapFlow,
    private readonly folder: WatchedFolder,
    private readonly ctx: ScanContext,
    private readonly pollIntervalMs: number,
    private readonly hooks: SessionHooks,
  ) {
    this.serial = new Serial(async (announcedAtMs) => {
      if (this.stopped || !this.client.usable) return;
      try {
        this.hooks.scanned(this.folder, await lockedScan(this.client, this.folder, this.ctx, announcedAtMs ?? undefined));
      } catch (err) {
        if (!this.stopped && this.client.usable) this.hooks.scanFailed(this.folder, err);
      }
    });
  }

  async start(): Promise<void> {
    await this.client.mailboxOpen(this.folder.path);
    // The catch-up scan: its errors are the caller's (the session is not up yet).
    this.hooks.scanned(this.folder, await lockedScan(this.client, this.folder, this.ctx));
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
    const state = await this.ctx.ledger.getFolderState(this.ctx.seed.name, folder.path);
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
