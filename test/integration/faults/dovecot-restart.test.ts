/**
 * Dovecot stopped and started in the middle of a cycle. While it is down the relays keep
 * accepting (as a real MTA queues) and deliver the held mail the moment it is back — while
 * the agent's IMAP sessions are still reconnecting. The sessions must come back within a
 * bounded time, the probes that arrived meanwhile must be found by the catch-up scan, and the
 * outage must show in the metrics (mailbox errors, mailbox_up back to 1).
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
import { EXPECTED_PLACEMENT, faultConfig, metric, PASSWORD, PATHS, PW_ENV, SEEDS, startFaultRelay, USERS, type FaultRelay } from './fault-harness.js';

/**
 * Bound on Dovecot back → every session up again. The reconnect backoff doubles from 1 s
 * (±20 %) while Dovecot is down (1–3 s to stop): the attempt after it is back comes ≤ ~8 s
 * later; the rest is login, LIST, SELECT and the catch-up scan.
 */
const RECOVERY_BOUND_MS = 15_000;

let dc: DovecotServer;
let relays: Record<string, FaultRelay>;
let dir: string;
let agent: Agent;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-fault-dovecot-'));
  dc = await startDovecot({ users: USERS });
  const [peering, transit] = await Promise.all([startFaultRelay('peering', dc), startFaultRelay('transit', dc)]);
  relays = { peering, transit };
  const config = faultConfig({ listenPort: await freePort(), dataDir: './data', relays: { peering: peering.port, transit: transit.port }, imapPort: dc.imapPort }, dir);
  agent = await startAgent({ config, env: { [PW_ENV]: PASSWORD }, logger: silentLogger(), schedule: false });
  await waitFor(() => agent.readiness().ready, { timeoutMs: 20_000, what: 'agent ready' });
});

afterAll(async () => {
  await agent?.stop();
  await Promise.allSettled(Object.values(relays ?? {}).map((r) => r.stop()));
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function resolved(ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const id of ids) out.set(id, (await agent.ledger.getProbe(id))?.outcome ?? null);
  return out;
}

describe('Dovecot stopped and started mid-cycle', () => {
  it('sessions come back within the bound; probes that arrived meanwhile are found', { timeout: 90_000 }, async () => {
    // A normal cycle first: the watchers work.
    const c1 = await agent.runCycleNow();
    expect(c1.probes.every((p) => p.row?.status === 'accepted')).toBe(true);
    const ids1 = c1.probes.map((p) => p.id!);
    await waitFor(async () => [...(await resolved(ids1)).values()].every((o) => o !== null), { timeoutMs: 15_000, what: 'cycle 1 resolved' });

    // Cycle 2, slow relays; Dovecot goes away after the first message is relayed.
    for (const r of Object.values(relays)) r.setDelay(() => 300);
    const before = relays.peering.messages.length + relays.transit.messages.length;
    const cycle2 = agent.runCycleNow();
    await waitFor(() => relays.peering.messages.length + relays.transit.messages.length > before, { timeoutMs: 10_000, what: 'cycle 2 under way' });
    for (const r of Object.values(relays)) r.hold(true);
    await new Promise((r) => setTimeout(r, 50)); // an LMTP hand-over already under way (~10 ms) completes
    const restarted = dc.restart(); // SIGTERM, wait for exit (1-3 s), start again
    await waitFor(() => agent.mailboxes().every((h) => !h.up), { timeoutMs: 10_000, what: 'the agent noticed the outage' });
    const c2 = await cycle2;
    await restarted;
    const backAt = Date.now();
    // Dovecot is back: the relays deliver what they held before the agent's sessions return.
    const downAtFlush = agent.mailboxes().filter((h) => !h.up).length;
    const flushed = (await relays.peering.flush()) + (await relays.transit.flush());
    for (const r of Object.values(relays)) {
      r.hold(false);
      r.setDelay(() => 0);
    }
    expect(downAtFlush).toBe(SEEDS.length); // they really arrived while the sessions were down
    expect(flushed).toBeGreaterThan(0);
    expect(c2.probes.every((p) => p.row?.status === 'accepted')).toBe(true); // SMTP did not depend on IMAP

    await waitFor(() => agent.mailboxes().every((h) => h.up), { timeoutMs: RECOVERY_BOUND_MS, what: `every session back within ${RECOVERY_BOUND_MS} ms` });
    const recoveryMs = Date.now() - backAt;
    const ids2 = c2.probes.map((p) => p.id!);
    await waitFor(async () => [...(await resolved(ids2)).values()].every((o) => o !== null), { timeoutMs: 10_000, what: 'cycle 2 resolved' });
    for (const p of c2.probes) expect((await agent.ledger.getProbe(p.id!))?.outcome, `${p.path}/${p.seed}`).toBe(EXPECTED_PLACEMENT[p.path]);
    console.log(`Dovecot back → every session up in ${recoveryMs} ms; ${flushed} probes delivered while the sessions were down`);

    // After recovery the sessions really watch again (IDLE), and nothing was counted twice.
    const c3 = await agent.runCycleNow();
    const ids3 = c3.probes.map((p) => p.id!);
    await waitFor(async () => [...(await resolved(ids3)).values()].every((o) => o !== null), { timeoutMs: 10_000, what: 'cycle 3 resolved' });
    for (const p of c3.probes) expect((await agent.ledger.getProbe(p.id!))?.outcome).toBe(EXPECTED_PLACEMENT[p.path]);

    const text = await (await fetch(`${agent.url}/metrics`)).text();
    for (const s of SEEDS) {
      expect(metric(text, 'seedwatch_mailbox_up', { seed: s.name })).toBe(1);
      // The outage was seen and counted per seed (connection lost, reconnect refused).
      expect(metric(text, 'seedwatch_mailbox_errors_total', { seed: s.name })).toBeGreaterThanOrEqual(1);
      for (const path of PATHS) {
        expect(metric(text, 'seedwatch_placements_total', { path, seed: s.name, placement: EXPECTED_PLACEMENT[path] })).toBe(3);
        expect(metric(text, 'seedwatch_duplicates_total', { path, seed: s.name })).toBe(0);
        expect(metric(text, 'seedwatch_placements_total', { path, seed: s.name, placement: 'missing' })).toBe(0);
      }
    }
    expect((await fetch(`${agent.url}/readyz`)).status).toBe(200);
  });
});
