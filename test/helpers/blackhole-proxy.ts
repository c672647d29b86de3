/**
 * A TCP proxy on loopback that can go silent: `cut()` stops forwarding in both directions
 * without closing anything (no FIN, no RST), as a firewall dropping packets or a dead NAT entry
 * does; new connections are accepted and then ignored. `heal()` forwards again for connections
 * made after it. Stopping a server process instead closes its sockets, which a client notices
 * at once: this is the failure a client only notices by its own timeouts.
 */
import net from 'node:net';

export interface BlackholeProxy {
  port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startBlackholeProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<BlackholeProxy> {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const pairs: { client: net.Socket; upstream: net.Socket }[] = [];
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = net.createServer((client) => {
    track(client);
    if (silent) {
      client.on('data', () => undefined); // swallowed
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pairs.push({ client, upstream });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      silent = true;
      for (const { client, upstream } of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Keep reading and drop it: paused sockets would push back, a silent network does not.
        client.removeAllListeners('data');
        upstream.removeAllListeners('data');
        client.on('data', () => undefined);
        upstream.on('data', () => undefined);
        client.resume();
        upstream.resume();
      }
    },
    heal() {
      silent = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
