/**
 * Pure parsing of one SMTP reply (possibly multi-line, as nodemailer hands it over: lines
 * joined with "\n"). RFC 5321 §4.2 gives the code, RFC 3463 the enhanced status code.
 */
export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code, e.g. "5.7.1", when the server sent one. */
  enhanced?: string;
  /** Reply text without codes, lines joined by a space. */
  text: string;
  /** The relay's queue id for the message, from a 250 reply after DATA, when recognisable. */
  queueId?: string;
}

const LINE_RE = /^(\d{3})(?:[ -](.*))?$/;
const ENHANCED_RE = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)/;

/**
 * Queue ids as real MTAs print them in the 250 reply to the end of DATA. Order matters: the
 * first match wins. Each pattern captures the id only (no brackets, no trailing punctuation).
 */
const QUEUE_ID_PATTERNS: RegExp[] = [
  // Postfix "2.0.0 Ok: queued as 4XyzAbC12", smtp-server scripts, many appliances
  /\bqueued as\s+<?([A-Za-z0-9][A-Za-z0-9._@-]*[A-Za-z0-9])>?/i,
  // Exim "OK id=1qAbCd-0001Xy-Zz"
  /\bid=([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])/i,
  // Microsoft 365 "<id@host> [InternalId=12345, Hostname=...] Queued mail for delivery"
  /\[InternalId=(\d+)/i,
  // Gmail "OK  1700000000 a1b2c3d4e5si1234567abc.45 - gsmtp"
  /\bOK\s+\d+\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s+-\s+gsmtp\b/i,
  // Sendmail "x7KJk1a1234567 Message accepted for delivery"
  /^([A-Za-z0-9]{8,20})\s+Message accepted for delivery/i,
  // Amazon SES "Ok 0100018b5c3c0a4f-...-000000"
  /^Ok\s+([0-9a-f]{16}(?:-[0-9a-f]+){2,})$/i,
];

/** Parse a reply; null when the text does not start with a 3-digit code. */
export function parseSmtpReply(response: string | undefined | null): SmtpReply | null {
  if (!response) return null;
  const lines = String(response).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return null;
  const first = LINE_RE.exec(lines[0]);
  if (!first) return null;
  const code = Number(first[1]);
  let enhanced: string | undefined;
  const texts: string[] = [];
  for (const line of lines) {
    const m = LINE_RE.exec(line);
    let rest = m ? (m[2] ?? '') : line;
    const e = ENHANCED_RE.exec(rest);
    if (e) {
      enhanced ??= e[1];
      rest = rest.slice(e[0].length);
    }
    if (rest !== '') texts.push(rest);
  }
  const text = texts.join(' ');
  const reply: SmtpReply = { code, text };
  if (enhanced !== undefined) reply.enhanced = enhanced;
  if (code >= 200 && code < 300) {
    const queueId = findQueueId(text);
    if (queueId !== undefined) reply.queueId = queueId;
  }
  return reply;
}

function findQueueId(text: string): string | undefined {
  for (const re of QUEUE_ID_PATTERNS) {
    const m = re.exec(text);
    if (m) return m[1];
  }
  return undefined;
}
