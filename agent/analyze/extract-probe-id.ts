/**
 * Finds a probe's id in a received message. The id travels in three places (see
 * agent/probe-id.ts) because providers and relays rewrite some of them: the header is the
 * most direct, the Message-ID survives header-stripping gateways, the body token survives
 * both (and is what IMAP SEARCH BODY finds).
 */
import { PROBE_BODY_TOKEN_RE, PROBE_HEADER, PROBE_ID_PATTERN } from '../probe-id.js';
import { headerValues, type ParsedHeaders } from './parse-headers.js';

export type ProbeIdSource = 'header' | 'message-id' | 'body';

export interface ExtractedProbeId {
  /** Upper-case ULID. */
  id: string;
  source: ProbeIdSource;
}

/**
 * Bounds the body text searched for the token: the probe body is a few hundred bytes and
 * the token sits near the top; a provider-appended footer never pushes it past this.
 */
export const MAX_BODY_SCAN_CHARS = 1024 * 1024;

function asProbeId(candidate: string): string | null {
  const id = candidate.trim().toUpperCase();
  return PROBE_ID_PATTERN.test(id) ? id : null;
}

/** `<ID@domain>` → ID when it is a ULID (angle brackets and comments tolerated). */
export function probeIdFromMessageId(messageId: string): string | null {
  const m = /<?\s*([^<>@\s]+)@[^>]*>?/.exec(messageId);
  return m ? asProbeId(m[1]) : null;
}

export function extractProbeId(headers: ParsedHeaders, bodyText?: string): ExtractedProbeId | null {
  const fields = headers && Array.isArray(headers.fields) ? headers : null;
  if (fields) {
    for (const v of headerValues(fields, PROBE_HEADER)) {
      const id = asProbeId(v);
      if (id) return { id, source: 'header' };
    }
    for (const v of headerValues(fields, 'message-id')) {
      const id = probeIdFromMessageId(v);
      if (id) return { id, source: 'message-id' };
    }
  }
  if (typeof bodyText === 'string') {
    const text = bodyText.length > MAX_BODY_SCAN_CHARS ? bodyText.slice(0, MAX_BODY_SCAN_CHARS) : bodyText;
    const m = PROBE_BODY_TOKEN_RE.exec(text);
    if (m) return { id: m[1].toUpperCase(), source: 'body' };
  }
  return null;
}
