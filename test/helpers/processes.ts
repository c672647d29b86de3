import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every server a harness starts is registered here and killed when the test process exits,
 * even when a test failed before its stop(). Cleanups must be synchronous ('exit' handlers
 * cannot await).
 */
const cleanups = new Set<() => void>();
let installed = false;

function runCleanups(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      // best effort: the process is going away
    }
  }
  cleanups.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runCleanups();
      // default action again, so the process still dies of the signal
      process.kill(process.pid, sig);
    });
  }
}

/** Register a synchronous cleanup run at process exit; returns the unregister function. */
export function onProcessExit(fn: () => void): () => void {
  install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** last ~64 KiB of stdout+stderr */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM to the process group, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_KEEP_BYTES = 64 * 1024;

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/**
 * Spawn a server in its own process group (so the whole tree can be killed), capture its
 * output, and make sure it dies with the test process.
 */
export function spawnManaged(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ManagedProcess {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString('utf8');
    if (buf.length > OUTPUT_KEEP_BYTES) buf = buf.slice(-OUTPUT_KEEP_BYTES);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      alive = false;
      buf += `\n[spawn error] ${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  const unregister = onProcessExit(() => killGroup(child.pid, 'SIGKILL'));
  // do not keep the test process alive for a server someone forgot to stop
  child.unref();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    name,
    child,
    output: () => buf,
    exited,
    running: () => alive,
    async stop(graceMs = 5000) {
      if (alive) {
        // Waited for now: the child's handle must keep the event loop alive until its exit
        // arrives (unref'd, a caller with nothing else pending would end with an unsettled
        // await — exit code 13 — once the SIGKILL timer fired: the 500-seed load run did).
        child.ref();
        killGroup(child.pid, 'SIGTERM');
        const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      unregister();
    },
  };
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  what: string;
  /** extra text for the timeout error, e.g. the server's log */
  diagnostics?: () => string;
}

/** Poll fn until it returns something other than undefined/false, or throw with diagnostics. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, o: WaitOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const diag = o.diagnostics ? `\n--- diagnostics ---\n${o.diagnostics()}` : '';
      const last = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what}${last}${diag}`);
    }
    await sleep(o.intervalMs ?? 25);
  }
}

/** Read the first line a TCP server sends (its greeting); rejects on close/timeout. */
export function readGreeting(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host });
    let data = '';
    const done = (err: Error | null, line?: string) => {
      clearTimeout(t);
      sock.destroy();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const t = setTimeout(() => done(new Error(`no greeting from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    sock.on('data', (d) => {
      data += d.toString('latin1');
      const i = data.indexOf('\n');
      if (i >= 0) done(null, data.slice(0, i).replace(/\r$/, ''));
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error(`connection to ${host}:${port} closed before a greeting`)));
  });
}

/** Wait until a server on port greets with a line starting with prefix (e.g. '* OK', '220'). */
export function waitForGreeting(port: number, prefix: string, o: Omit<WaitOptions, 'what'> & { what?: string }): Promise<string> {
  return waitFor(
    async () => {
      const line = await readGreeting(port);
      return line.startsWith(prefix) ? line : undefined;
    },
    { intervalMs: 20, ...o, what: o.what ?? `'${prefix}' greeting on 127.0.0.1:${port}` },
  );
}
