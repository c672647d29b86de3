/**
 * The timeout classes end to end: a relay that never greets (nothing can have been delivered:
 * `timeout`), and a relay that takes the message data and never answers (it may have been
 * delivered: `ambiguous`, never retried).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import { noopEvents } from '../../../agent/events.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { closePaths, createPaths, runCycle } from '../../../agent/send/run-cycle.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

let silent: Server;
const sockets: Socket[] = [];
let stalling: SmtpRelay;
let release: () => void = () => undefined;
let received = 0;

beforeAll(async () => {
  silent = createServer((s) => sockets.push(s)); // accepts, never says 220
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  stalling = await startRelay({
    name: 'stalling',
    script: () => {
      received++;
      return new Promise((resolve) => (release = () => resolve({ code: 250 })));
    },
  });
});
afterAll(async () => {
  release();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
  await stalling.stop();
});

describe('SMTP timeouts', () => {
  it('no greeting → timeout; no reply after DATA → ambiguous, one attempt only', async () => {
    const config = sendTestConfig({
      seeds: [{ name: 'gmail-1', address: 'seed.one@gmail.test' }],
      paths: [
        { name: 'mute', smtp: { host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, timeout: '1s' },
        { name: 'slow', smtp: { host: '127.0.0.1', port: stalling.port }, timeout: '1s' },
      ],
    });
    const ledger = SqliteLedger.open(':memory:');
    const paths = createPaths(config, () => {
      throw new Error('no secrets here');
    }, silentLogger());
    try {
      const cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: noopEvents, logger: silentLogger(), idFactory: createProbeIdFactory() });
      const byPath = Object.fromEntries(cycle.probes.map((p) => [p.path, p.row]));
      expect(byPath.mute).toMatchObject({ status: 'failed', errorReason: 'timeout' });
      expect(byPath.slow).toMatchObject({ status: 'ambiguous', errorReason: 'ambiguous' });
      expect(received).toBe(1);
    } finally {
      release();
      await closePaths(paths);
    }
    // Still exactly one attempt after the relay finally answers.
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toBe(1);
  });
});
