import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import { startDovecot } from '../../helpers/dovecot.js';
import { startRelay, type RelayReply } from '../../helpers/smtp-relay.js';

function transportTo(port: number, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'localhost', ...extra });
}

describe('smtp-relay harness', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops.reverse()) await s();
  });

  it('answers scripted 250 / 421 / 450 / 550 / drop after DATA and records each message', async () => {
    const plan: Record<string, RelayReply> = {
      ok: { code: 250 },
      busy: { code: 421, message: 'try later, closing' },
      grey: { code: 450, message: 'greylisted' },
      reject: { code: 550, message: 'spam rejected' },
      drop: 'drop',
    };
    const relay = await startRelay({ name: 'peering', script: (_s, m) => plan[m.headers.subject?.[0] ?? 'ok'] ?? { code: 250 } });
    stops.push(() => relay.stop());

    const outcome: Record<string, { code?: number; response?: string; error?: string }> = {};
    for (const subject of Object.keys(plan)) {
      const t = transportTo(relay.port, { socketTimeout: 5000 });
      try {
        const info = await t.sendMail({ from: 'probe@sender.test', to: 'seed@gmail.test', subject, text: 'x' });
        outcome[subject] = { code: 250, response: info.response };
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; code?: string };
        outcome[subject] = { code: e.responseCode, response: e.response, error: e.code };
      } finally {
        t.close();
      }
    }
    expect(outcome.ok.code).toBe(250);
    expect(outcome.busy).toMatchObject({ code: 421 });
    expect(outcome.busy.response).toMatch(/try later/);
    expect(outcome.grey).toMatchObject({ code: 450 });
    expect(outcome.reject).toMatchObject({ code: 550 });
    expect(outcome.reject.response).toMatch(/spam rejected/);
    // no reply at all: the client sees the connection go away, not an SMTP code
    expect(outcome.drop.code).toBeUndefined();
    expect(outcome.drop.error).toMatch(/ECONNECTION|ESOCKET|ETIMEDOUT/);

    expect(relay.messages.map((m) => m.headers.subject[0])).toEqual(Object.keys(plan));
    expect(relay.messages[0]).toMatchObject({ from: 'probe@sender.test', to: ['seed@gmail.test'], secure: false });
    expect(relay.messages.map((m) => (m.reply === 'drop' ? 'drop' : m.reply.code))).toEqual([250, 421, 450, 550, 'drop']);
  });

  it('offers STARTTLS with a self-signed cert and forwards accepted mail to Dovecot LMTP', async () => {
    const seed = { user: 'dave@outlook.test', password: 'dave-pw', kind: 'outlook' as const };
    const dc = await startDovecot({ users: [seed] });
    stops.push(() => dc.stop());
    const relay = await startRelay({ name: 'direct', starttls: true, forwardLmtp: { host: dc.host, port: dc.lmtpPort } });
    stops.push(() => relay.stop());

    const t = transportTo(relay.port, { ignoreTLS: false, requireTLS: true, tls: { ca: relay.caPem, servername: 'localhost' } });
    const info = await t.sendMail({ from: 'probe@sender.test', to: seed.user, subject: 'tls probe', text: 'x' });
    t.close();
    expect(info.accepted).toEqual([seed.user]);
    expect(relay.messages[0].secure).toBe(true);

    // forwarded before the 250: already in INBOX
    const c = new ImapFlow({ host: dc.host, port: dc.imapPort, secure: false, auth: { user: seed.user, pass: seed.password }, logger: false });
    await c.connect();
    const st = await c.status('INBOX', { messages: true });
    await c.logout();
    expect(st && st.messages).toBe(1);
  });
});
