/**
 * `npm run bench`: the agent against a real Dovecot with N seed users (N = 10, 100, 500) and
 * two loopback relays forwarding into Dovecot's LMTP, and in the same run the baseline — a
 * plain poller that logs in to every seed every 5 s and searches every folder — against the
 * same Dovecot. Prints the targets of issue 18 with the figures that answer them, the full
 * table and the ratios, with the date, the machine and its load; asserts nothing.
 *
 *   node dist/bench/run.js [--sizes 10,100,500] [--short] [--json FILE] [--no-baseline] [--no-fleet]
 *                          [diagnostics: see bench/diagnostics.ts]
 *   node dist/bench/run.js --load [--minutes 10] [--seeds 500]
 *   node dist/bench/run.js --fleet [--seeds 1000] [--period 30] [--cycles 2]
 *
 * The agent runs as a child process (`node bin/seedwatch.js run`, exactly what users run, at
 * the default log level) so that /proc gives its own CPU time and peak RSS, untouched by the
 * relays, Dovecot or this harness. Per size:
 *   A. watch only (a schedule that never fires): start-up (HTTP up; every mailbox up =
 *      /readyz 200), start-up CPU, how fast sessions were opened, IMAP sessions held, CPU of
 *      watching while idle;
 *   B. a schedule of one cycle (2 paths x N seeds) every P s, K cycles after every mailbox is
 *      up: detection delay (LMTP hand-over done → first copy recorded in the ledger) for inbox
 *      and junk, CPU per 1,000 probes over whole periods from the second cycle on (steady
 *      state: sending, watching, and the idle time between cycles) and over the first hour
 *      (start-up and first cycle as measured, the rest at the steady rate), peak RSS;
 *   C. the baseline poller (own process) fed as many probes over LMTP, at random moments.
 * A full run (not --short) ends with the fleet phase (bench/fleet-bench.ts: 2 agents sharing
 * 1,000 seeds on one PostgreSQL against 1 agent with 500 on SQLite); --no-fleet leaves it out,
 * --fleet runs it alone. `--load` runs bench/load.ts instead (500 seeds, a cycle every minute,
 * 10 minutes).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  cpuSeconds,
  deliverProbe,
  dovecotMasterPid,
  fmt,
  httpStatus,
  load1,
  machineInfo,
  memoryMiB,
  percentile,
  readLedger,
  sleep,
  spawnAgent,
  startBenchEnv,
  tcpSessionsTo,
  treeCpuSeconds,
  waitUntil,
  BENCH_PASSWORD,
  type BenchEnv,
} from './harness.js';
import { applyDiagnostics, DIAGNOSTICS, heapSnapshot, loopLag, type LoopLag } from './diagnostics.js';
import { createProbeIdFactory } from '../agent/probe-id.js';
import { LOGINS_IN_FLIGHT_PER_SERVER, LOGINS_PER_SECOND_PER_SERVER } from '../agent/watch/login-gate.js';
import { CYCLE_SPREAD } from '../agent/schedule/scheduler.js';

type Stats = { p50: number; p99: number; n: number };

export interface SizeResult {
  n: number;
  dovecotStartS: number;
  /** 1-minute load average when each phase began and ended: other work on the machine. */
  load: number[];
  agent: {
    httpUpS: number;
    readyS: number;
    startupCpuS: number;
    /** Most IMAP sessions the agent opened within one second of its start-up. */
    peakSessionsPerSecond: number;
    sessions: number;
    idleCpuSPerHour: number;
    idleDovecotCpuSPerHour: number;
    /** One clock tick (10 ms) over the idle window, per hour: the resolution of the two above. */
    idleCpuFloorSPerHour: number;
    /** Length of the idle window, s. */
    idleWindowS: number;
    periodS: number;
    cycles: number;
    cycleS: number[];
    overlaps: number;
    probes: number;
    observed: number;
    misplaced: number;
    /** Whole periods from the second cycle after start-up on: sending, watching, idle between. */
    steady: { seconds: number; probes: number; cpuSPer1000: number; dovecotCpuSPer1000: number; relaysCpuSPer1000: number };
    /** First hour at this schedule: spawn → second cycle as measured, the rest at the steady rate. */
    firstHourCpuSPer1000: number;
    peakRssMiB: number;
    inbox: Stats;
    junk: Stats;
    all: Stats;
    loopLag: LoopLag | null;
  };
  baseline: {
    probes: number;
    observed: number;
    roundS: number[];
    loginsPerHour: number;
    cpuSPerHour: number;
    dovecotCpuSPerHour: number;
    peakRssMiB: number;
    inbox: Stats;
    junk: Stats;
    all: Stats;
  } | null;
}

interface Plan {
  /** Seconds between cycles (cron seconds field): a cycle's sends are spread over CYCLE_SPREAD of it. */
  periodS: number;
  /** Cycles measured after every mailbox is up (the steady window is cycles 2..K). */
  cycles: number;
  idleS: number;
}

function plan(n: number, short: boolean): Plan {
  // The idle window of a full run is one IDLE safety-check interval (watch.idleCheck, default
  // 2 min): each session's check is a timer of that period, so such a window holds exactly one
  // check per session. A short run's 5 s window holds none: its idle figures are a lower bound.
  const idleS = short ? 5 : IDLE_CHECK_S;
  // 10 seeds: 24 cycles (2 min) in a full run. A cycle of 20 probes takes 0.2 s: over 8 cycles
  // the agent's code is still being optimised by V8 (compilation threads count as its CPU).
  if (n <= 10) return { periodS: 5, cycles: short ? 4 : 24, idleS };
  if (n <= 100) return { periodS: 10, cycles: short ? 3 : 4, idleS };
  return { periodS: 20, cycles: 3, idleS };
}

const ms = (x: number) => x / 1000;
/** The agent's default watch.idleCheck, in seconds (the bench's config leaves it unset). */
const IDLE_CHECK_S = 120;
/**
 * How often the harness asks the agent /healthz and /readyz while it starts: the resolution of
 * the start-up figures. Not faster: each /readyz walks every watcher's health, and a harness
 * asking every 20 ms made a measurable share of the start-up CPU it was measuring.
 */
const POLL_MS = 50;
const stats = (xs: number[]): Stats => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });

/** Samples of a process's CPU over time, read back at any moment (last sample at or before it). */
class CpuTrace {
  private readonly samples: { atMs: number; cpu: number }[] = [];
  private timer: NodeJS.Timeout;
  constructor(
    private readonly read: () => number,
    everyMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): void {
    try {
      this.samples.push({ atMs: Date.now(), cpu: this.read() });
    } catch {
      /* the process exited */
    }
  }
  at(ms: number): number {
    let v = this.samples[0]?.cpu ?? NaN;
    for (const s of this.samples) {
      if (s.atMs > ms) break;
      v = s.cpu;
    }
    return v;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

async function agentPhases(env: BenchEnv, p: Plan, load: number[], log: (s: string) => void): Promise<SizeResult['agent']> {
  const dcPid = dovecotMasterPid(env.dc);
  // A: watch only.
  load.push(load1());
  const a = await spawnAgent(env, { schedule: '0 0 1 1 *' });
  log(`  A (watch only): agent pid ${a.pid}`);
  let httpUpS = NaN;
  let readyS: number;
  let startupCpuS: number;
  let sessions: number;
  let idleCpuSPerHour: number;
  let idleDovecotCpuSPerHour: number;
  let idleCpuFloorSPerHour: number;
  let peakSessionsPerSecond = 0;
  try {
    // Sessions held, every 250 ms while it starts: how fast it logs in.
    const opened: { atMs: number; n: number }[] = [];
    const watchLogins = setInterval(() => {
      try {
        opened.push({ atMs: Date.now(), n: tcpSessionsTo(a.pid, env.dc.imapPort) });
      } catch {
        /* exited */
      }
    }, 250);
    try {
      await waitUntil(
        async () => {
          if (Number.isNaN(httpUpS) && (await httpStatus(`${a.url}/healthz`)) === 200) httpUpS = ms(Date.now() - a.spawnedAtMs);
          return (await httpStatus(`${a.url}/readyz`)) === 200;
        },
        'every mailbox up (/readyz 200)',
        300_000,
        POLL_MS,
      );
    } finally {
      clearInterval(watchLogins);
    }
    readyS = ms(Date.now() - a.spawnedAtMs);
    startupCpuS = cpuSeconds(a.pid);
    for (const s of opened) {
      const before = opened.filter((x) => x.atMs <= s.atMs - 1000).at(-1);
      if (before) peakSessionsPerSecond = Math.max(peakSessionsPerSecond, ((s.n - before.n) * 1000) / (s.atMs - before.atMs));
    }
    log(`  agent up: HTTP ${fmt(httpUpS)} s, all ${env.users.length} mailboxes ${fmt(readyS)} s`);
    await heapSnapshot(a.pid, 'A (every mailbox up)', log);
    await sleep(1_000); // let the last IDLEs settle
    sessions = tcpSessionsTo(a.pid, env.dc.imapPort);
    const c0 = cpuSeconds(a.pid);
    const d0 = treeCpuSeconds(dcPid);
    const t0 = Date.now();
    await sleep(p.idleS * 1000);
    const hours = (Date.now() - t0) / 3_600_000;
    idleCpuSPerHour = (cpuSeconds(a.pid) - c0) / hours;
    idleDovecotCpuSPerHour = (treeCpuSeconds(dcPid) - d0) / hours;
    idleCpuFloorSPerHour = 0.01 / hours;
  } catch (err) {
    log(a.output().slice(-4000));
    throw err;
  } finally {
    await a.stop();
    a.cleanup();
  }
  load.push(load1());

  // B: cycles.
  const b = await spawnAgent(env, { schedule: `*/${p.periodS} * * * * *` });
  log(`  B (cycles every ${p.periodS} s): agent pid ${b.pid}`);
  const agentCpu = new CpuTrace(() => cpuSeconds(b.pid), 100);
  // Dovecot's tree takes a walk of /proc (a thousand processes at 500 seeds): every second.
  const dovecotCpu = new CpuTrace(() => treeCpuSeconds(dcPid), 1000);
  const relaysCpu = new CpuTrace(() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }, 1000);
  try {
    await waitUntil(async () => (await httpStatus(`${b.url}/readyz`)) === 200, 'every mailbox up', 300_000, POLL_MS);
    const readyAtMs = Date.now();
    log(`  B: every mailbox up ${fmt(ms(readyAtMs - b.spawnedAtMs))} s after spawn`);
    // Cycles that started before every mailbox was up are start-up, not measured.
    const measured = () => readLedger(b.ledgerFile).cycles.filter((c) => !c.overlapped && c.startedAtMs >= readyAtMs);
    await waitUntil(() => measured().length >= 2, 'a second cycle', 3 * p.periodS * 1000 + 120_000, 200);
    const c2 = measured()[1].startedAtMs;
    await heapSnapshot(b.pid, 'B (first cycle sent)', log);
    // The steady window: whole periods from the second cycle on, K-1 of them, ending just
    // before the next tick (so it holds as many cycles as periods).
    const steadyEnd = c2 + (p.cycles - 1) * p.periodS * 1000 - 50;
    await waitUntil(() => Date.now() >= steadyEnd + 300, 'the steady window', (p.cycles + 1) * p.periodS * 1000 + 120_000, 100);
    // Every accepted probe of the measured cycles seen (or 60 s passed: then the unseen ones show as not observed).
    const inCycles = (l: ReturnType<typeof readLedger>) => {
      const ids = new Set(l.cycles.filter((c) => c.startedAtMs >= readyAtMs && c.startedAtMs < steadyEnd).map((c) => c.startedAtMs));
      return l.probes.filter((x) => x.status === 'accepted' && x.createdAtMs >= readyAtMs && x.createdAtMs < steadyEnd && ids.size > 0);
    };
    await waitUntil(() => {
      const l = readLedger(b.ledgerFile);
      return inCycles(l).every((x) => l.firstSeen.has(x.id));
    }, 'every accepted probe observed', 60_000, 200).catch(() => log('  (not every probe was observed within 60 s)'));
    agentCpu.sample();
    const mem = memoryMiB(b.pid);
    const l = readLedger(b.ledgerFile);
    const cycles = l.cycles.filter((c) => !c.overlapped && c.finishedAtMs !== null && c.startedAtMs >= readyAtMs && c.startedAtMs < steadyEnd);
    const overlaps = l.cycles.filter((c) => c.overlapped && c.startedAtMs >= readyAtMs && c.startedAtMs < steadyEnd).length;
    log(`  B: cycles at ${cycles.map((c) => `${fmt(ms(c.startedAtMs - b.spawnedAtMs), 1)}–${fmt(ms(c.finishedAtMs! - b.spawnedAtMs), 1)}`).join(', ')} s after spawn`);
    const lag = loopLag(b.pid, cycles[0]?.startedAtMs ?? readyAtMs, steadyEnd);
    if (lag) log(`  B: event-loop delay over the cycles: per-second p99 (median) ${fmt(lag.p99Ms, 1)} ms, max ${fmt(lag.maxMs, 0)} ms, ${lag.secondsOver100Ms}/${lag.seconds} s with a delay > 100 ms`);
    const accepted = inCycles(l);
    const inbox: number[] = [];
    const junk: number[] = [];
    let misplaced = 0;
    for (const x of accepted) {
      const seen = l.firstSeen.get(x.id);
      const arr = env.arrivals.get(x.id);
      if (!seen || !arr) continue;
      const expected = x.path === 'transit' ? 'spam' : 'inbox';
      if (seen.placement !== expected) misplaced++;
      (seen.placement === 'spam' ? junk : inbox).push(ms(seen.observedAtMs - arr.atMs));
    }
    const steadyProbes = accepted.filter((x) => x.createdAtMs >= c2).length;
    const steadyS = ms(steadyEnd - c2);
    const per1000 = (cpu: number) => (cpu / Math.max(1, steadyProbes)) * 1000;
    const steady = {
      seconds: steadyS,
      probes: steadyProbes,
      cpuSPer1000: per1000(agentCpu.at(steadyEnd) - agentCpu.at(c2)),
      dovecotCpuSPer1000: per1000(dovecotCpu.at(steadyEnd) - dovecotCpu.at(c2)),
      relaysCpuSPer1000: per1000(relaysCpu.at(steadyEnd) - relaysCpu.at(c2)),
    };
    // First hour: what spawn → second cycle cost (start-up, any cycle during it, the first
    // measured cycle), then the steady rate for the rest of the hour.
    const beforeS = ms(c2 - b.spawnedAtMs);
    const probesBefore = l.probes.filter((x) => x.status === 'accepted' && x.createdAtMs < c2).length;
    const restS = Math.max(0, 3600 - beforeS);
    const firstHourCpu = agentCpu.at(c2) + (steady.cpuSPer1000 / 1000) * (steadyProbes / steadyS) * restS;
    const firstHourProbes = probesBefore + (steadyProbes / steadyS) * restS;
    return {
      httpUpS,
      readyS,
      startupCpuS,
      peakSessionsPerSecond,
      sessions,
      idleCpuSPerHour,
      idleDovecotCpuSPerHour,
      idleCpuFloorSPerHour,
      idleWindowS: p.idleS,
      periodS: p.periodS,
      cycles: cycles.length,
      cycleS: cycles.map((c) => ms(c.finishedAtMs! - c.startedAtMs)),
      overlaps,
      probes: accepted.length,
      observed: accepted.filter((x) => l.firstSeen.has(x.id)).length,
      misplaced,
      steady,
      firstHourCpuSPer1000: (firstHourCpu / firstHourProbes) * 1000,
      peakRssMiB: mem.peak,
      inbox: stats(inbox),
      junk: stats(junk),
      all: stats([...inbox, ...junk]),
      loopLag: lag,
    };
  } catch (err) {
    log(b.output().slice(-4000));
    throw err;
  } finally {
    agentCpu.stop();
    dovecotCpu.stop();
    relaysCpu.stop();
    await b.stop();
    b.cleanup();
    load.push(load1());
  }
}

async function baselinePhase(env: BenchEnv, p: Plan, probes: number, log: (s: string) => void): Promise<NonNullable<SizeResult['baseline']>> {
  const dcPid = dovecotMasterPid(env.dc);
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-bench-baseline-'));
  const specFile = join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify({ port: env.dc.imapPort, users: env.users.map((u) => ({ user: u.user, password: BENCH_PASSWORD })), intervalMs: 5_000, concurrency: 8 }));
  const self = fileURLToPath(import.meta.url);
  const script = join(dirname(self), `baseline-poller${self.endsWith('.ts') ? '.ts' : '.js'}`);
  const child = spawn(process.execPath, [script, specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = new Map<string, number>();
  const rounds: { startedAtMs: number; durationMs: number; logins: number; errors: number }[] = [];
  let primed = false;
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = JSON.parse(line) as { type: string; id?: string; atMs?: number; startedAtMs: number; durationMs: number; logins: number; errors: number };
      if (m.type === 'primed') primed = true;
      else if (m.type === 'seen') seen.set(m.id!, m.atMs!);
      else if (m.type === 'round' && primed) rounds.push(m);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntil(() => primed, 'baseline primed', 120_000);
    const c0 = cpuSeconds(child.pid!);
    const d0 = treeCpuSeconds(dcPid);
    const t0 = Date.now();
    const newId = createProbeIdFactory();
    const arrivals = new Map<string, { atMs: number; path: 'peering' | 'transit' }>();
    // As many probes as the agent measured, at uniformly random moments of each period: a
    // poller's delay depends on where in its 5 s round a message lands, so the feed must not be
    // phase-locked to it.
    const perPeriod = 2 * env.users.length;
    const periods = Math.max(1, Math.round(probes / perPeriod));
    for (let k = 0; k < periods; k++) {
      const tk = Date.now();
      const jobs = env.users.flatMap((u) => (['peering', 'transit'] as const).map((path) => ({ u, path, at: tk + Math.random() * p.periodS * 1000 })));
      jobs.sort((x, y) => x.at - y.at);
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < jobs.length) {
            const j = jobs[next++];
            const wait = j.at - Date.now();
            if (wait > 0) await sleep(wait);
            const id = newId();
            arrivals.set(id, { atMs: await deliverProbe(env, j.u, id, j.path), path: j.path });
          }
        }),
      );
    }
    await waitUntil(() => [...arrivals.keys()].every((id) => seen.has(id)), 'baseline saw every probe', 60_000, 100).catch(() => log('  (baseline missed probes within 60 s)'));
    const hours = (Date.now() - t0) / 3_600_000;
    const cpu = cpuSeconds(child.pid!) - c0;
    const dcCpu = treeCpuSeconds(dcPid) - d0;
    const mem = memoryMiB(child.pid!);
    const inbox: number[] = [];
    const junk: number[] = [];
    for (const [id, a] of arrivals) {
      const s = seen.get(id);
      if (s !== undefined) (a.path === 'transit' ? junk : inbox).push(ms(s - a.atMs));
    }
    const logins = rounds.reduce((s, r) => s + r.logins, 0);
    const roundsSpanH = rounds.length ? (Date.now() - rounds[0].startedAtMs) / 3_600_000 : hours;
    return {
      probes: arrivals.size,
      observed: [...arrivals.keys()].filter((id) => seen.has(id)).length,
      roundS: rounds.map((r) => ms(r.durationMs)),
      loginsPerHour: logins / roundsSpanH,
      cpuSPerHour: cpu / hours,
      dovecotCpuSPerHour: dcCpu / hours,
      peakRssMiB: mem.peak,
      inbox: stats(inbox),
      junk: stats(junk),
      all: stats([...inbox, ...junk]),
    };
  } finally {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSize(
  n: number,
  short: boolean,
  log: (s: string) => void = (s) => process.stderr.write(s + '\n'),
  o: { baseline?: boolean } = {},
): Promise<SizeResult> {
  const p = plan(n, short);
  const load = [load1()];
  log(`N=${n}: starting Dovecot with ${n} seed users (load average ${fmt(load[0], 1)})`);
  const env = await startBenchEnv(n);
  try {
    log(`  Dovecot up in ${fmt(env.dovecotStartMs / 1000)} s; agent (watch ${p.idleS} s, then ${p.cycles} cycles every ${p.periodS} s)`);
    const agent = await agentPhases(env, p, load, log);
    log(`  agent: ${agent.probes} probes, cycles ${agent.cycleS.map((c) => fmt(c, 1)).join('/')} s${o.baseline === false ? '' : '; baseline poller next'}`);
    const baseline = o.baseline === false ? null : await baselinePhase(env, p, agent.probes, log);
    load.push(load1());
    return { n, dovecotStartS: env.dovecotStartMs / 1000, load, agent, baseline };
  } finally {
    await env.stop();
  }
}

/** a / b; when b measured 0 clock ticks, a lower bound against one tick (the resolution). */
function ratio(a: number, b: number, floor: number): string {
  return b > 0 ? `${fmt(a / b, 1)}x` : `> ${fmt(a / floor, 0)}x`;
}

const pair = (s: Stats) => `${fmt(s.p50)} / ${fmt(s.p99)}`;

function table(results: SizeResult[]): string {
  const cols = results.map((r) => `N=${r.n}`);
  const b = (f: (x: NonNullable<SizeResult['baseline']>) => string) => (r: SizeResult) => (r.baseline ? f(r.baseline) : 'n/a');
  // Ratios need both sides.
  const withBoth = (f: (r: SizeResult, x: NonNullable<SizeResult['baseline']>) => string) => (r: SizeResult) => (r.baseline ? f(r, r.baseline) : 'n/a');
  const rows: [string, (r: SizeResult) => string][] = [
    ['load average (1 min) during the size, min–max', (r) => `${fmt(Math.min(...r.load), 1)}–${fmt(Math.max(...r.load), 1)}`],
    ['agent start-up: HTTP up, s', (r) => fmt(r.agent.httpUpS)],
    ['agent start-up: every mailbox up (/readyz 200), s', (r) => fmt(r.agent.readyS)],
    ['agent start-up: most sessions opened in one second', (r) => fmt(r.agent.peakSessionsPerSecond, 0)],
    ['agent start-up CPU, s', (r) => fmt(r.agent.startupCpuS)],
    ['IMAP sessions held by the agent', (r) => String(r.agent.sessions)],
    ['cycle: 2 paths x N probes every P s, sends spread over', (r) => `${2 * r.n} every ${r.agent.periodS} s, ${fmt(CYCLE_SPREAD * r.agent.periodS, 1)} s`],
    ['cycle duration, s (each measured cycle)', (r) => r.agent.cycleS.map((c) => fmt(c, 1)).join(' / ')],
    ['overlapping cycles', (r) => String(r.agent.overlaps)],
    ['probes observed / accepted (misplaced)', (r) => `${r.agent.observed} / ${r.agent.probes} (${r.agent.misplaced})`],
    ['**agent detection delay, all probes, p50 / p99, s**', (r) => pair(r.agent.all)],
    ['agent detection delay inbox p50 / p99, s', (r) => pair(r.agent.inbox)],
    ['agent detection delay junk p50 / p99, s', (r) => pair(r.agent.junk)],
    ['agent detection p99 / p50', (r) => `${fmt(r.agent.all.p99 / r.agent.all.p50, 2)}x`],
    ['**agent CPU per 1,000 probes, steady (whole periods: send + watch + idle), s**', (r) => fmt(r.agent.steady.cpuSPer1000)],
    ['agent CPU per 1,000 probes, first hour at this schedule (start-up included), s', (r) => fmt(r.agent.firstHourCpuSPer1000)],
    ['Dovecot CPU per 1,000 probes (steady window), s', (r) => fmt(r.agent.steady.dovecotCpuSPer1000)],
    ['bench relays CPU per 1,000 probes (steady window), s', (r) => fmt(r.agent.steady.relaysCpuSPer1000)],
    ['agent peak RSS, MiB', (r) => fmt(r.agent.peakRssMiB, 0)],
    ['agent CPU while only watching, s per hour (window: s; ≥ 120 holds every IDLE safety check)', (r) => `${fmt(r.agent.idleCpuSPerHour, 2)} (${fmt(r.agent.idleWindowS, 0)})`],
    ['Dovecot CPU while the agent only watches, s per hour', (r) => fmt(r.agent.idleDovecotCpuSPerHour, 2)],
    ['baseline: probes seen / delivered', b((x) => `${x.observed} / ${x.probes}`)],
    ['baseline: round (log in, search every folder), s, p50 (max)', b((x) => `${fmt(percentile(x.roundS, 50))} (${fmt(Math.max(...x.roundS))})`)],
    ['baseline: logins per hour', b((x) => fmt(x.loginsPerHour, 0))],
    ['**baseline detection delay, all probes, p50 / p99, s**', b((x) => pair(x.all))],
    ['baseline detection delay inbox p50 / p99, s', b((x) => pair(x.inbox))],
    ['baseline detection delay junk p50 / p99, s', b((x) => pair(x.junk))],
    ['baseline CPU, s per hour', b((x) => fmt(x.cpuSPerHour, 1))],
    ['Dovecot CPU under the baseline, s per hour', b((x) => fmt(x.dovecotCpuSPerHour, 1))],
    ['baseline peak RSS, MiB', b((x) => fmt(x.peakRssMiB, 0))],
    ['ratio detection p50, all (baseline / agent)', withBoth((r, x) => `${fmt(x.all.p50 / r.agent.all.p50, 1)}x`)],
    ['**ratio detection p99, all (baseline / agent)**', withBoth((r, x) => `${fmt(x.all.p99 / r.agent.all.p99, 1)}x`)],
    ['ratio watcher CPU per hour (baseline / agent watching)', withBoth((r, x) => ratio(x.cpuSPerHour, r.agent.idleCpuSPerHour, r.agent.idleCpuFloorSPerHour))],
    ['ratio Dovecot CPU per hour (baseline / agent watching)', withBoth((r, x) => ratio(x.dovecotCpuSPerHour, r.agent.idleDovecotCpuSPerHour, r.agent.idleCpuFloorSPerHour))],
  ];
  const head = `| | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:').join('|')}|`;
  return [head, ...rows.map(([label, f]) => `| ${label} | ${results.map(f).join(' | ')} |`)].join('\n');
}

/** Issue 18's targets, each with what this run measured (informative: nothing is asserted). */
function targets(results: SizeResult[]): string {
  const at = (n: number) => results.find((r) => r.n === n);
  const mark = (ok: boolean | null) => (ok === null ? 'not measured in this run' : ok ? 'met' : '**not met**');
  const rows: [string, string, boolean | null][] = [];
  const big = at(500);
  rows.push([
    'at 500 seeds, during the cycles: detection p99 ≤ 2 × p50',
    big ? `p99 ${fmt(big.agent.all.p99)} s / p50 ${fmt(big.agent.all.p50)} s = ${fmt(big.agent.all.p99 / big.agent.all.p50, 2)}x` : 'no N=500 in this run',
    big ? big.agent.all.p99 <= 2 * big.agent.all.p50 : null,
  ]);
  rows.push([
    'at 500 seeds: agent detection p99 ≥ 10× better than the baseline poller’s p99 (same run)',
    big?.baseline ? `baseline ${fmt(big.baseline.all.p99)} s / agent ${fmt(big.agent.all.p99)} s = ${fmt(big.baseline.all.p99 / big.agent.all.p99, 1)}x` : 'no N=500 baseline in this run',
    big?.baseline ? big.baseline.all.p99 >= 10 * big.agent.all.p99 : null,
  ]);
  rows.push([
    '≤ 2 s agent CPU per 1,000 probes end to end (steady), every size',
    results.map((r) => `N=${r.n}: ${fmt(r.agent.steady.cpuSPer1000)} s`).join(', '),
    results.every((r) => r.agent.steady.cpuSPer1000 <= 2),
  ]);
  const small = at(10);
  rows.push([
    '≤ 2 s per 1,000 probes over the first hour at 10 seeds, start-up included',
    small ? `${fmt(small.agent.firstHourCpuSPer1000)} s (one cycle every ${small.agent.periodS} s)` : 'no N=10 in this run',
    small ? small.agent.firstHourCpuSPer1000 <= 2 : null,
  ]);
  rows.push(['peak RSS ≤ 120 MiB at 10 seeds', small ? `${fmt(small.agent.peakRssMiB, 0)} MiB` : 'no N=10 in this run', small ? small.agent.peakRssMiB <= 120 : null]);
  rows.push(['peak RSS ≤ 300 MiB at 500 seeds under the 10-minute load run', big ? `${fmt(big.agent.peakRssMiB, 0)} MiB in this run's cycles; the load run: \`node dist/bench/run.js --load\`` : '`node dist/bench/run.js --load`', null]);
  rows.push([
    `every mailbox up within 10 s at 500 seeds (logins paced: ≤ ${LOGINS_IN_FLIGHT_PER_SERVER} set-ups in flight, ≤ ${LOGINS_PER_SECOND_PER_SERVER}/s per server; per seed one after the other, within the preset's budget less one)`,
    big ? `${fmt(big.agent.readyS)} s, ${big.agent.sessions} sessions, at most ${fmt(big.agent.peakSessionsPerSecond, 0)} opened in one second` : 'no N=500 in this run',
    big ? big.agent.readyS <= 10 : null,
  ]);
  return ['| target | measured | |', '|---|---|---|', ...rows.map(([t, m, ok]) => `| ${t} | ${m} | ${mark(ok)} |`)].join('\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  applyDiagnostics();
  // --fleet [--seeds 1000] [--period 30] [--cycles 2]: bench/fleet-bench.ts, 2 agents sharing the seeds on one PostgreSQL vs 1 agent with half.
  if (process.argv.includes('--fleet')) {
    const { runFleetBench, fleetTable } = await import('./fleet-bench.js');
    const r = await runFleetBench({ seeds: Number(argValue('--seeds') ?? 1000), agents: 2, periodS: Number(argValue('--period') ?? 30), cycles: Number(argValue('--cycles') ?? 2) });
    process.stdout.write(`\nseedwatch fleet bench\n\n${fleetTable(r)}\n`);
    if (argValue('--json')) writeFileSync(argValue('--json')!, JSON.stringify(r, null, 2));
    process.exit(0);
  }
  if (process.argv.includes('--load')) {
    const { runLoad, loadTable } = await import('./load.js');
    const minutes = Number(argValue('--minutes') ?? 10);
    const r = await runLoad({ seeds: Number(argValue('--seeds') ?? 500), minutes });
    process.stdout.write(loadTable(r) + '\n');
    if (argValue('--json')) writeFileSync(argValue('--json')!, JSON.stringify(r, null, 2));
  } else {
    const short = process.argv.includes('--short');
    const sizes = (argValue('--sizes') ?? (short ? '10,100' : '10,100,500')).split(',').map(Number);
    const startedAt = new Date();
    const results: SizeResult[] = [];
    for (const n of sizes) {
      results.push(await benchSize(n, short, undefined, { baseline: !process.argv.includes('--no-baseline') }));
      process.stderr.write(`RESULT ${JSON.stringify(results[results.length - 1])}\n`);
    }
    // The fleet phase (2 agents sharing 1,000 seeds on one PostgreSQL vs 1 agent with 500) is
    // part of the full run; --no-fleet leaves it out, --fleet runs it alone.
    const withFleet = !short && !process.argv.includes('--no-fleet');
    let fleet: Awaited<ReturnType<typeof import('./fleet-bench.js').runFleetBench>> | null = null;
    let fleetText = '';
    if (withFleet) {
      const { runFleetBench, fleetTable } = await import('./fleet-bench.js');
      try {
        fleet = await runFleetBench({ seeds: 1000, agents: 2, periodS: 30, cycles: 2 });
        fleetText = `seedwatch fleet bench\n\n${fleetTable(fleet)}\n`;
      } catch (err) {
        fleetText = `seedwatch fleet bench: failed: ${(err as Error).message}\n`;
      }
    }
    const loads = results.flatMap((r) => r.load);
    process.stdout.write(
      [
        '',
        `seedwatch bench (${short ? 'short' : 'full'} run, ${fmt((Date.now() - startedAt.getTime()) / 60_000, 1)} min), ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        `machine: ${machineInfo()}`,
        `other work on it: 1-minute load average ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} at the phase boundaries${DIAGNOSTICS ? '; DIAGNOSTICS ON (profiler/snapshots/loop-lag): not figures to publish' : ''}`,
        '',
        targets(results),
        '',
        table(results),
        '',
        ...(withFleet ? [fleetText] : []),
      ].join('\n'),
    );
    if (argValue('--json')) writeFileSync(argValue('--json')!, JSON.stringify({ startedAt, machine: machineInfo(), results, fleet }, null, 2));
  }
  process.exit(0);
}
