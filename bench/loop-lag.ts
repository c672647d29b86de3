/**
 * Preloaded into the agent by `run.js --loop-lag` (node --import dist/bench/loop-lag.js): every
 * second, how late the agent's event loop ran a timer (max and p99 of perf_hooks'
 * monitorEventLoopDelay), appended as one JSON line to $BENCH_LOOP_LAG_FILE. Tells a detection
 * tail caused by the agent's own loop (an IDLE push parsed late) from one caused by the server
 * or the machine. Bench-only; the agent never loads it.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_LAG_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t = setInterval(() => {
    appendFileSync(file, JSON.stringify({ pid: process.pid, atMs: Date.now(), maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, meanMs: h.mean / 1e6 }) + '\n');
    h.reset();
  }, 1000);
  t.unref();
}
