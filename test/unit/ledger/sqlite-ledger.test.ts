import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { noopEvents } from '../../../agent/events.js';
import { recordCopy } from '../../../agent/record/recorder.js';
import { accepted, collect, ledgerContract, obs } from './ledger-contract.js';
import { migrate, SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { MIGRATIONS } from '../../../agent/ledger/migrations.js';

const dirs: string[] = [];
function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'sw-ledger-'));
  dirs.push(d);
  return join(d, 'ledger.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

ledgerContract('SqliteLedger (in memory)', async () => SqliteLedger.open(':memory:'));

describe('SqliteLedger', () => {
  it('migrations are idempotent and versioned', () => {
    const file = tempFile();
    const db = new Database(file);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['folder_state', 'kv', 'mailbox_events', 'observations', 'probes']));
    db.close();
    const l = SqliteLedger.open(file);
    expect(l.db.pragma('journal_mode', { simple: true })).toBe('wal');
    l.close();
  });

  it('data survives reopen, and totals are the same', async () => {
    const file = tempFile();
    const l1 = SqliteLedger.open(file);
    await accepted(l1, 'P1');
    await recordCopy(l1, noopEvents, obs('P1', 1));
    await l1.recordMailboxError('gmail-1', 'login', T0, 'AUTHENTICATIONFAILED');
    await l1.setFolderState('gmail-1', 'INBOX', { uidValidity: 7, lastUid: 1 });
    await l1.setState('oauth2:gmail-1', 'rotated');
    const before = { totals: await l1.totals(), facts: await collect(l1.replay()) };
    await l1.close();
    const l2 = SqliteLedger.open(file);
    expect({ totals: await l2.totals(), facts: await collect(l2.replay()) }).toEqual(before);
    expect(await l2.getFolderState('gmail-1', 'INBOX')).toEqual({ uidValidity: 7, lastUid: 1 });
    expect(await l2.getState('oauth2:gmail-1')).toBe('rotated');
    expect((await l2.observations('P1'))[0]).toMatchObject({ kind: 'first', auth: { spf: 'pass' }, evidence: { folder: 'INBOX' } });
    await l2.close();
  });

  it('two writer processes do not corrupt it', async () => {
    const file = tempFile();
    SqliteLedger.open(file).close();
    const N = 300;
    const script = `
      import { SqliteLedger } from ${JSON.stringify(new URL('../../../agent/ledger/sqlite-ledger.ts', import.meta.url).pathname)};
      const [file, w] = process.argv.slice(-2);
      const l = SqliteLedger.open(file);

      for (let i = 0; i < ${N}; i++) {
        const id = w + String(i).padStart(5, '0');
        await l.insertProbe({ id, path: w, seed: 's', provider: 'gmail', messageId: id, createdAtMs: i, deadlineMs: 1000 });
        await l.recordSendResult(id, { ok: true, acceptedAtMs: i, code: 250, text: 'ok' });
      }
      await l.close();`;
    const run = (w: string) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file, w], { stdio: ['ignore', 'inherit', 'inherit'] });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run('A'), run('B')])).toEqual([0, 0]);
    const l = SqliteLedger.open(file);
    expect(l.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(l.db.prepare(`SELECT path, COUNT(*) n FROM probes WHERE status='accepted' GROUP BY path`).all()).toEqual([
      { path: 'A', n: N },
      { path: 'B', n: N },
    ]);
    l.close();
  });
});
