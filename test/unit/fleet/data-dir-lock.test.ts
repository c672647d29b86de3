import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../../../agent/fleet/data-dir-lock.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sw-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('data directory lock', () => {
  it('refuses a second holder while the first process lives, naming its pid; free again after release', async () => {
    const dir = tempDir();
    // The first holder is another live node process.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: child.pid, host: hostname(), startedAt: '2026-12-01T08:00:00.000Z' }));
    try {
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`another seedwatch agent \\(pid ${child.pid}, started 2026-12-01T08:00:00.000Z\\) uses the data directory`));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Its process is gone (kill -9): the lock is stale and taken over.
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a half-written lock file is stale; a lock of another host is refused with the way out', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
    lockDataDir(dir).release();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 42, host: 'other-host.example', startedAt: 'x' }));
    expect(() => lockDataDir(dir)).toThrow(/locked by a seedwatch agent on host other-host\.example .*remove .*seedwatch\.lock/);
  });
});
