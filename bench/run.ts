/**
 * `npm run bench`: the agent against a real Dovecot with N seed users (N = 10, 100, 500) and
 * two loopback relays forwarding into Dovecot's LMTP, and in the same run the baseline — a
 * plain poller that logs in to every seed every 5 s and searches every folder — against the
 * same Dovecot. Prints the figures and the ratios; asserts nothing.
 *
 *   node dist/bench/run.js [--sizes 10,100,500] [--short] [--json FILE] [--load [--minutes 10]]
 *
 * The agent runs as a child process (`node bin/seedwatch.js run`, exactly what users run) so
 * that /proc gives its own CPU time and peak RSS, untouched by the relays, Dovecot or this
 * harness. Per size:
 *   A. watch only (a schedule that never fires): start-up (HTTP up; every mailbox up =
 *      /readyz 200), start-up CPU, IMAP sessions held, CPU of watching while idle;
 *   B. a fast schedule: K cycles of 2 paths x N seeds; CPU per 1,000 probes, probes per
 *      second within cycles, detection delay (LMTP hand-over done → first copy recorded in the
 *      ledger) for inbox and junk, peak RSS, time to the first probe;
 *   C. the baseline poller (own process) fed the same number of probes over LMTP.
 * `--load` runs bench/load.ts instead (500 seeds, a cycle every minute, 10 minutes).
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
import { createProbeIdFactory } from '../agent/probe-id.js';

export interface SizeResult {
  n: number;
  dovecotStartS: number;
  agent: {
    httpUpS: number;
    readyS: number;
    firstProbeS: number;
    startupCpuS: number;
    sessions: number;
    idleCpuSPerHour: number;
    idleDovecotCpuSPerHour: number;
    /** One clock tick (10 ms) over the idle window, per hour: the resolution of the two above. */
    idleCpuFloorSPerHour: number;
    cycles: number;
    cycleS: number[];
    probes: number;
    observed: number;
    misplaced: number;
    probesPerSecond: number;
    cpuSPer1000: number;
    peakRssMiB: number;
    inbox: { p50: number; p99: number; n: number };
    junk: { p50: number; p99: number; n: number };
  };
  baseline: {
    probes: number;
    observed: number;
    roundS: number[];
    loginsPerHour: number;
    cpuSPerHour: number;
    dovecotCpuSPerHour: number;
    peakRssMiB: number;
    inbox: { p50: number; p99: number; n: number };
    junk: { p50: number; p99: number; n: number };
  };
}

interface Plan {
  /** Seconds between cycles (cron seconds field); larger than a cycle plus its detection. */
  periodS: number;
  cycles: number;
  idleS: number;
}

function plan(n: number, short: boolean): Plan {
  const periodS = n <= 10 ? 5 : n <= 100 ? 10 : 20;
  return { periodS, cycles: short ? 2 : 3, idleS: short ? 5 : 15 };
}

const ms = (x: number) => x / 1000;
const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), n: xs.length });

async function agentPhases(env: BenchEnv, p: Plan, log: (s: string) => void): Promise<SizeResult['agent']> {
  const dcPid = dovecotMasterPid(env.dc);
  // A: watch only.
  const a = await spawnAgent(env, { schedule: '0 0 1 1 *' });
  let httpUpS: number;
  let readyS: number;
  let startupCpuS: number;
  let sessions: number;
  let idleCpuSPerHour: number;
  let idleDovecotCpuSPerHour: number;
  let idleCpuFloorSPerHour: number;
  try {
    await waitUntil(async () => (await httpStatus(`${a.url}/healthz`)) === 200, 'agent HTTP up', 60_000, 10);
    httpUpS = ms(Date.now() - a.spawnedAtMs);
    await waitUntil(async () => (await httpStatus(`${a.url}/readyz`)) === 200, 'every mailbox up (/readyz 200)', 300_000, 20);
    readyS = ms(Date.now() - a.spawnedAtMs);
    startupCpuS = cpuSeconds(a.pid);
    log(`  agent up: HTTP ${fmt(httpUpS)} s, all ${env.users.length} mailboxes ${fmt(readyS)} s`);
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

  // B: cycles.
  const b = await spawnAgent(env, { schedule: `*/${p.periodS} * * * * *` });
  try {
    await waitUntil(async () => (await httpStatus(`${b.url}/healthz`)) === 200, 'agent HTTP up', 60_000, 10);
    const httpUpB = Date.now() - b.spawnedAtMs;
    await waitUntil(async () => (await httpStatus(`${b.url}/readyz`)) === 200, 'every mailbox up', 300_000, 20);
    const c0 = cpuSeconds(b.pid);
    const doneCycles = () => readLedger(b.ledgerFile).cycles.filter((c) => !c.overlapped && c.finishedAtMs !== null);
    await waitUntil(() => doneCycles().length >= p.cycles, `${p.cycles} cycles`, (p.cycles + 2) * p.periodS * 1000 + 120_000, 200);
    // Every accepted probe seen (or 60 s passed: then the unseen ones show as not observed).
    const allSeen = () => {
      const l = readLedger(b.ledgerFile);
      const acc = l.probes.filter((x) => x.status === 'accepted');
      return acc.every((x) => l.firstSeen.has(x.id));
    };
    await waitUntil(allSeen, 'every accepted probe observed', 60_000, 100).catch(() => log('  (not every probe was observed within 60 s)'));
    const cpu = cpuSeconds(b.pid) - c0;
    const mem = memoryMiB(b.pid);
    const l = readLedger(b.ledgerFile);
    const cycles = l.cycles.filter((c) => !c.overlapped && c.finishedAtMs !== null);
    const accepted = l.probes.filter((x) => x.status === 'accepted');
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
    const sendS = cycles.reduce((s, c) => s + ms(c.finishedAtMs! - c.startedAtMs), 0);
    const sentInCycles = cycles.reduce((s, c) => s + (c.probes ?? 0), 0);
    const firstCycle = l.cycles[0];
    const firstAccepted = Math.min(...accepted.map((x) => x.acceptedAtMs ?? Infinity));
    return {
      httpUpS,
      readyS,
      // What start-up to the first probe takes when the first tick is due at once: the
      // process until it serves (the scheduler starts right after) + tick to first accept.
      firstProbeS: ms(httpUpB + (firstAccepted - firstCycle.startedAtMs)),
      startupCpuS,
      sessions,
      idleCpuSPerHour,
      idleDovecotCpuSPerHour,
      idleCpuFloorSPerHour,
      cycles: cycles.length,
      cycleS: cycles.map((c) => ms(c.finishedAtMs! - c.startedAtMs)),
      probes: accepted.length,
      observed: accepted.filter((x) => l.firstSeen.has(x.id)).length,
      misplaced,
      probesPerSecond: sentInCycles / sendS,
      cpuSPer1000: (cpu / accepted.length) * 1000,
      peakRssMiB: mem.peak,
      inbox: stats(inbox),
      junk: stats(junk),
    };
  } catch (err) {
    log(b.output().slice(-4000));
    throw err;
  } finally {
    await b.stop();
    b.cleanup();
  }
}

async function baselinePhase(env: BenchEnv, p: Plan, log: (s: string) => void): Promise<SizeResult['baseline']> {
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
    // Deliveries at uniformly random moments of each period: a poller's delay depends on
    // where in its 5 s round a message lands, so the feed must not be phase-locked to it.
    for (let k = 0; k < p.cycles; k++) {
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
    };
  } finally {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSize(n: number, short: boolean, log: (s: string) => void = (s) => process.stderr.write(s + '\n')): Promise<SizeResult> {
  const p = plan(n, short);
  log(`N=${n}: starting Dovecot with ${n} seed users`);
  const env = await startBenchEnv(n);
  try {
    log(`  Dovecot up in ${fmt(env.dovecotStartMs / 1000)} s; agent (watch ${p.idleS} s, then ${p.cycles} cycles every ${p.periodS} s)`);
    const agent = await agentPhases(env, p, log);
    log(`  agent: ${agent.probes} probes, cycles ${agent.cycleS.map((c) => fmt(c, 1)).join('/')} s; baseline poller next`);
    const baseline = await baselinePhase(env, p, log);
    return { n, dovecotStartS: env.dovecotStartMs / 1000, agent, baseline };
  } finally {
    await env.stop();
  }
}

/** a / b; when b measured 0 clock ticks, a lower bound against one tick (the resolution). */
function ratio(a: number, b: number, floor: number): string {
  return b > 0 ? `${fmt(a / b, 1)}x` : `> ${fmt(a / floor, 0)}x`;
}

function table(results: SizeResult[]): string {
  const cols = results.map((r) => `N=${r.n}`);
  const rows: [string, (r: SizeResult) => string][] = [
    ['agent start-up: HTTP up, s', (r) => fmt(r.agent.httpUpS)],
    ['agent start-up: first probe accepted, s', (r) => fmt(r.agent.firstProbeS)],
    ['agent start-up: every mailbox up (/readyz 200), s', (r) => fmt(r.agent.readyS)],
    ['agent start-up CPU, s', (r) => fmt(r.agent.startupCpuS)],
    ['IMAP sessions held by the agent', (r) => String(r.agent.sessions)],
    ['probes per cycle (2 paths x N)', (r) => String(2 * r.n)],
    ['cycle duration, s (each)', (r) => r.agent.cycleS.map((c) => fmt(c, 2)).join(' / ')],
    ['probes per second (within cycles)', (r) => fmt(r.agent.probesPerSecond, 0)],
    ['agent CPU per 1,000 probes (send + watch), s', (r) => fmt(r.agent.cpuSPer1000)],
    ['agent peak RSS, MiB', (r) => fmt(r.agent.peakRssMiB, 0)],
    ['probes observed / accepted (misplaced)', (r) => `${r.agent.observed} / ${r.agent.probes} (${r.agent.misplaced})`],
    ['agent detection delay inbox p50 / p99, s', (r) => `${fmt(r.agent.inbox.p50)} / ${fmt(r.agent.inbox.p99)}`],
    ['agent detection delay junk p50 / p99, s', (r) => `${fmt(r.agent.junk.p50)} / ${fmt(r.agent.junk.p99)}`],
    ['agent CPU while only watching, s per hour', (r) => fmt(r.agent.idleCpuSPerHour, 2)],
    ['Dovecot CPU while the agent only watches, s per hour', (r) => fmt(r.agent.idleDovecotCpuSPerHour, 2)],
    ['baseline: probes seen / delivered', (r) => `${r.baseline.observed} / ${r.baseline.probes}`],
    ['baseline: round (log in, search every folder), s', (r) => `${fmt(percentile(r.baseline.roundS, 50))} (max ${fmt(Math.max(...r.baseline.roundS))})`],
    ['baseline: logins per hour', (r) => fmt(r.baseline.loginsPerHour, 0)],
    ['baseline detection delay inbox p50 / p99, s', (r) => `${fmt(r.baseline.inbox.p50)} / ${fmt(r.baseline.inbox.p99)}`],
    ['baseline detection delay junk p50 / p99, s', (r) => `${fmt(r.baseline.junk.p50)} / ${fmt(r.baseline.junk.p99)}`],
    ['baseline CPU, s per hour', (r) => fmt(r.baseline.cpuSPerHour, 1)],
    ['Dovecot CPU under the baseline, s per hour', (r) => fmt(r.baseline.dovecotCpuSPerHour, 1)],
    ['baseline peak RSS, MiB', (r) => fmt(r.baseline.peakRssMiB, 0)],
    ['ratio detection p50 inbox (baseline / agent)', (r) => fmt(r.baseline.inbox.p50 / r.agent.inbox.p50, 1) + 'x'],
    ['ratio detection p50 junk (baseline / agent)', (r) => fmt(r.baseline.junk.p50 / r.agent.junk.p50, 1) + 'x'],
    ['ratio detection p99 junk (baseline / agent)', (r) => fmt(r.baseline.junk.p99 / r.agent.junk.p99, 1) + 'x'],
    ['ratio watcher CPU per hour (baseline / agent watching)', (r) => ratio(r.baseline.cpuSPerHour, r.agent.idleCpuSPerHour, r.agent.idleCpuFloorSPerHour)],
    ['ratio Dovecot CPU per hour (baseline / agent watching)', (r) => ratio(r.baseline.dovecotCpuSPerHour, r.agent.idleDovecotCpuSPerHour, r.agent.idleCpuFloorSPerHour)],
  ];
  const head = `| | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:').join('|')}|`;
  return [head, ...rows.map(([label, f]) => `| ${label} | ${results.map(f).join(' | ')} |`)].join('\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--load')) {
    const { runLoad, loadTable } = await import('./load.js');
    const minutes = Number(argValue('--minutes') ?? 10);
    const r = await runLoad({ seeds: Number(argValue('--seeds') ?? 500), minutes });
    process.stdout.write(loadTable(r) + '\n');
    if (argValue('--json')) writeFileSync(argValue('--json')!, JSON.stringify(r, null, 2));
  } else {
    const short = process.argv.includes('--short');
    const sizes = (argValue('--sizes') ?? (short ? '10,100' : '10,100,500')).split(',').map(Number);
    const t0 = Date.now();
    const results: SizeResult[] = [];
    for (const n of sizes) {
      results.push(await benchSize(n, short));
      process.stderr.write(`RESULT ${JSON.stringify(results[results.length - 1])}\n`);
    }
    process.stdout.write(`\nseedwatch bench (${short ? 'short' : 'full'} run, ${fmt((Date.now() - t0) / 60_000, 1)} min)\n\n${table(results)}\n`);
    if (argValue('--json')) writeFileSync(argValue('--json')!, JSON.stringify(results, null, 2));
  }
  process.exit(0);
}
