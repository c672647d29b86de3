/**
 * The sandbox providers against real clients: nodemailer sends through each path listener,
 * imapflow reads the hoodiecrow mailboxes, and the agent's own header analysis must believe
 * the provider stamps (trusted by the shipped presets' authservIds / receivedHosts).
 */
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFolderRoles } from '../../../agent/analyze/folder-roles.js';
import { analyzeMessage } from '../../../agent/analyze/analyze-message.js';
import { ManualClock } from '../../../agent/clock.js';
import { loadPresets } from '../../../agent/config/preset.js';
import { createPrng } from '../../../sandbox/prng.js';
import { startSandbox, type Sandbox } from '../../../sandbox/start-sandbox.js';
import { listEntries } from '../../../agent/watch/mailbox-watcher.js';
import { clean, imapSession, readFolder, seedOf, sendProbe } from './sandbox-helpers.js';

const presets = loadPresets();

const SPAM_FOLDER = { gmail: '[Gmail]/Spam', outlook: 'Junk Email', yahoo: 'Bulk', orange: 'QUARANTAINE' } as const;
const TRASH_FOLDER = { gmail: '[Gmail]/Trash', outlook: 'Deleted Items', yahoo: 'Trash', orange: 'CORBEILLE' } as const;
type P = keyof typeof SPAM_FOLDER;
const PROVIDERS: P[] = ['gmail', 'outlook', 'yahoo', 'orange'];

let sandbox: Sandbox | null = null;
afterEach(async () => {
  await sandbox?.stop();
  sandbox = null;
});

/** The analysis the watcher makes of a copy (observation.ts passes the same trust options). */
function analyze(provider: P, headers: Buffer) {
  const preset = presets.get(provider)!;
  return analyzeMessage(headers, { trustedAuthservIds: preset.authservIds, providerReceivedHosts: preset.receivedHosts.length > 0 ? preset.receivedHosts : undefined });
}

describe('sandbox providers', () => {
  it('deliver over both paths with provider stamps the watcher trusts, and a correct t2', async () => {
    sandbox = await startSandbox({ random: createPrng(1), behaviour: clean() });
    const sent: Record<string, { id: string; sentAtMs: number }> = {};
    for (const path of ['peering', 'transit']) {
      for (const p of PROVIDERS) {
        const r = await sendProbe(sandbox, path, seedOf(sandbox, p).address, { dkim: true });
        expect(r.response).toMatch(/^250 /);
        sent[`${p}/${path}`] = r;
      }
    }
    await sandbox.settled();
    const doneAtMs = Date.now();
    for (const p of PROVIDERS) {
      const msgs = await readFolder(seedOf(sandbox, p), 'INBOX');
      expect(msgs).toHaveLength(2);
      for (const m of msgs) {
        const a = analyze(p, m.headers);
        expect(a.parseErrors).toEqual([]);
        const path = /^X-Virtual-MTA: peering$/im.test(m.headers.toString('latin1')) ? 'peering' : 'transit';
        const { id, sentAtMs } = sent[`${p}/${path}`];
        expect(a.probeId).toBe(id);
        // t2 is the provider's topmost Received, to the second (MTAs truncate).
        expect(a.arrivalMs).toBeGreaterThanOrEqual(Math.floor(sentAtMs / 1000) * 1000);
        expect(a.arrivalMs).toBeLessThanOrEqual(doneAtMs);
        expect(a.auth.found).toBe(true);
        if (!a.auth.found || a.auth.unparsed) throw new Error(`auth not parsed for ${p}`);
        expect({ spf: a.auth.spf, dkim: a.auth.dkim, dmarc: a.auth.dmarc }).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass' });
        if (p === 'outlook') {
          // Microsoft's id-less header, trusted by its position above the ingress hop.
          expect(a.auth.authservId).toBeNull();
          expect(a.auth.trust).toBe('ingress-position');
          expect(a.antispam).toMatchObject({ scl: 1, sfv: 'NSPM', cat: 'NONE' });
        } else {
          expect(a.auth.trust).toBe('authserv-id');
          expect(a.auth.authservId).toMatch({ gmail: /^mx\.google\.com$/, yahoo: /^atlas\d+\.free\.mail\.\w+\.yahoo\.com$/, orange: /\.mail\.orange\.fr$/ }[p]!);
        }
        // The path's egress is what the provider saw.
        const ip = path === 'peering' ? '192.0.2.10' : '198.51.100.7';
        expect(m.headers.toString('latin1')).toContain(ip);
      }
    }
    expect(sandbox.stats()['gmail/peering']).toMatchObject({ accepted: 1, lost: 0, duplicates: 0, delivered: { inbox: 1, primary: 1 } });
  });

  it('an unsigned probe gets dkim=none; an Authentication-Results added by the sender is not believed', async () => {
    sandbox = await startSandbox({ random: createPrng(2), behaviour: clean() });
    for (const p of ['gmail', 'outlook'] as const) {
      const seed = seedOf(sandbox, p);
      const forged = p === 'gmail' ? 'mx.google.com; spf=pass; dkim=pass header.d=mail.example.com; dmarc=pass' : 'spf=pass; dkim=pass header.d=mail.example.com; dmarc=pass';
      await sendProbe(sandbox, 'peering', seed.address, { headers: { 'Authentication-Results': forged } });
      await sandbox.settled();
      const [m] = await readFolder(seed, 'INBOX');
      expect(m.headers.toString('latin1').replace(/\r\n[ \t]+/g, ' ')).toContain(forged);
      const a = analyze(p, m.headers);
      if (!a.auth.found || a.auth.unparsed) throw new Error('auth not parsed');
      expect(a.auth.dkim, p).toBe('none');
      expect(a.auth.dmarc, p).toBe('pass'); // SPF-aligned: MAIL FROM and From share mail.example.com
    }
  });

  it('lists each provider’s folders with SPECIAL-USE, so the watcher maps spam and trash by attribute', async () => {
    sandbox = await startSandbox({ random: createPrng(3), behaviour: clean() });
    for (const p of PROVIDERS) {
      const client = await imapSession(seedOf(sandbox, p));
      try {
        const list = await client.list();
        const preset = presets.get(p)!;
        const roles = resolveFolderRoles(listEntries(list), {
          spam: preset.folders.spam.names,
          trash: preset.folders.trash.names,
          all: preset.folders.all?.names,
        });
        expect(roles.spam).toMatchObject({ path: SPAM_FOLDER[p], rule: 'special-use' });
        expect(roles.trash).toMatchObject({ path: TRASH_FOLDER[p], rule: 'special-use' });
        if (p === 'gmail') {
          expect(roles.all).toMatchObject({ path: '[Gmail]/All Mail', rule: 'special-use' });
          expect(client.capabilities.has('X-GM-EXT-1')).toBe(true);
        } else {
          expect(client.capabilities.has('X-GM-EXT-1')).toBe(false);
        }
        expect(client.capabilities.has('IDLE')).toBe(true);
        expect(client.capabilities.has('MOVE')).toBe(true);
      } finally {
        await client.logout();
      }
    }
  });

  it('spam goes to the provider’s junk folder with its spam stamps; Gmail tabs answer X-GM-RAW', async () => {
    sandbox = await startSandbox({
      random: createPrng(4),
      behaviour: clean({
        routes: {
          gmail: { peering: { tabs: { promotions: 1 } }, transit: { spamShare: 1 } },
          outlook: { transit: { spamShare: 1 } },
          yahoo: { transit: { spamShare: 1 } },
          orange: { transit: { spamShare: 1 } },
        },
      }),
    });
    const promo = await sendProbe(sandbox, 'peering', seedOf(sandbox, 'gmail').address);
    const primaryViaOther = await sendProbe(sandbox, 'peering', seedOf(sandbox, 'outlook').address);
    for (const p of PROVIDERS) await sendProbe(sandbox, 'transit', seedOf(sandbox, p).address);
    await sandbox.settled();

    for (const p of PROVIDERS) {
      const spam = await readFolder(seedOf(sandbox, p), SPAM_FOLDER[p]);
      expect(spam, p).toHaveLength(1);
      if (p === 'outlook') {
        expect(analyze(p, spam[0].headers).antispam).toMatchObject({ scl: 5, sfv: 'SPM', cat: 'SPM' });
        expect(spam[0].headers.toString('latin1')).toMatch(/dest:J;.*RF:JunkEmail;/);
      }
    }
    expect(await readFolder(seedOf(sandbox, 'outlook'), 'INBOX')).toHaveLength(1);
    expect(primaryViaOther.response).toMatch(/^250 /);

    const gmail = await imapSession(seedOf(sandbox, 'gmail'));
    try {
      await gmail.mailboxOpen('INBOX');
      const [msg] = await gmail.fetchAll('1:*', { uid: true, headers: ['X-Seedwatch-Probe'] }, { uid: true });
      expect(msg.headers?.toString()).toContain(promo.id);
      // The watcher's exact query: UID SEARCH UID <set> X-GM-RAW "category:<tab>".
      expect(await gmail.search({ uid: String(msg.uid), gmraw: 'category:promotions' }, { uid: true })).toEqual([msg.uid]);
      expect(await gmail.search({ uid: String(msg.uid), gmraw: 'category:social' }, { uid: true })).toEqual([]);
      expect(await gmail.search({ gmraw: 'category:primary' }, { uid: true })).toEqual([]);
      expect(await gmail.search({ gmraw: `rfc822msgid:${promo.id}@mail.example.com -category:updates` }, { uid: true })).toEqual([msg.uid]);
      // What the sandbox does not understand is refused (imapflow turns the NO into false).
      expect(await gmail.search({ gmraw: 'from:someone larger:10M' })).toBe(false);
    } finally {
      await gmail.logout();
    }
    expect(sandbox.stats()['gmail/peering'].delivered).toMatchObject({ inbox: 1, promotions: 1, primary: 0 });
  });

  it('duplicates arrive as distinct deliveries; a lost message is accepted with 250 and never arrives', async () => {
    sandbox = await startSandbox({
      random: createPrng(5),
      behaviour: clean({ routes: { yahoo: { peering: { duplicateShare: 1 }, transit: { lossShare: 1 } } } }),
    });
    const seed = seedOf(sandbox, 'yahoo');
    const dup = await sendProbe(sandbox, 'peering', seed.address);
    const lost = await sendProbe(sandbox, 'transit', seed.address);
    expect(lost.response).toMatch(/^250 /);
    await sandbox.settled();
    const msgs = await readFolder(seed, 'INBOX');
    expect(msgs).toHaveLength(2);
    const analyses = msgs.map((m) => analyze('yahoo', m.headers));
    expect(analyses.map((a) => a.probeId)).toEqual([dup.id, dup.id]);
    // Two deliveries: each has its own provider hop (the watcher's copy fingerprint differs).
    const top = msgs.map((m) => /^Received:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/m.exec(m.headers.toString('latin1'))![0]);
    expect(top[0]).not.toBe(top[1]);
    expect(sandbox.stats()['yahoo/peering']).toMatchObject({ accepted: 1, duplicates: 1, lost: 0, delivered: { inbox: 2 } });
    expect(sandbox.stats()['yahoo/transit']).toMatchObject({ accepted: 1, lost: 1, delivered: { inbox: 0, spam: 0 } });
  });

  it('the scripted incident turns transit into Outlook to spam inside its window only', async () => {
    // 12:02 is inside minutes 0–4 of the quarter hour; 12:07 is outside.
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 2, 0));
    sandbox = await startSandbox({
      clock,
      random: createPrng(6),
      behaviour: {
        all: clean().all,
        incidents: [{ provider: 'outlook', path: 'transit', periodMs: 15 * 60_000, durationMs: 5 * 60_000, offsetMs: 0, spamShare: 1 }],
      },
    });
    const seed = seedOf(sandbox, 'outlook');
    await sendProbe(sandbox, 'transit', seed.address); // incident: spam
    await sendProbe(sandbox, 'peering', seed.address); // other path: inbox
    await sendProbe(sandbox, 'transit', seedOf(sandbox, 'gmail').address); // other provider: inbox
    clock.set(Date.UTC(2026, 10, 23, 12, 7, 0));
    await sendProbe(sandbox, 'transit', seed.address); // after the window: inbox
    await sandbox.settled();
    const junk = await readFolder(seed, 'Junk Email');
    const inbox = await readFolder(seed, 'INBOX');
    expect(junk).toHaveLength(1);
    expect(inbox).toHaveLength(2);
    expect(junk[0].headers.toString('latin1')).toMatch(/^X-Virtual-MTA: transit$/im);
    // Header dates follow the injected clock: the incident copy arrived at ~12:02 UTC.
    const t2 = analyze('outlook', junk[0].headers).arrivalMs!;
    expect(t2 - Date.UTC(2026, 10, 23, 12, 2, 0)).toBeLessThan(2_000);
    expect(sandbox.stats()['outlook/transit']).toMatchObject({ accepted: 2, duringIncident: 1, delivered: { spam: 1, inbox: 1 } });
    expect(await readFolder(seedOf(sandbox, 'gmail'), 'INBOX')).toHaveLength(1);
  });

  it('an IDLE session on a mailbox gets EXISTS when a message is deposited', async () => {
    sandbox = await startSandbox({ random: createPrng(7), behaviour: clean() });
    const seed = seedOf(sandbox, 'orange');
    const client = await imapSession(seed);
    try {
      await client.mailboxOpen('INBOX');
      const exists = new Promise<{ count: number; atMs: number }>((resolve) =>
        client.on('exists', (ev: { count: number }) => resolve({ count: ev.count, atMs: Date.now() })),
      );
      const idling = client.idle();
      const sent = await sendProbe(sandbox, 'peering', seed.address);
      const ev = await exists;
      expect(ev.count).toBe(1);
      // Pushed, not polled: well within a second of the simulated delivery (~30 ms).
      expect(ev.atMs - sent.sentAtMs).toBeLessThan(1_000);
      await client.noop(); // ends IDLE
      await idling;
      const [m] = await client.fetchAll('1:*', { uid: true, headers: ['X-Seedwatch-Probe'] }, { uid: true });
      expect(m.headers?.toString()).toContain(sent.id);
      // The watcher's clean-up: MOVE to trash.
      await client.messageMove(String(m.uid), 'CORBEILLE', { uid: true });
    } finally {
      await client.logout();
    }
    expect(sandbox.mailbox('orange-1').messages('CORBEILLE')).toHaveLength(1);
    expect(sandbox.mailbox('orange-1').messages('INBOX')).toHaveLength(0);
  });

  it('refuses recipients it does not host, and logins with a wrong password', async () => {
    sandbox = await startSandbox({ random: createPrng(8), behaviour: clean(), providers: ['gmail'] });
    await expect(sendProbe(sandbox, 'peering', 'someone@example.org')).rejects.toMatchObject({ responseCode: 550 });
    await expect(sendProbe(sandbox, 'peering', 'nobody@gmail.com')).rejects.toMatchObject({ responseCode: 550 });
    await expect(sendProbe(sandbox, 'peering', 'seedwatch.demo1@outlook.com')).rejects.toMatchObject({ responseCode: 550 });
    const seed = seedOf(sandbox, 'gmail');
    await expect(imapSession(seed, { pass: 'wrong' })).rejects.toThrow();
    expect(sandbox.mailbox('gmail-1').logins()).toMatchObject([{ mechanism: 'LOGIN', user: seed.address, ok: false }]);
  });

  it('the same PRNG seed gives the same decisions (placements, tabs, duplicates, losses)', async () => {
    const run = async () => {
      const sb = await startSandbox({
        random: createPrng(2026),
        behaviour: {
          all: { latency: { medianMs: 20, sigma: 0.3, tailShare: 0 }, internalDelay: { minMs: 0, maxMs: 5 }, spamShare: 0.3, duplicateShare: 0.15, lossShare: 0.1 },
          routes: { gmail: { peering: { tabs: { promotions: 0.3, social: 0.1, updates: 0.1, forums: 0 } } } },
          incidents: [],
        },
      });
      try {
        for (let i = 0; i < 12; i++) {
          for (const p of PROVIDERS) await sendProbe(sb, i % 2 === 0 ? 'peering' : 'transit', seedOf(sb, p).address);
        }
        await sb.settled();
        return sb.stats();
      } finally {
        await sb.stop();
      }
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    // The draws really vary: with these shares 48 messages show every outcome.
    const all = Object.values(a);
    const sum = (f: (r: (typeof all)[number]) => number) => all.reduce((n, r) => n + f(r), 0);
    expect(sum((r) => r.accepted)).toBe(48);
    expect(sum((r) => r.lost)).toBeGreaterThan(0);
    expect(sum((r) => r.duplicates)).toBeGreaterThan(0);
    expect(sum((r) => r.delivered.spam)).toBeGreaterThan(0);
    const g = a['gmail/peering'].delivered;
    expect(g.primary + g.promotions + g.social + g.updates + g.forums).toBe(g.inbox);
    expect(g.primary).toBeLessThan(g.inbox);
  });

  it('stops promptly with clients still connected, and drops deliveries still in their delay', async () => {
    sandbox = await startSandbox({ random: createPrng(9), behaviour: clean({ routes: { gmail: { peering: { latency: { medianMs: 60_000 } } } } }) });
    const seed = seedOf(sandbox, 'gmail');
    await sendProbe(sandbox, 'peering', seed.address); // waits a minute: still pending at stop
    const imap = await imapSession(seed);
    await imap.mailboxOpen('INBOX');
    void imap.idle().catch(() => undefined);
    const closed = new Promise<void>((r) => imap.once('close', () => r()));
    const path = sandbox.paths[0];
    const pooled = nodemailer.createTransport({ host: path.host, port: path.port, secure: false, ignoreTLS: true, pool: true });
    await pooled.verify();
    const t0 = Date.now();
    await sandbox.stop();
    expect(Date.now() - t0).toBeLessThan(2_500);
    await closed; // the IDLE session was dropped, not left hanging
    expect(sandbox.stats()['gmail/peering']).toMatchObject({ accepted: 1, delivered: { inbox: 0 } });
    pooled.close();
  });
});
