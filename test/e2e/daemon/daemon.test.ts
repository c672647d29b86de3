/**
 * The daemon as users run it: `seedwatch run` as a child process against real Dovecot (IMAP,
 * LMTP, Sieve) and two loopback relays, scraped by a real Prometheus. Killed with SIGKILL in
 * the middle of a cycle and restarted: no probe lost, none counted twice, counters continue.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { startDovecot, type DovecotServer } from '../../helpers/dovecot.js';
import { freePort } from '../../helpers/ports.js';
import { startPrometheus, type PrometheusServer } from '../../helpers/prometheus.js';
import { startRelay, type SmtpRelay } from '../../helpers/smtp-relay.js';
import { waitFor } from '../../helpers/processes.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/seedwatch.js');
const PASSWORD = 'daemon-test-pw-93177';

const sieveTransitToJunk = (junk: string) => `require ["fileinto", "special-use"];
if header :is "X-Test-Path" "transit" {
  fileinto :specialuse "\\\\Junk" "${junk}";
  stop;
}
`;

let dc: DovecotServer;
let peering: SmtpRelay;
let transit: SmtpRelay;
let prom: PrometheusServer;
let dir: string;
let port: number;
let relayDelayMs = 0;
let onRelayMessage: (() => void) | null = null;

function configYaml(schedule: string): string {
  return `listen: 127.0.0.1:${port}
dataDir: ./data
schedule: "${schedule}"
deadline: 30s
concurrency: 2
probe:
  from: "Deliverability Probe <probe@mail.example.test>"
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: keep }
paths:
  - name: peering
    smtp: { host: 127.0.0.1, port: ${peering.port} }
    headers: { X-Test-Path: peering }
  - name: transit
    smtp: { host: 127.0.0.1, port: ${transit.port} }
    headers: { X-Test-Path: transit }
seeds:
  - name: gmail-1
    address: seed1@gmail.test
    provider: gmail
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: seed1@gmail.test, password: { env: SW_DAEMON_PW } }
  - name: outlook-1
    address: seed2@outlook.test
    provider: generic
    imap: { host: 127.0.0.1, port: ${dc.imapPort}, secure: false, user: seed2@outlook.test, password: { env: SW_DAEMON_PW } }
`;
}

function startAgentProcess(schedule: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const file = join(dir, `seedwatch-${Date.now()}.yaml`);
  writeFileSync(file, configYaml(schedule));
  writeFileSync(join(dir, 'seedwatch.yaml'), configYaml(schedule));
  const child = spawn(process.execPath, [BIN, 'run', '--config', join(dir, 'seedwatch.yaml')], {
    env: { ...process.env, SW_DAEMON_PW: PASSWORD, SEEDWATCH_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function ledger(): SqliteLedger {
  return SqliteLedger.open(join(dir, 'data', 'ledger.sqlite'));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sw-daemon-'));
  port = await freePort();
  dc = await startDovecot({
    users: [
      { user: 'seed1@gmail.test', password: PASSWORD, kind: 'gmail', sieve: sieveTransitToJunk('[Gmail]/Spam') },
      { user: 'seed2@outlook.test', password: PASSWORD, kind: 'outlook', sieve: sieveTransitToJunk('Junk Email') },
    ],
  });
  const script = async () => {
    onRelayMessage?.();
    if (relayDelayMs) await new Promise((r) => setTimeout(r, relayDelayMs));
    return { code: 250 as const };
  };
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  peering = await startRelay({ name: 'peering', forwardLmtp: lmtp, script });
  transit = await startRelay({ name: 'transit', forwardLmtp: lmtp, script });
  prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], scrapeIntervalS: 1 });
});

afterAll(async () => {
  await Promise.allSettled([prom?.stop(), peering?.stop(), transit?.stop(), dc?.stop()]);
});

describe('seedwatch run (daemon)', () => {
  it('survives kill -9 mid-cycle: no probe lost, none counted twice, Prometheus sees the ledger numbers', async () => {
    // Phase 1: a fast schedule; kill -9 while a relay is in the middle of a transaction.
    const a = startAgentProcess('*/2 * * * * *');
    await waitFor(async () => {
      const l = ledger();
      try {
        const n = (l.db.prepare(`SELECT COUNT(*) n FROM probes WHERE outcome IS NOT NULL`).get() as { n: number }).n;
        return n >= 8;
      } finally {
        await l.close();
      }
    }, { timeoutMs: 40_000, what: '8 resolved probes', diagnostics: a.output });
    // A scheduled cycle spreads its 4 sends over ¾ of the 2 s period (stratified: probe i in the
    // i-th quarter of 1.5 s), not one burst: the first and last send of a cycle are ≥ 0.5 s apart.
    {
      const l = ledger();
      try {
        const spans = l.db
          .prepare(
            `SELECT c.id, MAX(p.send_started_at) - MIN(p.send_started_at) AS span, COUNT(*) AS n FROM cycles c JOIN probes p ON p.cycle_id = c.id
              WHERE c.finished_at IS NOT NULL AND c.overlapped = 0 GROUP BY c.id HAVING n = 4`,
          )
          .all() as { span: number }[];
        expect(spans.length).toBeGreaterThan(0);
        for (const c of spans) expect(c.span).toBeGreaterThanOrEqual(500);
      } finally {
        await l.close();
      }
    }
    relayDelayMs = 1_500;
    await new Promise<void>((resolve) => (onRelayMessage = resolve));
    await new Promise((r) => setTimeout(r, 200));
    a.child.kill('SIGKILL');
    await a.exited;
    onRelayMessage = null;
    relayDelayMs = 0;

    // Phase 2: the same ledger, a schedule that does not fire: the agent only watches.
    const b = startAgentProcess('0 0 1 1 *');
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, { timeoutMs: 20_000, what: 'agent ready', diagnostics: b.output });
      // Everything the relays accepted is in the ledger and resolved.
      await waitFor(async () => {
        const l = ledger();
        try {
          const open = (l.db.prepare(`SELECT COUNT(*) n FROM probes WHERE status = 'accepted' AND outcome IS NULL`).get() as { n: number }).n;
          return open === 0;
        } finally {
          await l.close();
        }
      }, { timeoutMs: 30_000, what: 'every accepted probe resolved', diagnostics: b.output });

      const l = ledger();
      const probes = l.db.prepare(`SELECT id, path, seed, status, outcome, copies FROM probes`).all() as { id: string; path: string; seed: string; status: string; outcome: string | null; copies: number }[];
      await l.close();
      // No probe lost: every message a relay received is a probe of the ledger, on its own path.
      const byId = new Map(probes.map((p) => [p.id, p]));
      for (const relay of [peering, transit]) {
        for (const m of relay.messages) {
          const id = m.headers['x-seedwatch-probe']?.[0];
          expect(id, 'probe header').toBeTruthy();
          expect(byId.get(id!)?.path).toBe(relay.name);
        }
      }
      // The probe killed mid-send is ambiguous (never re-sent); nothing is counted twice.
      expect(probes.filter((p) => p.status === 'sending')).toEqual([]);
      expect(probes.filter((p) => p.status === 'ambiguous').length).toBeGreaterThanOrEqual(1);
      expect(probes.every((p) => p.copies <= 1)).toBe(true);
      const accepted = probes.filter((p) => p.status === 'accepted');
      for (const p of accepted) expect(p.outcome).toBe(p.path === 'transit' ? 'spam' : 'inbox');

      // The agent's exposition equals the ledger, and promtool finds no problem in it.
      const text = await metricsText();
      const count = (path: string, seed: string, outcome: string) => accepted.filter((p) => p.path === path && p.seed === seed && p.outcome === outcome).length;
      const provider = (seed: string) => (seed === 'gmail-1' ? 'gmail' : 'generic');
      for (const path of ['peering', 'transit'])
        for (const seed of ['gmail-1', 'outlook-1']) {
          const labels = `path="${path}",seed="${seed}",provider="${provider(seed)}"`;
          expect(text).toContain(`seedwatch_placements_total{${labels},placement="inbox"} ${count(path, seed, 'inbox')}`);
          expect(text).toContain(`seedwatch_placements_total{${labels},placement="spam"} ${count(path, seed, 'spam')}`);
          expect(text).toContain(`seedwatch_probes_sent_total{${labels}} ${accepted.filter((p) => p.path === path && p.seed === seed).length}`);
          expect(text).toContain(`seedwatch_duplicates_total{${labels}} 0`);
        }
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');

      // Prometheus, scraping the agent, shows the same numbers.
      await prom.waitForTargetsUp(20_000);
      const expectedSpam = accepted.filter((p) => p.outcome === 'spam').length;
      await waitFor(async () => {
        const r = await prom.query('sum(seedwatch_placements_total{placement="spam"})');
        return r.length === 1 && Number(r[0].value[1]) === expectedSpam;
      }, { timeoutMs: 20_000, what: `Prometheus spam total = ${expectedSpam}` });
      const sent = await prom.query('sum by (path) (seedwatch_probes_sent_total)');
      expect(Object.fromEntries(sent.map((s) => [s.metric.path, Number(s.value[1])]))).toEqual({
        peering: accepted.filter((p) => p.path === 'peering').length,
        transit: accepted.filter((p) => p.path === 'transit').length,
      });
      const ambiguousInLedger = probes.filter((p) => p.status === 'ambiguous').length;
      expect(text.split('\n').filter((l) => l.startsWith('seedwatch_probe_send_errors_total{') && l.includes('reason="ambiguous"')).reduce((a, l) => a + Number(l.split(' ').pop()), 0)).toBe(ambiguousInLedger);
      await waitFor(async () => {
        const r = await prom.query('sum(seedwatch_probe_send_errors_total{reason="ambiguous"})');
        return r.length === 1 && Number(r[0].value[1]) === ambiguousInLedger;
      }, { timeoutMs: 10_000, what: `Prometheus ambiguous total = ${ambiguousInLedger}` });
    } finally {
      const t0 = Date.now();
      b.child.kill('SIGTERM');
      const code = await b.exited;
      expect(code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
  }, 150_000);

  it('seedwatch probe prints the placement table and exits 1 when transit lands in spam (--fail-on "spam>0.2")', async () => {
    writeFileSync(join(dir, 'probe.yaml'), configYaml('0 0 1 1 *').replace(/listen: .*/, `listen: 127.0.0.1:${await freePort()}`));
    // Asynchronous: the relays live in this process and must keep serving while probe runs.
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'probe', '--config', join(dir, 'probe.yaml'), ...args], {
          env: { ...process.env, SW_DAEMON_PW: PASSWORD },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      });
    const failing = await run(['--wait', '20s', '--fail-on', 'spam>0.2']);
    expect(failing.status, failing.stderr).toBe(1);
    expect(failing.stdout).toMatch(/^gmail\s+peering\s+1\s+100%\s+0%/m);
    expect(failing.stdout).toMatch(/^gmail\s+transit\s+1\s+0%\s+100%/m);
    expect(failing.stdout).toMatch(/^generic\s+transit\s+1\s+0%\s+100%/m);
    expect(failing.stdout).toContain('THRESHOLDS FAILED');
    expect(failing.stdout).toMatch(/gmail \/ transit: spam>0\.2/);
    expect(failing.stdout).not.toMatch(/gmail \/ peering: spam>0\.2/);

    const json = await run(['--wait', '20s', '--json', '--fail-on', 'missing>0']);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.probes).toHaveLength(4);
    expect(report.cells.find((c: { provider: string; path: string }) => c.provider === 'gmail' && c.path === 'transit').shares.spam).toBe(1);
  }, 120_000);
});
