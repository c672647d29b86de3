/**
 * Does the envelope sender's SPF record authorize an egress IP? Evaluated by mailauth's SPF
 * implementation (RFC 7208, with its DNS lookup and void-lookup limits) against the agent's
 * resolver. `pass` is the only good answer; neutral, softfail, fail, none and permerror (a
 * broken record) are "not authorized"; temperror (DNS failed) is an error, not a verdict.
 */
import type { spf as SpfFn } from 'mailauth/lib/spf/index.js';
import { dnsErrorKind, type DnsErrorKind, type DnsResolver } from './dns-resolver.js';

export type SpfCheck = { status: 'pass' | 'not_pass'; result: string; domain: string } | { status: 'error'; kind: DnsErrorKind; message: string; domain: string };

/** The address of a `Name <local@domain>` (or bare address) sender. */
export function senderAddressOf(from: string): string | null {
  const m = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from) ?? /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(from);
  return m ? m[1] : null;
}

/**
 * mailauth is loaded on the first check, not with the agent: importing it costs ~34 MiB of RSS
 * (20 MiB of heap), and an agent with no reputation checks configured never needs it.
 */
let spfModule: Promise<typeof SpfFn> | null = null;
function loadSpf(): Promise<typeof SpfFn> {
  spfModule ??= import('mailauth/lib/spf/index.js').then((m) => m.spf);
  return spfModule;
}

export async function checkSpf(resolver: Pick<DnsResolver, 'resolve'>, opts: { ip: string; sender: string; helo?: string }): Promise<SpfCheck> {
  const domain = opts.sender.slice(opts.sender.lastIndexOf('@') + 1).toLowerCase();
  try {
    const spf = await loadSpf();
    const res = await spf({
      sender: opts.sender,
      ip: opts.ip,
      helo: opts.helo ?? domain,
      // Names the checking host in mailauth's comments only; nothing is sent anywhere.
      mta: 'seedwatch',
      resolver: (name: string, rrtype: string) => resolver.resolve(name, rrtype) as Promise<never>,
    } as Parameters<typeof spf>[0]);
    const result = String(res.status?.result ?? 'none').toLowerCase();
    if (result === 'temperror') return { status: 'error', kind: 'other', message: String(res.status?.comment ?? 'temperror'), domain };
    return { status: result === 'pass' ? 'pass' : 'not_pass', result, domain };
  } catch (err) {
    return { status: 'error', kind: dnsErrorKind(err), message: String((err as Error).message ?? err).slice(0, 200), domain };
  }
}
