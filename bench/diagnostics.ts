/**
 * Optional diagnostics of the agent under the bench (run.ts flags): V8 CPU and heap profiles,
 * heap snapshots on demand, and the agent's event-loop delay. They change the agent's process
 * (a profiler costs CPU; a snapshot stops it for seconds), so figures of a run that used them
 * are for finding where time goes, not for the tables.
 *
 *   --profile DIR          --cpu-prof and --heap-prof of every agent process, into DIR
 *   --heap-snapshots       a heap snapshot when every mailbox is up (A) and after the first cycle (B)
 *   --loop-lag             per-second event-loop delay of the agent (bench/loop-lag.ts)
 *   --agent-node-flags "…" any other node flags for the agent
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS_ENV, fmt, memoryMiB, percentile, waitUntil } from './harness.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const profileDir = argValue('--profile');
export const SNAPSHOTS = process.argv.includes('--heap-snapshots');
const snapshotDir = profileDir ?? tmpdir();
const LOOP_LAG_FILE = process.argv.includes('--loop-lag') ? join(profileDir ?? tmpdir(), `loop-lag-${process.pid}.jsonl`) : null;

/** True when a diagnostic that changes the agent's figures is on. */
export const DIAGNOSTICS = Boolean(profileDir || SNAPSHOTS || LOOP_LAG_FILE || argValue('--agent-node-flags'));

/** Sets the agent's node flags (harness.spawnAgent reads them from the environment). */
export function applyDiagnostics(): void {
  const flags = [
    argValue('--agent-node-flags') ?? '',
    profileDir ? `--cpu-prof --cpu-prof-dir=${profileDir} --heap-prof --heap-prof-dir=${profileDir}` : '',
    SNAPSHOTS ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` : '',
    LOOP_LAG_FILE ? `--import=${join(dirname(fileURLToPath(import.meta.url)), 'loop-lag.js')}` : '',
  ]
    .join(' ')
    .trim();
  if (flags) process.env[AGENT_NODE_FLAGS_ENV] = flags;
  if (LOOP_LAG_FILE) process.env.BENCH_LOOP_LAG_FILE = LOOP_LAG_FILE;
}

interface LoopLagLine {
  pid: number;
  atMs: number;
  maxMs: number;
  p99Ms: number;
}

export interface LoopLag {
  /** Median over the seconds of the per-second p99 delay. */
  p99Ms: number;
  maxMs: number;
  secondsOver100Ms: number;
  seconds: number;
}

/** The agent's event-loop delay between two moments (null without --loop-lag). */
export function loopLag(pid: number, fromMs: number, toMs: number): LoopLag | null {
  if (!LOOP_LAG_FILE) return null;
  let lines: LoopLagLine[] = [];
  try {
    lines = readFileSync(LOOP_LAG_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as LoopLagLine)
      .filter((l) => l.pid === pid && l.atMs >= fromMs && l.atMs <= toMs + 1000);
  } catch {
    return null;
  }
  if (lines.length === 0) return null;
  return {
    p99Ms: percentile(
      lines.map((l) => l.p99Ms),
      50,
    ),
    maxMs: Math.max(...lines.map((l) => l.maxMs)),
    secondsOver100Ms: lines.filter((l) => l.maxMs > 100).length,
    seconds: lines.length,
  };
}

/** With --heap-snapshots: SIGUSR2 to the agent, and wait until it has written the snapshot. */
export async function heapSnapshot(pid: number, what: string, log: (s: string) => void): Promise<void> {
  if (!SNAPSHOTS) return;
  const rss = memoryMiB(pid).rss;
  const t0 = Date.now();
  const mine = () => readdirSync(snapshotDir).filter((f) => f.includes(`.${pid}.`) && f.endsWith('.heapsnapshot'));
  const before = mine().length;
  process.kill(pid, 'SIGUSR2');
  // Written by the agent's main thread; done when the newest file stops growing.
  let last = -1;
  await waitUntil(
    () => {
      const files = mine();
      if (files.length <= before) return false;
      const size = statSync(join(snapshotDir, files.sort().at(-1)!)).size;
      const done = size > 0 && size === last;
      last = size;
      return done;
    },
    'heap snapshot written',
    180_000,
    1_000,
  );
  log(`  heap snapshot of ${pid} at ${what}: RSS ${fmt(rss, 0)} MiB, written in ${fmt((Date.now() - t0) / 1000, 1)} s`);
}
