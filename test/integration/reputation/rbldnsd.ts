/**
 * rbldnsd (Debian package) as a real DNSBL for the tests: in the foreground on a loopback UDP
 * port, zone files in a temp dir that the `rbldns` user (rbldnsd drops to it when started as
 * root) can read; `relist()` rewrites the files and sends SIGHUP, which reloads them at once.
 * Facts: docs/reputation.md, "rbldnsd".
 */
import { chmodSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/ports.js';
import { spawnManaged, type ManagedProcess } from '../../helpers/processes.js';

export interface RbldnsdZone {
  /** The DNS zone, e.g. `zen.test`. */
  zone: string;
  type: 'ip4set' | 'ip6trie';
  /** Dataset lines (`:127.0.0.2:reason $` sets the A value and TXT for the entries after it). */
  lines: string[];
}

export interface Rbldnsd {
  /** `127.0.0.1:port`, as reputation.dnsbl.servers takes it. */
  server: string;
  port: number;
  /** Rewrites every zone file and reloads them (SIGHUP); resolves once rbldnsd says so. */
  relist(zones: RbldnsdZone[]): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** Bounds start-up and each reload (rbldnsd loads a small zone in milliseconds). */
const RBLDNSD_READY_TIMEOUT_MS = 10_000;

const fileOf = (z: RbldnsdZone) => `${z.zone}.${z.type}`;

async function until(what: string, ok: () => boolean, proc: ManagedProcess): Promise<void> {
  const deadline = Date.now() + RBLDNSD_READY_TIMEOUT_MS;
  while (!ok()) {
    if (!proc.running()) throw new Error(`rbldnsd exited while waiting for ${what}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`rbldnsd: no ${what} within ${RBLDNSD_READY_TIMEOUT_MS} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRbldnsd(zones: RbldnsdZone[]): Promise<Rbldnsd> {
  const dir = mkdtempSync(join(tmpdir(), 'seedwatch-rbldnsd-'));
  // rbldnsd started as root runs as `rbldns`: the dir and files must be readable by others.
  chmodSync(dir, 0o755);
  // rbldnsd reloads a file whose mtime changed (whole seconds): each write moves it on, so a
  // rewrite within the same second (or with the same content) is reloaded too.
  let stamp = Math.floor(Date.now() / 1000);
  const write = (list: RbldnsdZone[]) => {
    stamp += 2;
    for (const z of list) {
      const file = join(dir, fileOf(z));
      writeFileSync(file, z.lines.join('\n') + '\n');
      chmodSync(file, 0o644);
      utimesSync(file, stamp, stamp);
    }
  };
  write(zones);
  const port = await freePort();
  const proc = spawnManaged('rbldnsd', 'rbldnsd', ['-n', '-b', `127.0.0.1/${port}`, '-w', dir, '-t', '5', ...zones.map((z) => `${z.zone}:${z.type}:${fileOf(z)}`)]);
  const reloads = () => proc.output().split('zones reloaded').length - 1;
  await until('first zone load', () => reloads() >= 1 && proc.output().includes('started'), proc);
  return {
    server: `127.0.0.1:${port}`,
    port,
    output: () => proc.output(),
    async relist(list) {
      const before = reloads();
      write(list);
      proc.child.kill('SIGHUP');
      await until('reload after SIGHUP', () => reloads() > before, proc);
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
