/**
 * kill -9 of the agent (`node bin/seedwatch.js run`, a child process) at 20 random points
 * across cycles (a cycle every second; the relays answer after a random delay so kills land
 * before, during and after SMTP transactions and IMAP scans), each followed by a restart.
 * Then a last agent only watches, and its /metrics must equal the ground truth computed from
 * what the relays received and from the ledger: no probe lost, none counted twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { EXPECTED_PLACEMENT, faultConfigYaml, ledgerQuery, metric, PASSWORD, PATHS, PW_ENV, readProbes, SEEDS, startFaultRelay, USERS, type FaultRelay } from './fault-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
const KILLS = 20;
/** Kill points: this long after the agent serves HTTP (its scheduler ticks every second). */
const KILL_AFTER_MS = { min: 100, max: 2_600 };

let dc: DovecotServer;
let relays: Record<string, FaultRelay>;
let dir: string;
let port: number;

function spawnAgent(schedule: string): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: string | null }> } {
  const file = join(dir, 'seedwatch.yaml');
  writeFileSync(file, faultConfigYaml({ listenPort: port, dataDir: './data', schedule, relays: { peering: relays.peering.port, transit: relays.transit.port }, imapPort: dc.imapPort }));
  const child = spawn(process.execPath, [BIN, 'run', '--config', file], { env: { ...process.env, [PW_ENV]: PASSWORD, SEEDWATCH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

const ledgerFile = () => join(dir, 'data', 'ledger.sqlite');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-fault-kill9-'));
  port = await freePort();
  dc = await startDovecot({ users: USERS });
  const [peering, transit] = await Promise.all([startFaultRelay('peering', dc), startFaultRelay('transit', dc)]);
  relays = { peering, transit };
  // Transactions take 0-400 ms: kills land inside them too.
  for (const r of Object.values(relays)) r.setDelay(() => Math.floor(Math.random() * 400));
});

afterAll(async () => {
  await Promise.allSettled(Object.values(relays ?? {}).map((r) => r.stop()));
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 of the agent, 20 times, with restarts', () => {
  it('loses no probe and counts none twice: /metrics equals the relays and the ledger', { timeout: 240_000 }, async () => {
    const points: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const a = spawnAgent('* * * * * *');
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, { timeoutMs: 20_000, what: `agent ${i} serving`, diagnostics: a.output });
      const at = KILL_AFTER_MS.min + Math.floor(Math.random() * (KILL_AFTER_MS.max - KILL_AFTER_MS.min));
      points.push(at);
      await new Promise((r) => setTimeout(r, at));
      a.child.kill('SIGKILL');
      const ex = await a.exited;
      expect(ex.signal, a.output()).toBe('SIGKILL'); // it was running until killed, not crashed
    }

    // The last agent only watches (its schedule never fires) until every probe is resolved.
    for (const r of Object.values(relays)) r.setDelay(() => 0);
    const b = spawnAgent('0 0 1 1 *');
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'final agent ready', diagnostics: b.output });
      // Every message a relay accepted is in Dovecot; wait until the agent has seen each one.
      const relayIds = Object.fromEntries(PATHS.map((p) => [p, relays[p].probeIds()]));
      const allRelayIds = new Set([...relayIds.peering, ...relayIds.transit]);
      await waitFor(
        () => {
          const observed = new Set(ledgerQuery<{ probe_id: string }>(ledgerFile(), `SELECT probe_id FROM observations`).map((r) => r.probe_id));
          return [...allRelayIds].every((id) => observed.has(id));
        },
        { timeoutMs: 30_000, what: 'every relayed probe observed', diagnostics: b.output },
      );

      const probes = readProbes(ledgerFile());
      const byId = new Map(probes.map((p) => [p.id, p]));
      const accepted = probes.filter((p) => p.status === 'accepted');
      const ambiguous = probes.filter((p) => p.status === 'ambiguous');
      console.log(`kill points (ms after HTTP up): ${points.join(', ')}; probes ${probes.length}: accepted ${accepted.length}, ambiguous ${ambiguous.length}; relayed ${allRelayIds.size}`);
      expect(accepted.length).toBeGreaterThanOrEqual(KILLS); // cycles really ran between the kills

      // Nothing left half-done by a kill: no probe still 'sending', no failed send (relays accept all).
      expect(probes.filter((p) => p.status === 'sending' || p.status === 'failed')).toEqual([]);
      // Never sent twice: every probe id reached a relay at most once.
      for (const p of PATHS) expect(new Set(relayIds[p]).size).toBe(relayIds[p].length);
      // Every relayed message is a probe of the ledger, on its own path, accepted or ambiguous (killed
      // between the 250 and its recording); every accepted probe was relayed (no phantom accept).
      for (const p of PATHS) {
        for (const id of relayIds[p]) {
          expect(byId.get(id)?.path, id).toBe(p);
          expect(['accepted', 'ambiguous']).toContain(byId.get(id)?.status);
        }
      }
      for (const p of accepted) expect(allRelayIds.has(p.id), p.id).toBe(true);
      // No probe lost: each accepted probe resolved to where its path's mail lands, seen exactly once.
      for (const p of accepted) {
        expect(p.outcome, p.id).toBe(EXPECTED_PLACEMENT[p.path]);
        expect(p.copies, p.id).toBe(1);
      }
      const obsPerProbe = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) AS n FROM observations GROUP BY probe_id HAVING n > 1`);
      expect(obsPerProbe).toEqual([]);

      // The final agent's exposition equals the ground truth, series by series.
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const path of PATHS) {
        for (const s of SEEDS) {
          const l = { path, seed: s.name, provider: s.provider };
          const relayedAccepted = relayIds[path].filter((id) => byId.get(id)?.seed === s.name && byId.get(id)?.status === 'accepted').length;
          expect(metric(text, 'seedwatch_probes_sent_total', l), `sent ${path}/${s.name}`).toBe(relayedAccepted);
          expect(metric(text, 'seedwatch_placements_total', { ...l, placement: EXPECTED_PLACEMENT[path] })).toBe(relayedAccepted);
          expect(metric(text, 'seedwatch_placements_total', l)).toBe(relayedAccepted); // nothing elsewhere, nothing missing
          expect(metric(text, 'seedwatch_duplicates_total', l)).toBe(0);
          expect(metric(text, 'seedwatch_probe_send_errors_total', { ...l, reason: 'ambiguous' })).toBe(ambiguous.filter((p) => p.path === path && p.seed === s.name).length);
          expect(metric(text, 'seedwatch_smtp_replies_total', { ...l, code: '250' })).toBe(relayedAccepted);
          expect(metric(text, 'seedwatch_detection_delay_seconds_count', l)).toBe(relayedAccepted);
        }
      }
      const completed = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) AS n FROM cycles WHERE overlapped = 0 AND finished_at IS NOT NULL`)[0].n;
      expect(metric(text, 'seedwatch_cycles_total')).toBe(completed);
      expect(metric(text, 'seedwatch_probes_in_flight')).toBe(0);
    } finally {
      b.child.kill('SIGTERM');
      const ex = await b.exited;
      expect(ex.code).toBe(0);
    }
  });
});
