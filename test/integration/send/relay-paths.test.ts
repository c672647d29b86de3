import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import { SecretValue } from '../../../agent/config/secret.js';
import type { ProbeRow } from '../../../agent/ledger/ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { closePaths, createPaths, runCycle, type CycleResult } from '../../../agent/send/run-cycle.js';
import { verifyPath } from '../../../agent/send/verify-path.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { freePort } from '../../helpers/ports.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_P = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

const SEEDS = [
  { name: 'ok', address: 'ok@gmail.test' },
  { name: 'd421', address: 'd421@gmail.test' },
  { name: 'd450', address: 'd450@outlook.test' },
  { name: 'r550', address: 'r550@outlook.test' },
  { name: 'drop', address: 'drop@yahoo.test' },
];

function header(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  return head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim();
}

describe('relay paths: two smtp-server relays, one per path', () => {
  let peering: SmtpRelay;
  let transit: SmtpRelay;
  let ledger: SqliteLedger;
  let cycle: CycleResult;
  const finished: ProbeRow[] = [];

  beforeAll(async () => {
    peering = await startRelay({ name: 'peering' });
    transit = await startRelay({
      name: 'transit',
      script: (_s, mail) => {
        const to = mail.to[0];
        if (to.startsWith('d421')) return { code: 421, message: '4.7.0 Try again later, closing connection' };
        if (to.startsWith('d450')) return { code: 450, message: '4.2.0 Mailbox busy' };
        if (to.startsWith('r550')) return { code: 550, message: '5.7.1 Message rejected as spam' };
        if (to.startsWith('drop')) return 'drop';
        return { code: 250 };
      },
    });
    const config = sendTestConfig({
      seeds: SEEDS,
      concurrency: 4,
      probe: {
        listUnsubscribe: 'https://mail.example.com/unsubscribe?p={{id}}',
        dkim: { domain: 'mail.example.com', selector: 'sw1', privateKey: { env: 'SEEDWATCH_TEST_DKIM_KEY' } },
      },
      paths: [
        { name: 'peering', smtp: { host: '127.0.0.1', port: peering.port, maxConnections: 2 }, headers: { 'X-Virtual-MTA': 'peering' }, timeout: '10s' },
        { name: 'transit', smtp: { host: '127.0.0.1', port: transit.port, maxConnections: 2 }, headers: { 'X-Virtual-MTA': 'transit' }, timeout: '10s' },
      ],
    });
    ledger = SqliteLedger.open(':memory:');
    const resolveSecret = (_ref: unknown, field: string) => {
      if (field !== 'probe.dkim.privateKey') throw new Error(`unexpected secret ${field}`);
      return new SecretValue(DKIM_PEM, 'test');
    };
    const paths = createPaths(config, resolveSecret, silentLogger());
    try {
      cycle = await runCycle({
        config,
        paths,
        ledger,
        clock: systemClock,
        events: { sendFinished: (r) => finished.push(r), observed() {}, missing() {}, mailboxState() {}, mailboxError() {} },
        logger: silentLogger(),
        idFactory: createProbeIdFactory(),
        resolveSecret,
      });
    } finally {
      await closePaths(paths);
    }
  });

  afterAll(async () => {
    await peering?.stop();
    await transit?.stop();
    await ledger?.close();
  });

  const row = (path: string, seed: string) => {
    const a = cycle.probes.find((p) => p.path === path && p.seed === seed);
    expect(a?.row).toBeTruthy();
    return a!.row!;
  };

  it('sends every path × every seed once and counts per path', () => {
    expect(cycle.probes).toHaveLength(10);
    expect(cycle.byPath.peering).toEqual({ total: 5, accepted: 5, failed: 0, ambiguous: 0, notSent: 0 });
    expect(cycle.byPath.transit).toEqual({ total: 5, accepted: 1, failed: 3, ambiguous: 1, notSent: 0 });
    expect(finished).toHaveLength(10);
  });

  it('no path ever carries another path’s probe', async () => {
    for (const relay of [peering, transit]) {
      for (const m of relay.messages) {
        const id = header(m.raw, 'X-Seedwatch-Probe')!;
        const probe = await ledger.getProbe(id);
        expect(probe?.path).toBe(relay.name);
        expect(header(m.raw, 'X-Virtual-MTA')).toBe(relay.name);
      }
    }
    expect(peering.messages).toHaveLength(5);
    expect(transit.messages).toHaveLength(5);
  });

  it('each relay received the envelope, Message-ID, body token, one-click unsubscribe', async () => {
    for (const m of peering.messages) {
      const id = header(m.raw, 'X-Seedwatch-Probe')!;
      const probe = (await ledger.getProbe(id))!;
      expect(m.from).toBe('probe@mail.example.com');
      expect(m.to).toEqual([SEEDS.find((s) => s.name === probe.seed)!.address]);
      expect(header(m.raw, 'Message-ID')).toBe(`<${id}@mail.example.com>`);
      expect(probe.messageId).toBe(`<${id}@mail.example.com>`);
      expect(m.raw.toString('utf8')).toContain(`seedwatch-probe-${id}`);
      expect(header(m.raw, 'List-Unsubscribe')).toBe(`<https://mail.example.com/unsubscribe?p=${id}>`);
      expect(header(m.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    }
  });

  it('the DKIM signature of what the relay received verifies with mailauth', async () => {
    const resolver = async (name: string, type: string) => {
      if (type === 'TXT' && name === 'sw1._domainkey.mail.example.com') return [[`v=DKIM1; k=rsa; p=${DKIM_P}`]];
      throw Object.assign(new Error(`no ${type} ${name}`), { code: 'ENOTFOUND' });
    };
    for (const m of [peering.messages[0], transit.messages[0]]) {
      const r = await dkimVerify(m.raw, { resolver });
      expect(r.results[0].signingDomain).toBe('mail.example.com');
      expect(r.results[0].status.result).toBe('pass');
    }
  });

  it('records accepted probes with t1, code and the relay’s queue id', async () => {
    for (const s of SEEDS) {
      const r = row('peering', s.name);
      expect(r.status).toBe('accepted');
      expect(r.smtpCode).toBe(250);
      expect(r.queueId).toMatch(/^peering-\d+$/);
      expect(r.acceptedAtMs).toBeGreaterThanOrEqual(r.sendStartedAtMs!);
      expect(r.deadlineAtMs).toBe(r.acceptedAtMs! + 30 * 60_000);
      const m = peering.messages.find((x) => header(x.raw, 'X-Seedwatch-Probe') === r.id)!;
      expect(r.queueId).toBe(`peering-${m.seq}`);
    }
    expect(row('transit', 'ok').status).toBe('accepted');
  });

  it('each failure class lands with its code', () => {
    const d421 = row('transit', 'd421');
    expect([d421.status, d421.errorReason, d421.smtpCode, d421.smtpEnhanced]).toEqual(['failed', 'deferred', 421, '4.7.0']);
    const d450 = row('transit', 'd450');
    expect([d450.status, d450.errorReason, d450.smtpCode, d450.smtpEnhanced]).toEqual(['failed', 'deferred', 450, '4.2.0']);
    expect(d450.smtpText).toBe('Mailbox busy');
    const r550 = row('transit', 'r550');
    expect([r550.status, r550.errorReason, r550.smtpCode, r550.smtpEnhanced]).toEqual(['failed', 'rejected', 550, '5.7.1']);
    expect(r550.errorMessage).toContain('path "transit"');
    expect(r550.acceptedAtMs).toBeNull();
  });

  it('records a connection dropped after DATA as ambiguous and never retries it', () => {
    const drop = row('transit', 'drop');
    expect(drop.status).toBe('ambiguous');
    expect(drop.errorReason).toBe('ambiguous');
    expect(drop.smtpCode).toBeNull();
    expect(drop.errorMessage).toMatch(/after the message data was sent/);
    // the relay saw the message exactly once: no retry, not on transit and not on peering
    expect(transit.messages.filter((m) => m.to[0] === 'drop@yahoo.test')).toHaveLength(1);
    const dropIds = transit.messages.filter((m) => m.to[0] === 'drop@yahoo.test').map((m) => header(m.raw, 'X-Seedwatch-Probe'));
    expect(dropIds).toEqual([drop.id]);
    expect(peering.messages.some((m) => header(m.raw, 'X-Seedwatch-Probe') === drop.id)).toBe(false);
  });
});

describe('write-ahead: the ledger row exists before the relay sees MAIL FROM', () => {
  it('finds the probe in status sending from inside onMailFrom', async () => {
    const ledger = SqliteLedger.open(':memory:');
    const seenAtMailFrom: { sending: ProbeRow[]; sender: string }[] = [];
    const received: string[] = [];
    const server = new SMTPServer({
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onMailFrom(address, _session, cb) {
        void ledger.listProbes({ path: 'wal' }).then((rows) => {
          seenAtMailFrom.push({ sending: rows.filter((r) => r.status === 'sending'), sender: address.address });
          cb();
        });
      },
      onData(stream, _session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push(header(Buffer.concat(chunks), 'X-Seedwatch-Probe')!);
          cb(null, 'Ok: queued as WAL1');
        });
      },
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const config = sendTestConfig({
      concurrency: 1,
      seeds: [{ name: 'one', address: 'one@gmail.test' }, { name: 'two', address: 'two@gmail.test' }],
      paths: [{ name: 'wal', smtp: { host: '127.0.0.1', port }, timeout: '10s' }],
    });
    const paths = createPaths(config, () => { throw new Error('no secrets'); }, silentLogger());
    const cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: { sendFinished() {}, observed() {}, missing() {}, mailboxState() {}, mailboxError() {} }, logger: silentLogger(), idFactory: createProbeIdFactory() });
    await closePaths(paths);
    await new Promise<void>((r) => server.close(() => r()));
    expect(seenAtMailFrom).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      // exactly the probe being sent is in the ledger, status sending, send start recorded
      expect(seenAtMailFrom[i].sending).toHaveLength(1);
      expect(seenAtMailFrom[i].sending[0].id).toBe(received[i]);
      expect(seenAtMailFrom[i].sending[0].sendStartedAtMs).not.toBeNull();
      expect(seenAtMailFrom[i].sender).toBe('probe@mail.example.com');
    }
    expect(cycle.probes.map((p) => p.row?.status)).toEqual(['accepted', 'accepted']);
    expect(cycle.probes.map((p) => p.row?.queueId)).toEqual(['WAL1', 'WAL1']);
    await ledger.close();
  });
});

describe('verifyPath', () => {
  it('reports EHLO ok for a live relay and a connection failure naming the path for a dead one', async () => {
    const relay = await startRelay({ name: 'live' });
    const dead = await freePort();
    const config = sendTestConfig({
      paths: [
        { name: 'live', smtp: { host: '127.0.0.1', port: relay.port }, timeout: '5s' },
        { name: 'dead', smtp: { host: '127.0.0.1', port: dead }, timeout: '5s' },
      ],
    });
    const paths = createPaths(config, () => { throw new Error('no secrets'); }, silentLogger());
    const [live, down] = await Promise.all(paths.map((p) => verifyPath(p)));
    await closePaths(paths);
    await relay.stop();
    expect(live).toEqual({ ok: true, detail: `path "live" (smtp): relay 127.0.0.1:${relay.port}: EHLO ok, no TLS` });
    expect(down.ok).toBe(false);
    expect(down.detail).toContain('path "dead" (smtp)');
    expect(down.detail).toContain('ECONNREFUSED');
    expect(relay.messages).toHaveLength(0);
  });
});
