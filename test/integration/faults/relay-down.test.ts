/**
 * One relay down (its port closed): that path's probes are recorded as failed with reason
 * `connection` — once each, never retried, never sent over the other path — while the other
 * path's probes are accepted and found as usual. When the relay is back the path recovers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../../agent/agent.js';
import { silentLogger } from '../../../agent/log.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { faultConfig, metric, PASSWORD, PW_ENV, SEEDS, startFaultRelay, USERS, type FaultRelay } from './fault-harness.js';

let dc: DovecotServer;
let peering: FaultRelay;
let transit: FaultRelay | null = null;
let transitPort: number;
let dir: string;
let agent: Agent;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-fault-relay-'));
  dc = await startDovecot({ users: USERS });
  peering = await startFaultRelay('peering', dc);
  transitPort = await freePort(); // nothing listens there: the transit relay is down
  const config = faultConfig({ listenPort: await freePort(), dataDir: './data', relays: { peering: peering.port, transit: transitPort }, imapPort: dc.imapPort }, dir);
  agent = await startAgent({ config, env: { [PW_ENV]: PASSWORD }, logger: silentLogger(), schedule: false });
  await waitFor(() => agent.readiness().ready, { timeoutMs: 20_000, what: 'agent ready' });
});

afterAll(async () => {
  await agent?.stop();
  await Promise.allSettled([peering?.stop(), transit?.stop()]);
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a relay down', () => {
  it("records that path's probes as failed (connection) and leaves the other path alone", { timeout: 60_000 }, async () => {
    const c = await agent.runCycleNow();
    expect(c.byPath.transit).toEqual({ total: 2, accepted: 0, failed: 2, ambiguous: 0, notSent: 0 });
    expect(c.byPath.peering).toEqual({ total: 2, accepted: 2, failed: 0, ambiguous: 0, notSent: 0 });
    for (const p of c.probes.filter((x) => x.path === 'transit')) {
      expect(p.row?.status).toBe('failed');
      expect(p.row?.errorReason).toBe('connection');
      // The reason is readable: it names the refused connection and where to.
      expect(p.row?.errorMessage).toMatch(/ECONNREFUSED|refused/i);
      expect(p.row?.errorMessage).toContain(String(transitPort));
      expect(p.row?.outcome).toBeNull(); // not a placement: never sent, never "missing"
    }
    // The peering probes are not slowed down by the dead path and land as usual.
    const peeringIds = c.probes.filter((x) => x.path === 'peering').map((x) => x.id!);
    for (const p of c.probes.filter((x) => x.path === 'peering')) expect(p.durationMs!).toBeLessThan(5_000);
    await waitFor(async () => (await Promise.all(peeringIds.map((id) => agent.ledger.getProbe(id)))).every((p) => p?.outcome === 'inbox'), { timeoutMs: 15_000, what: 'peering probes in the inbox' });
    // One attempt per path: nothing fell back to the peering relay.
    expect(peering.probeIds().sort()).toEqual([...peeringIds].sort());

    const text = await (await fetch(`${agent.url}/metrics`)).text();
    for (const s of SEEDS) {
      const t = { path: 'transit', seed: s.name, provider: s.provider };
      const p = { path: 'peering', seed: s.name, provider: s.provider };
      expect(metric(text, 'seedwatch_probe_send_errors_total', { ...t, reason: 'connection' })).toBe(1);
      expect(metric(text, 'seedwatch_probe_send_errors_total', t)).toBe(1); // no other reason
      expect(metric(text, 'seedwatch_probes_sent_total', t)).toBe(0);
      expect(metric(text, 'seedwatch_placements_total', t)).toBe(0);
      expect(metric(text, 'seedwatch_probes_sent_total', p)).toBe(1);
      expect(metric(text, 'seedwatch_probe_send_errors_total', p)).toBe(0);
      expect(metric(text, 'seedwatch_placements_total', { ...p, placement: 'inbox' })).toBe(1);
    }
    // A dead relay is a measurement, not an agent fault: still ready.
    expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);

    // The relay comes back on the same port: the next cycle's transit probes go through.
    transit = await startFaultRelay('transit', dc, transitPort);
    const c2 = await agent.runCycleNow();
    expect(c2.byPath.transit.accepted).toBe(2);
    const transitIds = c2.probes.filter((x) => x.path === 'transit').map((x) => x.id!);
    await waitFor(async () => (await Promise.all(transitIds.map((id) => agent.ledger.getProbe(id)))).every((p) => p?.outcome === 'spam'), { timeoutMs: 15_000, what: 'transit probes in junk' });
    const text2 = await (await fetch(`${agent.url}/metrics`)).text();
    expect(metric(text2, 'seedwatch_probe_send_errors_total', { path: 'transit', reason: 'connection' })).toBe(2); // unchanged
    expect(metric(text2, 'seedwatch_probes_sent_total', { path: 'transit' })).toBe(2);
  });
});
