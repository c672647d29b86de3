/**
 * Everything the mailbox watcher records about one fetched probe, from its raw header
 * block: plain data, stored as JSON evidence in the ledger. Never throws; whatever could
 * not be read is listed in `parseErrors` (short, human-readable, one per problem).
 */
import { authenticationResults, type AuthVerdict } from './authentication-results.js';
import { extractProbeId, type ProbeIdSource } from './extract-probe-id.js';
import { microsoftAntispam, type MicrosoftAntispam } from './microsoft-antispam.js';
import { headerValue, parseHeaders } from './parse-headers.js';
import { providerArrivalTime } from './received-time.js';

export interface AnalyzeOptions {
  /** Globs of the provider's authserv-ids, e.g. ['mx.google.com']. */
  trustedAuthservIds: string[];
  /** Globs of the provider's own Received `by` hosts (Microsoft, see authentication-results.ts). */
  providerReceivedHosts?: readonly string[];
  /** Decoded text body, when fetched: last resort for the probe id. */
  bodyText?: string;
}

export interface MessageAnalysis {
  probeId?: string;
  probeIdSource?: ProbeIdSource;
  /** Provider arrival (topmost Received), ms since the epoch. */
  arrivalMs?: number;
  auth: AuthVerdict;
  antispam: MicrosoftAntispam;
  subject?: string;
  messageId?: string;
  parseErrors: string[];
}

/** Bounds the Message-ID kept as evidence. */
const MAX_MESSAGE_ID_CHARS = 998;

export function analyzeMessage(rawHeaders: Buffer | string, opts: AnalyzeOptions): MessageAnalysis {
  const parseErrors: string[] = [];
  try {
    const headers = parseHeaders(rawHeaders);
    if (headers.unparsed) parseErrors.push(`headers: ${headers.unparsed}`);
    if (headers.truncated) {
      const dropped = headers.truncated.droppedField ? ` (dropped field ${headers.truncated.droppedField})` : '';
      parseErrors.push(`headers: truncated at ${headers.truncated.limitBytes} bytes${dropped}`);
    }
    if (headers.latin1Fields > 0) parseErrors.push(`headers: ${headers.latin1Fields} field(s) not UTF-8, read as latin1`);
    if (headers.malformedLines > 0) parseErrors.push(`headers: ${headers.malformedLines} malformed line(s) skipped`);

    const trusted = Array.isArray(opts?.trustedAuthservIds) ? opts.trustedAuthservIds : [];
    const auth = authenticationResults(headers, trusted, { providerReceivedHosts: opts?.providerReceivedHosts });
    if (auth.found && auth.unparsed) parseErrors.push(`authentication-results: ${auth.reason}`);

    const arrival = providerArrivalTime(headers);
    if ('unparsed' in arrival) parseErrors.push(`received: ${arrival.unparsed}`);

    const out: MessageAnalysis = { auth, antispam: microsoftAntispam(headers), parseErrors };
    const probe = extractProbeId(headers, opts?.bodyText);
    if (probe) {
      out.probeId = probe.id;
      out.probeIdSource = probe.source;
    }
    if ('atMs' in arrival) out.arrivalMs = arrival.atMs;
    if (headers.subject !== undefined) out.subject = headers.subject;
    const messageId = headerValue(headers, 'message-id');
    if (messageId !== undefined) out.messageId = messageId.slice(0, MAX_MESSAGE_ID_CHARS);
    return out;
  } catch (err) {
    parseErrors.push(`internal: ${String(err)}`);
    return { auth: { found: false }, antispam: {}, parseErrors };
  }
}
