import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { closePaths, createPaths, runCycle, type CycleResult } from '../../../agent/send/run-cycle.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { startPostfix, type PostfixServer } from '../../helpers/postfix.js';
import { waitFor } from '../../helpers/processes.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

describe('Debian postfix as the relay of both paths', () => {
  let postfix: PostfixServer;
  let sink: SmtpRelay;
  let cycle: CycleResult;

  beforeAll(async () => {
    sink = await startRelay({ name: 'sink' });
    postfix = await startPostfix({
      listeners: [
        { name: 'peering', prependHeader: 'X-Egress-Path: peering' },
        { name: 'transit', prependHeader: 'X-Egress-Path: transit' },
      ],
      relayTo: { smtp: { host: '127.0.0.1', port: sink.port } },
    });
    const config = sendTestConfig({
      paths: [
        { name: 'peering', smtp: { host: '127.0.0.1', port: postfix.ports.peering, tls: { rejectUnauthorized: false } }, headers: { 'X-Virtual-MTA': 'peering' }, timeout: '20s' },
        { name: 'transit', smtp: { host: '127.0.0.1', port: postfix.ports.transit, tls: { rejectUnauthorized: false } }, headers: { 'X-Virtual-MTA': 'transit' }, timeout: '20s' },
      ],
    });
    const ledger = SqliteLedger.open(':memory:');
    const paths = createPaths(config, () => { throw new Error('no secrets'); }, silentLogger());
    cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: { sendFinished() {}, observed() {}, missing() {}, mailboxState() {}, mailboxError() {} }, logger: silentLogger(), idFactory: createProbeIdFactory() });
    await closePaths(paths);
    await ledger.close();
    await waitFor(() => sink.messages.length >= 4, { what: 'postfix to relay 4 probes', timeoutMs: 20_000, diagnostics: () => postfix.log() });
  });

  afterAll(async () => {
    await postfix?.stop();
    await sink?.stop();
  });

  it('postfix accepts every probe with 250 2.0.0 and its queue id is recorded', () => {
    expect(cycle.probes).toHaveLength(4);
    for (const p of cycle.probes) {
      expect(p.row?.status).toBe('accepted');
      expect(p.row?.smtpCode).toBe(250);
      expect(p.row?.smtpEnhanced).toBe('2.0.0');
      expect(p.row?.smtpText).toMatch(/^Ok: queued as [0-9A-Za-z]+$/);
      expect(p.row?.queueId).toMatch(/^[0-9A-Za-z]{6,}$/);
    }
  });

  it('each probe left through the postfix listener of its own path (queue id and egress header agree)', () => {
    for (const p of cycle.probes) {
      const m = sink.messages.find((x) => x.headers['x-seedwatch-probe']?.[0] === p.id);
      expect(m, `probe ${p.id} reached the sink`).toBeTruthy();
      expect(m!.headers['x-egress-path']).toEqual([p.path]);
      expect(m!.headers['x-virtual-mta']).toEqual([p.path]);
      // postfix's own Received line names the queue id it answered us with
      expect(m!.headers['received'].some((r) => r.includes(`id ${p.row!.queueId}`) && r.includes(`${p.path}.relay.test`))).toBe(true);
    }
    expect(sink.messages).toHaveLength(4);
  });
});
