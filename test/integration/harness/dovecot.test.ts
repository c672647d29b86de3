import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';

const SPAM_SIEVE = `require ["fileinto", "special-use"];
if header :contains "X-Harness-Spam" "yes" {
  fileinto :specialuse "\\\\Junk" "Junk Email";
  stop;
}
`;

function client(dc: DovecotServer, user: string, password: string): ImapFlow {
  return new ImapFlow({
    host: dc.host,
    port: dc.imapPort,
    secure: false,
    auth: { user, pass: password },
    logger: false,
    disableAutoIdle: true,
  });
}

function rawMail(subject: string, extra = ''): string {
  return [
    'From: sender@harness.test',
    'To: someone@harness.test',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@harness.test>`,
    'Date: ' + new Date().toUTCString(),
    extra,
    '',
    `body of ${subject}`,
    '',
  ]
    .filter((l, i, a) => l !== '' || i >= a.indexOf(''))
    .join('\r\n');
}

async function subjectsIn(c: ImapFlow, mailbox: string): Promise<string[]> {
  const lock = await c.getMailboxLock(mailbox);
  try {
    const out: string[] = [];
    const status = await c.status(mailbox, { messages: true });
    if (!status || !status.messages) return out;
    for await (const m of c.fetch('1:*', { envelope: true })) out.push(m.envelope?.subject ?? '');
    return out;
  } finally {
    lock.release();
  }
}

describe('dovecot harness', () => {
  let dc: DovecotServer;
  const gmail = { user: 'alice@gmail.test', password: 'alice-pw', kind: 'gmail' as const };
  const outlook = { user: 'bob@outlook.test', password: 'bob-pw', kind: 'outlook' as const, sieve: SPAM_SIEVE };

  beforeAll(async () => {
    dc = await startDovecot({ users: [gmail, outlook] });
  });
  afterAll(async () => {
    await dc?.stop();
  });

  it('lists provider folders with their special-use flags', async () => {
    const g = client(dc, gmail.user, gmail.password);
    await g.connect();
    const gl = await g.list();
    await g.logout();
    // flags as the server sent them in LIST (imapflow also guesses special use from names)
    const gByUse = Object.fromEntries(gl.filter((m) => m.specialUseSource === 'extension').map((m) => [m.specialUse, m.path]));
    expect(gl.find((m) => m.path === '[Gmail]/Spam')?.flags.has('\\Junk')).toBe(true);
    expect(gByUse).toEqual({ '\\Junk': '[Gmail]/Spam', '\\All': '[Gmail]/All Mail', '\\Trash': '[Gmail]/Trash' });

    const o = client(dc, outlook.user, outlook.password);
    await o.connect();
    const ol = await o.list();
    await o.logout();
    const oByUse = Object.fromEntries(ol.filter((m) => m.specialUseSource === 'extension').map((m) => [m.specialUse, m.path]));
    expect(oByUse).toEqual({ '\\Junk': 'Junk Email', '\\Trash': 'Deleted Items' });
    // a Gmail folder is not visible to an Outlook-like user
    expect(ol.map((m) => m.path)).not.toContain('[Gmail]/Spam');
  });

  it('rejects a wrong password fast and an unknown LMTP recipient', async () => {
    const bad = client(dc, gmail.user, 'wrong');
    const t0 = Date.now();
    await expect(bad.connect()).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2000); // auth_failure_delay = 0
    await expect(dc.deliver('nobody@gmail.test', rawMail('lost'))).rejects.toThrow(/rejected/);
  });

  it('delivers over LMTP into INBOX, files a flagged mail into Junk by sieve, keeps mail across restart', async () => {
    await dc.deliver(gmail.user, rawMail('hello gmail'));
    await dc.deliver(outlook.user, rawMail('hello outlook'));
    await dc.deliver(outlook.user, rawMail('buy now', 'X-Harness-Spam: yes'));

    const g = client(dc, gmail.user, gmail.password);
    await g.connect();
    expect(await subjectsIn(g, 'INBOX')).toEqual(['hello gmail']);
    await g.logout();

    const o = client(dc, outlook.user, outlook.password);
    await o.connect();
    expect(await subjectsIn(o, 'INBOX')).toEqual(['hello outlook']);
    expect(await subjectsIn(o, 'Junk Email')).toEqual(['buy now']);
    await o.logout();

    const oldPort = dc.imapPort;
    const t0 = Date.now();
    await dc.restart();
    console.log(`dovecot restart took ${Date.now() - t0} ms`);
    expect(dc.imapPort).toBe(oldPort);
    const o2 = client(dc, outlook.user, outlook.password);
    await o2.connect();
    expect(await subjectsIn(o2, 'Junk Email')).toEqual(['buy now']);
    expect(await subjectsIn(o2, 'INBOX')).toEqual(['hello outlook']);
    await o2.logout();
  });

  it('creates a mailbox with a new special-use flag at run time', async () => {
    await dc.createMailbox(gmail.user, 'Archive', '\\Archive');
    const g = client(dc, gmail.user, gmail.password);
    await g.connect();
    const l = await g.list();
    await g.logout();
    expect(l.find((m) => m.path === 'Archive')?.specialUse).toBe('\\Archive');
  });

  it('fails loudly on a sieve script that does not compile', async () => {
    await expect(
      startDovecot({ users: [{ user: 'x@t.test', password: 'x', kind: 'plain', sieve: 'fileinto "Junk";' }] }),
    ).rejects.toThrow(/does not compile/);
  });
});
