/**
 * Load: the agent holds the sessions of 500 seeds and runs a 2-path cycle every minute for
 * 10 minutes on this machine, without falling behind (no overlapping cycles). Part of the
 * bench, not of `npm test` (far too long for CI).
 *
 *   node dist/bench/load.js [--seeds 500] [--minutes 10] [--json FILE]
 *   (also: node dist/bench/run.js --load ...)
 *
 * Samples the agent's RSS and CPU every 5 s and its /metrics; at the end reads the cycles and
 * probes from its ledger. Prints the figures; asserts nothing.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  cpuSeconds,
  fmt,
  httpStatus,
  load1,
  machineInfo,
  memoryMiB,
  metricSum,
  percentile,
  readLedger,
  sleep,
  spawnAgent,
  startBenchEnv,
  tcpSessionsTo,
  waitUntil,
} from './harness.js';
import { CYCLE_SPREAD } from '../agent/schedule/scheduler.js';

export interface LoadResult {
  seeds: number;
  minutes: number;
  startupS: number;
  cycles: number;
  cycleS: number[];
  overlapsMetric: number;
  overlapsLedger: number;
  probesAccepted: number;
  probesFailed: number;
  probesObserved: number;
  probesMissing: number;
  detection: { p50: number; p99: number; max: number; n: number };
  cpuS: number;
  cpuPercent: number;
  cpuSPer1000: number;
  rssMiB: { min: number; max: number; last: number; peak: number };
  /** 1-minute load average at the start and end: other work on the machine. */
  load: { start: number; end: number };
  sessions: { start: number; end: number };
  mailboxesUp: { start: number; end: number };
  reconnects: number;
}

export async function runLoad(o: { seeds: number; minutes: number; log?: (s: string) => void }): Promise<LoadResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  log(`load: Dovecot with ${o.seeds} seeds`);
  const loadStart = load1();
  const env = await startBenchEnv(o.seeds);
  // A cycle at second 0 of every minute (node-cron, 5 fields).
  const agent = await spawnAgent(env, { schedule: '* * * * *', deadline: '5m' });
  try {
    await waitUntil(async () => (await httpStatus(`${agent.url}/readyz`)) === 200, 'every mailbox up', 300_000, 50);
    const startupS = (Date.now() - agent.spawnedAtMs) / 1000;
    await sleep(1_000);
    const sessionsStart = tcpSessionsTo(agent.pid, env.dc.imapPort);
    const metrics0 = await (await fetch(`${agent.url}/metrics`)).text();
    const upStart = metricSum(metrics0, 'seedwatch_mailbox_up');
    log(`load: agent ready in ${fmt(startupS)} s, ${sessionsStart} IMAP sessions; running ${o.minutes} min`);
    const c0 = cpuSeconds(agent.pid);
    const t0 = Date.now();
    const windowStart = t0;
    const rss: number[] = [];
    const endAt = t0 + o.minutes * 60_000;
    let lastLog = 0;
    while (Date.now() < endAt) {
      rss.push(memoryMiB(agent.pid).rss);
      if (Date.now() - lastLog >= 60_000) {
        lastLog = Date.now();
        const m = await (await fetch(`${agent.url}/metrics`)).text();
        log(`load: +${fmt((Date.now() - t0) / 60_000, 1)} min: cycles ${metricSum(m, 'seedwatch_cycles_total')}, overlaps ${metricSum(m, 'seedwatch_cycle_overlaps_total')}, sent ${metricSum(m, 'seedwatch_probes_sent_total')}, RSS ${fmt(rss[rss.length - 1], 0)} MiB, CPU ${fmt(cpuSeconds(agent.pid) - c0, 1)} s`);
      }
      await sleep(5_000);
    }
    const windowEnd = Date.now();
    // Let the cycle of the last minute finish and its probes be seen before reading figures.
    const settle = () => {
      const l = readLedger(agent.ledgerFile);
      const running = l.cycles.some((c) => !c.overlapped && c.finishedAtMs === null);
      const acc = l.probes.filter((p) => p.status === 'accepted');
      return !running && acc.every((p) => l.firstSeen.has(p.id) || p.outcome !== null);
    };
    await waitUntil(settle, 'last cycle finished and seen', 120_000, 200).catch(() => log('load: (last cycle not settled within 120 s)'));
    const cpuS = cpuSeconds(agent.pid) - c0;
    const elapsedS = (Date.now() - t0) / 1000;
    const mem = memoryMiB(agent.pid);
    const sessionsEnd = tcpSessionsTo(agent.pid, env.dc.imapPort);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    const l = readLedger(agent.ledgerFile);
    const cycles = l.cycles.filter((c) => !c.overlapped && c.finishedAtMs !== null && c.startedAtMs >= windowStart - 1000 && c.startedAtMs <= windowEnd);
    const accepted = l.probes.filter((p) => p.status === 'accepted');
    const delays: number[] = [];
    for (const p of accepted) {
      const seen = l.firstSeen.get(p.id);
      const arr = env.arrivals.get(p.id);
      if (seen && arr) delays.push((seen.observedAtMs - arr.atMs) / 1000);
    }
    return {
      seeds: o.seeds,
      minutes: (windowEnd - windowStart) / 60_000,
      startupS,
      cycles: cycles.length,
      cycleS: cycles.map((c) => (c.finishedAtMs! - c.startedAtMs) / 1000),
      overlapsMetric: metricSum(metrics, 'seedwatch_cycle_overlaps_total'),
      overlapsLedger: l.cycles.filter((c) => c.overlapped).length,
      probesAccepted: accepted.length,
      probesFailed: l.probes.filter((p) => p.status !== 'accepted').length,
      probesObserved: accepted.filter((p) => l.firstSeen.has(p.id)).length,
      probesMissing: accepted.filter((p) => p.outcome === 'missing').length,
      detection: { p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays), n: delays.length },
      cpuS,
      cpuPercent: (cpuS / elapsedS) * 100,
      cpuSPer1000: (cpuS / Math.max(1, accepted.length)) * 1000,
      rssMiB: { min: Math.min(...rss), max: Math.max(...rss), last: mem.rss, peak: mem.peak },
      sessions: { start: sessionsStart, end: sessionsEnd },
      mailboxesUp: { start: upStart, end: metricSum(metrics, 'seedwatch_mailbox_up') },
      reconnects: metricSum(metrics, 'seedwatch_mailbox_errors_total'),
      load: { start: loadStart, end: load1() },
    };
  } catch (err) {
    log(agent.output().slice(-4000));
    throw err;
  } finally {
    await agent.stop();
    agent.cleanup();
    await env.stop();
  }
}

export function loadTable(r: LoadResult): string {
  const rows: [string, string][] = [
    ['seeds x paths', `${r.seeds} x 2 (cycle every minute)`],
    ['duration measured, min', fmt(r.minutes, 1)],
    ['start-up until every mailbox is up, s', fmt(r.startupS)],
    ['IMAP sessions held (start / end)', `${r.sessions.start} / ${r.sessions.end}`],
    ['seedwatch_mailbox_up sum (start / end)', `${r.mailboxesUp.start} / ${r.mailboxesUp.end}`],
    ['mailbox errors (reconnects)', String(r.reconnects)],
    ['cycles completed', String(r.cycles)],
    ['cycle duration p50 / max, s (sends spread over ' + fmt(CYCLE_SPREAD * 60, 0) + ' s of each minute)', `${fmt(percentile(r.cycleS, 50))} / ${fmt(Math.max(...r.cycleS))}`],
    ['seedwatch_cycle_overlaps_total (metric / ledger)', `${r.overlapsMetric} / ${r.overlapsLedger}`],
    ['probes accepted / not accepted', `${r.probesAccepted} / ${r.probesFailed}`],
    ['probes observed / missing', `${r.probesObserved} / ${r.probesMissing}`],
    ['detection delay p50 / p99 / max, s', `${fmt(r.detection.p50)} / ${fmt(r.detection.p99)} / ${fmt(r.detection.max)}`],
    ['agent CPU, s (share of one core)', `${fmt(r.cpuS, 1)} (${fmt(r.cpuPercent, 1)} %)`],
    ['agent CPU per 1,000 probes, s', fmt(r.cpuSPer1000)],
    ['agent RSS min / max / peak (VmHWM), MiB', `${fmt(r.rssMiB.min, 0)} / ${fmt(r.rssMiB.max, 0)} / ${fmt(r.rssMiB.peak, 0)}`],
  ];
  rows.push(['1-minute load average of the machine (start / end)', `${fmt(r.load.start, 1)} / ${fmt(r.load.end, 1)}`]);
  return [`machine: ${machineInfo()}`, '', '| load | |', '|---|---:|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (n: string) => {
    const i = process.argv.indexOf(n);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const r = await runLoad({ seeds: Number(arg('--seeds') ?? 500), minutes: Number(arg('--minutes') ?? 10) });
  process.stdout.write(loadTable(r) + '\n');
  if (arg('--json')) writeFileSync(arg('--json')!, JSON.stringify(r, null, 2));
  process.exit(0);
}
