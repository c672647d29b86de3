/**
 * What the watcher sends the server for one probe copy after an IDLE push, read from Dovecot's
 * own record of the session (rawlog_dir: every command the server received, timestamped): one
 * UID FETCH of the header block, the MOVE to Trash, and back to IDLE — no NOOP, no SEARCH, no
 * second FETCH. And such a push scan proves nothing about what was delivered just before it:
 * the moment before which every copy was seen (scannedFromMs, what `missing` is concluded
 * from) only moves with a synced one: the safety check, a bare NOOP when nothing changed.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../../../agent/auth/oauth2-tokens.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { MailboxWatcher } from '../../../agent/watch/mailbox-watcher.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { acceptedProbe, literalSecrets, OUTLOOK_USER, probeMessage, recordingEvents, seedFor, waitUntil } from './watch-harness.js';

/** One command line of a rawlog .in file: "<epoch seconds.micro> <tag> <command…>". */
interface Command {
  atMs: number;
  text: string;
}

function sessionsCommands(dir: string): Command[][] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.in'))
    .map((f) =>
      readFileSync(path.join(dir, f), 'latin1')
        .split('\r\n')
        .map((line) => /^(\d+\.\d+) (.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ atMs: Number(m[1]) * 1000, text: m[2] })),
    );
}

/** The command itself, without its tag (DONE has none). */
const verb = (c: Command) => (c.text === 'DONE' ? 'DONE' : c.text.split(' ').slice(1).join(' '));

describe('push scan against Dovecot', () => {
  let dc: DovecotServer;
  let rawlog: string;
  beforeAll(async () => {
    dc = await startDovecot({ users: [OUTLOOK_USER] });
    rawlog = path.join(dc.dir, 'rawlog');
    mkdirSync(rawlog);
    chmodSync(rawlog, 0o777); // written by the imap processes (uid mail)
    appendFileSync(path.join(dc.dir, 'dovecot.conf'), `\nprotocol imap {\n  rawlog_dir = ${rawlog}\n}\n`);
    execFileSync('doveadm', ['-c', path.join(dc.dir, 'dovecot.conf'), 'reload']);
    await new Promise((r) => setTimeout(r, 300)); // the master re-reads its config
  });
  afterAll(async () => {
    await dc?.stop();
  });

  it('records a pushed copy with one UID FETCH, and only a synced scan moves scannedFromMs', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const seed = seedFor(dc, OUTLOOK_USER, 'outlook-push');
    const events = recordingEvents();
    const w = new MailboxWatcher({
      seed,
      ledger,
      events,
      oauth2: new OAuth2Tokens(),
      resolveSecret: literalSecrets,
      pollIntervalMs: 10 * 60_000, // no safety scan during the test: every scan below is a push or scanNow
      deadlineMs: 30 * 60_000,
    });
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');
    expect(w.health().watched.map((x) => x.via)).toEqual(['idle', 'idle']);
    const scannedBefore = w.scannedFromMs();
    expect(scannedBefore).not.toBeNull();
    // Let both sessions settle in IDLE.
    await new Promise((r) => setTimeout(r, 300));

    const deliveredFrom = Date.now();
    const id = await acceptedProbe(ledger, seed);
    await dc.deliver(OUTLOOK_USER.user, probeMessage(id, { to: OUTLOOK_USER.user }));
    const row = await waitUntil(async () => {
      const p = await ledger.getProbe(id);
      return p?.outcome ? p : null;
    }, 'probe observed');
    expect(row.outcome).toBe('inbox');
    const [obs] = await ledger.observations(id);
    // The evidence comes from the header block of that one FETCH.
    expect(obs.evidence.probeIdSource).toBe('header');
    expect(typeof obs.evidence.t2).toBe('number');
    expect(obs.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    // Pushed: nothing proved about copies delivered before the scan.
    expect(w.scannedFromMs()).toBe(scannedBefore);

    // The INBOX session, from the delivery until it is back in IDLE after the move.
    await waitUntil(
      () => {
        const s = sessionsCommands(rawlog).find((cmds) => cmds.some((c) => /^\S+ SELECT "?INBOX"?/.test(c.text)));
        return s && s.some((c) => c.atMs >= deliveredFrom && /UID MOVE/.test(c.text)) && /IDLE$/.test(s[s.length - 1].text);
      },
      'the INBOX session back in IDLE after the move',
    );
    const inbox = sessionsCommands(rawlog).find((cmds) => cmds.some((c) => /^\S+ SELECT "?INBOX"?/.test(c.text)))!;
    const after = inbox.filter((c) => c.atMs >= deliveredFrom).map(verb);
    expect(after.filter((v) => v.startsWith('UID FETCH'))).toHaveLength(1);
    expect(after.find((v) => v.startsWith('UID FETCH'))).toMatch(/^UID FETCH \d+:\* \(.*BODY\.PEEK\[HEADER\]<0\.262144>.*\)$/);
    expect(after.filter((v) => v === 'NOOP' || v.startsWith('UID SEARCH') || v.startsWith('SEARCH'))).toEqual([]);
    expect(after).toEqual(['DONE', expect.stringMatching(/^UID FETCH/), expect.stringMatching(/^UID MOVE \d+ "?Deleted Items"?$/), 'IDLE']);

    // The safety check (what the poll timer and scanNow run): nothing changed since the last
    // scan, so a NOOP and no SEARCH — and it does prove the folders seen up to its start.
    const syncFrom = Date.now();
    await w.scanNow();
    expect(w.scannedFromMs()!).toBeGreaterThanOrEqual(syncFrom);
    await waitUntil(() => /IDLE$/.test(sessionsCommands(rawlog).find((cmds) => cmds.some((c) => /^\S+ SELECT "?INBOX"?/.test(c.text)))!.at(-1)!.text), 'INBOX back in IDLE');
    const inboxNow = sessionsCommands(rawlog).find((cmds) => cmds.some((c) => /^\S+ SELECT "?INBOX"?/.test(c.text)))!;
    expect(inboxNow.filter((c) => c.atMs >= syncFrom).map(verb)).toEqual(['DONE', 'NOOP', 'IDLE']);
    await w.stop();
    await ledger.close();
  });
});
