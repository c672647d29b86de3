import { hostname } from 'node:os';

/**
 * The HELO/EHLO name a direct-to-MX path sends: `mx.helo`, else the machine's host name. One
 * function for the sender and for the DNS hygiene check (is that name one of the egress IP's
 * forward-confirmed PTR names?), so the check always looks at the name receivers really see.
 */
export function heloName(mx: { helo?: string }): string {
  return mx.helo ?? hostname();
}
