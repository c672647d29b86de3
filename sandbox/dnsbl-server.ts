/**
 * The demo's DNSBL: a minimal authoritative DNS server for one zone on 127.0.0.1 (UDP,
 * node:dgram), answering like rbldnsd does: the A record 127.0.0.2 and a TXT reason for a
 * listed IP (`<reversed octets>.<zone>`), NXDOMAIN for any other name in the zone, REFUSED for
 * names outside it. Which IPs are listed is asked at every query, so the listing can follow the
 * sandbox's scripted incident. A few dozen lines of RFC 1035 instead of a DNS library the
 * product would have to ship for the demo.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface DnsblServerOptions {
  /** The zone, e.g. `bl.sandbox.test`. */
  zone: string;
  /** Whether an IPv4 address is listed now, and why (the TXT reason). */
  listed: (ip: string) => string | null;
  /** TTL of answers, seconds (short: the demo's listing changes every few minutes). */
  ttlSeconds?: number;
}

/** rbldnsd's default listing code. */
export const DNSBL_LISTED_CODE = [127, 0, 0, 2] as const;
const TYPE_A = 1;
const TYPE_TXT = 16;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
const RCODE_FORMERR = 1;

interface Question {
  name: string;
  type: number;
  cls: number;
  /** End offset of the question section. */
  end: number;
}

/** The first question of a query, or null when the packet cannot be read. */
export function readQuestion(msg: Buffer): Question | null {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i];
    if (len === 0) break;
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), cls: msg.readUInt16BE(i + 3), end: i + 5 };
}

/** TXT RDATA: the text as character-strings of at most 255 bytes each. */
function txtRdata(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let o = 0; o < Math.max(bytes.length, 1); o += 255) {
    const chunk = bytes.subarray(o, o + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** The answer to one query packet. */
export function answerQuery(msg: Buffer, opts: DnsblServerOptions): Buffer {
  const q = readQuestion(msg);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.length >= 2 ? msg.readUInt16BE(0) : 0, 0);
  const rd = msg.length >= 3 ? msg[2] & 0x01 : 0;
  const reply = (rcode: number, answers: Buffer[]) => {
    // QR=1, AA=1, RD as asked; one question echoed, then the answers.
    header.writeUInt16BE(0x8400 | (rd << 8) | rcode, 2);
    header.writeUInt16BE(q ? 1 : 0, 4);
    header.writeUInt16BE(answers.length, 6);
    return Buffer.concat([header, q ? msg.subarray(12, q.end) : Buffer.alloc(0), ...answers]);
  };
  if (!q) return reply(RCODE_FORMERR, []);
  const zone = opts.zone.toLowerCase().replace(/\.$/, '');
  if (q.name !== zone && !q.name.endsWith(`.${zone}`)) return reply(RCODE_REFUSED, []);
  const octets = q.name === zone ? [] : q.name.slice(0, -(zone.length + 1)).split('.');
  const ip = octets.length === 4 && octets.every((o) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(o)) ? [...octets].reverse().join('.') : null;
  const reason = ip ? opts.listed(ip) : null;
  if (reason === null) return reply(RCODE_NXDOMAIN, []);
  const rr = (type: number, rdata: Buffer) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    fixed.writeUInt16BE(type, 2);
    fixed.writeUInt16BE(1, 4); // class IN
    fixed.writeUInt32BE(opts.ttlSeconds ?? 5, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  };
  if (q.type === TYPE_A) return reply(0, [rr(TYPE_A, Buffer.from(DNSBL_LISTED_CODE))]);
  if (q.type === TYPE_TXT) return reply(0, [rr(TYPE_TXT, txtRdata(reason))]);
  return reply(0, []); // the name exists, but not with this type (NODATA)
}

export class DnsblServer {
  private readonly socket: Socket;
  private port = 0;

  constructor(private readonly opts: DnsblServerOptions) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg, rinfo) => {
      try {
        this.socket.send(answerQuery(msg, this.opts), rinfo.port, rinfo.address);
      } catch {
        /* a query that cannot be answered is dropped, as a real server would time out */
      }
    });
  }

  /** `127.0.0.1:port`, as `reputation.dnsbl.servers` takes it. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  get zone(): string {
    return this.opts.zone;
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, '127.0.0.1', () => {
        this.socket.off('error', reject);
        this.port = (this.socket.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
