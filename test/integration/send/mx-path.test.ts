import dns2 from 'dns2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { closePaths, createPaths, runCycle, type CycleResult } from '../../../agent/send/run-cycle.js';
import { verifyPath } from '../../../agent/send/verify-path.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { freePort } from '../../helpers/ports.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const { Packet } = dns2;

/** The zone the loopback DNS server answers; anything else is NXDOMAIN. */
const ZONE: Record<string, { MX?: [number, string][]; A?: string[] }> = {
  // two MX: the preferred one has no server listening (127.0.0.3), so the second carries it
  'gmail.test': { MX: [[10, 'mx-b.gmail.test'], [5, 'mx-a.gmail.test']] },
  'mx-a.gmail.test': { A: ['127.0.0.3'] },
  'mx-b.gmail.test': { A: ['127.0.0.1'] },
  // no MX: RFC 5321 §5.1 implicit MX, the domain's own A record
  'outlook.test': { A: ['127.0.0.1'] },
  // null MX (RFC 7505)
  'nomail.test': { MX: [[0, '']] },
};

describe('direct-to-MX path through a loopback DNS server', () => {
  let dnsServer: ReturnType<typeof dns2.createServer>;
  let dnsPort: number;
  let mx: SmtpRelay;
  let cycle: CycleResult;
  const queries: string[] = [];

  beforeAll(async () => {
    dnsPort = await freePort();
    dnsServer = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = Packet.createResponseFromRequest(request);
        const [q] = request.questions;
        const name = q.name.toLowerCase();
        queries.push(`${q.type === Packet.TYPE.MX ? 'MX' : q.type === Packet.TYPE.A ? 'A' : q.type} ${name}`);
        const rr = ZONE[name];
        if (!rr) (response.header as { rcode: number }).rcode = 3; // NXDOMAIN
        else if (q.type === Packet.TYPE.MX && rr.MX) {
          for (const [priority, exchange] of rr.MX) response.answers.push({ name, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl: 60, priority, exchange } as never);
        } else if (q.type === Packet.TYPE.A && rr.A) {
          for (const address of rr.A) response.answers.push({ name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address } as never);
        }
        send(response);
      },
    });
    await dnsServer.listen({ udp: { port: dnsPort, address: '127.0.0.1', type: 'udp4' } } as never);
    mx = await startRelay({ name: 'mx', starttls: true });
    const config = sendTestConfig({
      dns: { servers: [`127.0.0.1:${dnsPort}`] },
      seeds: [
        { name: 'gmail-1', address: 'seed.one@gmail.test' },
        { name: 'outlook-1', address: 'seed.two@outlook.test' },
        { name: 'nomail', address: 'x@nomail.test' },
        { name: 'nxdomain', address: 'x@nowhere.test' },
      ],
      paths: [{ name: 'transit', mx: { port: mx.port, helo: 'out2.mail.example.com', localAddress: '127.0.0.1' }, headers: { 'X-Egress': 'transit' }, timeout: '10s' }],
    });
    const ledger = SqliteLedger.open(':memory:');
    const paths = createPaths(config, () => { throw new Error('no secrets'); }, silentLogger());
    cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: { sendFinished() {}, observed() {}, missing() {}, mailboxState() {}, mailboxError() {} }, logger: silentLogger(), idFactory: createProbeIdFactory() });
    const verify = await verifyPath(paths[0]);
    expect(verify.ok).toBe(false); // nomail/nowhere cannot be reached
    expect(verify.detail).toContain(`gmail.test: MX 127.0.0.1:${mx.port} EHLO ok, TLS`);
    await closePaths(paths);
    await ledger.close();
  });

  afterAll(async () => {
    await mx?.stop();
    await dnsServer?.close();
  });

  const probe = (seed: string) => cycle.probes.find((p) => p.seed === seed)!;

  it('resolves MX in priority order and falls over to the next MX when the first refuses', () => {
    const p = probe('gmail-1');
    expect(p.row?.status).toBe('accepted');
    expect(p.remote).toBe(`127.0.0.1:${mx.port}`);
    const mxA = queries.indexOf('A mx-a.gmail.test');
    const mxB = queries.indexOf('A mx-b.gmail.test');
    expect(mxA).toBeGreaterThanOrEqual(0);
    expect(mxB).toBeGreaterThan(mxA);
  });

  it('uses the A record of a domain without MX (implicit MX)', () => {
    expect(probe('outlook-1').row?.status).toBe('accepted');
    expect(queries).toContain('MX outlook.test');
    expect(queries).toContain('A outlook.test');
  });

  it('delivered with the configured HELO name, over STARTTLS, with the path headers', () => {
    const got = mx.messages.filter((m) => m.to[0] === 'seed.one@gmail.test' || m.to[0] === 'seed.two@outlook.test');
    expect(got).toHaveLength(2);
    for (const m of got) {
      expect(m.heloName).toBe('out2.mail.example.com');
      expect(m.secure).toBe(true);
      expect(m.headers['x-egress']).toEqual(['transit']);
    }
    expect(mx.messages).toHaveLength(2);
  });

  it('a null MX is rejected (556) and an unknown domain is a connection failure, each naming the path', () => {
    const nomail = probe('nomail').row!;
    expect([nomail.status, nomail.errorReason, nomail.smtpCode, nomail.smtpEnhanced]).toEqual(['failed', 'rejected', 556, '5.1.10']);
    expect(nomail.errorMessage).toContain('path "transit" (MX of nomail.test)');
    const nx = probe('nxdomain').row!;
    expect([nx.status, nx.errorReason]).toEqual(['failed', 'connection']);
    expect(nx.errorMessage).toMatch(/MX lookup for nowhere\.test failed \(ENOTFOUND\)/);
  });
});
