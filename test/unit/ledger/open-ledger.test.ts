/** The config decides the ledger: SQLite in dataDir by default, Postgres with ledger.postgres. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSecret } from '../../../agent/config/secret.js';
import { migrateLedgerToPostgres, openLedger } from '../../../agent/ledger/open-ledger.js';
import { PostgresLedger } from '../../../agent/ledger/postgres-ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'sw-open-ledger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { SW_PG_URL: 'postgres://seedwatch:distinct-pass-6620@127.0.0.1:1/fleet' };
const resolver = (ref: Parameters<typeof resolveSecret>[0], field: string) => resolveSecret(ref, field, { env });

describe('openLedger', () => {
  it('without ledger.postgres: SQLite at <dataDir>/ledger.sqlite', async () => {
    const l = openLedger({ dataDirAbs: join(dir, 'data'), agent: { name: 'a1' } }, { resolveSecret: resolver });
    expect(l).toBeInstanceOf(SqliteLedger);
    expect(existsSync(join(dir, 'data', 'ledger.sqlite'))).toBe(true);
    await l.close();
  });

  it('with ledger.postgres: the Postgres ledger, connecting on first use; messages name host, port and database only', async () => {
    const l = openLedger({ dataDirAbs: join(dir, 'pg'), agent: { name: 'a1' }, ledger: { postgres: { url: { env: 'SW_PG_URL' } } } }, { resolveSecret: resolver });
    expect(l).toBeInstanceOf(PostgresLedger);
    expect((l as PostgresLedger).target).toBe('127.0.0.1:1/fleet');
    // Nothing listens on port 1: the first call fails to open, and says where, not how to log in.
    const err = (await l.getProbe('x').catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('LEDGER_OPEN');
    expect(err.message).toMatch(/^cannot open the Postgres ledger 127\.0\.0\.1:1\/fleet: /);
    expect(err.message).not.toContain('distinct-pass-6620');
    // No SQLite file was made for it.
    expect(existsSync(join(dir, 'pg'))).toBe(false);
    await l.close();
  });

  it('migrate needs a Postgres target and an existing SQLite source', async () => {
    await expect(migrateLedgerToPostgres({ dataDirAbs: dir, agent: { name: 'a1' } }, { resolveSecret: resolver })).rejects.toThrow(/no ledger\.postgres to copy into/);
    await expect(
      migrateLedgerToPostgres({ dataDirAbs: join(dir, 'none'), agent: { name: 'a1' }, ledger: { postgres: { url: { env: 'SW_PG_URL' } } } }, { resolveSecret: resolver }),
    ).rejects.toThrow(`no SQLite ledger at ${join(dir, 'none', 'ledger.sqlite')}`);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });
});
