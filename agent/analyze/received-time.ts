/**
 * When the provider received the probe: the date-time after the last `;` of the TOPMOST
 * Received header (RFC 5321 §4.4 time stamp). Every server prepends its own Received, so the
 * topmost one is the provider's final hop into the mailbox ("t2"); lower ones are the
 * sender's and relays' clocks, which we do not trust for delivery latency.
 */
import { headerValue, type ParsedHeaders } from './parse-headers.js';

export type ArrivalTime = { atMs: number } | { unparsed: string };

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

/** RFC 5322 §4.3 obsolete zones, in minutes east of UTC. */
const OBS_ZONES: Record<string, number> = {
  ut: 0, gmt: 0, utc: 0, z: 0,
  edt: -4 * 60, est: -5 * 60, cdt: -5 * 60, cst: -6 * 60,
  mdt: -6 * 60, mst: -7 * 60, pdt: -7 * 60, pst: -8 * 60,
};

/** Bounds the text handed to the date regex (a date-time is ~40 characters). */
const MAX_DATE_CHARS = 200;

const DATE_RE =
  /^(?:[a-z]{3,9}\s*,\s*)?(\d{1,2})\s+([a-z]{3,9})\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*([+-]\d{4}|[a-z]{1,5})?$/i;

function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** Parses an RFC 5322 date-time (obsolete forms included); a reason string when it cannot. */
export function parseRfc5322Date(text: string): ArrivalTime {
  if (text.length > MAX_DATE_CHARS) return { unparsed: `date too long (${text.length} chars)` };
  const s = stripComments(text).replace(/\s+/g, ' ').trim();
  const m = DATE_RE.exec(s);
  if (!m) return { unparsed: `not an RFC 5322 date: ${JSON.stringify(text.slice(0, 80))}` };
  const day = Number(m[1]);
  const month = MONTHS[m[2].slice(0, 3).toLowerCase()];
  let year = Number(m[3]);
  // RFC 5322 §4.3: 2-digit years 00-49 are 20xx, 50-99 are 19xx; 3-digit years add 1900.
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month === undefined) return { unparsed: `unknown month ${JSON.stringify(m[2])}` };
  if (hour > 23 || minute > 59 || second > 60) return { unparsed: `time out of range: ${s}` };
  const zone = m[7];
  if (zone === undefined) return { unparsed: `date without a time zone: ${s}` };
  let offsetMin: number;
  if (/^[+-]\d{4}$/.test(zone)) {
    const hh = Number(zone.slice(1, 3));
    const mm = Number(zone.slice(3, 5));
    if (hh > 23 || mm > 59) return { unparsed: `zone out of range: ${zone}` };
    offsetMin = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm);
  } else {
    const z = zone.toLowerCase();
    if (z in OBS_ZONES) offsetMin = OBS_ZONES[z];
    // Military zones: RFC 5322 §4.3 says their sign was wrong in RFC 822, so read them as -0000.
    else if (/^[a-ik-z]$/.test(z)) offsetMin = 0;
    else return { unparsed: `unknown time zone ${JSON.stringify(zone)}` };
  }
  // Leap second 60 is folded into the next minute by Date.UTC; that second does not matter here.
  const utc = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month) return { unparsed: `no such day: ${s}` };
  return { atMs: utc - offsetMin * 60_000 };
}

export function providerArrivalTime(headers: ParsedHeaders): ArrivalTime {
  try {
    if (!headers || !Array.isArray(headers.fields)) return { unparsed: 'no headers' };
    const received = headerValue(headers, 'received');
    if (received === undefined) return { unparsed: 'no Received header' };
    const semi = received.lastIndexOf(';');
    if (semi === -1) return { unparsed: 'topmost Received has no ";" date-time' };
    return parseRfc5322Date(received.slice(semi + 1).trim());
  } catch (err) {
    return { unparsed: `internal error: ${String(err)}` };
  }
}
