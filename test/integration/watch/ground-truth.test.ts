/**
 * The end-to-end proof of the receiving half: probes sent by the real sender (runCycle) over
 * two loopback relays that hand them to Dovecot over LMTP; the relays play the provider's
 * filter (tagging some probes so Sieve files them into junk), deliver some twice, drop one
 * after accepting it, and hold one until after its deadline. The ledger must equal the
 * ground truth the relays wrote down, probe by probe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../agent/config/load-config.js';
import { silentLogger } from '../../../agent/log.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { closePaths, createPaths, runCycle } from '../../../agent/send/run-cycle.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { watchAll } from '../../../agent/watch/watch-all.js';
import { LoginGate } from '../../../agent/watch/login-gate.js';
import type { LedgerFact } from '../../../agent/ledger/ledger.js';
import { Reconciler } from '../../../agent/watch/reconciler.js';
import { startDovecot, type DovecotServer, type DovecotUser } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { literalSecrets, recordingEvents, seedFor, waitUntil } from './watch-harness.js';

type Fate = 'inbox' | 'junk' | 'dup' | 'dup-junk' | 'drop' | 'late';

const verdictSieve = (junk: string) => `require ["fileinto", "special-use"];
if header :is "X-Harness-Verdict" "junk" {
  fileinto :specialuse "\\\\Junk" "${junk}";
  stop;
}
`;
const GMAIL: DovecotUser = { user: 'truth.gmail@gmail.test', password: 'pw-g', kind: 'gmail', sieve: verdictSieve('[Gmail]/Spam') };
const OUTLOOK: DovecotUser = { user: 'truth.outlook@outlook.test', password: 'pw-o', kind: 'outlook', sieve: verdictSieve('Junk Email') };

/** What each relay does with its n-th message (per relay, 0-based). */
const PLAN: Record<string, (n: number) => Fate> = {
  peering: (n) => (n === 2 ? 'dup' : n === 7 ? 'drop' : n % 5 === 3 ? 'junk' : 'inbox'),
  transit: (n) => (n === 4 ? 'dup' : n === 6 ? 'dup-junk' : n === 9 ? 'late' : n % 3 === 1 ? 'junk' : 'inbox'),
};
const CYCLES = 11; // 11 cycles x 2 paths x 2 seeds = 44 probes

describe('ground truth: real sender → two relays → LMTP → Dovecot → watchers → ledger', () => {
  let dc: DovecotServer;
  const relays: SmtpRelay[] = [];
  const truth = new Map<string, { fate: Fate; path: string; seed: string }>();
  const held: { rcpt: string; from: string; raw: Buffer }[] = [];

  beforeAll(async () => {
    dc = await startDovecot({ users: [GMAIL, OUTLOOK] });
    for (const name of ['peering', 'transit']) {
      let n = 0;
      relays.push(
        await startRelay({
          name,
          script: async (_session, mail) => {
            const fate = PLAN[name](n++);
            const id = mail.headers['x-seedwatch-probe']?.[0] ?? '';
            const seed = mail.to[0] === GMAIL.user ? 'gmail-1' : 'outlook-1';
            truth.set(id, { fate, path: name, seed });
            const raw = fate === 'junk' || fate === 'dup-junk' ? Buffer.concat([Buffer.from('X-Harness-Verdict: junk\r\n'), mail.raw]) : mail.raw;
            const lmtp = { host: dc.host, port: dc.lmtpPort };
            const env = { from: mail.from, to: mail.to };
            if (fate === 'late') held.push({ rcpt: mail.to[0], from: mail.from, raw });
            else if (fate !== 'drop') await lmtpDeliver(lmtp, env, raw);
            if (fate === 'dup' || fate === 'dup-junk') await lmtpDeliver(lmtp, env, raw);
            return { code: 250 };
          },
        }),
      );
    }
  });
  afterAll(async () => {
    for (const r of relays) await r.stop();
    await dc?.stop();
  });

  it('the ledger equals the ground truth, probe by probe', async () => {
    const config = parseConfig(
      `deadline: 10m
concurrency: 4
probe: { from: "Deliverability Probe <probe@sender.test>" }
paths:
  - { name: peering, smtp: { host: 127.0.0.1, port: ${relays[0].port} }, headers: { X-Harness-Path: peering } }
  - { name: transit, smtp: { host: 127.0.0.1, port: ${relays[1].port} } }
seeds:
  - { name: gmail-1, address: ${GMAIL.user}, provider: generic, imap: { host: 127.0.0.1, user: u, password: p } }
  - { name: outlook-1, address: ${OUTLOOK.user}, provider: generic, imap: { host: 127.0.0.1, user: u, password: p } }
`,
      'ground-truth.yaml',
    );
    const ledger = SqliteLedger.open(':memory:');
    const events = recordingEvents();
    // The reconciler's clock can jump past the deadline; everything else runs on real time.
    let offsetMs = 0;
    const clock = { nowMs: () => Date.now() + offsetMs };
    const seeds = [
      seedFor(dc, GMAIL, 'gmail-1', { cleanup: 'trash' }),
      seedFor(dc, OUTLOOK, 'outlook-1', { cleanup: 'delete' }),
    ];
    const watchers = watchAll({
      seeds,
      ledger,
      events,
      resolveSecret: literalSecrets,
      pollIntervalMs: 500,
      deadlineMs: config.deadline,
      backoff: { baseMs: 50, maxMs: 500, loginRetryMs: 60_000, jitter: 0 },
      logins: new LoginGate(),
    });
    watchers.start();
    await waitUntil(() => watchers.ready(), 'watchers ready');

    const paths = createPaths(config, literalSecrets, silentLogger());
    const idFactory = createProbeIdFactory();
    const sendSeeds = [
      { name: 'gmail-1', address: GMAIL.user, provider: 'gmail' },
      { name: 'outlook-1', address: OUTLOOK.user, provider: 'outlook' },
    ];
    for (let c = 0; c < CYCLES; c++) {
      const r = await runCycle({ config, paths, ledger, clock: { nowMs: () => Date.now() }, events, logger: silentLogger(), idFactory, seeds: sendSeeds });
      expect(Object.values(r.byPath).map((p) => p.accepted)).toEqual([2, 2]);
    }
    await closePaths(paths);
    expect(truth.size).toBe(44);

    const fates = [...truth.values()].map((t) => t.fate);
    for (const f of ['inbox', 'junk', 'dup', 'dup-junk', 'drop', 'late'] as const) expect(fates).toContain(f);
    expect(new Set([...truth.values()].map((t) => `${t.path}/${t.seed}`)).size).toBe(4);

    const expectedCopies = (f: Fate) => (f === 'dup' || f === 'dup-junk' ? 2 : f === 'drop' || f === 'late' ? 0 : 1);
    await waitUntil(async () => {
      for (const [id, t] of truth) if ((await ledger.getProbe(id))?.copies !== expectedCopies(t.fate)) return false;
      return true;
    }, 'every delivered copy recorded', 30_000);

    // deadline passes: exactly the dropped and the held probe are missing
    offsetMs = config.deadline + 1_000;
    // The watchers have scanned every folder (the held copy is not delivered yet); with the clock
    // moved past the deadline, those scans count as made after it.
    await watchers.scanNow();
    const scannedFrom = () => new Map([...watchers.scannedFrom()].map(([seed, t]) => [seed, t + offsetMs] as [string, number]));
    const missing = await new Reconciler({ ledger, events, clock, scannedFrom }).runOnce();
    expect(missing.map((r) => truth.get(r.id)?.fate).sort()).toEqual(['drop', 'late']);
    // the held probe arrives after its deadline
    for (const h of held) await lmtpDeliver({ host: dc.host, port: dc.lmtpPort }, { from: h.from, to: [h.rcpt] }, h.raw);
    const lateId = [...truth].find(([, t]) => t.fate === 'late')![0];
    await waitUntil(async () => (await ledger.getProbe(lateId))?.copies === 1, 'late copy recorded');

    const expected = { inbox: ['inbox', ['first']], junk: ['spam', ['first']], dup: ['inbox', ['first', 'duplicate']], 'dup-junk': ['spam', ['first', 'duplicate']], drop: ['missing', []], late: ['missing', ['late']] } as const;
    const actual: Record<string, unknown> = {};
    const wanted: Record<string, unknown> = {};
    for (const [id, t] of truth) {
      const row = (await ledger.getProbe(id))!;
      const obs = await ledger.observations(id);
      actual[id] = { path: row.path, seed: row.seed, outcome: row.outcome, copies: row.copies, kinds: obs.map((o) => o.kind) };
      wanted[id] = { path: t.path, seed: t.seed, outcome: expected[t.fate][0], copies: expected[t.fate][1].length, kinds: [...expected[t.fate][1]] };
    }
    expect(actual).toEqual(wanted);

    const facts: LedgerFact[] = [];
    for await (const f of ledger.replay()) facts.push(f);
    const copies = (kind: string) => facts.filter((f) => f.type === 'copy' && f.copy.kind === kind).length;
    const outcomes = (o: string) => facts.filter((f) => f.type === 'send' && f.probe.outcome === o).length;
    expect(copies('duplicate')).toBe(fates.filter((f) => f === 'dup' || f === 'dup-junk').length);
    expect(copies('late')).toBe(1);
    expect(outcomes('missing')).toBe(2);
    expect(outcomes('spam')).toBe(fates.filter((f) => f === 'junk' || f === 'dup-junk').length);
    expect(events.errors).toEqual([]);
    // every copy observed exactly once in events (first + duplicates + late)
    expect(events.observedList.length).toBe(fates.reduce((a, f) => a + expectedCopies(f), 0) + 1);
    await watchers.stop();
    await ledger.close();
  });
});
