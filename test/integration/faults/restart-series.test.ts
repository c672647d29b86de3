/**
 * Every series of /metrics survives a restart at exactly its value: counters, histogram
 * buckets, `_sum` and `_count`, and the gauges that are facts of the ledger. An agent
 * (`seedwatch run`, a child process) probes for a few seconds into a real Dovecot through relays
 * that duplicate some probes, drop others, and cut some connections after DATA (ambiguous probes
 * delivered twice), and is killed with SIGKILL mid-cycle; a watching
 * agent then resolves everything. Its exposition is compared with the one after a SIGTERM +
 * restart, and after a SIGKILL + restart: nothing happened in between, so not one sample may
 * differ (a `_sum` that reads 10.718999999999998 instead of 10.719 is a reset to Prometheus).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/processes.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { faultConfigYaml, ledgerQuery, metric, PASSWORD, PW_ENV, USERS } from './fault-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');

let dc: DovecotServer;
let relays: Record<string, SmtpRelay>;
let dir: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-restart-series-'));
  port = await freePort();
  dc = await startDovecot({ users: USERS });
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  // peering: every 3rd message delivered twice (duplicates), and every 5th delivered twice but its
  // connection cut after DATA with no reply (an ambiguous probe whose copies are evidence, never
  // metrics); transit: every 3rd dropped (missing).
  const relay = (name: string, copies: (seq: number) => number, cut: (seq: number) => boolean = () => false) =>
    startRelay({
      name,
      script: async (_s, mail) => {
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
        const n = cut(mail.seq) ? 2 : copies(mail.seq);
        for (let i = 0; i < n; i++) await lmtpDeliver(lmtp, { from: mail.from, to: mail.to }, mail.raw);
        return cut(mail.seq) ? 'drop' : { code: 250 };
      },
    });
  const [peering, transit] = await Promise.all([
    relay('peering', (n) => (n % 3 === 2 ? 2 : 1), (n) => n % 5 === 4),
    relay('transit', (n) => (n % 3 === 2 ? 0 : 1)),
  ]);
  relays = { peering, transit };
});

afterAll(async () => {
  await Promise.allSettled(Object.values(relays ?? {}).map((r) => r.stop()));
  await dc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function spawnAgent(schedule: string) {
  const file = join(dir, 'seedwatch.yaml');
  const yaml = faultConfigYaml({ listenPort: port, dataDir: './data', schedule, relays: { peering: relays.peering.port, transit: relays.transit.port }, imapPort: dc.imapPort });
  writeFileSync(file, yaml.replace('deadline: 2m', 'deadline: 5s'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--config', file], { env: { ...process.env, [PW_ENV]: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

/**
 * The seedwatch_ samples, name+labels → value text, exactly as exposed; all but the one that
 * says when this process loaded its config (process state, not a fact of the ledger).
 */
async function samples(): Promise<Map<string, string>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('seedwatch_') || line.startsWith('seedwatch_config_last_reload_success_timestamp_seconds')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

const ledgerFile = () => join(dir, 'data', 'ledger.sqlite');

async function readyAgent(schedule: string) {
  const a = spawnAgent(schedule);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'agent ready', diagnostics: a.output });
  return a;
}

describe('a restart changes no series', () => {
  it('SIGTERM and SIGKILL restarts resume every counter, bucket, _sum and _count at the same value', { timeout: 120_000 }, async () => {
    // Probe every second for ~5 s, then SIGKILL mid-cycle.
    const a = await readyAgent('* * * * * *');
    await new Promise((r) => setTimeout(r, 5_300));
    a.child.kill('SIGKILL');
    await a.exited;

    // A watching agent (its schedule never fires) resolves every probe: copies recorded,
    // deadlines (5 s) concluded.
    let b = await readyAgent('0 0 1 1 *');
    await waitFor(
      () => ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM probes WHERE status = 'accepted' AND outcome IS NULL`)[0].n === 0,
      { timeoutMs: 40_000, what: 'every accepted probe resolved', diagnostics: b.output },
    );
    // Let the last recorded events reach the exposition (one more scan and reconciler pass).
    await new Promise((r) => setTimeout(r, 1_500));
    const before = await samples();
    const dupes = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM observations o JOIN probes p ON p.id = o.probe_id WHERE o.kind = 'duplicate' AND p.status = 'accepted'`)[0].n;
    const missing = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM probes WHERE status = 'accepted' AND outcome = 'missing'`)[0].n;
    const placed = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM probes WHERE status = 'accepted' AND outcome <> 'missing'`)[0].n;
    const ambiguousCopies = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM observations o JOIN probes p ON p.id = o.probe_id WHERE p.status = 'ambiguous'`)[0].n;
    const ambiguous = ledgerQuery<{ n: number }>(ledgerFile(), `SELECT COUNT(*) n FROM probes WHERE status = 'ambiguous' AND error_reason = 'ambiguous'`)[0].n;
    // The scenario really exercised what is compared.
    expect(ambiguousCopies).toBeGreaterThan(1);
    expect(dupes).toBeGreaterThan(0);
    expect(missing).toBeGreaterThan(0);
    expect(placed).toBeGreaterThan(2);
    const text = [...before].map(([k, v]) => `${k} ${v}`).join('\n');
    // Duplicates of ambiguous probes are not counted, live as after a restart (compared below).
    expect(metric(text, 'seedwatch_duplicates_total')).toBe(dupes);
    expect(metric(text, 'seedwatch_probe_send_errors_total', { reason: 'ambiguous' })).toBe(ambiguous);
    expect(metric(text, 'seedwatch_placements_total', { placement: 'missing' })).toBe(missing);
    expect(metric(text, 'seedwatch_delivery_latency_seconds_count')).toBe(placed);

    // SIGTERM, restart: the very same samples.
    b.child.kill('SIGTERM');
    expect((await b.exited).code).toBe(0);
    b = await readyAgent('0 0 1 1 *');
    const afterTerm = await samples();
    expect(Object.fromEntries(afterTerm)).toEqual(Object.fromEntries(before));

    // SIGKILL, restart: the same again.
    b.child.kill('SIGKILL');
    await b.exited;
    b = await readyAgent('0 0 1 1 *');
    try {
      const afterKill = await samples();
      expect(Object.fromEntries(afterKill)).toEqual(Object.fromEntries(before));
    } finally {
      b.child.kill('SIGTERM');
      await b.exited;
    }
  });
});
