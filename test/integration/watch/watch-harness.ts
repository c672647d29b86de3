/** Shared pieces of the watch integration tests: seeds on the Dovecot harness, probes, waits. */
import { loadPresets } from '../../../agent/config/preset.js';
import type { SeedConfig, SecretResolver } from '../../../agent/config/load-config.js';
import { SecretValue } from '../../../agent/config/secret.js';
import type { AgentEvents } from '../../../agent/events.js';
import type { ObservationResult, ProbeRow } from '../../../agent/ledger/ledger.js';
import type { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { createProbeIdFactory, probeBodyToken } from '../../../agent/probe-id.js';
import type { DovecotServer, DovecotUser } from '../../helpers/dovecot.js';

export const presets = loadPresets();

/** Sieve: probes whose Subject contains "[junk]" go to the junk folder (by SPECIAL-USE). */
export function junkSieve(folder: string): string {
  return `require ["fileinto", "special-use"];
if header :contains "Subject" "[junk]" {
  fileinto :specialuse "\\\\Junk" "${folder}";
  stop;
}
`;
}

export const GMAIL_USER: DovecotUser = { user: 'seed.gmail@gmail.test', password: 'pw-gmail', kind: 'gmail', sieve: junkSieve('[Gmail]/Spam') };
export const OUTLOOK_USER: DovecotUser = { user: 'seed.outlook@outlook.test', password: 'pw-outlook', kind: 'outlook', sieve: junkSieve('Junk Email') };

/** A SeedConfig for a harness user (provider preset gmail/outlook, password login on loopback). */
export function seedFor(
  dc: { host: string; imapPort: number },
  u: DovecotUser,
  name: string,
  over: Partial<SeedConfig> = {},
): SeedConfig {
  const provider = u.kind === 'outlook' ? 'outlook' : u.kind === 'gmail' ? 'gmail' : 'generic';
  return {
    name,
    address: u.user,
    provider,
    preset: presets.get(provider)!,
    trust: { authservIds: presets.get(provider)!.authservIds, receivedHosts: presets.get(provider)!.receivedHosts },
    imap: {
      host: dc.host,
      port: dc.imapPort,
      secure: false,
      tls: { rejectUnauthorized: true },
      user: u.user,
      auth: { kind: 'password', password: { literal: u.password }, fieldPath: `seeds[${name}].imap.password` },
    },
    folders: {},
    cleanup: 'trash',
    idleRefreshMs: 9 * 60_000,
    ...over,
  };
}

export const literalSecrets: SecretResolver = (ref) => {
  if ('literal' in ref) return new SecretValue(ref.literal, 'literal');
  throw new Error('test resolver: literal secrets only');
};

export const newProbeId = createProbeIdFactory();

export function probeMessage(
  id: string,
  opts: { to: string; subject?: string; extraHeaders?: string[]; idIn?: 'header' | 'message-id' | 'body'; date?: string } = { to: '' },
): string {
  const idIn = opts.idIn ?? 'header';
  const headers = [
    'From: Deliverability Probe <probe@sender.test>',
    `To: ${opts.to}`,
    `Subject: ${opts.subject ?? `Your weekly digest ${id}`}`,
    `Message-ID: <${idIn === 'body' ? `other-${id.toLowerCase()}` : id}@sender.test>`,
    `Date: ${opts.date ?? new Date().toUTCString()}`,
    ...(idIn === 'header' ? [`X-Seedwatch-Probe: ${id}`] : []),
    ...(opts.extraHeaders ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  return headers.join('\r\n') + `\r\n\r\nHello,\r\nthis is a probe.\r\n${probeBodyToken(id)}\r\n`;
}

/** Write a probe into the ledger as sent and accepted now (what the sender would have done). */
export async function acceptedProbe(
  ledger: SqliteLedger,
  seed: SeedConfig,
  opts: { path?: string; deadlineMs?: number; atMs?: number; id?: string } = {},
): Promise<string> {
  const at = opts.atMs ?? Date.now();
  const id = opts.id ?? newProbeId(at);
  await ledger.insertProbe({
    id,
    path: opts.path ?? 'peering',
    seed: seed.name,
    provider: seed.provider,
    messageId: `<${id}@sender.test>`,
    createdAtMs: at,
    deadlineMs: opts.deadlineMs ?? 30 * 60_000,
  });
  await ledger.markSendStarted(id, at);
  await ledger.recordSendResult(id, { ok: true, acceptedAtMs: at, code: 250, text: 'OK' });
  return id;
}

export interface RecordingEvents extends AgentEvents {
  observedList: (ObservationResult)[];
  missingRows: ProbeRow[];
  states: { seed: string; up: boolean }[];
  errors: { seed: string; kind: string }[];
}

export function recordingEvents(onObserved?: (r: ObservationResult) => void): RecordingEvents {
  const ev: RecordingEvents = {
    observedList: [],
    missingRows: [],
    states: [],
    errors: [],
    sendFinished() {},
    observed(r) {
      ev.observedList.push(r);
      onObserved?.(r);
    },
    missing(rows) {
      ev.missingRows.push(...rows);
    },
    mailboxState(seed, up) {
      ev.states.push({ seed, up });
    },
    mailboxError(seed, kind) {
      ev.errors.push({ seed, kind });
    },
  };
  return ev;
}

export async function waitUntil<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** UIDs and subjects in a folder of a harness user (through a separate IMAP session). */
export async function folderCount(dc: DovecotServer, u: DovecotUser, folder: string): Promise<number> {
  const { ImapFlow } = await import('imapflow');
  const c = new ImapFlow({ host: dc.host, port: dc.imapPort, secure: false, auth: { user: u.user, pass: u.password }, logger: false, disableAutoIdle: true });
  await c.connect();
  try {
    const st = await c.status(folder, { messages: true });
    return st ? (st.messages ?? 0) : 0;
  } finally {
    await c.logout();
  }
}
