import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSendOnly } from '../../../agent/cli/probe-send-only.js';
import { systemClock } from '../../../agent/clock.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { createProbeIdFactory } from '../../../agent/probe-id.js';
import { closePaths, createPaths, runCycle, type CycleResult } from '../../../agent/send/run-cycle.js';
import { sendTestConfig } from '../../fixtures/send/config.js';
import { freePort } from '../../helpers/ports.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const noEvents = { sendFinished() {}, observed() {}, missing() {}, mailboxState() {}, mailboxError() {} };
const noSecrets = () => {
  throw new Error('no secrets in this test');
};

describe('bad input on some paths: the cycle goes on for the others', () => {
  let good: SmtpRelay;
  let good2: SmtpRelay;
  let tlsRelay: SmtpRelay;
  let cycle: CycleResult;
  let ledger: SqliteLedger;
  let deadPort: number;

  beforeAll(async () => {
    good = await startRelay({ name: 'good' });
    good2 = await startRelay({ name: 'templ' });
    tlsRelay = await startRelay({ name: 'selfsigned', starttls: true });
    deadPort = await freePort();
    const config = sendTestConfig({
      concurrency: 8,
      paths: [
        { name: 'good', smtp: { host: '127.0.0.1', port: good.port }, timeout: '5s' },
        { name: 'unreachable', smtp: { host: '127.0.0.1', port: deadPort }, timeout: '5s' },
        // implicit TLS against a plaintext relay
        { name: 'tls-plain', smtp: { host: '127.0.0.1', port: good.port, secure: true, tls: { rejectUnauthorized: false } }, timeout: '5s' },
        // STARTTLS required, self-signed certificate, verification on
        { name: 'tls-selfsigned', smtp: { host: '127.0.0.1', port: tlsRelay.port, requireTLS: true, tls: { rejectUnauthorized: true } }, timeout: '5s' },
        { name: 'bad-template', smtp: { host: '127.0.0.1', port: good2.port }, headers: { 'X-Campaign': 'c-ok' }, timeout: '5s' },
        { name: 'bad-secret', smtp: { host: '127.0.0.1', port: good2.port, auth: { user: 'u', pass: { env: 'SEEDWATCH_TEST_NOT_SET' } } }, timeout: '5s' },
      ],
    });
    // The config loader rejects an unknown placeholder; this proves the sender's own defence
    // (a config built in code, or a template changed after load) still names path and field.
    config.paths[4].headers['X-Campaign'] = 'c-{{pool}}';
    ledger = SqliteLedger.open(':memory:');
    const paths = createPaths(config, (ref, field) => {
      if ('env' in ref) throw new Error(`${field}: environment variable ${ref.env} is not set`);
      return noSecrets();
    }, silentLogger());
    cycle = await runCycle({ config, paths, ledger, clock: systemClock, events: noEvents, logger: silentLogger(), idFactory: createProbeIdFactory() });
    await closePaths(paths);
  });

  afterAll(async () => {
    await Promise.all([good?.stop(), good2?.stop(), tlsRelay?.stop()]);
    await ledger?.close();
  });

  const of = (path: string) => cycle.probes.filter((p) => p.path === path);

  it('the good path delivers every probe', () => {
    expect(of('good').map((p) => p.row?.status)).toEqual(['accepted', 'accepted']);
    // only the good path's probes reached the relay (tls-plain shares its port and sent nothing)
    expect(good.messages).toHaveLength(2);
    expect(good.messages.every((m) => m.headers['x-seedwatch-probe'][0] === of('good').find((p) => p.seed === (m.to[0].startsWith('seed.one') ? 'gmail-1' : 'outlook-1'))!.id)).toBe(true);
  });

  it('an unreachable relay: connection failure naming the path and the refused port', () => {
    for (const p of of('unreachable')) {
      expect(p.row?.status).toBe('failed');
      expect(p.row?.errorReason).toBe('connection');
      expect(p.row?.errorMessage).toContain(`path "unreachable" (relay 127.0.0.1:${deadPort})`);
      expect(p.row?.errorMessage).toContain('ECONNREFUSED');
    }
  });

  it('implicit TLS to a plaintext relay and a self-signed certificate: tls failures naming the path', () => {
    for (const name of ['tls-plain', 'tls-selfsigned']) {
      for (const p of of(name)) {
        expect(p.row?.status).toBe('failed');
        expect(p.row?.errorReason).toBe('tls');
        expect(p.row?.errorMessage).toContain(`path "${name}"`);
      }
    }
    expect(of('tls-selfsigned')[0].row?.errorMessage).toMatch(/self[- ]signed/i);
    expect(tlsRelay.messages).toHaveLength(0);
  });

  it('a bad template: no probe sent, no ledger row, an error naming the path and the field', async () => {
    for (const p of of('bad-template')) {
      expect(p.row).toBeNull();
      expect(p.error).toBe('path "bad-template": paths[4].headers.X-Campaign: unknown placeholder {{pool}} (known: {{id}}, {{path}}, {{seed}}, {{date}})');
      expect(await ledger.getProbe(p.id!)).toBeNull();
    }
    expect(good2.messages).toHaveLength(0);
  });

  it('a missing secret: the path sends nothing and says which variable', () => {
    for (const p of of('bad-secret')) {
      expect(p.row).toBeNull();
      expect(p.error).toBe('path "bad-secret": paths[5].smtp.auth.pass: environment variable SEEDWATCH_TEST_NOT_SET is not set');
    }
  });

  it('counts per path', () => {
    expect(cycle.byPath['good'].accepted).toBe(2);
    expect(cycle.byPath['unreachable'].failed).toBe(2);
    expect(cycle.byPath['bad-template'].notSent).toBe(2);
  });
});

describe('probeSendOnly', () => {
  it('prints a table per probe and exits 0 when all were accepted, 1 otherwise', async () => {
    const relay = await startRelay({ name: 'cli', script: (_s, m) => (m.to[0].startsWith('seed.two') ? { code: 550, message: '5.1.1 No such user' } : { code: 250 }) });
    const dir = mkdtempSync(join(tmpdir(), 'seedwatch-send-cli-'));
    try {
      const cfg = sendTestConfig({ dataDir: dir, paths: [{ name: 'cli', smtp: { host: '127.0.0.1', port: relay.port }, timeout: '5s' }] });
      cfg.dataDirAbs = dir;
      let out = '';
      const sink = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
      const code = await probeSendOnly(cfg, { out: sink, logger: silentLogger() });
      expect(code).toBe(1);
      expect(out).toMatch(/^PATH\s+SEED\s+STATUS\s+CODE\s+ENHANCED\s+TEXT \/ REASON\s+MS/);
      expect(out).toMatch(/cli\s+gmail-1\s+accepted\s+250\s/);
      expect(out).toMatch(/cli\s+outlook-1\s+failed\s+550\s+5\.1\.1\s+rejected: path "cli"/);
      expect(out).toContain('cli: 1/2 accepted, 1 failed, 0 ambiguous, 0 not sent');
      // the ledger file holds both probes
      const ledger = SqliteLedger.open(join(dir, 'ledger.sqlite'));
      expect((await ledger.listProbes({})).map((r) => r.status).sort()).toEqual(['accepted', 'failed']);
      await ledger.close();

      let json = '';
      const sink2 = new Writable({ write(c, _e, cb) { json += String(c); cb(); } });
      const cfgOk = sendTestConfig({ dataDir: dir, seeds: [{ name: 'a', address: 'a@gmail.test' }], paths: [{ name: 'cli', smtp: { host: '127.0.0.1', port: relay.port }, timeout: '5s' }] });
      cfgOk.dataDirAbs = dir;
      expect(await probeSendOnly(cfgOk, { json: true, out: sink2, logger: silentLogger() })).toBe(0);
      const parsed = JSON.parse(json);
      expect(parsed.probes).toHaveLength(1);
      expect(parsed.probes[0]).toMatchObject({ path: 'cli', seed: 'a', status: 'accepted', code: 250 });
      expect(parsed.probes[0].queueId).toMatch(/^cli-\d+$/);
    } finally {
      await relay.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
