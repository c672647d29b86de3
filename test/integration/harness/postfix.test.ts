import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { startPostfix, type PostfixServer } from '../../helpers/postfix.js';
import { waitFor } from '../../helpers/processes.js';

describe('postfix harness', () => {
  let dc: DovecotServer;
  let pf: PostfixServer;
  const seed = { user: 'carol@gmail.test', password: 'carol-pw', kind: 'gmail' as const };

  beforeAll(async () => {
    dc = await startDovecot({ users: [seed] });
    const t0 = Date.now();
    pf = await startPostfix({
      listeners: [
        { name: 'peering', prependHeader: 'X-Egress-Path: peering', myhostname: 'peering.relay.test' },
        { name: 'direct', prependHeader: 'X-Egress-Path: direct', myhostname: 'direct.relay.test' },
      ],
      relayTo: { lmtp: { host: dc.host, port: dc.lmtpPort } },
    });
    console.log(`postfix ready in ${Date.now() - t0} ms`);
  });
  afterAll(async () => {
    await pf?.stop();
    await dc?.stop();
  });

  it('relays each listener into Dovecot with its own prepended header', async () => {
    for (const path of ['peering', 'direct']) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: pf.ports[path], secure: false, ignoreTLS: true, name: 'localhost' });
      const info = await transport.sendMail({ from: 'probe@sender.test', to: seed.user, subject: `via ${path}`, text: 'hi' });
      transport.close();
      expect(info.accepted).toEqual([seed.user]);
    }

    const c = new ImapFlow({ host: dc.host, port: dc.imapPort, secure: false, auth: { user: seed.user, pass: seed.password }, logger: false });
    await c.connect();
    try {
      const got = await waitFor(
        async () => {
          const lock = await c.getMailboxLock('INBOX');
          try {
            await c.noop();
            const out: Record<string, string> = {};
            if (!c.mailbox || c.mailbox.exists < 2) return undefined;
            for await (const m of c.fetch('1:*', { envelope: true, headers: ['x-egress-path'] })) {
              out[m.envelope?.subject ?? ''] = m.headers?.toString().trim() ?? '';
            }
            return out;
          } finally {
            lock.release();
          }
        },
        { timeoutMs: 15_000, intervalMs: 100, what: 'both relayed messages in INBOX', diagnostics: () => pf.log() },
      );
      expect(got).toEqual({ 'via peering': 'X-Egress-Path: peering', 'via direct': 'X-Egress-Path: direct' });
      // prepended once, right above the Received: line of the listener that took the mail
      // (Dovecot LMTP adds Return-Path, Delivered-To and its own Received on top)
      const lock = await c.getMailboxLock('INBOX');
      try {
        const m = await c.fetchOne('1', { source: true });
        const lines = (m && m.source?.toString().split('\r\n')) || [];
        const i = lines.findIndex((l) => l.startsWith('X-Egress-Path:'));
        expect(lines[i + 1]).toMatch(/^Received: from localhost/);
        expect(lines.slice(i + 1, i + 4).join(' ')).toMatch(/by (peering|direct)\.relay\.test \(Postfix\)/);
        expect(lines.filter((l) => l.startsWith('X-Egress-Path:'))).toHaveLength(1);
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
    expect(pf.log()).toMatch(/status=sent/);
    expect(await pf.queue()).toEqual([]);
  });
});
