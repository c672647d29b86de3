import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectivityReport, printConnectivity } from '../../../agent/cli/check-connect.js';
import { parseConfig } from '../../../agent/config/load-config.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { OUTLOOK_USER } from './watch-harness.js';

describe('seedwatch check: connectivity', () => {
  let dc: DovecotServer;
  let relay: SmtpRelay;
  beforeAll(async () => {
    dc = await startDovecot({ users: [OUTLOOK_USER] });
    relay = await startRelay({ name: 'peering' });
  });
  afterAll(async () => {
    await relay?.stop();
    await dc?.stop();
  });

  it('logs into every seed, shows the folder map with the rule, and verifies every path', async () => {
    const cfg = parseConfig(
      `probe: { from: "Probe <probe@sender.test>" }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: ${relay.port} } }
  - { name: dead, smtp: { host: 127.0.0.1, port: 1 } }
seeds:
  - { name: good, address: ${OUTLOOK_USER.user}, provider: generic, imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: ${OUTLOOK_USER.user}, password: { env: GOOD_PW } } }
  - { name: bad, address: ${OUTLOOK_USER.user}, provider: generic, imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: ${OUTLOOK_USER.user}, password: { env: BAD_PW } } }
`,
      'check.yaml',
    );
    const r = await connectivityReport(cfg, { GOOD_PW: OUTLOOK_USER.password, BAD_PW: 'nope' });
    expect(r.seeds[0]).toMatchObject({
      ok: true,
      folders: { inbox: { path: 'INBOX', rule: 'default' }, spam: { path: 'Junk Email', rule: 'special-use' }, trash: { path: 'Deleted Items', rule: 'special-use' }, all: null },
      watched: [
        { path: 'INBOX', role: 'inbox', via: 'idle' },
        { path: 'Junk Email', role: 'spam', via: 'idle' },
      ],
      gmailTabs: 'not used',
    });
    expect(r.seeds[0].capabilities).toContain('IDLE');
    expect(r.seeds[1]).toMatchObject({ ok: false, error: { kind: 'login' } });
    expect(r.paths.map((p) => [p.path, p.ok])).toEqual([
      ['peering', true],
      ['dead', false],
    ]);
    let text = '';
    printConnectivity(r, { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream);
    expect(text).toContain('Junk Email (special-use)');
    expect(text).toContain('FAILED (login)');
    expect(text).not.toContain(OUTLOOK_USER.password);
  });
});
