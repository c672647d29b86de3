/**
 * A real PostgreSQL 15 (the Debian package) for the tests: a throw-away cluster in a temp dir,
 * on a loopback high port, trust authentication, started with initdb + pg_ctl. One server per
 * test file (initdb takes about a second), a fresh database per test (CREATE DATABASE).
 *
 * Facts this relies on: the Debian package starts no cluster by itself; initdb and postgres
 * refuse to run as root, so as root they run as the `postgres` OS user (runuser), which cannot
 * enter a root-owned 0700 mkdtemp dir: the dir is opened to 0711 and the cluster lives in a
 * subdirectory owned by postgres. Durability is switched off (fsync, synchronous_commit): the
 * data is thrown away, and a test must not wait for a disk.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';
import { onProcessExit } from './processes.js';

const execFileP = promisify(execFile);

export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** Bounds initdb (about 1 s measured). */
const INITDB_TIMEOUT_MS = 60_000;
/** Bounds pg_ctl start -w and stop -w (0.1–0.3 s measured). */
const PG_CTL_TIMEOUT_MS = 30_000;

export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  dir: string;
  /** postgres://postgres[:password]@127.0.0.1:PORT/DB (trust auth: a password is accepted and ignored). */
  url(database?: string, password?: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(name?: string, password?: string): Promise<string>;
  /** One SQL statement on a database, as the superuser. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(database: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** pg_ctl stop -m fast (the data stays): connections are cut. */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  logTail(lines?: number): string;
  /** Stop for good and remove the directory. */
  destroy(): Promise<void>;
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Run a PostgreSQL program as the `postgres` OS user when we are root, else as ourselves. */
function command(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]] : [path.join(PG_BIN, bin), args];
}

function postgresIds(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no "postgres" user in /etc/passwd: is the postgresql package installed (test/provision.sh)?');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

let databases = 0;

export async function startPostgres(): Promise<PostgresServer> {
  if (!fs.existsSync(path.join(PG_BIN, 'postgres'))) {
    throw new Error(`${PG_BIN}/postgres not found: install the postgresql package (test/provision.sh does)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seedwatch-pg-'));
  const home = path.join(dir, 'pg');
  const data = path.join(home, 'data');
  const log = path.join(home, 'pg.log');
  fs.mkdirSync(home, { mode: 0o700 });
  if (asRoot) {
    fs.chmodSync(dir, 0o711);
    const { uid, gid } = postgresIds();
    fs.chownSync(home, uid, gid);
  }
  const port = await freePort();

  const [initCmd, initArgs] = command('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C.UTF-8']);
  await execFileP(initCmd, initArgs, { timeout: INITDB_TIMEOUT_MS });

  const pgCtl = async (args: string[]) => {
    const [cmd, argv] = command('pg_ctl', ['-D', data, ...args]);
    await execFileP(cmd, argv, { timeout: PG_CTL_TIMEOUT_MS });
  };
  const serverOptions = [
    `-p ${port}`,
    `-k ${home}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  let running = false;
  const start = async () => {
    await pgCtl(['-o', serverOptions, '-l', log, '-w', 'start']);
    running = true;
  };
  const stopFast = async () => {
    if (!running) return;
    await pgCtl(['-m', 'fast', '-w', 'stop']);
    running = false;
  };
  // A test process that dies without its afterAll leaves no server behind.
  const unregister = onProcessExit(() => {
    if (running) {
      const [cmd, argv] = command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      try {
        execFileSync(cmd, argv, { stdio: 'ignore', timeout: PG_CTL_TIMEOUT_MS });
      } catch {
        // best effort: the process is going away
      }
    }
    if (!process.env.SEEDWATCH_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    await start();
  } catch (err) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
    unregister();
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${tail}`);
  }

  const url = (database = 'postgres', password?: string) =>
    `postgres://postgres${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${database}`;
  const query = async <R extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    host: '127.0.0.1',
    port,
    dir,
    url,
    async createDatabase(name, password) {
      const db = name ?? `t${process.pid}_${++databases}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`postgres harness: unsupported database name ${db}`);
      await query('postgres', `CREATE DATABASE ${db}`);
      return url(db, password);
    },
    query,
    stop: stopFast,
    start,
    logTail(lines = 40) {
      try {
        return fs.readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async destroy() {
      await stopFast().catch(() => undefined);
      unregister();
      if (!process.env.SEEDWATCH_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
