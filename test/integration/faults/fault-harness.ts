/**
 * Shared pieces of the fault tests: two seeds on the Dovecot harness whose Sieve files the
 * transit path's probes into junk, relays that forward into LMTP themselves (so a test can
 * hold mail while Dovecot is down, or slow a relay down), configs, and ledger/metrics readers.
 */
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../../agent/config/load-config.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import type { DovecotServer, DovecotUser } from '../../helpers/dovecot.js';
import { lmtpDeliver } from '../../helpers/lmtp.js';
import { startRelay, type RelayMessage, type SmtpRelay } from '../../helpers/smtp-relay.js';

export const PASSWORD = 'fault-seed-pw-5521';
export const PW_ENV = 'SW_FAULT_PW';

const sieve = (junk: string) => `require ["fileinto", "special-use"];
if header :is "X-Test-Path" "transit" {
  fileinto :specialuse "\\\\Junk" "${junk}";
  stop;
}
`;

export const USERS: DovecotUser[] = [
  { user: 'seed1@gmail.test', password: PASSWORD, kind: 'gmail', sieve: sieve('[Gmail]/Spam') },
  { user: 'seed2@outlook.test', password: PASSWORD, kind: 'outlook', sieve: sieve('Junk Email') },
];
export const SEEDS = [
  { name: 'gmail-1', provider: 'gmail', user: USERS[0].user },
  { name: 'outlook-1', provider: 'generic', user: USERS[1].user },
];
export const PATHS = ['peering', 'transit'] as const;
/** Where each path's probes land (the seeds' Sieve). */
export const EXPECTED_PLACEMENT: Record<string, string> = { peering: 'inbox', transit: 'spam' };

export interface FaultRelay extends SmtpRelay {
  /** ms the relay waits after DATA before queueing or forwarding a message (and answering). */
  delayMs: () => number;
  setDelay(f: () => number): void;
  /** While holding, accepted messages are queued (a relay whose next hop is down). */
  hold(on: boolean): void;
  /** Deliver what was held; resolves when every held message is in Dovecot. */
  flush(): Promise<number>;
  /** Probe ids of accepted messages, in arrival order. */
  probeIds(): string[];
}

export async function startFaultRelay(name: string, dc: DovecotServer, port?: number): Promise<FaultRelay> {
  let delay: () => number = () => 0;
  let holding = false;
  const held: RelayMessage[] = [];
  const lmtp = { host: '127.0.0.1', port: dc.lmtpPort };
  const relay = await startRelay({
    name,
    ...(port ? { port } : {}),
    script: async (_s, mail) => {
      // A slow relay: it thinks first, then queues or forwards, then answers 250.
      const d = delay();
      if (d > 0) await new Promise((r) => setTimeout(r, d));
      if (holding) held.push({ ...mail, reply: { code: 250 } });
      else await lmtpDeliver(lmtp, { from: mail.from, to: mail.to }, mail.raw);
      return { code: 250 };
    },
  });
  return Object.assign(relay, {
    delayMs: () => delay(),
    setDelay(f: () => number) {
      delay = f;
    },
    hold(on: boolean) {
      holding = on;
    },
    async flush() {
      const batch = held.splice(0);
      for (const m of batch) await lmtpDeliver(lmtp, { from: m.from, to: m.to }, m.raw);
      return batch.length;
    },
    probeIds() {
      return relay.messages.filter((m) => m.reply !== 'drop' && m.reply.code === 250).map((m) => m.headers['x-seedwatch-probe']?.[0] ?? '');
    },
  });
}

export interface ConfigOptions {
  listenPort: number;
  dataDir: string;
  schedule?: string;
  relays: Record<string, number>;
  imapPort: number;
  extra?: string;
  cleanup?: 'keep' | 'trash' | 'delete';
}

export function faultConfigYaml(o: ConfigOptions): string {
  return `listen: 127.0.0.1:${o.listenPort}
dataDir: ${JSON.stringify(o.dataDir)}
schedule: "${o.schedule ?? '0 0 1 1 *'}"
deadline: 2m
concurrency: 2
probe:
  from: "Deliverability Probe <probe@mail.example.test>"
watch: { pollInterval: 1s, idleCheck: 1s, cleanup: ${o.cleanup ?? 'keep'} }
paths:
${PATHS.map((p) => `  - name: ${p}
    smtp: { host: 127.0.0.1, port: ${o.relays[p]} }
    headers: { X-Test-Path: ${p} }
    timeout: 10s`).join('\n')}
seeds:
${SEEDS.map((s) => `  - name: ${s.name}
    address: ${s.user}
    provider: ${s.provider}
    imap: { host: 127.0.0.1, port: ${o.imapPort}, secure: false, user: ${s.user}, password: { env: ${PW_ENV} } }`).join('\n')}
${o.extra ?? ''}`;
}

export function faultConfig(o: ConfigOptions, baseDir: string): Config {
  const text = faultConfigYaml(o);
  parseYaml(text); // a syntax slip in this file fails here, with YAML's own message
  return parseConfig(text, 'fault.yaml', { baseDir });
}

export interface ProbeRowLite {
  id: string;
  path: string;
  seed: string;
  status: string;
  outcome: string | null;
  copies: number;
  error_reason: string | null;
  error_message: string | null;
}

export function readProbes(file: string): ProbeRowLite[] {
  const l = SqliteLedger.open(file, { readonly: true });
  try {
    return l.db.prepare(`SELECT id, path, seed, status, outcome, copies, error_reason, error_message FROM probes ORDER BY id`).all() as ProbeRowLite[];
  } finally {
    void l.close();
  }
}

export function ledgerQuery<T>(file: string, sql: string): T[] {
  const l = SqliteLedger.open(file, { readonly: true });
  try {
    return l.db.prepare(sql).all() as T[];
  } finally {
    void l.close();
  }
}

/** Value of one exposition line, e.g. metric(text, 'seedwatch_probes_sent_total', {path:'peering', seed:'gmail-1'}). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) {
      sum += Number(m[3]);
      found = true;
    }
  }
  if (!found) throw new Error(`no series ${name}${JSON.stringify(labels)} in the exposition`);
  return sum;
}
