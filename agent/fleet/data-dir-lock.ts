/**
 * One daemon per data directory: two agents on one SQLite ledger would both send every probe
 * and both watch every seed. The lock is a file created exclusively (O_EXCL), holding the
 * owner's pid, host and start time; a lock whose process is gone (kill -9, a reboot) is stale
 * and taken over, so a crash never needs a manual clean-up.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'seedwatch.lock';

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
}

export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

/** True when `pid` is a live Node process on this host (a recycled pid of another program is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return /node|seedwatch/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, `${JSON.stringify(mine)}\n`);
      } finally {
        closeSync(fd);
      }
      return {
        release() {
          try {
            const c = JSON.parse(readFileSync(file, 'utf8')) as LockContent;
            if (c.pid === mine.pid && c.host === mine.host) unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let other: LockContent | null = null;
    try {
      other = JSON.parse(readFileSync(file, 'utf8')) as LockContent;
    } catch {
      other = null; // half-written or unreadable: stale
    }
    if (other && other.host === mine.host && other.pid !== mine.pid && alive(other.pid)) {
      throw new DataDirLockedError(
        `another seedwatch agent (pid ${other.pid}, started ${other.startedAt}) uses the data directory ${dir}: stop it, or give this one another dataDir`,
      );
    }
    if (other && other.host !== mine.host) {
      throw new DataDirLockedError(
        `the data directory ${dir} is locked by a seedwatch agent on host ${other.host} (pid ${other.pid}, started ${other.startedAt}); if that agent is gone, remove ${file}`,
      );
    }
    try {
      unlinkSync(file); // stale: its process is gone
    } catch {
      /* someone else removed it first: try again */
    }
  }
  throw new DataDirLockedError(`cannot lock the data directory ${dir} (${file} keeps reappearing)`);
}
