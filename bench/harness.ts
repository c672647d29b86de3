/**
 * Shared pieces of the benchmarks (run.ts, load.ts): a Dovecot with N seed users whose Sieve
 * files probes of the transit path into the junk folder, two loopback relays that forward
 * into Dovecot's LMTP and note when each probe landed (ground truth for detection delay),
 * the agent as a child process (`node bin/seedwatch.js run`, so /proc gives its own CPU and
 * RSS), and /proc readers. Loopback only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteLedger } from '../agent/ledger/sqlite-ledger.js';
import { startDovecot, type DovecotServer, type DovecotUser } from '../test/helpers/dovecot.js';
import { lmtpDeliver } from '../test/helpers/lmtp.js';
import { freePort } from '../test/helpers/ports.js';
import { startRelay, type SmtpRelay } from '../test/helpers/smtp-relay.js';

/** Repository root, from dist/bench/ or bench/ alike. */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      if (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name === 'seedwatch') return d;
    } catch {
      /* keep walking up */
    }
    d = dirname(d);
  }
  throw new Error('bench: cannot find the repository root');
})();
export const BIN = join(ROOT, 'bin/seedwatch.js');

/** Linux clock ticks per second (getconf CLK_TCK; 100 on every Debian kernel). */
const CLK_TCK = 100;
/** One password for every bench seed (passed in the environment, never in the file). */
export const BENCH_PASSWORD = 'bench-seed-password';
export const PASSWORD_ENV = 'SEEDWATCH_BENCH_PW';
/** The header the transit path adds; the seeds' Sieve files it into the junk folder. */
export const PATH_HEADER = 'X-Bench-Path';

const junkSieve = (folder: string) => `require ["fileinto", "special-use"];
if header :is "${PATH_HEADER}" "transit" {
  fileinto :specialuse "\\\\Junk" "${folder}";
  stop;
}
`;

/** n seed users, half Gmail-like (INBOX, [Gmail]/Spam, All Mail), half generic IMAP (INBOX, Junk Email). */
export function benchUsers(n: number): DovecotUser[] {
  return Array.from({ length: n }, (_, i) => {
    const gmail = i % 2 === 0;
    const user = `${gmail ? 'g' : 'o'}seed${String(i).padStart(4, '0')}@bench.test`;
    return { user, password: BENCH_PASSWORD, kind: gmail ? 'gmail' : 'outlook', sieve: junkSieve(gmail ? '[Gmail]/Spam' : 'Junk Email') };
  });
}

export interface Arrival {
  /** LMTP delivery into Dovecot done (the message is in the folder). */
  atMs: number;
  path: string;
}

export interface BenchEnv {
  dc: DovecotServer;
  users: DovecotUser[];
  peering: SmtpRelay;
  transit: SmtpRelay;
  /** probe id → when the relay's LMTP hand-over into Dovecot finished */
  arrivals: Map<string, Arrival>;
  dovecotStartMs: number;
  stop(): Promise<void>;
}

/**
 * Dovecot's IDLE is inotify-driven; every imap process (all uid `mail`) takes one inotify
 * instance, and the kernel default allows 128 per uid. Beyond that Dovecot logs "Inotify
 * instance limit for user 8 (UID mail) exceeded" and those sessions fall back to checking
 * every mailbox_idle_check_interval (30 s): a server-side artefact that would dominate the
 * detection figures. Raise the limit when we may (root), else say so.
 */
export function ensureInotifyInstances(sessions: number, log: (s: string) => void = (s) => process.stderr.write(s + '\n')): void {
  const file = '/proc/sys/fs/inotify/max_user_instances';
  const need = Math.max(1024, 2 * sessions + 256);
  try {
    const cur = Number(readFileSync(file, 'utf8').trim());
    if (cur >= need) return;
    try {
      writeFileSync(file, String(need));
      log(`bench: raised fs.inotify.max_user_instances ${cur} → ${need} (Dovecot IDLE needs one per session)`);
    } catch {
      log(`bench: WARNING fs.inotify.max_user_instances is ${cur} (< ${need}): Dovecot IDLE falls back to 30 s polling beyond it; detection figures will show it`);
    }
  } catch {
    /* not Linux */
  }
}

export async function startBenchEnv(n: number): Promise<BenchEnv> {
  ensureInotifyInstances(3 * n);
  const users = benchUsers(n);
  const t0 = performance.now();
  const dc = await startDovecot({ users });
  // The harness raises default_process_limit, but the imap service keeps its own built-in
  // process_limit of 1024 (one process per session): 500 seeds need up to 1,250 sessions.
  // process_min_avail keeps imap processes forked ahead of the logins: without it Dovecot's
  // master forks one per login as it comes, and this server accepted 34–36 sessions a second
  // whatever the client's concurrency (8 to 128 in flight); with 64 ready, 64 a second at 32
  // in flight (`node dist/bench/logins.js`, docs/benchmark.md "Start-up").
  appendFileSync(
    join(dc.dir, 'dovecot.conf'),
    `\n# bench: one imap process per session, up to 3 sessions per seed; some forked ahead\nservice imap {\n  process_limit = ${Math.max(1024, 4 * n)}\n  process_min_avail = ${n >= 100 ? 64 : 0}\n}\n`,
  );
  execFileSync('doveadm', ['-c', join(dc.dir, 'dovecot.conf'), 'reload']);
  const dovecotStartMs = performance.now() - t0;
  const arrivals = new Map<string, Arrival>();
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  // The relays forward themselves (instead of forwardLmtp) to timestamp the moment the
  // message is in the mailbox: that is t3 for the detection delay, at millisecond precision
  // (INTERNALDATE only has seconds).
  const relay = (name: string) =>
    startRelay({
      name,
      script: async (_session, mail) => {
        await lmtpDeliver(lmtp, { from: mail.from, to: mail.to }, mail.raw);
        const id = mail.headers['x-seedwatch-probe']?.[0];
        if (id) arrivals.set(id, { atMs: Date.now(), path: name });
        return { code: 250 };
      },
    });
  const [peering, transit] = await Promise.all([relay('peering'), relay('transit')]);
  return {
    dc,
    users,
    peering,
    transit,
    arrivals,
    dovecotStartMs,
    async stop() {
      await Promise.allSettled([peering.stop(), transit.stop()]);
      await dc.stop();
    },
  };
}

export interface AgentConfigOptions {
  port: number;
  schedule: string;
  concurrency?: number;
  /** Pooled SMTP connections per path. */
  maxConnections?: number;
  pollInterval?: string;
  deadline?: string;
}

export function agentConfigYaml(env: BenchEnv, o: AgentConfigOptions): string {
  const seeds = env.users
    .map((u, i) => {
      const provider = u.kind === 'gmail' ? 'gmail' : 'generic';
      return `  - name: seed-${i}
    address: ${u.user}
    provider: ${provider}
    imap: { host: 127.0.0.1, port: ${env.dc.imapPort}, secure: false, user: ${u.user}, password: { env: ${PASSWORD_ENV} } }`;
    })
    .join('\n');
  const path = (name: string, relay: SmtpRelay) => `  - name: ${name}
    smtp: { host: 127.0.0.1, port: ${relay.port}, maxConnections: ${o.maxConnections ?? 4} }
    headers: { ${PATH_HEADER}: ${name} }`;
  return `listen: 127.0.0.1:${o.port}
dataDir: ./data
schedule: "${o.schedule}"
deadline: ${o.deadline ?? '5m'}
concurrency: ${o.concurrency ?? 8}
probe:
  from: "Deliverability Probe <probe@mail.bench.test>"
watch: { pollInterval: ${o.pollInterval ?? '30s'}, cleanup: trash }
paths:
${path('peering', env.peering)}
${path('transit', env.transit)}
seeds:
${seeds}
`;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  dir: string;
  port: number;
  url: string;
  spawnedAtMs: number;
  output(): string;
  exited: Promise<number | null>;
  ledgerFile: string;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<number | null>;
  cleanup(): void;
}

export interface SpawnOptions {
  /**
   * Extra flags for the agent's node process (`--cpu-prof --cpu-prof-dir=D`, `--heap-prof`...):
   * profiles are written when the agent exits after SIGTERM. Default: BENCH_AGENT_NODE_FLAGS
   * (space-separated), so run.ts and load.ts pass them without threading options through.
   */
  nodeFlags?: string[];
}

/** Node flags for the agent from the environment (set by `run.js --profile DIR` / `--agent-node-flags`). */
export const AGENT_NODE_FLAGS_ENV = 'BENCH_AGENT_NODE_FLAGS';

/** The agent as users run it: `node bin/seedwatch.js run --config F` in its own temp dir. */
export async function spawnAgent(env: BenchEnv, o: Omit<AgentConfigOptions, 'port'>, so: SpawnOptions = {}): Promise<AgentProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-bench-agent-'));
  const port = await freePort();
  const file = join(dir, 'seedwatch.yaml');
  writeFileSync(file, agentConfigYaml(env, { ...o, port }));
  const spawnedAtMs = Date.now();
  const nodeFlags = so.nodeFlags ?? (process.env[AGENT_NODE_FLAGS_ENV] ?? '').split(' ').filter((f) => f.length > 0);
  const child = spawn(process.execPath, [...nodeFlags, BIN, 'run', '--config', file], {
    cwd: ROOT,
    // The default log level (info), as users run it, unless BENCH_AGENT_LOG_LEVEL says otherwise.
    env: { ...process.env, [PASSWORD_ENV]: BENCH_PASSWORD, SEEDWATCH_LOG_LEVEL: process.env.BENCH_AGENT_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 256 * 1024) out = out.slice(-128 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    child,
    pid: child.pid!,
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    spawnedAtMs,
    output: () => out,
    exited,
    ledgerFile: join(dir, 'data', 'ledger.sqlite'),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      process.off('exit', onExit);
      return code;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: string, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export async function httpStatus(url: string): Promise<number | null> {
  try {
    const r = await fetch(url);
    await r.arrayBuffer();
    return r.status;
  } catch {
    return null;
  }
}

/** utime+stime (+ children reaped) of one process, in seconds. */
export function cpuSeconds(pid: number, withChildren = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime = field 14 → f[11], stime f[12], cutime f[13], cstime f[14]
  const t = Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  return t / CLK_TCK;
}

function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * CPU of a whole process tree (e.g. the Dovecot master and its imap/auth/lmtp children):
 * live processes' own time plus what the root has reaped from exited children.
 */
export function treeCpuSeconds(rootPid: number): number {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      parent.set(Number(e), ppidOf(Number(e)));
    } catch {
      /* exited meanwhile */
    }
  }
  const inTree = (pid: number) => {
    for (let p = pid, i = 0; p > 1 && i < 10; p = parent.get(p) ?? 0, i++) if (p === rootPid) return true;
    return false;
  };
  let total = 0;
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    try {
      total += cpuSeconds(pid, pid === rootPid);
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

/** Pid of the Dovecot master serving this harness instance. */
export function dovecotMasterPid(dc: DovecotServer): number {
  const conf = join(dc.dir, 'dovecot.conf');
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd[0].endsWith('dovecot') && cmd.includes(conf)) return Number(e);
    } catch {
      /* exited */
    }
  }
  throw new Error('bench: Dovecot master not found');
}

/** Resident set size now and its peak (VmHWM), in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Established TCP connections of a process to 127.0.0.1:port (its IMAP sessions). */
export function tcpSessionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const remPort = parseInt(f[2].split(':')[1], 16);
      if (remPort === port && f[3] === '01' && inodes.has(f[9])) n++;
    }
  }
  return n;
}

/** Nearest-rank percentile of unsorted samples (NaN when empty). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface LedgerFacts {
  cycles: { startedAtMs: number; finishedAtMs: number | null; probes: number | null; overlapped: boolean }[];
  probes: { id: string; path: string; status: string; outcome: string | null; acceptedAtMs: number | null; createdAtMs: number }[];
  /** first copies: probe id → observed time and placement */
  firstSeen: Map<string, { observedAtMs: number; placement: string }>;
}

/** Read what the agent recorded (read-only open; the agent may still be running). */
export function readLedger(file: string): LedgerFacts {
  const l = SqliteLedger.open(file, { readonly: true });
  try {
    const cycles = (l.db.prepare(`SELECT started_at, finished_at, probes, overlapped FROM cycles ORDER BY started_at`).all() as Record<string, number | null>[]).map((r) => ({
      startedAtMs: r.started_at as number,
      finishedAtMs: r.finished_at,
      probes: r.probes,
      overlapped: r.overlapped === 1,
    }));
    const probes = (l.db.prepare(`SELECT id, path, status, outcome, accepted_at, created_at FROM probes ORDER BY id`).all() as Record<string, string | number | null>[]).map((r) => ({
      id: r.id as string,
      path: r.path as string,
      status: r.status as string,
      outcome: r.outcome as string | null,
      acceptedAtMs: r.accepted_at as number | null,
      createdAtMs: r.created_at as number,
    }));
    const firstSeen = new Map<string, { observedAtMs: number; placement: string }>();
    for (const r of l.db.prepare(`SELECT probe_id, observed_at, placement FROM observations WHERE copy_number = 1`).all() as { probe_id: string; observed_at: number; placement: string }[]) {
      firstSeen.set(r.probe_id, { observedAtMs: r.observed_at, placement: r.placement });
    }
    return { cycles, probes, firstSeen };
  } finally {
    void l.close();
  }
}

/** One value of the agent's /metrics (sum over all series of that name matching `filter`). */
export function metricSum(text: string, name: string, filter: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (!filter(m[2] ?? '')) continue;
    sum += Number(m[3]);
  }
  return sum;
}

/** What the figures were measured on (printed with them). */
export function machineInfo(): string {
  let dovecot = 'unknown';
  try {
    dovecot = execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim().split(' ')[0];
  } catch {
    /* not installed */
  }
  let os = 'Linux';
  try {
    os = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    /* not Linux */
  }
  const cpu = cpus();
  return `${cpu.length} vCPU (${cpu[0]?.model ?? 'unknown'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB RAM, ${os}, Linux ${release()}, Node ${process.version.slice(1)}, Dovecot ${dovecot}`;
}

/** The 1-minute load average now: other work on the machine while the bench measures. */
export function load1(): number {
  return loadavg()[0];
}

export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toFixed(digits);
}

/** Deliver one probe-like message straight into a seed's mailbox over LMTP (baseline feed). */
export async function deliverProbe(env: BenchEnv, user: DovecotUser, id: string, path: 'peering' | 'transit'): Promise<number> {
  const raw = [
    'From: Deliverability Probe <probe@mail.bench.test>',
    `To: ${user.user}`,
    `Subject: Your weekly digest ${id}`,
    `Message-ID: <${id}@mail.bench.test>`,
    `Date: ${new Date().toUTCString()}`,
    `X-Seedwatch-Probe: ${id}`,
    `${PATH_HEADER}: ${path}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Hello, this is a probe.`,
    `seedwatch-probe-${id}`,
    '',
  ].join('\r\n');
  await lmtpDeliver({ host: '127.0.0.1', port: env.dc.lmtpPort }, { from: 'probe@mail.bench.test', to: [user.user] }, raw);
  return Date.now();
}
