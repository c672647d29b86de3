import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { lmtpDeliver } from './lmtp.js';
import { freePort } from './ports.js';
import { onProcessExit } from './processes.js';
import { selfSignedCert } from './tls.js';

export type RelayReply =
  | { code: 250; message?: string }
  | { code: 421 | 450 | 451 | 452 | 550 | 552 | 554; message?: string }
  | 'drop';

export interface RelayMessage {
  /** index in arrival order, 0-based */
  seq: number;
  from: string;
  to: string[];
  raw: Buffer;
  /** lower-case header name -> values (unfolded), in order */
  headers: Record<string, string[]>;
  /** what the relay answered after DATA */
  reply: RelayReply;
  secure: boolean;
  heloName: string;
}

export interface RelayOptions {
  name: string;
  /** decides the answer after DATA per message; default 250 */
  script?: (session: SMTPServerSession, mail: Omit<RelayMessage, 'reply'>) => RelayReply | Promise<RelayReply>;
  /** offer STARTTLS with a self-signed certificate */
  starttls?: boolean;
  /** forward every accepted (250) message to this LMTP server before answering 250 */
  forwardLmtp?: { host: string; port: number };
  port?: number;
}

export interface SmtpRelay {
  name: string;
  host: '127.0.0.1';
  port: number;
  messages: RelayMessage[];
  /** PEM of the self-signed cert when starttls */
  caPem?: string;
  stop(): Promise<void>;
}

/** Minimal header parse: up to the first empty line, unfolded, names lower-cased. */
export function parseHeaders(raw: Buffer): Record<string, string[]> {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const out: Record<string, string[]> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    (out[k] ??= []).push(line.slice(i + 1).trim());
  }
  return out;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * An SMTP server (npm smtp-server) standing in for an egress relay. Records every message
 * and answers per message as scripted: 250, 4xx/5xx, or drops the connection after DATA
 * without any reply.
 */
export async function startRelay(opts: RelayOptions): Promise<SmtpRelay> {
  const messages: RelayMessage[] = [];
  const sockets = new Map<number, net.Socket>(); // client port -> raw socket, for 'drop'
  let tls: { key: string; cert: string } | undefined;
  let tmp: string | undefined;
  if (opts.starttls) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seedwatch-relay-'));
    tls = selfSignedCert(tmp);
  }
  const server = new SMTPServer({
    name: `${opts.name}.relay.test`,
    banner: `harness relay ${opts.name}`,
    // every client address would otherwise be looked up in DNS: traffic off loopback
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: opts.starttls ? [] : ['STARTTLS'],
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks);
          const base = {
            seq: messages.length,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            headers: parseHeaders(raw),
            secure: session.secure,
            heloName: session.hostNameAppearsAs,
          };
          let reply: RelayReply;
          try {
            reply = opts.script ? await opts.script(session, base) : { code: 250 };
          } catch (err) {
            reply = { code: 451, message: `script error: ${(err as Error).message}` };
          }
          if (reply !== 'drop' && reply.code === 250 && opts.forwardLmtp) {
            try {
              await lmtpDeliver(opts.forwardLmtp, { from: base.from, to: base.to }, raw);
            } catch (err) {
              reply = { code: 451, message: `forward to LMTP failed: ${(err as Error).message}` };
            }
          }
          messages.push({ ...base, reply });
          if (reply === 'drop') {
            sockets.get(session.remotePort)?.destroy();
            return;
          }
          if (reply.code === 250) callback(null, reply.message ?? `OK queued as ${opts.name}-${base.seq}`);
          else callback(smtpError(reply.code, reply.message ?? `scripted ${reply.code} from ${opts.name}`));
        })();
      });
    },
  });
  server.on('error', () => {
    /* client errors (e.g. dropped connections) are expected in fault tests */
  });
  const inner = (server as unknown as { server: net.Server }).server;
  inner.on('connection', (sock: net.Socket) => {
    const port = sock.remotePort;
    if (port === undefined) return;
    sockets.set(port, sock);
    sock.once('close', () => sockets.delete(port));
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    inner.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const unregister = onProcessExit(() => inner.close());
  return {
    name: opts.name,
    host: '127.0.0.1',
    port,
    messages,
    caPem: tls?.cert,
    async stop() {
      for (const s of sockets.values()) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      unregister();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
