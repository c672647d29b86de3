/**
 * Microsoft SNDS (Smart Network Data Services) automated access: two CSV feeds behind a key.
 *   data.aspx?key=K      one line per IP and activity period, no header, CRLF, 14 columns: IP,
 *                        activity start, activity end, RCPT commands, DATA commands, message
 *                        recipients, filter result (GREEN/YELLOW/RED), complaint rate ("< 0.1%",
 *                        "1.2%"), trap message start, trap message end, trap hits, sample HELO,
 *                        sample MAIL FROM, comments. Dates as `M/D/YYYY h:mm AM`.
 *   ipStatus.aspx?key=K  one line per blocked range: first IP, last IP, blocked ("Yes"), reason.
 * Microsoft publishes no column document; this order is the one every public parser uses.
 * The parsers are pure; a line that does not fit is reported with its line number and skipped,
 * never guessed and never fatal.
 */
import { canonicalIp } from '../analyze/ingress-ip.js';
import { httpRequest, type HttpRequestOptions } from './http-request.js';
import type { SourceErrorKind } from './reputation-errors.js';

export const SNDS_FILTER_RESULTS = ['GREEN', 'YELLOW', 'RED'] as const;
export type SndsFilterResult = (typeof SNDS_FILTER_RESULTS)[number];

export interface SndsRow {
  ip: string;
  activityStart: string;
  activityEnd: string;
  /** The day the activity ends, YYYY-MM-DD, as SNDS writes it (its own time zone). */
  day: string;
  rcptCommands: number;
  dataCommands: number;
  recipients: number;
  filterResult: SndsFilterResult;
  /** As written, e.g. "< 0.1%". */
  complaintRateText: string;
  /** Ratio 0–1; "< 0.1%" reads as its bound 0.001 (SNDS says no more than that). Null when empty. */
  complaintRate: number | null;
  trapHits: number;
  sampleHelo: string;
  sampleMailFrom: string;
  comments: string;
}

export interface SndsBlockedRange {
  firstIp: string;
  lastIp: string;
  blocked: boolean;
  reason: string;
}

export interface MalformedLine {
  line: number;
  reason: string;
}

/** Bounds one text field kept from a row (HELO, MAIL FROM, comments are free text). */
const MAX_FIELD_CHARS = 200;

const SNDS_DATE_RE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::\d{2})?\s*([AP]M))?$/i;

/** `9/29/2020 9:00 PM` → `2020-09-29`, or null. */
export function sndsDay(text: string): string | null {
  const m = SNDS_DATE_RE.exec(text.trim());
  if (!m) return null;
  const [mo, d, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  return `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** "< 0.1%" → 0.001, "2.5%" → 0.025, "" → null; undefined when unreadable. */
export function complaintRate(text: string): number | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const m = /^(?:<\s*)?(\d+(?:\.\d+)?)\s*%$/.exec(t);
  return m ? Number(m[1]) / 100 : undefined;
}

function count(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return 0;
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** Splits one CSV line (RFC 4180 quoting; SNDS does not quote, a sample MAIL FROM might). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === '') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const lines = (text: string) => text.split(/\r?\n/).map((l, i) => ({ n: i + 1, text: l })).filter((l) => l.text.trim() !== '');

export function parseSndsData(text: string): { rows: SndsRow[]; malformed: MalformedLine[] } {
  const rows: SndsRow[] = [];
  const malformed: MalformedLine[] = [];
  for (const { n, text: line } of lines(text)) {
    const f = csvFields(line);
    const bad = (reason: string) => malformed.push({ line: n, reason });
    if (f.length !== 14) {
      bad(`expected 14 columns, got ${f.length}`);
      continue;
    }
    const ip = canonicalIp(f[0]);
    if (ip === null) {
      bad('column 1 is not an IP address');
      continue;
    }
    const day = sndsDay(f[2]);
    if (day === null || sndsDay(f[1]) === null) {
      bad('activity start or end is not a date (M/D/YYYY h:mm AM)');
      continue;
    }
    const [rcpt, data, recipients, traps] = [count(f[3]), count(f[4]), count(f[5]), count(f[10])];
    if (rcpt === undefined || data === undefined || recipients === undefined || traps === undefined) {
      bad('a count column (RCPT, DATA, recipients, trap hits) is not a whole number');
      continue;
    }
    const filter = f[6].trim().toUpperCase();
    if (!(SNDS_FILTER_RESULTS as readonly string[]).includes(filter)) {
      bad('filter result is not GREEN, YELLOW or RED');
      continue;
    }
    const rate = complaintRate(f[7]);
    if (rate === undefined) {
      bad('complaint rate is not a percentage');
      continue;
    }
    rows.push({
      ip,
      activityStart: f[1].trim(),
      activityEnd: f[2].trim(),
      day,
      rcptCommands: rcpt,
      dataCommands: data,
      recipients,
      filterResult: filter as SndsFilterResult,
      complaintRateText: f[7].trim(),
      complaintRate: rate,
      trapHits: traps,
      sampleHelo: f[11].slice(0, MAX_FIELD_CHARS),
      sampleMailFrom: f[12].slice(0, MAX_FIELD_CHARS),
      comments: f[13].slice(0, MAX_FIELD_CHARS),
    });
  }
  return { rows, malformed };
}

export function parseSndsIpStatus(text: string): { ranges: SndsBlockedRange[]; malformed: MalformedLine[] } {
  const ranges: SndsBlockedRange[] = [];
  const malformed: MalformedLine[] = [];
  for (const { n, text: line } of lines(text)) {
    const f = csvFields(line);
    const first = canonicalIp(f[0] ?? '');
    const last = canonicalIp(f[1] ?? '');
    if (f.length < 3 || first === null || last === null || first.includes(':') || last.includes(':')) {
      malformed.push({ line: n, reason: 'expected first IP, last IP, blocked, reason' });
      continue;
    }
    ranges.push({ firstIp: first, lastIp: last, blocked: f[2].trim().toLowerCase() === 'yes', reason: f.slice(3).join(',').trim().slice(0, MAX_FIELD_CHARS) });
  }
  return { ranges, malformed };
}

const v4 = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** Whether an IP lies in a blocked range (SNDS data is IPv4 only). */
export function blockedBy(ranges: readonly SndsBlockedRange[], ip: string): SndsBlockedRange | undefined {
  if (ip.includes(':')) return undefined;
  const x = v4(ip);
  return ranges.find((r) => r.blocked && v4(r.firstIp) <= x && x <= v4(r.lastIp));
}

/** The newest row per IP (SNDS may list several activity periods). */
export function latestPerIp(rows: readonly SndsRow[]): Map<string, SndsRow> {
  const out = new Map<string, SndsRow>();
  for (const r of rows) {
    const prev = out.get(r.ip);
    if (!prev || r.day >= prev.day) out.set(r.ip, r);
  }
  return out;
}

export type SndsFetch =
  | {
      ok: true;
      rows: SndsRow[];
      /** Null when ipStatus.aspx could not be read (`ipStatusError` says why): blocked is then unknown, not "no". */
      ranges: SndsBlockedRange[] | null;
      ipStatusError?: { kind: SourceErrorKind; message: string };
      malformed: (MalformedLine & { feed: 'data' | 'ipStatus' })[];
    }
  | { ok: false; kind: SourceErrorKind; message: string };

/** SNDS answers an HTML page (a sign-in or error page) with 200 when something is off. */
const HTML_RE = /^\s*</;
const HTML_MESSAGE = 'answered HTML instead of CSV (key not authorized for automated access?)';

/**
 * `url` is the data.aspx URL; ipStatus.aspx is read from the same directory with the same key.
 * The data feed decides: when it fails, the whole fetch fails. When only ipStatus fails, the
 * data rows are still returned (they are valid on their own) with the ipStatus error beside them.
 */
export async function fetchSnds(url: string, key: string, opts: Pick<HttpRequestOptions, 'timeoutMs' | 'fetch'> = {}): Promise<SndsFetch> {
  const dataUrl = new URL(url);
  dataUrl.searchParams.set('key', key);
  const statusUrl = new URL('ipStatus.aspx', dataUrl);
  statusUrl.searchParams.set('key', key);
  const common = { ...opts, secrets: [key], headers: { accept: 'text/csv, text/plain, */*' } };
  const [data, status] = await Promise.all([httpRequest(dataUrl.toString(), common), httpRequest(statusUrl.toString(), common)]);
  if (!data.ok) return { ok: false, kind: data.kind, message: `SNDS data: ${data.message}` };
  if (HTML_RE.test(data.text)) return { ok: false, kind: 'bad_response', message: `SNDS data ${HTML_MESSAGE}` };
  const d = parseSndsData(data.text);
  const dataMalformed = d.malformed.map((m) => ({ ...m, feed: 'data' as const }));
  if (status.ok && !HTML_RE.test(status.text)) {
    const s = parseSndsIpStatus(status.text);
    return { ok: true, rows: d.rows, ranges: s.ranges, malformed: [...dataMalformed, ...s.malformed.map((m) => ({ ...m, feed: 'ipStatus' as const }))] };
  }
  const ipStatusError = status.ok ? { kind: 'bad_response' as const, message: `SNDS ipStatus ${HTML_MESSAGE}` } : { kind: status.kind, message: `SNDS ipStatus: ${status.message}` };
  return { ok: true, rows: d.rows, ranges: null, ipStatusError, malformed: dataMalformed };
}
