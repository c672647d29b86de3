import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { parseConfig, secretResolver } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { WeeklyMailer } from '../../../agent/report/weekly-mailer.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { noopEvents } from '../../../agent/events.js';
import { recordCopy } from '../../../agent/record/recorder.js';

const END = Date.UTC(2026, 10, 23, 8, 0, 0);
let relay: SmtpRelay;
beforeAll(async () => {
  relay = await startRelay({ name: 'report-relay' });
});
afterAll(async () => {
  await relay?.stop();
});

function config(port: number) {
  return parseConfig(
    `probe: { from: "P <p@mail.example.test>" }
report:
  email:
    from: "seedwatch <seedwatch@example.test>"
    to: [deliverability@example.test, sre@example.test]
    smtp: { host: 127.0.0.1, port: ${port} }
paths: [{ name: peering, smtp: { host: 127.0.0.1, port: 1 } }]
seeds: [{ name: gmail-1, address: s@gmail.test, provider: gmail, imap: { host: 127.0.0.1, user: s, password: { env: PW } } }]
`,
    'mailer.yaml',
  );
}

describe('weekly report by e-mail', () => {
  it('sends the report of the last 7 days (HTML + text + CSV) to every recipient through its own relay', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const clock = new ManualClock(END);
    for (let i = 0; i < 4; i++) {
      const id = `01KTESTMA${String(i).padStart(17, '0')}`;
      await ledger.insertProbe({ id, path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: `<${id}@x>`, createdAtMs: END - 86_400_000 + i, deadlineMs: 60_000 });
      await ledger.recordSendResult(id, { ok: true, acceptedAtMs: END - 86_400_000 + i, code: 250, text: 'ok' });
      await recordCopy(ledger, noopEvents, {
        probeId: id, seed: 'gmail-1', folder: i === 0 ? '[Gmail]/Spam' : 'INBOX', folderRole: i === 0 ? 'spam' : 'inbox', placement: i === 0 ? 'spam' : 'inbox',
        uidValidity: 1, uid: i + 1, arrivedAtMs: END - 86_400_000 + 2_000, internalDateMs: END - 86_400_000 + 2_000, observedAtMs: END - 86_400_000 + 2_500, auth: {}, evidence: {},
      });
    }
    const cfg = config(relay.port);
    const mailer = new WeeklyMailer(cfg.report!.email, { ledger, clock, logger: silentLogger(), resolveSecret: secretResolver(cfg, {}) });
    const reply = await mailer.sendNow();
    await mailer.stop();
    expect(reply).toMatch(/^250/);
    expect(relay.messages).toHaveLength(1);
    const m = relay.messages[0];
    expect(m.to.sort()).toEqual(['deliverability@example.test', 'sre@example.test']);
    expect(m.headers.subject[0]).toBe('seedwatch weekly inbox placement report (2026-11-16 to 2026-11-23)');
    const raw = m.raw.toString('utf8');
    expect(raw).toContain('Content-Type: text/html');
    expect(raw).toContain('Content-Type: text/plain');
    expect(raw).toContain('filename=seedwatch-weekly.csv');
    // The numbers: 3 of 4 probes to gmail over peering in the inbox, 1 in spam.
    expect(raw).toMatch(/75(\.0)?\s?%/);
    expect(raw).toMatch(/25(\.0)?\s?%/);
  });

  it('a relay that refuses gives an error, never an unhandled rejection', async () => {
    const refusing = await startRelay({ name: 'refusing', script: () => ({ code: 550, message: 'no reports here' }) });
    const cfg = config(refusing.port);
    const mailer = new WeeklyMailer(cfg.report!.email, { ledger: SqliteLedger.open(':memory:'), clock: new ManualClock(END), logger: silentLogger(), resolveSecret: secretResolver(cfg, {}) });
    await expect(mailer.sendNow()).rejects.toMatchObject({ responseCode: 550 });
    await mailer.stop();
    await refusing.stop();
  });
});
