/**
 * `seedwatch ledger migrate --to postgres` as a user runs it (the compiled bin; `npm test`
 * builds dist/ first): a SQLite ledger holding two weeks of history (the weekly report's
 * fixture, plus cycles, mailbox errors, folder state and key/value rows) copied into an empty
 * PostgreSQL 15 database, then both ledgers read through the Ledger interface and compared.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMigrateCommand } from '../../../agent/cli/ledger.js';
import { noopEvents } from '../../../agent/events.js';
import type { Ledger, LedgerFact } from '../../../agent/ledger/ledger.js';
import { LEDGER_TABLES } from '../../../agent/ledger/copy-ledger.js';
import { PostgresLedger } from '../../../agent/ledger/postgres-ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { recordCopy } from '../../../agent/record/recorder.js';
import { DAY, END_MS, fillTwoWeeks } from '../../fixtures/report/two-weeks.js';
import { freePort } from '../../helpers/ports.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { collect, obs, T0 } from '../../unit/ledger/ledger-contract.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
/** In the URL the config points at: it must never be printed. */
const PASSWORD = 'pg-migrate-secret-2718';

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'seedwatch-ledger-migrate-'));
const sqliteFile = join(dir, 'data', 'ledger.sqlite');

/** The SQLite ledger an agent would have left: the two-week fixture and every other table. */
async function fillSource(file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const l = SqliteLedger.open(file);
  await fillTwoWeeks(l);
  await l.insertProbe({ id: '01ZZAGENT', path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: '<a@x>', createdAtMs: END_MS - DAY, deadlineMs: 60_000, agent: 'site-a-1' });
  await l.recordSendResult('01ZZAGENT', { ok: false, reason: 'rejected', atMs: END_MS - DAY + 1, code: 550, text: 'no', message: '550 no' });
  await l.startCycle('C1', END_MS - 120_000);
  await l.finishCycle('C1', END_MS - 110_000, 8);
  await l.startCycle('C2', END_MS - 60_000, true);
  await l.recordMailboxError('gmail-1', 'login', END_MS - 50_000, 'AUTHENTICATIONFAILED');
  await l.recordMailboxError('outlook-1', 'timeout', END_MS - 40_000, 'timed out');
  await l.setFolderState('gmail-1', 'INBOX', { uidValidity: 7, lastUid: 4_294_967_000 });
  await l.setState('oauth2:outlook-1', 'encrypted-rotated-token');
  await l.close();
}

function writeConfig(name: string, opts: { dataDir?: string } = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `dataDir: ${opts.dataDir ?? './data'}`,
      'agent: { name: migrator }',
      'ledger: { postgres: { url: { env: SW_TEST_PG_URL } } }',
      'probe: { from: "Probe <probe@mail.example.com>" }',
      'paths: [{ name: peering, smtp: { host: 127.0.0.1, port: 2525 } }]',
      'seeds: [{ name: gmail-1, address: seed.one@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_TEST_PW } } }]',
      '',
    ].join('\n'),
  );
  return file;
}

function seedwatch(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The command on a pseudo-terminal (util-linux `script` gives it one, as a user's terminal
 * would be): what the terminal shows, stdout and stderr together as they were written.
 */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; shown: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let shown = '';
    child.stdout.on('data', (d: Buffer) => (shown += d.toString()));
    child.stderr.on('data', (d: Buffer) => (shown += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, shown });
    });
  });
}

const migrate = (config: string, url: string, extra: string[] = []) =>
  seedwatch(['ledger', 'migrate', '--to', 'postgres', '--config', config, ...extra], { SW_TEST_PG_URL: url, SW_TEST_PW: 'pw' });

/** The counts table the command prints: table → [sqlite, postgres]. */
function printedCounts(stdout: string): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\w+)\s+(\d+)\s+(\d+)$/.exec(line);
    if (m) out[m[1]!] = [Number(m[2]), Number(m[3])];
  }
  return out;
}

/** Row counts read straight from the SQLite file, not through the code under test. */
function sqliteCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(LEDGER_TABLES.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

/** Replay in a comparable order: SQLite replays probes in insertion order, Postgres by id. */
async function history(l: Ledger): Promise<LedgerFact[]> {
  const facts = await collect(l.replay());
  const sends = facts.filter((f) => f.type === 'send').sort((a, b) => (a.probe.id < b.probe.id ? -1 : 1));
  return [...sends, ...facts.filter((f) => f.type === 'copy')];
}

let sourceCounts: Record<string, number>;
beforeAll(async () => {
  pg = await startPostgres();
  await fillSource(sqliteFile);
  sourceCounts = sqliteCounts(sqliteFile);
});
afterAll(async () => {
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('seedwatch ledger migrate --to postgres', () => {
  let url: string;
  const config = () => writeConfig('main');

  it('copies the whole history into an empty Postgres ledger and prints the verified counts of every table', async () => {
    url = await pg.createDatabase(undefined, PASSWORD);
    // Every table has rows, so that a table left out would show.
    for (const t of LEDGER_TABLES) expect(sourceCounts[t], t).toBeGreaterThan(0);
    const r = await migrate(config(), url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`from SQLite   ${sqliteFile}\n`);
    expect(r.stdout).toContain(`to Postgres   127.0.0.1:${pg.port}/${new URL(url).pathname.slice(1)}\n`);
    expect(printedCounts(r.stdout)).toEqual(Object.fromEntries(LEDGER_TABLES.map((t) => [t, [sourceCounts[t], sourceCounts[t]]])));
    expect(r.stdout).toMatch(/\ncopied: every table's row count matches \(\d+ rows\)\n$/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    // Not a terminal: no progress line.
    expect(r.stderr).toBe('');
  });

  it('both ledgers then tell the same history: replay, totals, report facts, folder state, key/value store', async () => {
    const source = SqliteLedger.open(sqliteFile, { readonly: true });
    const target = await PostgresLedger.open({ url, readonly: true });
    try {
      const [a, b] = [await history(source), await history(target)];
      expect(b.length).toBe(a.length);
      expect(b).toEqual(a);
      expect(await target.totals()).toEqual(await source.totals());
      expect(await target.probeFacts(0, END_MS + DAY)).toEqual(await source.probeFacts(0, END_MS + DAY));
      expect(await target.inFlight(END_MS)).toEqual(await source.inFlight(END_MS));
      expect(await target.getFolderState('gmail-1', 'INBOX')).toEqual({ uidValidity: 7, lastUid: 4_294_967_000 });
      expect(await target.getState('oauth2:outlook-1')).toBe('encrypted-rotated-token');
      expect((await target.getProbe('01ZZAGENT'))!.agent).toBe('site-a-1');
    } finally {
      await source.close();
      await target.close();
    }
  });

  it('running it again is a no-op that says so', async () => {
    const r = await migrate(config(), url);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nalready copied at \d{4}-\d\d-\d\dT[\d:.]+Z: nothing to do\n$/);
    expect(printedCounts(r.stdout)).toEqual(Object.fromEntries(LEDGER_TABLES.map((t) => [t, [sourceCounts[t], sourceCounts[t]]])));
  });

  it('agents go on from the copy: new copies get ids after the copied ones; a later run still recognises the copy', async () => {
    const l = await PostgresLedger.open({ url, agent: 'site-b-1' });
    try {
      await l.insertProbe({ id: '01ZZNEW', path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: '<n@x>', createdAtMs: T0, deadlineMs: 60_000, agent: 'site-b-1' });
      await l.recordSendResult('01ZZNEW', { ok: true, acceptedAtMs: T0 + 1_000, code: 250, text: 'ok' });
      const r = await recordCopy(l, noopEvents, obs('01ZZNEW', 1, { uidValidity: 99, agent: 'site-b-1' }));
      expect(r.kind).toBe('first');
      const [copy] = await l.observations('01ZZNEW');
      expect(copy!.id).toBe(sourceCounts.observations! + 1);
    } finally {
      await l.close();
    }
    const again = await migrate(config(), url);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to do');
    expect(printedCounts(again.stdout).probes).toEqual([sourceCounts.probes, sourceCounts.probes! + 1]);
  });

  it('refuses to copy again once the SQLite ledger has changed since the copy', async () => {
    const changed = join(dir, 'changed', 'ledger.sqlite');
    mkdirSync(dirname(changed), { recursive: true });
    // The same history plus one probe: a different source.
    const db = new Database(sqliteFile, { readonly: true });
    await db.backup(changed);
    db.close();
    const l = SqliteLedger.open(changed);
    await l.insertProbe({ id: '01ZZMORE', path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: '<m@x>', createdAtMs: END_MS, deadlineMs: 60_000 });
    await l.close();
    const r = await migrate(config(), url, ['--from', changed]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`refused: the Postgres ledger already holds a copy of ${sqliteFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} made at \\S+, and ${changed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has changed since`));
    expect(await pg.query(new URL(url).pathname.slice(1), `SELECT COUNT(*)::int AS n FROM probes WHERE id = '01ZZMORE'`)).toEqual([{ n: 0 }]);
  });

  it('refuses a Postgres ledger that holds other data, and leaves it as it was', async () => {
    const other = await pg.createDatabase();
    const l = await PostgresLedger.open({ url: other });
    await l.insertProbe({ id: '01OTHER', path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: '<o@x>', createdAtMs: END_MS, deadlineMs: 60_000 });
    await l.close();
    const r = await migrate(config(), other);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`refused: the Postgres ledger is not empty (1 probes) and holds no copy of ${sqliteFile}; seedwatch copies a history only into an empty ledger, and never merges two`);
    expect(await pg.query(new URL(other).pathname.slice(1), 'SELECT id FROM probes')).toEqual([{ id: '01OTHER' }]);
  });

  it('no SQLite ledger in dataDir: says where it looked, creates nothing', async () => {
    const r = await migrate(writeConfig('empty-dir', { dataDir: './nothing-here' }), await pg.createDatabase());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`seedwatch ledger migrate: no SQLite ledger at ${join(dir, 'nothing-here', 'ledger.sqlite')} (has the agent run with dataDir ${join(dir, 'nothing-here')}?)\n`);
  });

  it('Postgres unreachable: exit 2 naming host, port and database, never the password', async () => {
    const port = await freePort();
    const r = await migrate(config(), `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/seedwatch`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^seedwatch ledger migrate: cannot open the Postgres ledger 127\\.0\\.0\\.1:${port}/seedwatch: .*ECONNREFUSED`));
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('on a terminal, shows the table being copied and how far, and clears the line at the end', async () => {
    const target = await pg.createDatabase();
    const out = new PassThrough();
    const err = Object.assign(new PassThrough(), { isTTY: true });
    let stdout = '';
    let stderr = '';
    out.on('data', (d: Buffer) => (stdout += d.toString()));
    err.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await ledgerMigrateCommand({ config: config(), to: 'postgres' }, { stdout: out, stderr: err, env: { SW_TEST_PG_URL: target, SW_TEST_PW: 'pw' } });
    expect(code, stderr).toBe(0);
    for (const t of LEDGER_TABLES) expect(stderr).toContain(`\r\x1b[2Kcopying ${t}: ${sourceCounts[t]!.toLocaleString('en')} / ${sourceCounts[t]!.toLocaleString('en')} rows (100 %)`);
    expect(stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(stdout).toContain('copied: every table');
  });

  it('on a real terminal (the bin on a pseudo-terminal): the progress line is redrawn per table and cleared before the counts', async () => {
    const target = await pg.createDatabase(undefined, PASSWORD);
    const r = await onTerminal(['ledger', 'migrate', '--to', 'postgres', '--config', config()], { SW_TEST_PG_URL: target, SW_TEST_PW: 'pw' });
    expect(r.code, r.shown).toBe(0);
    const rows = (t: (typeof LEDGER_TABLES)[number]) => sourceCounts[t]!.toLocaleString('en');
    // The first draw of the first table, then every table at 100 %, each redrawn in place.
    expect(r.shown).toContain(`\r\x1b[2Kcopying probes: 0 / ${rows('probes')} rows (0 %)`);
    for (const t of LEDGER_TABLES) expect(r.shown).toContain(`\r\x1b[2Kcopying ${t}: ${rows(t)} / ${rows(t)} rows (100 %)`);
    // In the order the tables are copied.
    const at = LEDGER_TABLES.map((t) => r.shown.indexOf(`copying ${t}: ${rows(t)} / ${rows(t)} rows (100 %)`));
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // The last progress line (kv at 100 %) is erased before the report starts, and nothing
    // redraws it after: the terminal is left with the counts alone.
    expect(r.shown).toContain(`copying kv: ${rows('kv')} / ${rows('kv')} rows (100 %)\r\x1b[2Kfrom SQLite   ${sqliteFile}`);
    expect(r.shown.slice(r.shown.lastIndexOf('\x1b[2K'))).not.toContain('copying');
    expect(r.shown).toMatch(/copied: every table's row count matches \(\d+ rows\)\r?\n$/);
    expect(r.shown).not.toContain(PASSWORD);
  });
});
