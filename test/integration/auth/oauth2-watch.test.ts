/**
 * OAuth2 seeds against a real Dovecot whose oauth2 passdb asks a loopback introspection
 * endpoint, with a loopback token endpoint issuing 5 s access tokens and rotating refresh
 * tokens. The watcher logs in with XOAUTH2 (OAUTHBEARER where offered), refreshes across
 * session ends, persists rotations in a real SqliteLedger, and handles a revoked grant.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import type { SeedConfig } from '../../../agent/config/load-config.js';
import { fanOut } from '../../../agent/events.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { Metrics } from '../../../agent/metrics/metrics.js';
import { printConnectivity } from '../../../agent/cli/check-connect.js';
import { inspectSeed } from '../../../agent/watch/inspect-seed.js';
import { MailboxWatcher } from '../../../agent/watch/mailbox-watcher.js';
import { startDovecot, type DovecotServer, type DovecotUser } from '../../helpers/dovecot.js';
import { startOAuthServer, type OAuthServer } from '../../helpers/oauth-server.js';
import { acceptedProbe, junkSieve, literalSecrets, presets, probeMessage, recordingEvents, waitUntil } from '../watch/watch-harness.js';

const execFileP = promisify(execFile);
const POLL_MS = 1_000;
/** loginRetryMs high enough that a slow retry is visibly slow; the rest fast. */
const FAST_BACKOFF = { baseMs: 50, maxMs: 200, loginRetryMs: 60_000, jitter: 0 };

const G: DovecotUser = { user: 'seed.gmail@gmail.test', password: 'unused-password-1', kind: 'gmail', sieve: junkSieve('[Gmail]/Spam') };
const O: DovecotUser = { user: 'seed.outlook@outlook.test', password: 'unused-password-2', kind: 'outlook' };
const R: DovecotUser = { user: 'seed.revoked@gmail.test', password: 'unused-password-3', kind: 'gmail' };
const A: DovecotUser = { user: 'seed.refused@gmail.test', password: 'unused-password-4', kind: 'gmail' };

function oauthSeed(dc: DovecotServer, os: OAuthServer, u: DovecotUser, name: string, refreshToken: string): SeedConfig {
  const provider = u.kind === 'outlook' ? 'outlook' : 'gmail';
  return {
    name,
    address: u.user,
    provider,
    preset: presets.get(provider)!,
    imap: {
      host: dc.host,
      port: dc.imapPort,
      secure: false,
      tls: { rejectUnauthorized: true },
      user: u.user,
      auth: { kind: 'oauth2', clientId: 'seedwatch-test', refreshToken: { literal: refreshToken }, tokenUrl: os.tokenUrl, fieldPath: `seeds[0].imap.oauth2` },
    },
    folders: {},
    cleanup: 'trash',
    idleRefreshMs: 9 * 60_000,
    trust: { authservIds: [], receivedHosts: [] },
  };
}

/** A pino logger writing into a string, to check that no token ever reaches a log line. */
function captureLogger() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => text };
}

/** Ends the user's IMAP sessions, as Gmail does about an hour after an OAuth login. */
async function kick(dc: DovecotServer, user: string): Promise<void> {
  await execFileP('doveadm', ['-c', join(dc.dir, 'dovecot.conf'), 'kick', user]);
}

function loginMethods(dc: DovecotServer, user: string): string[] {
  const log = readFileSync(join(dc.dir, 'dovecot.log'), 'utf8');
  return [...log.matchAll(new RegExp(`Login: user=<${user.replace(/[.]/g, '\\.')}>, method=([A-Z0-9]+)`, 'g'))].map((m) => m[1]);
}

describe('OAuth2 seeds against Dovecot (oauth2 passdb, loopback token endpoint)', () => {
  let os: OAuthServer;
  let dcX: DovecotServer; // XOAUTH2 only (as Gmail)
  let dcB: DovecotServer; // XOAUTH2 and OAUTHBEARER
  let dataDir: string;
  beforeAll(async () => {
    os = await startOAuthServer({
      accounts: [
        { user: G.user, refreshToken: 'rt-gmail-config-0001' },
        { user: O.user, refreshToken: 'rt-outlook-config-0001', keepOldRefreshTokens: true },
        { user: R.user, refreshToken: 'rt-revoked-config-0001' },
        { user: A.user, refreshToken: 'rt-refused-config-0001', accessTokenTtlSeconds: 3600 },
      ],
      accessTokenTtlSeconds: 5,
      clientId: 'seedwatch-test',
    });
    [dcX, dcB] = await Promise.all([
      startDovecot({ users: [G, R, A], oauth2: { introspectionUrl: os.introspectionUrl, mechanisms: ['xoauth2'] } }),
      startDovecot({ users: [O], oauth2: { introspectionUrl: os.introspectionUrl } }),
    ]);
    dataDir = mkdtempSync(join(tmpdir(), 'seedwatch-oauth2-'));
  });
  afterAll(async () => {
    await Promise.all([dcX?.stop(), dcB?.stop()]);
    await os?.close();
  });

  it('logs in with XOAUTH2, refreshes after expiry across a session end, finds probes delivered across the refresh, and a restart uses the rotated refresh token', async () => {
    const ledgerFile = join(dataDir, 'ledger.sqlite');
    let ledger = SqliteLedger.open(ledgerFile);
    const cap = captureLogger();
    const seed = oauthSeed(dcX, os, G, 'gmail-oauth', 'rt-gmail-config-0001');
    const events = recordingEvents();
    let tokens = OAuth2Tokens.withLedger(ledger, dataDir, { log: cap.log });
    const watcher = (l: SqliteLedger, t: OAuth2Tokens) =>
      new MailboxWatcher({ seed, ledger: l, events, resolveSecret: literalSecrets, pollIntervalMs: POLL_MS, deadlineMs: 30 * 60_000, backoff: FAST_BACKOFF, oauth2: t, log: cap.log });
    let w = watcher(ledger, tokens);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up with OAuth2');
    expect(os.refreshes(G.user)).toBe(1);
    // one access token for every session of the seed (INBOX, spam, All Mail: 3 IDLE sessions)
    expect(w.health().sessions).toBe(3);
    expect(loginMethods(dcX, G.user)).toEqual(['XOAUTH2', 'XOAUTH2', 'XOAUTH2']);

    const p1 = await acceptedProbe(ledger, seed);
    await dcX.deliver(G.user, probeMessage(p1, { to: G.user }));
    expect(await waitUntil(async () => (await ledger.getProbe(p1))?.outcome, 'probe 1 seen')).toBe('inbox');

    // the access token expires (5 s); the session stays up (IMAP checks the token at login only)
    const firstToken = os.issuedAccessTokens().filter((t) => t.user === G.user).at(-1)!;
    await waitUntil(() => Date.now() > firstToken.expiresAtMs + 200, 'first access token expired', 10_000);
    expect(w.health().up).toBe(true);

    // the provider ends the session while the token endpoint is briefly down: the watcher
    // cannot log in again (no valid token), a probe arrives meanwhile, then everything recovers
    os.failTokenEndpoint(503);
    const downBefore = events.states.filter((s) => !s.up).length;
    await kick(dcX, G.user);
    await waitUntil(() => events.states.filter((s) => !s.up).length > downBefore, 'session lost after kick');
    await waitUntil(() => w.health().lastError?.message.includes('HTTP 503'), 'token endpoint failure reported');
    expect(w.health().lastError?.kind).toBe('protocol'); // endpoint trouble: retried at the normal pace
    const p2 = await acceptedProbe(ledger, seed);
    await dcX.deliver(G.user, probeMessage(p2, { to: G.user, subject: `[junk] digest ${p2}` }));
    os.failTokenEndpoint(null);
    await waitUntil(() => w.health().up, 'up again after refresh', 20_000);
    expect(os.refreshes(G.user)).toBe(2);
    expect(await waitUntil(async () => (await ledger.getProbe(p2))?.outcome, 'probe 2 (delivered while down) seen by catch-up')).toBe('spam');
    const p3 = await acceptedProbe(ledger, seed);
    await dcX.deliver(G.user, probeMessage(p3, { to: G.user }));
    expect(await waitUntil(async () => (await ledger.getProbe(p3))?.outcome, 'probe 3 seen after the refresh')).toBe('inbox');
    expect((await ledger.observations(p2))[0].kind).toBe('first');

    // the rotated refresh token is in the ledger (encrypted); the config's one is revoked now
    const rotated = os.currentRefreshToken(G.user);
    expect(rotated).not.toBe('rt-gmail-config-0001');
    await w.stop();
    await ledger.close();

    // restart: new ledger handle, new token cache, same config (its refresh token is revoked)
    ledger = SqliteLedger.open(ledgerFile);
    tokens = OAuth2Tokens.withLedger(ledger, dataDir, { log: cap.log });
    w = watcher(ledger, tokens);
    w.start();
    await waitUntil(() => w.health().up, 'up after restart with the stored rotated token');
    const lastRefresh = os.requests.filter((r) => r.path === '/token').at(-1)!;
    expect(lastRefresh.form.refresh_token).toBe(rotated);
    expect(os.requests.filter((r) => r.path === '/token' && r.form.refresh_token === 'rt-gmail-config-0001')).toHaveLength(1);
    await w.stop();

    // no token in a log line, a ledger error message or the health answer
    const secrets = [...os.issuedAccessTokens().map((t) => t.token), 'rt-gmail-config-0001', rotated, ...os.requests.map((r) => r.form.refresh_token).filter(Boolean)];
    const errorRows = ledger.db.prepare('SELECT * FROM mailbox_events').all();
    const surfaces = [cap.text(), JSON.stringify(errorRows), JSON.stringify(w.health())];
    expect(cap.text()).toMatch(/OAuth2 access token refreshed/);
    for (const s of secrets) for (const text of surfaces) expect(text).not.toContain(s);
    await ledger.close();
  });

  it('uses OAUTHBEARER where offered (Outlook-like seed), and `check` logs in with it', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const seed = oauthSeed(dcB, os, O, 'outlook-oauth', 'rt-outlook-config-0001');
    // `seedwatch check` (inspectSeed) logs in with a token of its own (Microsoft keeps the old
    // refresh token valid after a rotation, so the watcher below can still use the config's)
    const r = await inspectSeed(seed, literalSecrets, { oauth2: new OAuth2Tokens() });
    expect(r).toMatchObject({ ok: true, seed: 'outlook-oauth' });
    expect(loginMethods(dcB, O.user)).toEqual(['OAUTHBEARER']);
    expect(os.refreshes(O.user)).toBe(1);
    const tokens = OAuth2Tokens.withLedger(ledger, mkdtempSync(join(tmpdir(), 'seedwatch-oauth2-b-')));
    const w = new MailboxWatcher({ seed, ledger, events: recordingEvents(), resolveSecret: literalSecrets, pollIntervalMs: POLL_MS, deadlineMs: 30 * 60_000, backoff: FAST_BACKOFF, oauth2: tokens });
    w.start();
    await waitUntil(() => w.health().up, 'outlook watcher up');
    expect(new Set(loginMethods(dcB, O.user))).toEqual(new Set(['OAUTHBEARER']));
    const p = await acceptedProbe(ledger, seed);
    await dcB.deliver(O.user, probeMessage(p, { to: O.user }));
    expect(await waitUntil(async () => (await ledger.getProbe(p))?.outcome, 'outlook probe seen')).toBe('inbox');
    expect(os.refreshes(O.user)).toBe(2);
    await w.stop();
    await ledger.close();
  });

  it('a refused access token is dropped and refreshed at once; a revoked refresh token: mailbox_up 0, a clear login error naming the seed, slow retries', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const cap = captureLogger();
    // 1. the server refuses a cached, unexpired access token (revoked early): refresh at once
    const seedA = oauthSeed(dcX, os, A, 'gmail-refused', 'rt-refused-config-0001');
    const eventsA = recordingEvents();
    const tokensA = new OAuth2Tokens({ log: cap.log });
    const wa = new MailboxWatcher({ seed: seedA, ledger, events: eventsA, resolveSecret: literalSecrets, pollIntervalMs: POLL_MS, deadlineMs: 30 * 60_000, backoff: FAST_BACKOFF, oauth2: tokensA, log: cap.log });
    wa.start();
    await waitUntil(() => wa.health().up, 'refused-seed watcher up');
    const tok = os.issuedAccessTokens().filter((t) => t.user === A.user).at(-1)!;
    os.revokeAccessToken(tok.token);
    const refreshesBefore = os.refreshes(A.user);
    await kick(dcX, A.user);
    await waitUntil(() => eventsA.errors.some((e) => e.kind === 'login'), 'login refused with the revoked access token');
    // not the 60 s login pace: the dropped token is replaced at the first backoff step
    await waitUntil(() => wa.health().up && os.refreshes(A.user) === refreshesBefore + 1, 'up again with a refreshed token', 10_000);
    await wa.stop();

    // 2. a revoked refresh token
    const seed = oauthSeed(dcX, os, R, 'gmail-revoked', 'rt-revoked-config-0001');
    const events = recordingEvents();
    const metrics = new Metrics({ paths: [{ name: 'peering' }], seeds: [{ name: seed.name, provider: seed.provider }] }, ledger, { nowMs: () => Date.now() }, { defaultMetrics: false });
    const tokens = new OAuth2Tokens({ log: cap.log });
    const w = new MailboxWatcher({ seed, ledger, events: fanOut(metrics.events, events), resolveSecret: literalSecrets, pollIntervalMs: POLL_MS, deadlineMs: 30 * 60_000, backoff: FAST_BACKOFF, oauth2: tokens, log: cap.log });
    w.start();
    await waitUntil(() => w.health().up, 'revoked-seed watcher up');
    const up = async () => (await metrics.registry.getSingleMetric('seedwatch_mailbox_up')!.get()).values.find((v) => v.labels.seed === 'gmail-revoked')?.value;
    expect(await up()).toBe(1);
    // the grant is revoked (user changed password / removed the app); the session ends, the token expires
    os.revoke(R.user);
    await kick(dcX, R.user);
    // first the cached access token is refused (login), it is dropped and the refresh tried at
    // once; that refresh is refused too (invalid_grant): the error that stays
    await waitUntil(() => w.health().lastError?.message.includes('invalid_grant'), 'refresh refused after revocation', 15_000);
    expect(w.health().lastError?.kind).toBe('login');
    expect(await up()).toBe(0);
    const h = w.health();
    expect(h.up).toBe(false);
    expect(h.lastError!.message).toMatch(/^seed gmail-revoked: cannot refresh the OAuth2 access token: token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused it \(invalid_grant/);
    expect(h.lastError!.message).toMatch(/Get a new refresh token with `seedwatch auth` and put it in seeds\[0\]\.imap\.oauth2\.refreshToken/);
    // slow and capped: the login pace (60 s here, 5 min by default), not the 50 ms reconnect step
    expect(h.nextRetryAtMs! - Date.now()).toBeGreaterThan(50_000);
    expect(h.nextRetryAtMs! - Date.now()).toBeLessThanOrEqual(60_000 * (1 + FAST_BACKOFF.jitter) + 100);
    // the log line names the seed and the error, never a token
    const lost = cap.text().split('\n').filter((l) => l.includes('mailbox session lost') && l.includes('gmail-revoked'));
    expect(lost.at(-1)).toMatch(/invalid_grant/);
    expect(lost.at(-1)).toMatch(/"seed":"gmail-revoked"/);
    const mailboxErrors = (await metrics.registry.getSingleMetric('seedwatch_mailbox_errors_total')!.get()).values.find(
      (v) => v.labels.seed === 'gmail-revoked' && v.labels.kind === 'login',
    );
    expect(mailboxErrors?.value).toBe(2); // the refused access token, then the refused refresh
    expect(events.errors.filter((e) => e.seed === 'gmail-revoked')).toEqual([
      { seed: 'gmail-revoked', kind: 'connection' }, // the session end (kick)
      { seed: 'gmail-revoked', kind: 'login' },
      { seed: 'gmail-revoked', kind: 'login' },
    ]);
    await w.stop();

    // `seedwatch check`: the same clear error, naming the seed
    const r = await inspectSeed(seed, literalSecrets, { oauth2: new OAuth2Tokens() });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ kind: 'login', message: expect.stringMatching(/^seed gmail-revoked: .*invalid_grant/) });
    let printed = '';
    printConnectivity({ seeds: [r], paths: [] }, new Writable({ write: (c, _e, cb) => ((printed += c.toString()), cb()) }));
    expect(printed).toMatch(/gmail-revoked\s+FAILED \(login\)/);
    expect(printed).toMatch(/gmail-revoked: seed gmail-revoked: cannot refresh the OAuth2 access token.*invalid_grant/);

    const secrets = [...os.issuedAccessTokens().map((t) => t.token), ...os.requests.map((r) => r.form.refresh_token).filter(Boolean)];
    const metricsText = await metrics.registry.metrics();
    for (const s of secrets) {
      for (const text of [cap.text(), printed, metricsText, JSON.stringify(w.health()), JSON.stringify(ledger.db.prepare('SELECT * FROM mailbox_events').all())]) {
        expect(text).not.toContain(s);
      }
    }
    await ledger.close();
  });
});
