/**
 * The fleet keys of the config: `agent: { name }` (default: the hostname) and
 * `ledger: { postgres: { url: <secret> } }` (absent: the SQLite ledger). Invalid forms have
 * their fixtures in test/fixtures/config/ (agent-*, ledger-*).
 */
import { describe, expect, it } from 'vitest';
import { checkSecrets, collectSecrets, ConfigError, parseConfig } from '../../../agent/config/load-config.js';

const BASE = `probe: { from: "P <p@mail.example.com>" }
paths: [{ name: peering, smtp: { host: 127.0.0.1, port: 2525 } }]
seeds: [{ name: gmail-1, address: a@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }]
`;

describe('agent.name', () => {
  it('defaults to the hostname', () => {
    expect(parseConfig(BASE, 'a.yaml', { hostname: 'mx-paris-1.example.net' }).agent).toEqual({ name: 'mx-paris-1.example.net' });
  });

  it('the configured name wins over the hostname', () => {
    expect(parseConfig(`agent: { name: site-a-1 }\n${BASE}`, 'a.yaml', { hostname: 'h1' }).agent).toEqual({ name: 'site-a-1' });
  });

  it('a hostname that cannot be a name (it becomes a label value) asks for agent.name', () => {
    let problems: string[] = [];
    try {
      parseConfig(BASE, 'a.yaml', { hostname: 'host with space' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'a.yaml: agent.name: not set, and the hostname "host with space" cannot be an agent name (letters, digits, "-", "_" or ".", at most 63): set agent.name',
    ]);
    // Not a problem once the name is set.
    expect(parseConfig(`agent: { name: ok-1 }\n${BASE}`, 'a.yaml', { hostname: 'host with space' }).agent.name).toBe('ok-1');
  });
});

describe('ledger', () => {
  it('absent: the SQLite ledger (no ledger key in the resolved config)', () => {
    expect(parseConfig(BASE, 'a.yaml').ledger).toBeUndefined();
  });

  it('postgres: the URL is a secret like the others: named by its source, checked, never resolved into the config', () => {
    const cfg = parseConfig(`ledger: { postgres: { url: { env: SW_PG_URL } } }\n${BASE}`, 'a.yaml');
    expect(cfg.ledger).toEqual({ postgres: { url: { env: 'SW_PG_URL' } } });
    expect(collectSecrets(cfg).map((s) => s.path)).toEqual(['ledger.postgres.url', 'seeds[0].imap.password']);
    const url = 'postgres://seedwatch:distinct-pg-pass-9931@db.example:5432/seedwatch';
    const checks = checkSecrets(cfg, { SW_PG_URL: url, SW_PW: 'pw' });
    expect(checks).toEqual([
      { path: 'ledger.postgres.url', source: 'env SW_PG_URL' },
      { path: 'seeds[0].imap.password', source: 'env SW_PW' },
    ]);
    expect(JSON.stringify({ cfg, checks })).not.toContain('distinct-pg-pass-9931');
    expect(checkSecrets(cfg, { SW_PW: 'pw' })[0]).toEqual({
      path: 'ledger.postgres.url',
      source: 'env SW_PG_URL',
      error: 'a.yaml: ledger.postgres.url: environment variable SW_PG_URL is not set',
    });
  });

  it('a literal URL is accepted with the literal-secret warning', () => {
    const cfg = parseConfig(`ledger: { postgres: { url: "postgres://u@h/db" } }\n${BASE}`, 'a.yaml');
    expect(cfg.warnings).toEqual(['a.yaml: ledger.postgres.url: literal secret in the config file; prefer { env: NAME } or { file: PATH }']);
  });
});
