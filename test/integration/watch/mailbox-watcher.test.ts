import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { MailboxWatcher } from '../../../agent/watch/mailbox-watcher.js';
import { Reconciler } from '../../../agent/watch/reconciler.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import {
  acceptedProbe,
  folderCount,
  GMAIL_USER,
  literalSecrets,
  OUTLOOK_USER,
  probeMessage,
  recordingEvents,
  seedFor,
  waitUntil,
} from './watch-harness.js';

const execFileP = promisify(execFile);
const POLL_MS = 1_000;
const FAST_BACKOFF = { baseMs: 50, maxMs: 200, loginRetryMs: 60_000, jitter: 0 };

describe('mailbox watcher against Dovecot', () => {
  let dc: DovecotServer;
  beforeAll(async () => {
    dc = await startDovecot({ users: [GMAIL_USER, OUTLOOK_USER, { user: 'keep@plain.test', password: 'pw-keep', kind: 'outlook' }] });
  });
  afterAll(async () => {
    await dc?.stop();
  });

  function watcherFor(ledger: SqliteLedger, seed: ReturnType<typeof seedFor>, events = recordingEvents(), mode: 'auto' | 'poll' = 'auto') {
    return new MailboxWatcher({
      seed,
      ledger,
      events,
      oauth2: new OAuth2Tokens(),
      resolveSecret: literalSecrets,
      pollIntervalMs: POLL_MS,
      deadlineMs: 30 * 60_000,
      mode,
      backoff: FAST_BACKOFF,
    });
  }

  it('records inbox and junk placements, matches by header, Message-ID and body token, ignores other mail, moves probes to Trash', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const gSeed = seedFor(dc, GMAIL_USER, 'gmail-1');
    const oSeed = seedFor(dc, OUTLOOK_USER, 'outlook-1');
    const events = recordingEvents();
    const wg = watcherFor(ledger, gSeed, events);
    const wo = watcherFor(ledger, oSeed, events, 'poll');
    wg.start();
    wo.start();
    await waitUntil(() => wg.health().up && wo.health().up, 'watchers up');
    expect(wg.health().folders?.spam).toEqual({ path: '[Gmail]/Spam', rule: 'special-use' });
    expect(wg.health().folders?.all).toEqual({ path: '[Gmail]/All Mail', rule: 'special-use' });
    expect(wo.health().folders?.spam).toEqual({ path: 'Junk Email', rule: 'special-use' });
    expect(wo.health().watched).toEqual([
      { path: 'INBOX', role: 'inbox', via: 'idle' },
      { path: 'Junk Email', role: 'spam', via: 'poll' },
    ]);
    expect(wg.health().watched.map((w) => w.via)).toEqual(['idle', 'idle', 'idle']);

    const cases = [
      { seed: gSeed, user: GMAIL_USER, junk: false, idIn: 'header' as const, expect: 'inbox' },
      { seed: gSeed, user: GMAIL_USER, junk: true, idIn: 'message-id' as const, expect: 'spam' },
      { seed: oSeed, user: OUTLOOK_USER, junk: false, idIn: 'body' as const, expect: 'inbox' },
      { seed: oSeed, user: OUTLOOK_USER, junk: true, idIn: 'header' as const, expect: 'spam' },
    ];
    const ids: string[] = [];
    for (const c of cases) {
      const id = await acceptedProbe(ledger, c.seed);
      ids.push(id);
      await dc.deliver(c.user.user, probeMessage(id, { to: c.user.user, subject: `${c.junk ? '[junk] ' : ''}digest ${id}`, idIn: c.idIn }));
    }
    // not a probe: must stay untouched
    await dc.deliver(OUTLOOK_USER.user, 'From: a@b.test\r\nSubject: hello\r\nMessage-ID: <x@b.test>\r\n\r\nnothing here\r\n');
    for (const [i, c] of cases.entries()) {
      const row = await waitUntil(async () => {
        const p = await ledger.getProbe(ids[i]);
        return p?.outcome ? p : null;
      }, `probe ${i} observed`);
      expect(row.outcome).toBe(c.expect);
      expect(row.copies).toBe(1);
      const [obs] = await ledger.observations(ids[i]);
      expect(obs.kind).toBe('first');
      expect(obs.evidence.probeIdSource).toBe(c.idIn);
      expect(obs.internalDateMs).toBeGreaterThan(0);
      expect(typeof obs.evidence.t2).toBe('number'); // Dovecot's own Received line
      expect(obs.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(events.observedList.map((o) => o.kind)).toEqual(['first', 'first', 'first', 'first']);
    // cleanup: probes moved to Trash, the other message left in INBOX
    await waitUntil(async () => (await folderCount(dc, OUTLOOK_USER, 'Deleted Items')) === 2, 'outlook probes in Deleted Items');
    expect(await folderCount(dc, OUTLOOK_USER, 'INBOX')).toBe(1);
    expect(await folderCount(dc, OUTLOOK_USER, 'Junk Email')).toBe(0);
    expect(await folderCount(dc, GMAIL_USER, '[Gmail]/Trash')).toBe(2);
    await wg.stop();
    await wo.stop();
    expect(events.states).toContainEqual({ seed: 'gmail-1', up: false });
    await ledger.close();
  });
  it('counts a second copy as duplicate and a copy after the deadline as late', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const seed = seedFor(dc, OUTLOOK_USER, 'outlook-dup', { cleanup: 'delete' });
    const events = recordingEvents();
    const w = watcherFor(ledger, seed, events);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');

    const dup = await acceptedProbe(ledger, seed);
    const raw = probeMessage(dup, { to: OUTLOOK_USER.user });
    await dc.deliver(OUTLOOK_USER.user, raw);
    await dc.deliver(OUTLOOK_USER.user, raw);

    const late = await acceptedProbe(ledger, seed, { atMs: Date.now() - 5_000, deadlineMs: 1_000 });
    const missing = await new Reconciler({ ledger, events, scannedFrom: () => new Map([[seed.name, w.scannedFromMs()!]]) }).runOnce();
    expect(missing.map((r) => r.id)).toEqual([late]);
    await dc.deliver(OUTLOOK_USER.user, probeMessage(late, { to: OUTLOOK_USER.user, subject: '[junk] late' }));

    await waitUntil(async () => (await ledger.getProbe(dup))?.copies === 2, 'duplicate recorded');
    const obs = await ledger.observations(dup);
    expect(obs.map((o) => o.kind)).toEqual(['first', 'duplicate']);
    expect(obs[0].fingerprint).not.toBe(obs[1].fingerprint);

    const lateRow = await waitUntil(async () => {
      const p = await ledger.getProbe(late);
      return p && p.copies === 1 ? p : null;
    }, 'late copy recorded');
    expect(lateRow.outcome).toBe('missing');
    expect((await ledger.observations(late))[0]).toMatchObject({ kind: 'late', placement: 'spam' });

    expect(w.health().up).toBe(true);
    expect(events.errors).toEqual([]);
    // cleanup 'delete': nothing left behind
    await waitUntil(async () => (await folderCount(dc, OUTLOOK_USER, 'INBOX')) === 1, 'inbox emptied (but for the earlier non-probe)');
    expect(await folderCount(dc, OUTLOOK_USER, 'Junk Email')).toBe(0);
    expect(await folderCount(dc, OUTLOOK_USER, 'Deleted Items')).toBe(2);
    await w.stop();
    await ledger.close();
  });

  it('never crashes on garbage headers: such probes are recorded with their parse errors', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const seed = seedFor(dc, GMAIL_USER, 'gmail-garbage');
    const events = recordingEvents();
    const w = watcherFor(ledger, seed, events);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');
    // garbage: each is a probe (its id in X-Seedwatch-Probe) with something broken around it
    const garbage: Record<string, (id: string) => Buffer> = {
      badDates: (id) => Buffer.from(probeMessage(id, { to: 'x', date: 'the 32nd of Smarch', extraHeaders: ['Received: from x by y; not a date at all'] })),
      brokenAuthResults: (id) =>
        Buffer.from(probeMessage(id, { to: 'x', extraHeaders: ['Authentication-Results: mx.google.com; spf=pass (unterminated comment', 'Authentication-Results: ;;;==='] })),
      hugeHeader: (id) => Buffer.from(probeMessage(id, { to: 'x', extraHeaders: [`X-Filler: ${'a'.repeat(1024 * 1024)}`] })),
      foldedHuge: (id) => Buffer.from(probeMessage(id, { to: 'x', extraHeaders: ['X-Many: start', ...Array.from({ length: 20_000 }, () => `\tcontinuation line of a folded header ${'z'.repeat(40)}`)] })),
      invalidUtf8: (id) =>
        Buffer.concat([
          Buffer.from(`X-Seedwatch-Probe: ${id}\r\nSubject: `),
          Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xa0, 0xa1]),
          Buffer.from('\r\nAuthentication-Results: mx.google.com; spf=\xff\xfe\r\n\r\nbody\r\n', 'latin1'),
        ]),
    };
    const garbageIds: Record<string, string> = {};
    for (const [name, make] of Object.entries(garbage)) {
      garbageIds[name] = await acceptedProbe(ledger, seed);
      await dc.deliver(GMAIL_USER.user, make(garbageIds[name]));
    }

    for (const [name, id] of Object.entries(garbageIds)) {
      const p = await waitUntil(async () => {
        const r = await ledger.getProbe(id);
        return r?.outcome ? r : null;
      }, `garbage probe ${name}`);
      expect(p.outcome, name).toBe('inbox');
      const [o] = await ledger.observations(id);
      expect(o.evidence.unparsed, name).toBe(true);
      expect((o.evidence.parseErrors as string[]).length, name).toBeGreaterThan(0);
    }
    const ok = await acceptedProbe(ledger, seed);
    await dc.deliver(GMAIL_USER.user, probeMessage(ok, { to: GMAIL_USER.user }));
    expect(await waitUntil(async () => (await ledger.getProbe(ok))?.outcome, 'a normal probe after the garbage')).toBe('inbox');
    expect(w.health().up).toBe(true);
    expect(events.errors).toEqual([]);
    await w.stop();
    await ledger.close();
  });

  it('catches up after a stop, and rescans without double counting after a UIDVALIDITY change', async () => {
    const keepUser = { user: 'keep@plain.test', password: 'pw-keep', kind: 'outlook' as const };
    const ledger = SqliteLedger.open(':memory:');
    const seed = seedFor(dc, keepUser, 'outlook-keep', { cleanup: 'keep' });
    let w = watcherFor(ledger, seed);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');
    const before = await acceptedProbe(ledger, seed);
    await dc.deliver(keepUser.user, probeMessage(before, { to: keepUser.user }));
    await waitUntil(async () => (await ledger.getProbe(before))?.outcome, 'first probe seen');
    await w.stop();

    const whileAway = [await acceptedProbe(ledger, seed), await acceptedProbe(ledger, seed)];
    for (const id of whileAway) await dc.deliver(keepUser.user, probeMessage(id, { to: keepUser.user }));
    await dc.deliver(keepUser.user, probeMessage(whileAway[0], { to: keepUser.user })); // a duplicate too
    w = watcherFor(ledger, seed);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up again');
    // catch-up happens before `up`: everything is already there
    expect((await ledger.getProbe(whileAway[0]))?.copies).toBe(2);
    expect((await ledger.getProbe(whileAway[1]))?.copies).toBe(1);
    expect((await ledger.getProbe(before))?.copies).toBe(1);
    await w.stop();

    // UIDVALIDITY change (the server renumbered the folder): UIDs may repeat under the new
    // validity, so only the fingerprint keeps the old copies from being counted again.
    const oldState = await ledger.getFolderState(seed.name, 'INBOX');
    await execFileP('doveadm', ['-c', path.join(dc.dir, 'dovecot.conf'), 'mailbox', 'update', '--uid-validity', String(oldState!.uidValidity + 7), '-u', keepUser.user, 'INBOX']);
    const after = await acceptedProbe(ledger, seed);
    await dc.deliver(keepUser.user, probeMessage(after, { to: keepUser.user }));
    w = watcherFor(ledger, seed);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up after renumbering');
    const newState = await ledger.getFolderState(seed.name, 'INBOX');
    expect(newState!.uidValidity).toBe(oldState!.uidValidity + 7);
    expect((await ledger.getProbe(after))?.copies).toBe(1);
    expect((await ledger.getProbe(whileAway[0]))?.copies).toBe(2);
    expect((await ledger.getProbe(whileAway[1]))?.copies).toBe(1);
    expect((await ledger.getProbe(before))?.copies).toBe(1);
    await w.stop();
    await ledger.close();
  });

  it('reports a rejected login once and retries slowly; reconnects after a server restart', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const events = recordingEvents();
    const bad = watcherFor(ledger, seedFor(dc, { ...GMAIL_USER, password: 'wrong' }, 'gmail-bad'), events);
    bad.start();
    await waitUntil(() => bad.health().lastError, 'login error');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(bad.health().lastError?.kind).toBe('login');
    expect(bad.health().nextRetryAtMs! - Date.now()).toBeGreaterThan(50_000);
    expect(events.errors).toEqual([{ seed: 'gmail-bad', kind: 'login' }]);
    expect((await ledger.totals()).mailboxErrors).toEqual([{ seed: 'gmail-bad', kind: 'login', count: 1 }]);
    await bad.stop();

    const oauth = watcherFor(ledger, { ...seedFor(dc, GMAIL_USER, 'gmail-oauth'), imap: { ...seedFor(dc, GMAIL_USER, 'x').imap, auth: { kind: 'oauth2', clientId: 'c', refreshToken: { literal: 'r' }, tokenUrl: 'http://127.0.0.1:1/token', fieldPath: 'seeds[1].imap.oauth2' } } }, events);
    oauth.start();
    await waitUntil(() => oauth.health().lastError, 'oauth2 error');
    expect(oauth.health().lastError).toMatchObject({ kind: 'connection' });
    expect(oauth.health().lastError?.message).toMatch(/seed gmail-oauth: cannot refresh the OAuth2 access token: token endpoint .* unreachable/);
    await oauth.stop();

    const seed = seedFor(dc, GMAIL_USER, 'gmail-restart');
    const w = watcherFor(ledger, seed, events);
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');
    await dc.restart();
    await waitUntil(() => events.states.some((s) => s.seed === 'gmail-restart' && !s.up), 'down after restart');
    await waitUntil(() => w.health().up, 'up again after restart', 20_000);
    const id = await acceptedProbe(ledger, seed);
    await dc.deliver(GMAIL_USER.user, probeMessage(id, { to: GMAIL_USER.user }));
    expect((await waitUntil(async () => (await ledger.getProbe(id))?.outcome, 'probe after restart'))).toBe('inbox');
    expect(w.health().reconnects).toBeGreaterThanOrEqual(1);
    expect(events.errors.filter((e) => e.seed === 'gmail-restart').length).toBeGreaterThanOrEqual(1);
    await w.stop();
    await ledger.close();
  });
});
