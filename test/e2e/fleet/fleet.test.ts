/**
 * Fleet mode against real components: PostgreSQL 15 as the shared ledger and coordinator, a
 * Dovecot with 8 seed mailboxes, two relay paths (transit may only be used by agent-a), three
 * agents (`seedwatch run`, child processes) probing every 3 s, and a real Prometheus scraping all
 * three with the shipped recording rules. One agent is killed with SIGKILL mid-cycle: its seeds
 * are watched again within 30 s; then every probe is accounted exactly against what the relays
 * received (none lost, none sent or counted twice), the sum over the agents of /metrics equals
 * the ledger, Prometheus shows the same totals, and restarting the killed agent counts nothing
 * again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer, type DovecotUser } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { freePort } from '../../helpers/ports.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/processes.js';
import { startPrometheus, type PrometheusServer } from '../../helpers/prometheus.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
const PASSWORD = 'fleet-seed-pw-7310';
const AGENTS = ['agent-a', 'agent-b', 'agent-c'] as const;
const EXPECTED: Record<string, string> = { peering: 'inbox', transit: 'spam' };

const sieve = (junk: string) => `require ["fileinto", "special-use"];
if header :is "X-Test-Path" "transit" {
  fileinto :specialuse "\\\\Junk" "${junk}";
  stop;
}
`;
const USERS: DovecotUser[] = Array.from({ length: 8 }, (_, i) =>
  i % 2 === 0
    ? { user: `seed${i + 1}@gmail.test`, password: PASSWORD, kind: 'gmail' as const, sieve: sieve('[Gmail]/Spam') }
    : { user: `seed${i + 1}@outlook.test`, password: PASSWORD, kind: 'outlook' as const, sieve: sieve('Junk Email') },
);
const SEEDS = USERS.map((u, i) => ({ name: `seed-${i + 1}`, provider: u.kind === 'gmail' ? 'gmail' : 'generic', user: u.user }));

let pg: PostgresServer;
let dc: DovecotServer;
let relays: Record<string, SmtpRelay>;
let prom: PrometheusServer | null = null;
let dir: string;
let dbUrl: string;
const ports: Record<string, number> = {};
const running = new Map<string, { child: ChildProcess; out: () => string; exited: Promise<unknown> }>();

function config(agent: string, schedule: string): string {
  return `agent: { name: ${agent} }
listen: 127.0.0.1:${ports[agent]}
dataDir: ./${agent}
ledger: { postgres: { url: { env: SW_FLEET_PG } } }
schedule: "${schedule}"
deadline: 20s
concurrency: 4
probe:
  from: "Deliverability Probe <probe@mail.example.test>"
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: keep }
paths:
  - name: peering
    smtp: { host: 127.0.0.1, port: ${relays.peering.port} }
    headers: { X-Test-Path: peering }
  - name: transit
    agents: [agent-a]
    smtp: { host: 127.0.0.1, port: ${relays.transit.port} }
    headers: { X-Test-Path: transit }
seeds:
${SEEDS.map((s) => `  - name: ${s.name}
    address: ${s.user}
    provider: ${s.provider}
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: ${s.user}, password: { env: SW_FLEET_PW } }`).join('\n')}
`;
}

function startAgentProcess(agent: string, schedule: string) {
  const file = join(dir, `${agent}.yaml`);
  writeFileSync(file, config(agent, schedule));
  const child = spawn(process.execPath, [BIN, 'run', '--config', file], {
    cwd: dir,
    env: { ...process.env, SW_FLEET_PG: dbUrl, SW_FLEET_PW: PASSWORD, SEEDWATCH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  running.set(agent, { child, out: () => out, exited });
}

async function ready(agent: string) {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${ports[agent]}/readyz`).catch(() => null))?.ok, {
    timeoutMs: 40_000,
    what: `${agent} ready`,
    diagnostics: () => running.get(agent)?.out() ?? '',
  });
}

const q = <R extends Record<string, unknown>>(sql: string, params: unknown[] = []) => pg.query<R>(new URL(dbUrl).pathname.slice(1), sql, params);
const num = (v: unknown) => Number(v);

/** Sum of one counter over the agents' expositions (exact: integers). */
async function sumOver(agents: readonly string[], name: string, labels: Record<string, string>): Promise<number> {
  let total = 0;
  for (const a of agents) {
    const text = await (await fetch(`http://127.0.0.1:${ports[a]}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => ls[k] === v)) total += Number(m[3]);
    }
  }
  return total;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-fleet-'));
  for (const a of AGENTS) {
    ports[a] = await freePort();
    mkdirSync(join(dir, a));
  }
  [pg, dc] = await Promise.all([startPostgres(), startDovecot({ users: USERS })]);
  dbUrl = await pg.createDatabase('fleet');
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  const forward = (name: string) =>
    startRelay({
      name,
      script: async (_s, mail) => {
        await lmtpDeliver(lmtp, { from: mail.from, to: mail.to }, mail.raw);
        return { code: 250 };
      },
    });
  const [peering, transit] = await Promise.all([forward('peering'), forward('transit')]);
  relays = { peering, transit };
}, 120_000);

afterAll(async () => {
  for (const [, r] of running) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
  await prom?.stop();
  await Promise.allSettled(Object.values(relays ?? {}).map((r) => r.stop()));
  await dc?.stop();
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('fleet: three agents on one PostgreSQL ledger', () => {
  it('each seed watched once, each path × seed sent once per tick, failover within 30 s, exact totals summed over agents', { timeout: 240_000 }, async () => {
    // Prometheus scrapes from the start, with the shipped recording rules (their 1m evaluation
    // interval cut to 1s; the expressions unchanged).
    const rules = join(dir, 'seedwatch-recording.yml');
    writeFileSync(rules, readFileSync(join(ROOT, 'dashboards/prometheus/seedwatch-recording.yml'), 'utf8').replace(/interval: 1m/g, 'interval: 1s'));
    prom = await startPrometheus({ scrapeTargets: AGENTS.map((a) => `127.0.0.1:${ports[a]}`), ruleFiles: [rules] });
    for (const a of AGENTS) startAgentProcess(a, '*/3 * * * * *');
    await Promise.all(AGENTS.map(ready));
    await prom.waitForTargetsUp(30_000);
    // Every seed held by exactly one live agent, spread over all three.
    const held = await waitFor(
      async () => {
        const rows = await q<{ seed: string; agent: string }>(`SELECT seed, agent FROM fleet_leases WHERE expires_at > now()`);
        return rows.length === 8 && new Set(rows.map((r) => r.agent)).size === 3 ? rows : undefined;
      },
      { timeoutMs: 30_000, what: 'seeds spread over three agents' },
    );
    const bSeeds = held.filter((r) => r.agent === 'agent-b').map((r) => r.seed);
    expect(bSeeds.length).toBeGreaterThan(0);

    // Let cycles run, then kill agent-b in the middle of one (ticks every 3 s; its sends take ms).
    await new Promise((r) => setTimeout(r, 7_000));
    await new Promise((r) => setTimeout(r, 3_000 - (Date.now() % 3_000) + 20)); // just after a tick
    const killedAt = Date.now();
    running.get('agent-b')!.child.kill('SIGKILL');
    await running.get('agent-b')!.exited;
    running.delete('agent-b');

    // Its seeds are taken over by the others within 30 s.
    await waitFor(
      async () => {
        const rows = await q<{ seed: string; agent: string }>(`SELECT seed, agent FROM fleet_leases WHERE expires_at > now()`);
        return rows.length === 8 && rows.every((r) => r.agent !== 'agent-b') ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "agent-b's seeds taken over" },
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(`agent-b held ${bSeeds.join(', ')}; taken over ${takeoverMs} ms after the kill`);
    expect(takeoverMs).toBeLessThan(30_000);

    // Stop probing (reload with a schedule that never fires), restart agent-b the same way.
    await new Promise((r) => setTimeout(r, 4_000));
    for (const a of ['agent-a', 'agent-c']) {
      writeFileSync(join(dir, `${a}.yaml`), config(a, '0 0 1 1 *'));
      running.get(a)!.child.kill('SIGHUP');
    }
    await new Promise((r) => setTimeout(r, 3_000));
    for (const a of ['agent-a', 'agent-c']) await ready(a);

    // Every accepted probe resolved (deadline 20 s: the dropped-by-nobody case never happens here).
    await waitFor(async () => num((await q<{ n: string }>(`SELECT COUNT(*) n FROM probes WHERE status = 'accepted' AND outcome IS NULL`))[0].n) === 0, {
      timeoutMs: 40_000,
      what: 'every accepted probe resolved',
    });

    // Ground truth from the relays.
    const relayed: Record<string, string[]> = {};
    for (const p of ['peering', 'transit']) relayed[p] = relays[p].messages.map((m) => m.headers['x-seedwatch-probe']?.[0] ?? '');
    for (const p of ['peering', 'transit']) expect(new Set(relayed[p]).size, `${p} never sent twice`).toBe(relayed[p].length);
    const probes = await q<{ id: string; path: string; seed: string; status: string; outcome: string | null; copies: number; agent: string; created_at: string }>(
      `SELECT id, path, seed, status, outcome, copies, agent, created_at FROM probes`,
    );
    const byId = new Map(probes.map((p) => [p.id, p]));
    const accepted = probes.filter((p) => p.status === 'accepted');
    expect(accepted.length).toBeGreaterThan(20);
    for (const p of ['peering', 'transit']) {
      for (const id of relayed[p]) {
        expect(byId.get(id)?.path, id).toBe(p);
        expect(['accepted', 'ambiguous', 'sending']).toContain(byId.get(id)?.status);
      }
    }
    for (const p of accepted) {
      expect(relayed[p.path]).toContain(p.id);
      expect(p.outcome, p.id).toBe(EXPECTED[p.path]);
      expect(p.copies, p.id).toBe(1);
    }
    // transit is agent-a's alone; peering was sent by all three.
    expect(new Set(probes.filter((p) => p.path === 'transit').map((p) => p.agent))).toEqual(new Set(['agent-a']));
    expect(new Set(probes.filter((p) => p.path === 'peering').map((p) => p.agent)).size).toBe(3);
    // Each path × seed of a tick was claimed by one agent and sent once: every probe belongs to a
    // claim of its own sender (the latest one of that pair before it: a slow cycle may create it
    // after the next tick began), no claim has two probes, and only the killed agent left claims
    // without a probe.
    const probeClaims = await q<{ id: string; agent: string; tick: string | null; path: string; seed: string }>(
      `SELECT p.id, p.agent, p.path, p.seed, (SELECT c.tick_at FROM fleet_claims c WHERE c.path = p.path AND c.seed = p.seed
          AND c.agent = p.agent AND c.tick_at <= p.created_at ORDER BY c.tick_at DESC LIMIT 1) AS tick FROM probes p`,
    );
    expect(probeClaims.filter((p) => p.tick === null)).toEqual([]);
    const perClaim = new Map<string, number>();
    for (const p of probeClaims) perClaim.set(`${p.tick} ${p.path} ${p.seed}`, (perClaim.get(`${p.tick} ${p.path} ${p.seed}`) ?? 0) + 1);
    expect([...perClaim].filter(([, n]) => n > 1)).toEqual([]);
    const claims = await q<{ tick_at: string; path: string; seed: string; agent: string }>(`SELECT tick_at, path, seed, agent FROM fleet_claims`);
    expect(claims.length).toBeGreaterThan(20);
    expect(claims.filter((c) => !perClaim.has(`${c.tick_at} ${c.path} ${c.seed}`) && c.agent !== 'agent-b')).toEqual([]);
    // The tick agent-b died in (20 ms after it began, its sends spread over 2.25 s): every pair of
    // it was still claimed, once — agent-b's unsent share swept up by the live agents late in
    // the tick — and transit (agent-a's alone) only by agent-a.
    const killedTick = Math.floor(killedAt / 3_000) * 3_000;
    const ofKilledTick = claims.filter((c) => Number(c.tick_at) === killedTick);
    expect(ofKilledTick.map((c) => `${c.path} ${c.seed}`).sort()).toEqual(['peering', 'transit'].flatMap((p) => SEEDS.map((x) => `${p} ${x.name}`)).sort());
    expect(new Set(ofKilledTick.filter((c) => c.path === 'transit').map((c) => c.agent))).toEqual(new Set(['agent-a']));

    // Restart agent-b (no schedule): its interrupted sends become ambiguous, and it counts nothing again.
    startAgentProcess('agent-b', '0 0 1 1 *');
    await ready('agent-b');
    await new Promise((r) => setTimeout(r, 2_500));
    const final = await q<{ id: string; path: string; seed: string; status: string; outcome: string | null }>(`SELECT id, path, seed, status, outcome FROM probes`);
    expect(final.filter((p) => p.status === 'sending')).toEqual([]);

    // The sum over the agents of /metrics equals the ledger, series by series.
    const provider = new Map(SEEDS.map((s) => [s.name, s.provider]));
    for (const path of ['peering', 'transit']) {
      for (const s of SEEDS) {
        const l = { path, seed: s.name, provider: provider.get(s.name)! };
        const mine = final.filter((p) => p.path === path && p.seed === s.name);
        const acc = mine.filter((p) => p.status === 'accepted').length;
        expect(await sumOver(AGENTS, 'seedwatch_probes_sent_total', l), `sent ${path}/${s.name}`).toBe(acc);
        expect(await sumOver(AGENTS, 'seedwatch_placements_total', { ...l, placement: EXPECTED[path] }), `placed ${path}/${s.name}`).toBe(acc);
        expect(await sumOver(AGENTS, 'seedwatch_placements_total', l), `all placements ${path}/${s.name}`).toBe(acc);
        expect(await sumOver(AGENTS, 'seedwatch_probe_send_errors_total', { ...l, reason: 'ambiguous' })).toBe(mine.filter((p) => p.status === 'ambiguous').length);
        expect(await sumOver(AGENTS, 'seedwatch_duplicates_total', l)).toBe(0);
      }
    }
    // mailbox_up: each seed exported once, by its owner, at 1 (once agent-b's return has settled).
    await waitFor(async () => (await sumOver(AGENTS, 'seedwatch_mailbox_up', {})) === 8, { timeoutMs: 25_000, what: 'mailbox_up once per seed' });
    for (const s of SEEDS) expect(await sumOver(AGENTS, 'seedwatch_mailbox_up', { seed: s.name }), s.name).toBe(1);
    // The status page and /readyz show the fleet: the agents alive and the seeds each holds.
    // The page and the lease table are read at two moments: a hand-over between them (agent-b's
    // return may still move a lease) is not a wrong page, so both are read again until they agree.
    let page = '';
    let leases: { seed: string; agent: string }[] = [];
    const shows = (l: { seed: string; agent: string }) => new RegExp(`data-agent="${l.agent}"[^]*?data-k="seeds">[^<]*\\b${l.seed}\\b`).test(page);
    await waitFor(
      async () => {
        page = await (await fetch(`http://127.0.0.1:${ports['agent-a']}/`)).text();
        leases = await q<{ seed: string; agent: string }>(`SELECT seed, agent FROM fleet_leases ORDER BY seed`);
        return leases.length === SEEDS.length && leases.every(shows);
      },
      { timeoutMs: 20_000, what: 'the status page showing every lease' },
    ).catch(() => undefined);
    for (const a of AGENTS) expect(page).toContain(`data-agent="${a}"`);
    for (const l of leases) expect(page).toMatch(new RegExp(`data-agent="${l.agent}"[^]*?data-k="seeds">[^<]*\\b${l.seed}\\b`));
    const readyBody = (await (await fetch(`http://127.0.0.1:${ports['agent-a']}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    expect(readyBody.checks.fleet.ok).toBe(true);
    for (const a of AGENTS) expect(readyBody.checks.fleet.detail).toContain(`${a}:`);

    // The real Prometheus scraping the three, with the shipped rules, sees the same totals.
    await new Promise((r) => setTimeout(r, 2_500));
    if (!prom) throw new Error('no prometheus');
    const byPlacement = await prom.query('sum by (path, placement) (seedwatch_placements_total{job="seedwatch"})');
    const got = Object.fromEntries(byPlacement.filter((r) => Number(r.value[1]) > 0).map((r) => [`${r.metric.path}/${r.metric.placement}`, Number(r.value[1])]));
    const want: Record<string, number> = {};
    for (const p of final.filter((x) => x.status === 'accepted')) want[`${p.path}/${p.outcome}`] = (want[`${p.path}/${p.outcome}`] ?? 0) + 1;
    expect(got).toEqual(want);
    // The recorded shares: every peering probe in the inbox, every transit probe in spam.
    const shares = await prom.query('provider_path_placement:seedwatch_placement_share:ratio1h > 0');
    expect(shares.length).toBeGreaterThan(0);
    for (const r of shares) expect(`${r.metric.provider}/${r.metric.path}/${r.metric.placement}=${r.value[1]}`).toBe(`${r.metric.provider}/${r.metric.path}/${EXPECTED[r.metric.path]}=1`);
  });

  it('an agent that loses PostgreSQL stops watching and sending, says why in /readyz, and resumes by itself', { timeout: 120_000 }, async () => {
    const readyz = async (a: string) => {
      const r = await fetch(`http://127.0.0.1:${ports[a]}/readyz`);
      return { status: r.status, body: (await r.json()) as { checks: Record<string, { ok: boolean; detail?: string }> } };
    };
    expect((await readyz('agent-a')).status).toBe(200);
    await pg.stop();
    try {
      const down = await waitFor(
        async () => {
          const r = await readyz('agent-a');
          return r.status === 503 && r.body.checks.fleet?.ok === false ? r : undefined;
        },
        { timeoutMs: 20_000, what: 'agent-a not ready for want of its database' },
      );
      expect(down.body.checks.fleet.detail).toMatch(/the fleet database is out of reach/);
      // Watching nothing: no mailbox state exported while the lease cannot be renewed.
      expect(await sumOver(['agent-a'], 'seedwatch_mailbox_up', {})).toBe(0);
    } finally {
      await pg.start();
    }
    await waitFor(async () => (await readyz('agent-a')).status === 200, { timeoutMs: 30_000, what: 'agent-a ready again' });
    await waitFor(async () => (await sumOver(AGENTS, 'seedwatch_mailbox_up', {})) === 8, { timeoutMs: 30_000, what: 'every seed watched again' });
  });
});
