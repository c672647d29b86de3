import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewObservation } from '../../../agent/ledger/ledger.js';
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
const probe = (id: string, over: Partial<{ path: string; seed: string }> = {}) => ({
  id,
  path: over.path ?? 'peering',
  seed: over.seed ?? 'gmail-1',
  provider: 'gmail',
  messageId: `<${id}@mail.example.com>`,
  createdAtMs: T0,
  deadlineMs: 60_000,
});
const obs = (probeId: string, uid: number, over: Partial<NewObservation> = {}): NewObservation => ({
  probeId,
  seed: 'gmail-1',
  folder: 'INBOX',
  folderRole: 'inbox',
  placement: 'inbox',
  uidValidity: 7,
  uid,
  arrivedAtMs: T0 + 3_000,
  internalDateMs: T0 + 3_000,
  observedAtMs: T0 + 3_500,
  auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass' },
  evidence: { folder: 'INBOX' },
  ...over,
});

async function accepted(l: SqliteLedger, id: string, over = {}) {
  await l.insertProbe(probe(id, over));
  await l.markSendStarted(id, T0 + 10);
  return l.recordSendResult(id, { ok: true, acceptedAtMs: T0 + 1_000, code: 250, enhanced: '2.0.0', text: 'Ok: queued as ABC', queueId: 'ABC' });
}

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

  it('write-ahead: a probe is "sending" before its result, then accepted with t1 and deadline', async () => {
    const l = SqliteLedger.open(':memory:');
    await l.insertProbe(probe('P1'));
    expect((await l.getProbe('P1'))!.status).toBe('sending');
    const row = await l.recordSendResult('P1', { ok: true, acceptedAtMs: T0 + 1_000, code: 250, text: 'ok', queueId: 'Q1' });
    expect(row).toMatchObject({ status: 'accepted', acceptedAtMs: T0 + 1_000, deadlineAtMs: T0 + 61_000, smtpCode: 250, queueId: 'Q1' });
    await expect(l.recordSendResult('P1', { ok: true, acceptedAtMs: T0, code: 250, text: 'again' })).rejects.toThrow(/not awaiting/);
  });

  it('failures keep reason, code, enhanced code and text', async () => {
    const l = SqliteLedger.open(':memory:');
    await l.insertProbe(probe('P2'));
    const row = await l.recordSendResult('P2', { ok: false, reason: 'rejected', atMs: T0, code: 550, enhanced: '5.7.1', text: 'blocked', message: '550 5.7.1 blocked' });
    expect(row).toMatchObject({ status: 'failed', errorReason: 'rejected', smtpCode: 550, smtpEnhanced: '5.7.1' });
    await l.insertProbe(probe('P3'));
    expect((await l.recordSendResult('P3', { ok: false, reason: 'ambiguous', atMs: T0, message: 'lost after DATA' })).status).toBe('ambiguous');
  });

  it('first copy sets the placement; further copies are duplicates; re-seeing the same UID is not counted', async () => {
    const l = SqliteLedger.open(':memory:');
    await accepted(l, 'P1');
    const first = await l.recordObservation(obs('P1', 10));
    expect(first).toMatchObject({ kind: 'first', copyNumber: 1, deliveryLatencySeconds: 2, detectionDelaySeconds: 0.5 });
    expect(first.probe!.outcome).toBe('inbox');
    const again = await l.recordObservation(obs('P1', 10));
    expect(again.kind).toBe('already-recorded');
    const dup = await l.recordObservation(obs('P1', 11, { folder: '[Gmail]/Spam', folderRole: 'spam', placement: 'spam' }));
    expect(dup).toMatchObject({ kind: 'duplicate', copyNumber: 2 });
    expect((await l.getProbe('P1'))!).toMatchObject({ outcome: 'inbox', copies: 2 });
    // The same copy after a UIDVALIDITY change: the fingerprint recognises it.
    await l.recordObservation(obs('P1', 12, { fingerprint: 'fp-1' }));
    expect((await l.recordObservation(obs('P1', 1, { uidValidity: 8, fingerprint: 'fp-1' }))).kind).toBe('already-recorded');
  });

  it('unknown probes and probes of another seed are not recorded', async () => {
    const l = SqliteLedger.open(':memory:');
    await accepted(l, 'P1');
    expect((await l.recordObservation(obs('NOPE', 1))).kind).toBe('unknown-probe');
    expect((await l.recordObservation(obs('P1', 1, { seed: 'outlook-1' }))).kind).toBe('unknown-probe');
    expect((await l.observations('P1')).length).toBe(0);
  });

  it('missing at the deadline, then a late copy counts as late, not as a placement', async () => {
    const l = SqliteLedger.open(':memory:');
    await accepted(l, 'P1');
    await accepted(l, 'P2');
    await l.recordObservation(obs('P2', 5));
    expect(await l.markMissing(T0 + 60_999)).toEqual([]);
    expect((await l.inFlight(T0 + 60_999)).map((p) => p.id)).toEqual(['P1']);
    const missing = await l.markMissing(T0 + 61_000);
    expect(missing.map((p) => p.id)).toEqual(['P1']);
    expect(await l.markMissing(T0 + 99_000)).toEqual([]);
    const late = await l.recordObservation(obs('P1', 6, { observedAtMs: T0 + 120_000 }));
    expect(late.kind).toBe('late');
    expect((await l.getProbe('P1'))!.outcome).toBe('missing');
    const t = await l.totals();
    expect(t.outcomes).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'missing', count: 1 }), expect.objectContaining({ outcome: 'inbox', count: 1 })]));
    expect(t.late).toEqual([{ path: 'peering', seed: 'gmail-1', provider: 'gmail', count: 1 }]);
  });

  it('probes interrupted mid-send become ambiguous, never re-sent', async () => {
    const l = SqliteLedger.open(':memory:');
    await l.insertProbe(probe('P1'));
    const rows = await l.recoverInterrupted(T0);
    expect(rows.map((r) => [r.id, r.status, r.errorReason])).toEqual([['P1', 'ambiguous', 'ambiguous']]);
  });

  it('data survives reopen, and totals are the same', async () => {
    const file = tempFile();
    const l1 = SqliteLedger.open(file);
    await accepted(l1, 'P1');
    await l1.recordObservation(obs('P1', 1));
    await l1.recordMailboxError('gmail-1', 'login', T0, 'AUTHENTICATIONFAILED');
    await l1.setFolderState('gmail-1', 'INBOX', { uidValidity: 7, lastUid: 1 });
    await l1.setState('oauth2:gmail-1', 'rotated');
    const before = await l1.totals();
    await l1.close();
    const l2 = SqliteLedger.open(file);
    expect(await l2.totals()).toEqual(before);
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
