/**
 * Ground truth at the deadline's edges, against a real Dovecot: the relays hold every probe and
 * the test delivers each copy over LMTP at a planned moment relative to its SMTP accept — 1 s
 * before or after the deadline, while the agent runs with no reconciler pass in between, while
 * the agent is stopped across the deadline (restarted after the arrival), or never. Expected
 * fates come from that plan alone: a copy that arrived in time is a placement whenever the
 * agent saw it; one that arrived after the deadline makes its probe missing and itself late,
 * whichever step sees it first; "missing" is concluded only after a scan from past the deadline.
 * The agent's /metrics must then equal the plan, and its delivery latencies must all be in time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../../agent/agent.js';
import { silentLogger } from '../../../agent/log.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { startRelay, type RelayMessage, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { EXPECTED_PLACEMENT, faultConfig, ledgerQuery, metric, PASSWORD, PATHS, PW_ENV, SEEDS, USERS } from './fault-harness.js';

const DEADLINE_S = 8;

type Fate = 'placement' | 'late' | 'missing';
interface Planned {
  cycle: number;
  path: string;
  seed: string;
  /** Seconds after the SMTP accept; null: never delivered. */
  deliverAfterS: number | null;
  fate: Fate;
  why: string;
}

// Cycle 1: the agent runs throughout. Cycle 2: the agent stops 1 s after the accept and starts
// again DEADLINE + 3 s after it.
const PLAN: Omit<Planned, 'fate'>[] = [
  { cycle: 1, path: 'peering', seed: 'gmail-1', deliverAfterS: DEADLINE_S - 1, why: '1 s before the deadline, agent running' },
  { cycle: 1, path: 'transit', seed: 'gmail-1', deliverAfterS: DEADLINE_S + 1, why: '1 s after the deadline, agent running, reconciler not asked' },
  { cycle: 1, path: 'peering', seed: 'outlook-1', deliverAfterS: 1, why: 'at once' },
  { cycle: 1, path: 'transit', seed: 'outlook-1', deliverAfterS: null, why: 'never' },
  { cycle: 2, path: 'peering', seed: 'gmail-1', deliverAfterS: DEADLINE_S - 2, why: 'before the deadline while the agent is down; seen after it' },
  { cycle: 2, path: 'transit', seed: 'gmail-1', deliverAfterS: DEADLINE_S + 1, why: 'after the deadline while the agent is down; seen at catch-up' },
  { cycle: 2, path: 'peering', seed: 'outlook-1', deliverAfterS: DEADLINE_S + 5, why: 'after the deadline, after the restart' },
  { cycle: 2, path: 'transit', seed: 'outlook-1', deliverAfterS: null, why: 'never; concluded only after the restart' },
];
const fateOf = (p: Omit<Planned, 'fate'>): Fate => (p.deliverAfterS === null ? 'missing' : p.deliverAfterS < DEADLINE_S ? 'placement' : 'late');

let dc: DovecotServer;
let relays: Record<string, SmtpRelay>;
let held: Map<string, RelayMessage>;
let dir: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-time-edges-'));
  port = await freePort();
  held = new Map();
  dc = await startDovecot({ users: USERS });
  const hold = (name: string) =>
    startRelay({
      name,
      script: (_s, mail) => {
        held.set(mail.headers['x-seedwatch-probe']?.[0] ?? '', { ...mail, reply: { code: 250 } });
        return { code: 250 };
      },
    });
  const [peering, transit] = await Promise.all([hold('peering'), hold('transit')]);
  relays = { peering, transit };
});

afterAll(async () => {
  await Promise.allSettled(Object.values(relays ?? {}).map((r) => r.stop()));
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config() {
  return faultConfig(
    { listenPort: port, dataDir: './data', relays: { peering: relays.peering.port, transit: relays.transit.port }, imapPort: dc.imapPort, extra: '' },
    dir,
  );
}

/** `reconcileIntervalMs`: how often the started agent concludes deadlines (the daemon's: 10 s). */
async function start(reconcileIntervalMs: number): Promise<Agent> {
  const cfg = config();
  const agent = await startAgent({ config: { ...cfg, deadline: DEADLINE_S * 1000 }, env: { ...process.env, [PW_ENV]: PASSWORD }, logger: silentLogger(), schedule: false, reconcileIntervalMs });
  await waitFor(() => agent.readiness().ready, { timeoutMs: 20_000, what: 'agent ready' });
  return agent;
}

const sleepUntil = (atMs: number) => new Promise((r) => setTimeout(r, Math.max(0, atMs - Date.now())));

function deliverAt(id: string, atMs: number): Promise<void> {
  return sleepUntil(atMs).then(async () => {
    const m = held.get(id)!;
    await lmtpDeliver({ host: '127.0.0.1', port: dc.lmtpPort }, { from: m.from, to: m.to }, m.raw);
  });
}

describe('fates at the deadline edges are decided by timestamps alone', () => {
  it('placement, late and missing as planned, running, stopped across the deadline and restarted', { timeout: 120_000 }, async () => {
    const planned: (Planned & { id: string; acceptedAtMs: number })[] = [];
    const cycle = async (agent: Agent, n: number) => {
      const r = await agent.runCycleNow();
      for (const p of PLAN.filter((x) => x.cycle === n)) {
        const a = r.probes.find((x) => x.path === p.path && x.seed === p.seed)!;
        expect(a.row?.status).toBe('accepted');
        planned.push({ ...p, fate: fateOf(p), id: a.id!, acceptedAtMs: a.row!.acceptedAtMs! });
      }
      return planned.filter((x) => x.cycle === n);
    };
    const deliveries = (ps: typeof planned) => ps.filter((p) => p.deliverAfterS !== null).map((p) => deliverAt(p.id, p.acceptedAtMs + p.deliverAfterS! * 1000));

    // Cycle 1, agent running, its reconciler never ticking (an hour): whatever the copies'
    // fates are, no deadline pass decides them. Deliveries are timed against each probe's accept.
    let agent = await start(3_600_000);
    const c1 = await cycle(agent, 1);
    await Promise.all(deliveries(c1));
    await waitFor(() => ledgerQuery<{ n: number }>(join(dir, 'data/ledger.sqlite'), `SELECT COUNT(*) n FROM observations`)[0].n === 3, { timeoutMs: 15_000, what: 'cycle 1 copies recorded' });

    // Cycle 2: stop 1 s after the accept, start again DEADLINE + 3 s after it.
    const c2 = await cycle(agent, 2);
    const t1 = Math.max(...c2.map((p) => p.acceptedAtMs));
    const pending = deliveries(c2);
    await sleepUntil(t1 + 1_000);
    await agent.stop();
    await sleepUntil(t1 + (DEADLINE_S + 3) * 1000);
    // Restarted with a reconciler every second: it concludes cycle 1's never-delivered probe too.
    agent = await start(1_000);
    await Promise.all(pending);
    try {
      // Every planned copy recorded, and every never-delivered probe concluded missing (the
      // reconciler ticks every 10 s).
      await waitFor(
        () => {
          const rows = ledgerQuery<{ id: string; outcome: string | null; copies: number }>(join(dir, 'data/ledger.sqlite'), `SELECT id, outcome, copies FROM probes`);
          return planned.every((p) => {
            const r = rows.find((x) => x.id === p.id);
            return r && r.outcome !== null && r.copies === (p.deliverAfterS === null ? 0 : 1);
          });
        },
        { timeoutMs: 30_000, what: 'every planned probe resolved' },
      );

      const actual: Record<string, unknown> = {};
      const wanted: Record<string, unknown> = {};
      for (const p of planned) {
        const row = (await agent.ledger.getProbe(p.id))!;
        const obs = await agent.ledger.observations(p.id);
        actual[`${p.cycle} ${p.path}/${p.seed}: ${p.why}`] = { outcome: row.outcome, kinds: obs.map((o) => o.kind) };
        wanted[`${p.cycle} ${p.path}/${p.seed}: ${p.why}`] = {
          outcome: p.fate === 'placement' ? EXPECTED_PLACEMENT[p.path] : 'missing',
          kinds: p.fate === 'placement' ? ['first'] : p.fate === 'late' ? ['late'] : [],
        };
        // A late copy has no delivery latency; an in-time one is shorter than the deadline.
        for (const o of obs) {
          if (o.kind === 'late') expect(o.deliveryLatencyMs).toBeNull();
          else expect(o.deliveryLatencyMs!).toBeLessThanOrEqual(DEADLINE_S * 1000);
        }
      }
      expect(actual).toEqual(wanted);

      // The restarted agent's exposition equals the plan, series by series.
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      for (const path of PATHS) {
        for (const s of SEEDS) {
          const l = { path, seed: s.name, provider: s.provider };
          const mine = planned.filter((p) => p.path === path && p.seed === s.name);
          const count = (f: Fate) => mine.filter((p) => p.fate === f).length;
          expect(metric(text, 'seedwatch_placements_total', { ...l, placement: EXPECTED_PLACEMENT[path] }), `${path}/${s.name} placed`).toBe(count('placement'));
          expect(metric(text, 'seedwatch_placements_total', { ...l, placement: 'missing' }), `${path}/${s.name} missing`).toBe(count('late') + count('missing'));
          expect(metric(text, 'seedwatch_late_arrivals_total', l), `${path}/${s.name} late`).toBe(count('late'));
          expect(metric(text, 'seedwatch_delivery_latency_seconds_count', l), `${path}/${s.name} latencies`).toBe(count('placement'));
          // Every in-time latency is within the deadline: nothing late leaked into the histogram.
          expect(metric(text, 'seedwatch_delivery_latency_seconds_bucket', { ...l, le: '10' })).toBe(count('placement'));
        }
      }
    } finally {
      await agent.stop();
    }
  });
});

describe('a copy the provider stamped before the deadline that reaches the folder after it (watch.arrivalGrace)', () => {
  // The provider takes the probe 1 s before its deadline (its Received stamp, and the message's
  // INTERNALDATE) and files it into the folder 1.5 s after the deadline: an APPEND with that
  // date, as a provider's internal hand-over would leave it. The reconciler runs every 200 ms,
  // and the folder is scanned every second, so scans from past the deadline happen before the
  // copy shows. The copy arrived in time: a placement. Without the grace the agent concludes
  // missing before the copy shows, and the copy is then late (the control case).
  const runWith = async (grace: string, dataDir: string) => {
    const cfg = faultConfig(
      { listenPort: port, dataDir, relays: { peering: relays.peering.port, transit: relays.transit.port }, imapPort: dc.imapPort, extra: '' },
      dir,
    );
    const config = { ...cfg, deadline: DEADLINE_S * 1000, watch: { ...cfg.watch, arrivalGrace: parseGrace(grace) } };
    const agent = await startAgent({ config, env: { ...process.env, [PW_ENV]: PASSWORD }, logger: silentLogger(), schedule: false, reconcileIntervalMs: 200 });
    try {
      await waitFor(() => agent.readiness().ready, { timeoutMs: 20_000, what: 'agent ready' });
      const r = await agent.runCycleNow();
      const a = r.probes.find((x) => x.path === 'peering' && x.seed === 'gmail-1')!;
      const acceptedAtMs = a.row!.acceptedAtMs!;
      const stampedAtMs = acceptedAtMs + (DEADLINE_S - 1) * 1000;
      const m = held.get(a.id!)!;
      const raw = `Received: from relay.example.test ([127.0.0.2]) by mx.google.com with ESMTPS id t1; ${new Date(stampedAtMs).toUTCString().replace('GMT', '+0000')}\r\n${m.raw.toString()}`;
      await sleepUntil(acceptedAtMs + DEADLINE_S * 1000 + 1_500);
      const client = new ImapFlow({ host: '127.0.0.1', port: dc.imapPort, secure: false, auth: { user: USERS[0].user, pass: PASSWORD }, logger: false });
      await client.connect();
      try {
        await client.append('INBOX', raw, [], new Date(stampedAtMs));
      } finally {
        await client.logout();
      }
      await waitFor(async () => (await agent.ledger.observations(a.id!)).length === 1, { timeoutMs: 15_000, what: 'the copy recorded' });
      const probe = (await agent.ledger.getProbe(a.id!))!;
      const kinds = (await agent.ledger.observations(a.id!)).map((o) => o.kind);
      return { outcome: probe.outcome, kinds };
    } finally {
      await agent.stop();
    }
  };

  it('with a 3 s grace it is a placement; with none, missing + late', { timeout: 120_000 }, async () => {
    expect(await runWith('0s', './grace-none')).toEqual({ outcome: 'missing', kinds: ['late'] });
    expect(await runWith('3s', './grace-3s')).toEqual({ outcome: 'inbox', kinds: ['first'] });
  });
});

function parseGrace(s: string): number {
  return Number(s.replace(/s$/, '')) * 1000;
}
