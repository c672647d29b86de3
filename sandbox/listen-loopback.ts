import type { AddressInfo, Server } from 'node:net';

/** Every sandbox endpoint listens here: loopback only, never another interface. */
export const SANDBOX_HOST = '127.0.0.1';

/**
 * Listen on a free loopback port; resolves with the port. `listener` is what offers `listen`
 * (smtp-server, hoodiecrow or a plain http server), `net` the Node server underneath it.
 */
export function listenLoopback(
  listener: { listen(port: number, host: string, cb: () => void): unknown },
  net: Server,
): Promise<number> {
  return new Promise((resolve, reject) => {
    net.once('error', reject);
    listener.listen(0, SANDBOX_HOST, () => {
      net.off('error', reject);
      resolve((net.address() as AddressInfo).port);
    });
  });
}
