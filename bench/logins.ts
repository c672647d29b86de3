/**
 * How fast the bench's Dovecot accepts IMAP sessions, and what each one costs: N seeds, S
 * sessions per seed (imapflow connect = greeting, CAPABILITY, ID, LOGIN, ENABLE, NAMESPACE),
 * at several concurrencies, in this process. Prints, per concurrency: wall time until every
 * session is logged in, sessions per second, connect latency p50/p99, CPU of this process and
 * of Dovecot's process tree per session. It is what the agent's login pacing
 * (agent/watch/login-gate.ts) is chosen from: past the concurrency where the rate stops
 * growing, more in flight only queues in the server.
 *
 *   node dist/bench/logins.js [--seeds 500] [--sessions 2.5] [--concurrency 8,16,32,64,128]
 */
import { ImapFlow } from 'imapflow';
import { pathToFileURL } from 'node:url';
import { BENCH_PASSWORD, dovecotMasterPid, fmt, load1, machineInfo, percentile, sleep, startBenchEnv, treeCpuSeconds } from './harness.js';

export interface LoginRun {
  concurrency: number;
  sessions: number;
  wallS: number;
  perSecond: number;
  connectMs: { p50: number; p99: number };
  clientCpuMsPerSession: number;
  dovecotCpuMsPerSession: number;
  failed: number;
}

function cpuNowS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function run(port: number, users: string[], perSeed: number, concurrency: number, dcPid: number): Promise<LoginRun> {
  // Seed i gets floor or ceil of perSeed sessions, so 2.5 means half with 2, half with 3 (the
  // bench's mix of Gmail-like and Outlook-like seeds).
  const jobs: string[] = [];
  users.forEach((u, i) => {
    const n = Math.floor(perSeed) + (i % 2 === 0 && perSeed % 1 > 0 ? 1 : 0);
    for (let k = 0; k < n; k++) jobs.push(u);
  });
  const clients: ImapFlow[] = [];
  const latencies: number[] = [];
  let failed = 0;
  const c0 = cpuNowS();
  const d0 = treeCpuSeconds(dcPid);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const user = jobs[next++];
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: BENCH_PASSWORD }, logger: false, clientInfo: { name: 'seedwatch' } });
      client.on('error', () => undefined);
      const s = performance.now();
      try {
        await client.connect();
        latencies.push(performance.now() - s);
        clients.push(client);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallS = (performance.now() - t0) / 1000;
  const clientCpu = cpuNowS() - c0;
  const dovecotCpu = treeCpuSeconds(dcPid) - d0;
  await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
  await sleep(2_000); // let Dovecot reap the imap processes before the next run
  return {
    concurrency,
    sessions: latencies.length,
    wallS,
    perSecond: latencies.length / wallS,
    connectMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
    clientCpuMsPerSession: (clientCpu * 1000) / Math.max(1, latencies.length),
    dovecotCpuMsPerSession: (dovecotCpu * 1000) / Math.max(1, latencies.length),
    failed,
  };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seeds = Number(argValue('--seeds') ?? 500);
  const perSeed = Number(argValue('--sessions') ?? 2.5);
  const levels = (argValue('--concurrency') ?? '8,16,32,64,128').split(',').map(Number);
  const loadStart = load1();
  const env = await startBenchEnv(seeds);
  const results: LoginRun[] = [];
  try {
    const dcPid = dovecotMasterPid(env.dc);
    for (const c of levels) {
      const r = await run(env.dc.imapPort, env.users.map((u) => u.user), perSeed, c, dcPid);
      process.stderr.write(`concurrency ${c}: ${r.sessions} sessions in ${fmt(r.wallS)} s\n`);
      results.push(r);
    }
  } finally {
    await env.stop();
  }
  process.stdout.write(
    [
      '',
      `IMAP logins against the bench's Dovecot: ${seeds} seeds, ${perSeed} sessions per seed, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      `machine: ${machineInfo()}; 1-minute load average ${fmt(loadStart, 1)} → ${fmt(load1(), 1)}`,
      '',
      '| in flight | sessions | wall, s | sessions/s | connect p50 / p99, ms | client CPU per session, ms | Dovecot CPU per session, ms | failed |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.concurrency} | ${r.sessions} | ${fmt(r.wallS)} | ${fmt(r.perSecond, 0)} | ${fmt(r.connectMs.p50, 0)} / ${fmt(r.connectMs.p99, 0)} | ${fmt(r.clientCpuMsPerSession, 1)} | ${fmt(r.dovecotCpuMsPerSession, 1)} | ${r.failed} |`,
      ),
      '',
    ].join('\n'),
  );
  process.exit(0);
}
