import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokenSource } from '../../../agent/auth/access-token-source.js';
import { expandTokenUrl, lineageOf, pathOAuth2Credentials, seedOAuth2Credentials, type OAuth2Credentials } from '../../../agent/auth/oauth2-credentials.js';
import { OAuth2Error } from '../../../agent/auth/oauth2-error.js';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import { fingerprint, LedgerRefreshTokenStore, loadOrCreateStoreKey, MemoryRefreshTokenStore } from '../../../agent/auth/refresh-token-store.js';
import { refreshGrant, safeUrl, scrubDescription } from '../../../agent/auth/token-endpoint.js';
import { ManualClock } from '../../../agent/clock.js';
import type { PathConfig, SecretResolver, SeedConfig } from '../../../agent/config/load-config.js';
import { loadPresets } from '../../../agent/config/preset.js';
import { relayPresetFor } from '../../../agent/config/relay-preset.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { imapAuth, imapLoginRefused } from '../../../agent/watch/imap-auth.js';
import { mailboxErrorKind } from '../../../agent/watch/watch-error.js';
import { freePort } from '../../helpers/ports.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';

/** The tables of a SQLite database that hold `needle` in some text or blob value, read through a connection of its own. */
function tablesContaining(file: string, needle: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    return tables.filter((t) =>
      (db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).raw().all() as unknown[][]).some((row) =>
        row.some((v) => (typeof v === 'string' && v.includes(needle)) || (Buffer.isBuffer(v) && v.includes(Buffer.from(needle)))),
      ),
    );
  } finally {
    db.close();
  }
}

/** The database file and its -wal and -journal files, as bytes. */
function bytesOnDisk(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`, `${file}-journal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

const presets = loadPresets();
const USER = 'seed.one@gmail.test';

/** Resolves literal secrets; a mutable map lets a test "edit the secret file". */
function resolver(values: Record<string, string> = {}): SecretResolver {
  return (ref, field) => {
    if ('literal' in ref) return new SecretValue(ref.literal, 'literal in config');
    if ('env' in ref && values[ref.env] !== undefined) return new SecretValue(values[ref.env], `env ${ref.env}`);
    throw Object.assign(new Error(`${field}: environment variable not set`), { code: 'SECRET_UNAVAILABLE' });
  };
}

function gmailSeed(over: Partial<Extract<SeedConfig['imap']['auth'], { kind: 'oauth2' }>> = {}, provider = 'gmail'): SeedConfig {
  return {
    name: 'gmail-1',
    address: USER,
    provider,
    preset: presets.get(provider)!,
    imap: {
      host: '127.0.0.1',
      port: 1,
      secure: false,
      tls: { rejectUnauthorized: true },
      user: USER,
      auth: { kind: 'oauth2', clientId: 'client-1', refreshToken: { env: 'RT' }, fieldPath: 'seeds[0].imap.oauth2', ...over },
    },
    folders: {},
    cleanup: 'keep',
    idleRefreshMs: 540_000,
    trust: { authservIds: [], receivedHosts: [] },
  };
}

describe('credentials (pure)', () => {
  it('takes the preset token URL, fills {tenant}, and lets the config override it', () => {
    expect(seedOAuth2Credentials(gmailSeed())).toMatchObject({ tokenUrl: 'https://oauth2.googleapis.com/token', scope: 'https://mail.google.com/', label: 'seed gmail-1' });
    const o = gmailSeed({}, 'outlook');
    expect(seedOAuth2Credentials(o).tokenUrl).toBe('https://login.microsoftonline.com/consumers/oauth2/v2.0/token');
    expect(seedOAuth2Credentials(gmailSeed({ tenant: 'contoso.onmicrosoft.com' }, 'outlook')).tokenUrl).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
    expect(seedOAuth2Credentials(gmailSeed({ tokenUrl: 'http://127.0.0.1:9/token' })).tokenUrl).toBe('http://127.0.0.1:9/token');
    expect(expandTokenUrl('https://x/{tenant}/t', undefined, undefined)).toBe('https://x/common/t');
  });
  it('needs a token URL for a provider without an OAuth2 preset', () => {
    const s = gmailSeed({}, 'generic');
    expect(() => seedOAuth2Credentials(s)).toThrow(/seed gmail-1: seeds\[0\]\.imap\.oauth2\.tokenUrl: required/);
  });
  it('recognises the relays the presets list (oauth2.relay.hosts) for SMTP paths, else asks for tokenUrl', () => {
    // As the config loader resolves it: the preset whose relay hosts match smtp.host.
    const path = (host: string, tokenUrl?: string): PathConfig => {
      const relayPreset = relayPresetFor(host, presets);
      return {
        name: 'relay',
        smtp: { host, port: 587, secure: false, requireTLS: true, tls: { rejectUnauthorized: true }, maxConnections: 1, auth: { user: 'a@b.test', oauth2: { clientId: 'c', refreshToken: { literal: 'r' }, ...(tokenUrl ? { tokenUrl } : {}) } } },
        headers: {},
        timeout: 60_000,
        ...(relayPreset ? { relayPreset } : {}),
      } as PathConfig;
    };
    expect(pathOAuth2Credentials(path('smtp.gmail.com'), 0)).toMatchObject({ tokenUrl: 'https://oauth2.googleapis.com/token', scope: 'https://mail.google.com/' });
    expect(pathOAuth2Credentials(path('smtp.office365.com'), 0)).toMatchObject({
      tokenUrl: 'https://login.microsoftonline.com/consumers/oauth2/v2.0/token',
      scope: 'https://outlook.office.com/SMTP.Send offline_access',
    });
    expect(pathOAuth2Credentials(path('SMTP-MAIL.OUTLOOK.COM'), 0).tokenUrl).toMatch(/^https:\/\/login\.microsoftonline\.com\//);
    // A look-alike host is not the provider's relay.
    expect(relayPresetFor('smtp.gmail.com.evil.test', presets)).toBeUndefined();
    expect(() => pathOAuth2Credentials(path('relay.example.net'), 2)).toThrow(/paths\[2\]\.smtp\.auth\.oauth2\.tokenUrl: required/);
    expect(pathOAuth2Credentials(path('relay.example.net', 'http://127.0.0.1:9/t'), 2).scope).toBeUndefined();
  });
  it('a lineage is account x client x endpoint, without the address in clear', () => {
    const a = lineageOf({ tokenUrl: 't', clientId: 'c', user: 'A@x' });
    expect(a).toBe(lineageOf({ tokenUrl: 't', clientId: 'c', user: 'a@x' }));
    expect(a).not.toBe(lineageOf({ tokenUrl: 't', clientId: 'd', user: 'a@x' }));
    expect(a).not.toContain('a@x');
  });
  it('scrubs what we sent and anything token-like from provider descriptions', () => {
    expect(scrubDescription('bad token rt-secret-123 here', ['rt-secret-123'])).toBe('bad token [redacted] here');
    expect(scrubDescription('x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig y', [])).toBe('x [redacted] y');
    expect(scrubDescription('a'.repeat(500), [])!.length).toBeLessThan(210);
    expect(safeUrl('https://u:p@login.example/t/x?refresh_token=abc')).toBe('https://login.example/t/x');
  });
});

describe('token endpoint and access token source (loopback token endpoint)', () => {
  let os: OAuthServer;
  beforeAll(async () => {
    os = await startOAuthServer({ accounts: [{ user: USER, refreshToken: 'rt-initial-0001' }, { user: 'b@x.test', refreshToken: 'rt-b-0001' }], accessTokenTtlSeconds: 100, clientId: 'client-1' });
  });
  afterAll(async () => {
    await os?.close();
  });

  const creds = (over: Partial<OAuth2Credentials> = {}): OAuth2Credentials => ({
    label: 'seed gmail-1',
    fieldPath: 'seeds[0].imap.oauth2',
    user: USER,
    tokenUrl: os.tokenUrl,
    clientId: 'client-1',
    refreshToken: { env: 'RT' },
    ...over,
  });

  it('refresh grant: form fields, parsed answer, and a refused grant that names no token', async () => {
    const before = os.requests.length;
    const r = await refreshGrant(
      { tokenUrl: os.tokenUrl, clientId: 'client-1', refreshToken: new SecretValue(os.currentRefreshToken('b@x.test'), 't'), scope: 'mail' },
      { label: 'seed b' },
    );
    expect(os.requests[before].form).toMatchObject({ grant_type: 'refresh_token', client_id: 'client-1', scope: 'mail' });
    expect(r.expiresInSeconds).toBe(100);
    expect(String(r.accessToken)).toBe('[redacted]');
    expect(r.accessToken.reveal()).toMatch(/^at-/);
    expect(r.refreshToken!.reveal()).toBe(os.currentRefreshToken('b@x.test'));

    const err = (await refreshGrant({ tokenUrl: os.tokenUrl, clientId: 'client-1', refreshToken: new SecretValue('rt-revoked-xyz', 't') }, { label: 'seed b' }).catch((e) => e)) as OAuth2Error;
    expect(err).toBeInstanceOf(OAuth2Error);
    expect(err).toMatchObject({ code: 'OAUTH2_REJECTED', authenticationFailed: true, oauthError: 'invalid_grant', status: 400 });
    expect(err.message).toMatch(/^seed b: cannot refresh the OAuth2 access token: token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused it \(invalid_grant: Token has been expired or revoked/);
    expect(err.message).not.toContain('rt-revoked-xyz');
    expect(mailboxErrorKind(err)).toBe('login');

    const wrongClient = await refreshGrant({ tokenUrl: os.tokenUrl, clientId: 'nope', refreshToken: new SecretValue('x', 't') }, { label: 'seed b' }).catch((e) => e);
    expect(wrongClient).toMatchObject({ code: 'OAUTH2_REJECTED', oauthError: 'invalid_client' });
  });

  it('endpoint trouble is not a login failure: 503, refused connection, timeout', async () => {
    os.failTokenEndpoint(503);
    try {
      const e = await refreshGrant({ tokenUrl: os.tokenUrl, clientId: 'client-1', refreshToken: new SecretValue('x', 't') }, { label: 'seed b' }).catch((x) => x);
      expect(e).toMatchObject({ code: 'OAUTH2_ENDPOINT_ERROR', authenticationFailed: false, status: 503 });
      expect(mailboxErrorKind(e)).toBe('protocol');
    } finally {
      os.failTokenEndpoint(null);
    }
    const closed = `http://127.0.0.1:${await freePort()}/token`;
    const e2 = await refreshGrant({ tokenUrl: closed, clientId: 'c', refreshToken: new SecretValue('x', 't') }, { label: 'seed b' }).catch((x) => x);
    expect(e2).toMatchObject({ code: 'OAUTH2_ENDPOINT_UNREACHABLE' });
    expect(e2.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(mailboxErrorKind(e2)).toBe('connection');
    // a server that accepts and never answers
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as { port: number }).port;
      const e3 = await refreshGrant({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'c', refreshToken: new SecretValue('x', 't') }, { label: 'seed b', timeoutMs: 200 }).catch((x) => x);
      expect(e3).toMatchObject({ code: 'OAUTH2_ENDPOINT_TIMEOUT' });
      expect(mailboxErrorKind(e3)).toBe('timeout');
    } finally {
      silent.close();
    }
  });

  it('caches until shortly before expiry, refreshes once for concurrent callers, then again after expiry', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const rt = os.currentRefreshToken(USER);
    const src = new AccessTokenSource(creds(), { resolveSecret: resolver({ RT: rt }), clock, store: new MemoryRefreshTokenStore() });
    const tokenRequests = () => os.requests.filter((r) => r.path === '/token').length;
    const n0 = tokenRequests();
    const [a, b] = await Promise.all([src.accessToken(), src.accessToken()]);
    expect(a.reveal()).toBe(b.reveal());
    expect(tokenRequests()).toBe(n0 + 1);
    clock.advance(89_000); // 100 s token, refreshed 10 s (a tenth) before expiry
    expect((await src.accessToken()).reveal()).toBe(a.reveal());
    expect(tokenRequests()).toBe(n0 + 1);
    clock.advance(2_000);
    const c = await src.accessToken();
    expect(c.reveal()).not.toBe(a.reveal());
    expect(tokenRequests()).toBe(n0 + 2);
    // the second refresh used the rotated refresh token, not the (now revoked) config one
    expect(os.requests.filter((r) => r.path === '/token').at(-1)!.form.refresh_token).not.toBe(rt);
    expect(src.refreshes).toBe(2);
  });

  it('a refused token is dropped; a quick retry is worth it only when the token came from the cache', async () => {
    const tokens = new OAuth2Tokens();
    const seed = gmailSeed({ tokenUrl: os.tokenUrl });
    const r = resolver({ RT: os.currentRefreshToken(USER) });
    const auth = await imapAuth(seed, r, tokens);
    expect(auth).toMatchObject({ user: USER, accessToken: expect.stringMatching(/^at-/) });
    const refused = Object.assign(new Error('Command failed'), { authenticationFailed: true });
    // refused right after the refresh that obtained it: dropped, but retry slowly
    expect(imapLoginRefused(auth, refused, tokens)).toBe(false);
    const auth2 = await imapAuth(seed, r, tokens);
    expect(auth2).not.toEqual(auth);
    // handed out again from the cache (a reconnect), then refused: retry soon with a refresh
    expect(await imapAuth(seed, r, tokens)).toEqual(auth2);
    expect(imapLoginRefused(auth2, refused, tokens)).toBe(true);
    // a password seed, a non-auth failure, a token-endpoint failure: nothing to drop
    expect(imapLoginRefused({ user: 'u', pass: 'p' }, refused, tokens)).toBe(false);
    const auth3 = await imapAuth(seed, r, tokens);
    expect(auth3).not.toEqual(auth2);
    expect(imapLoginRefused(auth3, new Error('ECONNRESET'), tokens)).toBe(false);
    expect(imapLoginRefused(auth3, new OAuth2Error('OAUTH2_REJECTED', 'x'), tokens)).toBe(false);
    expect(await imapAuth(seed, r, tokens)).toEqual(auth3);
    // a token nobody here handed out
    expect(imapLoginRefused({ user: 'u', accessToken: 'at-unknown' }, refused, tokens)).toBe(false);
  });

  it('imapAuth: a missing refresh-token secret names seed and field', async () => {
    const e = await imapAuth(gmailSeed({ tokenUrl: os.tokenUrl }), resolver({}), new OAuth2Tokens()).catch((x) => x);
    expect(e).toMatchObject({ code: 'SECRET_UNAVAILABLE' });
    expect(e.message).toMatch(/^seed gmail-1: seeds\[0\]\.imap\.oauth2\.refreshToken/);
    expect(mailboxErrorKind(e)).toBe('login');
  });

  it('persists rotations encrypted in the ledger; a restart uses them; a changed config token wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedwatch-auth-'));
    const file = join(dir, 'ledger.sqlite');
    const user = 'rot@x.test';
    const local = await startOAuthServer({ accounts: [{ user, refreshToken: 'rt-config-0001' }], accessTokenTtlSeconds: 1 });
    try {
      const c = creds({ user, tokenUrl: local.tokenUrl });
      let ledger = SqliteLedger.open(file);
      let src = new AccessTokenSource(c, { resolveSecret: resolver({ RT: 'rt-config-0001' }), store: LedgerRefreshTokenStore.open(ledger, join(dir, 'oauth2-store.key')) });
      await src.accessToken();
      const rotated = local.currentRefreshToken(user);
      expect(rotated).not.toBe('rt-config-0001');
      // at rest: encrypted, key file 0600, nothing readable in the ledger
      const rows = ledger.db.prepare(`SELECT key, value FROM kv WHERE key LIKE 'oauth2.%'`).all() as { key: string; value: string }[];
      expect(rows).toHaveLength(1);
      expect(rows[0].key).toBe(`oauth2.refresh-token.${lineageOf(c)}`);
      expect(rows[0].value).toMatch(/^v1:/);
      expect(rows[0].value).not.toContain(rotated);
      // Nowhere in the database either, read the way SQLite reads it (a second connection
      // sees what is still in the -wal file), then byte for byte once the WAL is checkpointed
      // into the main file. A value written in clear is found by both: the canary proves it.
      const canary = `plain-canary-${rotated.length}-${Date.now()}`;
      await ledger.setState('test.canary', canary);
      expect(tablesContaining(file, canary)).toEqual(['kv']);
      expect(tablesContaining(file, rotated)).toEqual([]);
      ledger.db.pragma('wal_checkpoint(TRUNCATE)');
      expect(bytesOnDisk(file).includes(Buffer.from(canary))).toBe(true);
      expect(bytesOnDisk(file).includes(Buffer.from(rotated))).toBe(false);
      expect(statSync(join(dir, 'oauth2-store.key')).mode & 0o777).toBe(0o600);
      await ledger.close();

      // restart: the config still says rt-config-0001 (revoked by the rotation); the stored one is used
      ledger = SqliteLedger.open(file);
      src = new AccessTokenSource(c, { resolveSecret: resolver({ RT: 'rt-config-0001' }), store: LedgerRefreshTokenStore.open(ledger, join(dir, 'oauth2-store.key')) });
      await src.accessToken();
      expect(local.requests.filter((r) => r.path === '/token').at(-1)!.form.refresh_token).toBe(rotated);
      const rotated2 = local.currentRefreshToken(user);

      // the user put a new grant in the config: it wins over the stored rotation
      local.revoke(user);
      const src2 = new AccessTokenSource(c, { resolveSecret: resolver({ RT: 'rt-brand-new-0001' }), store: LedgerRefreshTokenStore.open(ledger, join(dir, 'oauth2-store.key')) });
      const e = await src2.accessToken().catch((x) => x);
      expect(local.requests.filter((r) => r.path === '/token').at(-1)!.form.refresh_token).toBe('rt-brand-new-0001');
      // and a refused grant says which token it used, never the token
      expect(e).toMatchObject({ code: 'OAUTH2_REJECTED' });
      expect(e.message).toMatch(/it used the refresh token of seeds\[0\]\.imap\.oauth2\.refreshToken \(env RT\)\. Get a new refresh token with `seedwatch auth`/);
      expect(e.message).not.toContain('rt-brand-new-0001');
      expect(e.message).not.toContain(rotated2);
      await ledger.close();
    } finally {
      await local.close();
    }
  });
});

describe('refresh token store', () => {
  it('binds a record to its key, and ignores records it cannot decrypt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seedwatch-store-'));
    const ledger = SqliteLedger.open(':memory:');
    const store = LedgerRefreshTokenStore.open(ledger, join(dir, 'k'));
    const rec = { refreshToken: new SecretValue('rt-abc-123456', 't'), basedOn: fingerprint(new SecretValue('cfg', 't')), rotatedAtMs: 5 };
    await store.save('one', rec);
    const back = await store.load('one');
    expect(back?.refreshToken.reveal()).toBe('rt-abc-123456');
    expect(back).toMatchObject({ basedOn: rec.basedOn, rotatedAtMs: 5 });
    // the same blob under another key does not decrypt (AAD)
    await ledger.setState('oauth2.refresh-token.two', (await ledger.getState('oauth2.refresh-token.one'))!);
    expect(await store.load('two')).toBeNull();
    // another key file cannot read it
    const other = LedgerRefreshTokenStore.open(ledger, join(dir, 'k2'));
    expect(await other.load('one')).toBeNull();
    expect(await store.load('missing')).toBeNull();
    // the key file is created only when a token is first stored or read
    const lazy = LedgerRefreshTokenStore.open(SqliteLedger.open(':memory:'), join(dir, 'lazy.key'));
    expect(existsSync(join(dir, 'lazy.key'))).toBe(false);
    await lazy.save('x', rec);
    expect(statSync(join(dir, 'lazy.key')).mode & 0o777).toBe(0o600);
    // a key file readable by others is tightened
    writeFileSync(join(dir, 'k3'), Buffer.alloc(32, 1).toString('base64'), { mode: 0o644 });
    loadOrCreateStoreKey(join(dir, 'k3'));
    expect(statSync(join(dir, 'k3')).mode & 0o777).toBe(0o600);
    expect(() => loadOrCreateStoreKey(join(dir, 'k'))).not.toThrow();
    writeFileSync(join(dir, 'bad'), 'short');
    expect(() => loadOrCreateStoreKey(join(dir, 'bad'))).toThrow(/not an OAuth2 store key/);
    await ledger.close();
  });
});
