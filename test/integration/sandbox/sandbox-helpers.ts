/** Shared pieces of the sandbox tests: fast deterministic behaviour, probe-like mail, IMAP reads. */
import { generateKeyPairSync } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { refreshGrant } from '../../../agent/auth/token-endpoint.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { createProbeIdFactory, probeBodyToken } from '../../../agent/probe-id.js';
import type { BehaviourOverrides, RouteOverride } from '../../../sandbox/behaviour.js';
import type { Sandbox, SandboxSeed } from '../../../sandbox/start-sandbox.js';

/** Every message delivered once, to INBOX/Primary, within ~50 ms; no incident. */
export const CLEAN: RouteOverride = {
  spamShare: 0,
  lossShare: 0,
  duplicateShare: 0,
  tabs: { promotions: 0, social: 0, updates: 0, forums: 0 },
  latency: { medianMs: 30, sigma: 0, tailShare: 0 },
  internalDelay: { minMs: 0, maxMs: 5 },
};

export function clean(extra: Omit<BehaviourOverrides, 'all'> = {}): BehaviourOverrides {
  return { all: CLEAN, incidents: [], ...extra };
}

export const DKIM_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Probe ids from the agent's own factory (ULIDs). */
export const probeId = createProbeIdFactory();

/** Sends one probe-like message through a path listener, as the agent's relay mode does. */
export async function sendProbe(
  sandbox: Sandbox,
  pathName: string,
  to: string | string[],
  opts: { id?: string; dkim?: boolean; headers?: Record<string, string> } = {},
): Promise<{ id: string; response: string; sentAtMs: number }> {
  const path = sandbox.paths.find((p) => p.name === pathName)!;
  const transport = nodemailer.createTransport({ host: path.host, port: path.port, secure: false, ignoreTLS: true });
  const id = opts.id ?? probeId();
  try {
    const sentAtMs = Date.now();
    const info = await transport.sendMail({
      from: 'Deliverability Probe <probe@mail.example.com>',
      to,
      subject: `Your weekly digest ${id}`,
      text: `Hello.\n\n--\nRef: ${probeBodyToken(id)}\n`,
      messageId: `<${id}@mail.example.com>`,
      headers: { 'X-Seedwatch-Probe': id, 'X-Virtual-MTA': pathName, ...(opts.headers ?? {}) },
      ...(opts.dkim ? { dkim: { domainName: 'mail.example.com', keySelector: 'sw2026', privateKey: DKIM_KEY } } : {}),
    });
    return { id, response: info.response, sentAtMs };
  } finally {
    transport.close();
  }
}

export function seedOf(sandbox: Sandbox, provider: string): SandboxSeed {
  return sandbox.seeds.find((s) => s.provider === provider)!;
}

/** A fresh access token for an OAuth2 seed, by the agent's own refresh grant against the sandbox's endpoint. */
export async function accessTokenFor(seed: SandboxSeed): Promise<string> {
  const o = seed.imap.oauth2;
  if (!o) throw new Error(`${seed.name} is not an OAuth2 seed`);
  const res = await refreshGrant(
    { tokenUrl: o.tokenUrl, clientId: o.clientId, refreshToken: new SecretValue(o.refreshToken, 'test') },
    { label: `seed ${seed.name}` },
  );
  return res.accessToken.reveal();
}

/**
 * An imapflow session on a seed's sandbox mailbox: LOGIN with the password, or for OAuth2 seeds
 * XOAUTH2 with a freshly refreshed access token (or `auth` as given).
 */
export async function imapSession(seed: SandboxSeed, auth?: { pass: string } | { accessToken: string }): Promise<ImapFlow> {
  const creds = auth ?? (seed.imap.oauth2 ? { accessToken: await accessTokenFor(seed) } : { pass: seed.imap.password });
  const client = new ImapFlow({
    host: seed.imap.host,
    port: seed.imap.port,
    secure: false,
    auth: { user: seed.imap.user, ...creds },
    logger: false,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export interface FetchedMessage {
  uid: number;
  headers: Buffer;
}

/** Every message of a folder with its header block, read over IMAP. */
export async function readFolder(seed: SandboxSeed, path: string): Promise<FetchedMessage[]> {
  const client = await imapSession(seed);
  try {
    const box = await client.mailboxOpen(path);
    if (box.exists === 0) return [];
    const msgs = await client.fetchAll('1:*', { uid: true, headers: true }, { uid: true });
    return msgs.map((m) => ({ uid: m.uid, headers: m.headers ?? Buffer.alloc(0) }));
  } finally {
    await client.logout().catch(() => undefined);
  }
}
