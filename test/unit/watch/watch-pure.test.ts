import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import { loadPresets } from '../../../agent/config/preset.js';
import { SecretError, SecretValue } from '../../../agent/config/secret.js';
import type { SeedConfig } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { noopEvents } from '../../../agent/events.js';
import { DEFAULT_BACKOFF, LOGIN_RETRY_MS, RECONNECT_MAX_MS, reconnectDelayMs } from '../../../agent/watch/backoff.js';
import { imapSinceDate, planScan } from '../../../agent/watch/catch-up.js';
import { imapAuth } from '../../../agent/watch/imap-auth.js';
import { planSessions, seedFolderRoles, watchedFolders } from '../../../agent/watch/mailbox-watcher.js';
import { buildObservation, copyFingerprint } from '../../../agent/watch/observation.js';
import { Reconciler } from '../../../agent/watch/reconciler.js';
import { mailboxErrorKind } from '../../../agent/watch/watch-error.js';

const presets = loadPresets();
function seed(provider: string, over: Partial<SeedConfig> = {}): SeedConfig {
  return {
    name: `${provider}-1`,
    address: 'a@b.test',
    provider,
    preset: presets.get(provider)!,
    trust: { authservIds: presets.get(provider)!.authservIds, receivedHosts: presets.get(provider)!.receivedHosts },
    imap: { host: 'h', port: 993, secure: true, tls: { rejectUnauthorized: true }, user: 'u', auth: { kind: 'password', password: { env: 'PW' }, fieldPath: 'seeds[0].imap.password' } },
    folders: {},
    cleanup: 'trash',
    idleRefreshMs: 540_000,
    ...over,
  };
}

describe('reconnectDelayMs', () => {
  const noJitter = { ...DEFAULT_BACKOFF, jitter: 0 };
  it.each([
    [0, 1_000],
    [1, 2_000],
    [3, 8_000],
    [5, 32_000],
    [6, 60_000],
    [50, 60_000],
  ])('attempt %i waits %i ms (capped)', (attempt, ms) => {
    expect(reconnectDelayMs(attempt, 'connection', noJitter)).toBe(ms);
  });
  it('waits LOGIN_RETRY_MS or more after a rejected login, whatever the attempt', () => {
    for (const r of [0, 0.5, 0.999]) expect(reconnectDelayMs(0, 'login', DEFAULT_BACKOFF, () => r)).toBeGreaterThanOrEqual(LOGIN_RETRY_MS);
    expect(LOGIN_RETRY_MS).toBeGreaterThanOrEqual(60_000);
  });
  it('jitter never exceeds the cap', () => {
    expect(reconnectDelayMs(20, 'timeout', DEFAULT_BACKOFF, () => 0.999)).toBeLessThanOrEqual(RECONNECT_MAX_MS);
    expect(reconnectDelayMs(0, 'timeout', DEFAULT_BACKOFF, () => 0)).toBe(800);
  });
});

describe('mailboxErrorKind', () => {
  it.each([
    [Object.assign(new Error('Command failed'), { authenticationFailed: true }), 'login'],
    [{ code: 'OAUTH2_UNSUPPORTED' }, 'login'],
    [{ code: 'SECRET_UNAVAILABLE' }, 'login'],
    [{ code: 'ETIMEOUT' }, 'timeout'],
    [{ code: 'GREETING_TIMEOUT' }, 'timeout'],
    [{ code: 'ECONNREFUSED' }, 'connection'],
    [{ code: 'NoConnection' }, 'connection'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'connection'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'connection'],
    [Object.assign(new Error('x'), { responseStatus: 'NO' }), 'protocol'],
    [null, 'protocol'],
  ])('%o → %s', (err, kind) => {
    expect(mailboxErrorKind(err)).toBe(kind);
  });
});

describe('planScan (catch-up)', () => {
  const now = Date.UTC(2026, 0, 10, 12);
  it('continues after the last UID when UIDVALIDITY is unchanged', () => {
    expect(planScan({ state: { uidValidity: 7, lastUid: 41 }, uidValidity: 7, oldestInFlightMs: now - 1e6, nowMs: now, deadlineMs: 1_800_000 })).toEqual({ kind: 'after-uid', afterUid: 41 });
  });
  it('rescans since the oldest in-flight probe (or one deadline back) when UIDVALIDITY changed', () => {
    expect(planScan({ state: { uidValidity: 7, lastUid: 41 }, uidValidity: 8, oldestInFlightMs: now - 3_600_000, nowMs: now, deadlineMs: 1_800_000 })).toEqual({
      kind: 'since',
      sinceMs: now - 3_600_000,
      reason: 'uidvalidity-changed',
    });
    expect(planScan({ state: null, uidValidity: 8, oldestInFlightMs: null, nowMs: now, deadlineMs: 1_800_000 })).toEqual({ kind: 'since', sinceMs: now - 1_800_000, reason: 'no-state' });
  });
  it('SINCE goes one day back (IMAP compares dates only)', () => {
    expect(imapSinceDate(now).getTime()).toBe(now - 86_400_000);
  });
});

describe('folders and sessions', () => {
  const list = (entries: [string, string[]][]) =>
    entries.map(([path, flags]) => ({ path, flags: new Set(flags), delimiter: '/', specialUse: flags[0], specialUseSource: flags.length ? 'extension' : undefined })) as never;
  it('Gmail: watches INBOX, Spam and All Mail, each chosen by SPECIAL-USE', () => {
    const s = seed('gmail');
    const roles = seedFolderRoles(s, list([['INBOX', []], ['[Gmail]/Spam', ['\\Junk']], ['[Gmail]/All Mail', ['\\All']], ['[Gmail]/Bin', ['\\Trash']]]));
    expect(roles.trash).toEqual({ path: '[Gmail]/Bin', rule: 'special-use' });
    expect(watchedFolders(s, roles).map((f) => [f.path, f.role, f.rule])).toEqual([
      ['INBOX', 'inbox', 'default'],
      ['[Gmail]/Spam', 'spam', 'special-use'],
      ['[Gmail]/All Mail', 'all', 'special-use'],
    ]);
  });
  it('falls back to preset names, and the config override wins', () => {
    const s = seed('outlook');
    const roles = seedFolderRoles(s, list([['INBOX', []], ['Junk Email', []], ['Deleted Items', []], ['Quarantine', []]]));
    expect(roles.spam).toEqual({ path: 'Junk Email', rule: 'name' });
    const over = seedFolderRoles(seed('outlook', { folders: { spam: 'Quarantine' } }), list([['INBOX', []], ['Junk Email', ['\\Junk']], ['Quarantine', []]]));
    expect(over.spam).toEqual({ path: 'Quarantine', rule: 'config' });
    expect(watchedFolders(s, roles).map((f) => f.role)).toEqual(['inbox', 'spam']); // no All Mail outside Gmail
  });
  it.each([
    [3, 15, 'auto', 'idle'],
    [2, 3, 'auto', 'idle'],
    [3, 3, 'auto', 'poll'],
    [2, 8, 'poll', 'poll'],
    [2, 1, 'auto', 'poll-all'],
  ] as const)('%i folders, budget %i, mode %s → %s', (folders, budget, mode, plan) => {
    expect(planSessions(folders, budget, mode)).toBe(plan);
  });
});

describe('imapAuth', () => {
  it('returns user + pass for password seeds, resolving the secret at call time', async () => {
    const auth = await imapAuth(seed('gmail'), (ref, field) => {
      expect(field).toBe('seeds[0].imap.password');
      return new SecretValue('s3cret', 'env PW');
    });
    expect(auth).toEqual({ user: 'u', pass: 's3cret' });
  });
  it('an OAuth2 seed whose refresh token is missing names the field, never a value', async () => {
    const s = seed('outlook', { imap: { ...seed('outlook').imap, auth: { kind: 'oauth2', clientId: 'c', refreshToken: { env: 'RT' }, fieldPath: 'seeds[1].imap.oauth2' } } });
    await expect(
      imapAuth(
        s,
        () => {
          throw new SecretError('seeds[1].imap.oauth2.refreshToken', 'environment variable RT is not set');
        },
        new OAuth2Tokens(),
      ),
    ).rejects.toMatchObject({ code: 'SECRET_UNAVAILABLE', message: expect.stringMatching(/^seed \S+: seeds\[1\]\.imap\.oauth2\.refreshToken/) });
  });
  it('names the field, never the value, when the secret is missing', async () => {
    await expect(
      imapAuth(seed('gmail'), () => {
        throw new Error('seeds[0].imap.password: environment variable PW is not set');
      }),
    ).rejects.toMatchObject({ code: 'SECRET_UNAVAILABLE' });
  });
});

describe('buildObservation', () => {
  const gmailHeaders = [
    'Received: by 2002:a05:6520:1234:b0:2a1:0:0 with SMTP id abc123; Tue, 10 Jan 2026 12:00:05 -0800 (PST)',
    'Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=sender.test; dkim=pass header.i=@sender.test; dmarc=pass (p=NONE) header.from=sender.test',
    'Authentication-Results: mx.google.com; spf=fail; dkim=fail; dmarc=fail',
    'Received: from out.sender.test by mx.google.com; Tue, 10 Jan 2026 12:00:01 -0800',
    'X-Seedwatch-Probe: 01KF0000000000000000000000',
    'Date: Tue, 10 Jan 2026 20:00:00 +0000',
    '',
    '',
  ].join('\r\n');
  const ctx = {
    seed: 'gmail-1',
    folder: 'INBOX',
    folderRole: 'inbox' as const,
    folderRule: 'default' as const,
    probeId: '01KF0000000000000000000000',
    probeIdSource: 'header',
    gmailCategory: 'promotions' as const,
    trustedAuthservIds: ['mx.google.com'],
    observedAtMs: Date.UTC(2026, 0, 10, 20, 0, 9),
  };
  const copy = { uid: 9, uidValidity: 3, internalDateMs: Date.UTC(2026, 0, 10, 20, 0, 6), size: 2048, rawHeaders: Buffer.from(gmailHeaders), headersCapped: false };

  it('takes t2 from the topmost Received, auth from the topmost trusted header, placement from the tab', () => {
    const o = buildObservation(copy, ctx);
    expect(o.placement).toBe('promotions');
    expect(o.arrivedAtMs).toBe(Date.UTC(2026, 0, 10, 20, 0, 5));
    expect(o.auth).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass' });
    expect(o.evidence).toMatchObject({ t0: Date.UTC(2026, 0, 10, 20), t3: copy.internalDateMs, t4: ctx.observedAtMs, gmailCategory: 'promotions', unparsed: false, parseErrors: [] });
    expect(() => JSON.stringify(o)).not.toThrow();
  });
  it('fingerprints a copy by topmost Received + INTERNALDATE + size; none without a Received', () => {
    const a = buildObservation(copy, ctx).fingerprint;
    expect(a).toBe(copyFingerprint('by 2002:a05:6520:1234:b0:2a1:0:0 with SMTP id abc123; Tue, 10 Jan 2026 12:00:05 -0800 (PST)', copy.internalDateMs, 2048));
    expect(buildObservation({ ...copy, uid: 99, uidValidity: 4 }, ctx).fingerprint).toBe(a);
    expect(buildObservation({ ...copy, size: 2049 }, ctx).fingerprint).not.toBe(a);
    expect(copyFingerprint(undefined, 1, 2)).toBeUndefined();
  });
  it('records broken input as unparsed instead of failing', () => {
    const o = buildObservation(
      { ...copy, internalDateMs: null, headersCapped: true, rawHeaders: Buffer.from('Received: nonsense without a date\r\nDate: yesterday-ish\r\nAuthentication-Results: mx.google.com; (broken\r\n\r\n') },
      { ...ctx, gmailCategory: undefined, folderRole: 'spam' },
    );
    expect(o.placement).toBe('spam');
    expect(o.arrivedAtMs).toBeNull();
    expect(o.evidence.unparsed).toBe(true);
    const errs = (o.evidence.parseErrors as string[]).join('\n');
    for (const what of ['received:', 'date:', 'authentication-results:', 'internaldate', 'capped']) expect(errs).toContain(what);
  });
});

describe('Reconciler', () => {
  it('marks probes missing once their seed was scanned from after the deadline, on its timer, once', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const t0 = clock.nowMs();
    for (const [id, deadline] of [['01KF0000000000000000000001', 60_000], ['01KF0000000000000000000002', 120_000]] as const) {
      await ledger.insertProbe({ id, path: 'p', seed: 's', provider: 'gmail', messageId: `<${id}@x>`, createdAtMs: t0, deadlineMs: deadline });
      await ledger.recordSendResult(id, { ok: true, acceptedAtMs: t0, code: 250, text: 'ok' });
    }
    let tick: (() => void) | null = null;
    const timers = { setInterval: vi.fn((fn: () => void) => ((tick = fn), 1)), clearInterval: vi.fn() };
    const missing: string[][] = [];
    // The seed's folders are scanned continuously: the latest complete scan began 500 ms ago.
    let watched = true;
    const scannedFrom = () => new Map(watched ? [['s', clock.nowMs() - 500]] : []);
    const r = new Reconciler({ ledger, events: { ...noopEvents, missing: (rows) => missing.push(rows.map((x) => x.id)) }, scannedFrom, clock, intervalMs: 5_000, timers });
    r.start();
    expect(timers.setInterval).toHaveBeenCalledWith(expect.any(Function), 5_000);
    clock.advance(59_000);
    tick!();
    await r.runOnce();
    clock.advance(2_000);
    tick!();
    await r.runOnce();
    // The watcher goes down across the second deadline: nothing can be concluded...
    watched = false;
    clock.advance(60_000);
    await r.runOnce();
    expect(missing).toEqual([['01KF0000000000000000000001']]);
    // ...until it is back and has scanned again.
    watched = true;
    await r.runOnce();
    await r.runOnce();
    expect(missing).toEqual([['01KF0000000000000000000001'], ['01KF0000000000000000000002']]);
    await r.stop();
    expect(timers.clearInterval).toHaveBeenCalledWith(1);
  });
  it('never rejects when the ledger fails', async () => {
    const r = new Reconciler({ ledger: { markMissing: () => Promise.reject(new Error('disk full')) } as never, events: noopEvents, scannedFrom: () => new Map([['s', 1]]) });
    await expect(r.runOnce()).resolves.toEqual([]);
  });
});
