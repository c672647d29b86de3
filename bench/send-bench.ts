/**
 * Sender benchmark: one probe cycle (2 paths × N seeds) against two loopback smtp-server
 * relays running in a CHILD process, so that process.cpuUsage() here is the agent's CPU only
 * (compose, optional DKIM, SMTP client, ledger writes). Prints the figures; asserts nothing.
 *
 *   node dist/bench/send-bench.js [seeds=200] [--dkim]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { systemClock } from '../agent/clock.js';
import { parseConfig } from '../agent/config/load-config.js';
import { SecretValue } from '../agent/config/secret.js';
import { noopEvents } from '../agent/events.js';
import { SqliteLedger } from '../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../agent/log.js';
import { createProbeIdFactory } from '../agent/probe-id.js';
import { closePaths, createPaths, runCycle } from '../agent/send/run-cycle.js';

export interface SendBenchOptions {
  seeds?: number;
  dkim?: boolean;
  concurrency?: number;
  maxConnections?: number;
}

export interface SendBenchResult {
  probesPerSecond: number;
  cpuMsPerProbe: number;
  n: number;
}

// Two relays that accept everything; they print their ports as one JSON line.
const RELAY_SCRIPT = `
import { SMTPServer } from 'smtp-server';
const ports = [];
for (let i = 0; i < 2; i++) {
  let n = 0;
  const s = new SMTPServer({ disableReverseLookup: true, authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, _session, cb) { stream.on('data', () => {}); stream.on('end', () => cb(null, 'Ok: queued as B' + (n++))); } });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  ports.push(s.server.address().port);
}
process.stdout.write(JSON.stringify(ports) + '\\n');
`;

function startRelays(cwd: string): Promise<{ child: ChildProcess; ports: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', RELAY_SCRIPT], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, ports: JSON.parse(buf.slice(0, nl)) as number[] });
    });
    child.once('exit', (code) => reject(new Error(`relay process exited (${code})`)));
    child.once('error', reject);
  });
}

export async function benchSend(opts: SendBenchOptions = {}): Promise<SendBenchResult> {
  const seedCount = opts.seeds ?? 200;
  const { child, ports } = await startRelays(process.cwd());
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-send-bench-'));
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    const config = (seeds: number) =>
      parseConfig(
        stringify({
          dataDir: dir,
          concurrency: opts.concurrency ?? 16,
          probe: {
            from: 'Deliverability Probe <probe@mail.example.com>',
            ...(opts.dkim ? { dkim: { domain: 'mail.example.com', selector: 'b', privateKey: { env: 'UNUSED' } } } : {}),
          },
          paths: ports.map((port, i) => ({
            name: i === 0 ? 'peering' : 'transit',
            smtp: { host: '127.0.0.1', port, maxConnections: opts.maxConnections ?? 4 },
            headers: { 'X-Virtual-MTA': i === 0 ? 'peering' : 'transit' },
          })),
          seeds: Array.from({ length: seeds }, (_, i) => ({
            name: `seed-${i}`,
            address: `seed${i}@example${i % 7}.test`,
            provider: 'generic',
            imap: { host: '127.0.0.1', user: `seed${i}`, password: { env: 'UNUSED' } },
          })),
        }),
        'bench.yaml',
        { baseDir: dir },
      );
    const ledger = SqliteLedger.open(join(dir, 'ledger.sqlite'));
    const resolveSecret = () => new SecretValue(pem, 'bench');
    const cycle = async (seeds: number) => {
      const cfg = config(seeds);
      const paths = createPaths(cfg, resolveSecret, silentLogger());
      try {
        return await runCycle({ config: cfg, paths, ledger, clock: systemClock, events: noopEvents, logger: silentLogger(), idFactory: createProbeIdFactory(), resolveSecret });
      } finally {
        await closePaths(paths);
      }
    };
    await cycle(10); // warm-up: JIT, first connections, SQLite statements
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await cycle(seedCount);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const n = result.probes.filter((p) => p.row?.status === 'accepted').length;
    if (n !== result.probes.length) throw new Error(`only ${n} of ${result.probes.length} probes were accepted`);
    await ledger.close();
    return { probesPerSecond: n / (wallMs / 1000), cpuMsPerProbe: (cpu.user + cpu.system) / 1000 / n, n };
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seeds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200);
  const dkim = process.argv.includes('--dkim');
  const r = await benchSend({ seeds, dkim });
  process.stdout.write(
    `send-bench: ${r.n} probes (2 paths x ${seeds} seeds${dkim ? ', DKIM-signed' : ''}): ` +
      `${r.probesPerSecond.toFixed(0)} probes/s, ${r.cpuMsPerProbe.toFixed(2)} ms CPU per probe\n`,
  );
}
