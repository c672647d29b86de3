/**
 * A loopback authoritative DNS server for the hygiene tests (dns2, as the direct-to-MX tests
 * use): PTR, A, AAAA and TXT records from a table, NXDOMAIN for any other name, SERVFAIL for the
 * names a test marks broken. Every query is recorded. And a dead DNS server: a UDP port nothing
 * listens on.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dns2 from 'dns2';
import { freePort } from '../../helpers/ports.js';

const { Packet } = dns2;

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  PTR?: string[];
  TXT?: string[];
  /** Answer SERVFAIL for this name. */
  servfail?: boolean;
}

export interface LoopbackDns {
  /** `127.0.0.1:port`, as dns.servers takes it. */
  server: string;
  queries: string[];
  close(): Promise<void>;
}

const TYPE_NAMES: Record<number, keyof Omit<DnsRecords, 'servfail'>> = {
  [Packet.TYPE.A]: 'A',
  [Packet.TYPE.AAAA]: 'AAAA',
  [Packet.TYPE.PTR]: 'PTR',
  [Packet.TYPE.TXT]: 'TXT',
};

/** The in-addr.arpa / ip6.arpa name of an address, as a resolver asks for its PTR. */
export function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${groups.flatMap((g) => g.padStart(4, '0').split('')).reverse().join('.')}.ip6.arpa`;
}

export async function startLoopbackDns(zone: Record<string, DnsRecords>): Promise<LoopbackDns> {
  const queries: string[] = [];
  const table = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]));
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [q] = request.questions;
      const name = q.name.toLowerCase();
      const type = TYPE_NAMES[q.type];
      queries.push(`${type ?? q.type} ${name}`);
      const rr = table.get(name);
      const header = response.header as { rcode: number };
      if (!rr) header.rcode = 3; // NXDOMAIN
      else if (rr.servfail) header.rcode = 2;
      else if (type) {
        for (const v of rr[type] ?? []) {
          const base = { name, type: q.type, class: Packet.CLASS.IN, ttl: 60 };
          const data = type === 'PTR' ? { domain: v } : type === 'TXT' ? { data: v } : { address: v };
          response.answers.push({ ...base, ...data } as never);
        }
      }
      send(response);
    },
  });
  const port = await freePort();
  await server.listen({ udp: { port, address: '127.0.0.1', type: 'udp4' } } as never);
  return { server: `127.0.0.1:${port}`, queries, close: async () => void (await server.close()) };
}

/** A UDP port nothing listens on: a query to it is answered by ICMP port unreachable. */
export async function deadUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
