/**
 * Tolerant RFC 5322 header-block parser.
 *
 * Input comes from mailboxes we do not control: the sender, every relay and the provider
 * wrote into it. So this never throws, bounds the work it does, and says what it skipped
 * instead of guessing silently.
 */
import libmime from 'libmime';

/**
 * Bounds how much of the message is read as headers. Real provider header blocks are
 * 5–40 KiB (Gmail's ARC sets and Microsoft's X-MS-* stamps are the bulk); 256 KiB leaves
 * room for long relay chains and still keeps one pathological message (a 1 MB header) to
 * a fixed, small cost. For string input the limit counts UTF-16 code units.
 */
export const MAX_HEADER_BYTES = 256 * 1024;

/**
 * Bounds the Subject length handed to the RFC 2047 decoder (libmime runs several regex
 * passes over it). A probe subject is short; anything longer is someone else's problem.
 */
export const MAX_SUBJECT_DECODE_CHARS = 16 * 1024;

export interface HeaderField {
  /** Name as written (case kept). */
  name: string;
  /** Lower-case name, for case-insensitive lookups. */
  lname: string;
  /** Unfolded (CRLF before WSP removed, RFC 5322 §2.2.3) and trimmed value. */
  value: string;
}

export interface HeaderTruncation {
  /** The cap that was hit. */
  limitBytes: number;
  /** Name of the field being read when the cap was hit; it is dropped, not kept half-read. */
  droppedField?: string;
}

export interface ParsedHeaders {
  /** In message order: index 0 is the topmost header (the last one a server prepended). */
  fields: HeaderField[];
  /** First Subject, RFC 2047 encoded-words decoded. */
  subject?: string;
  /** Set when the header block was larger than MAX_HEADER_BYTES. */
  truncated?: HeaderTruncation;
  /** Fields whose bytes were not valid UTF-8 and were decoded as latin1 instead. */
  latin1Fields: number;
  /** Lines that were neither a `name: value` field nor a continuation (skipped). */
  malformedLines: number;
  /** Set when the input was not usable at all (not a Buffer or string). */
  unparsed?: string;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function decodeBytes(bytes: Uint8Array): { text: string; latin1: boolean } {
  // Fast path: pure ASCII needs no validation.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'), latin1: false };
  try {
    return { text: utf8Strict.decode(bytes), latin1: false };
  } catch {
    // 8-bit headers that are not UTF-8 are, in practice, latin1/windows-1252 from old MUAs.
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'), latin1: true };
  }
}

/** A field name: printable US-ASCII except ':' (RFC 5322 §3.6.8). */
function isFieldName(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c < 33 || c > 126 || c === 58) return false;
  }
  return true;
}

export function decodeEncodedWords(value: string): string {
  const input = value.length > MAX_SUBJECT_DECODE_CHARS ? value.slice(0, MAX_SUBJECT_DECODE_CHARS) : value;
  if (!input.includes('=?')) return input;
  try {
    // An encoded CR/LF (`=0D=0A`) must not come back as a line break in a one-line value.
    return libmime.decodeWords(input).replace(/[\r\n]+/g, ' ');
  } catch {
    return input;
  }
}

export function parseHeaders(raw: Buffer | string): ParsedHeaders {
  const result: ParsedHeaders = { fields: [], latin1Fields: 0, malformedLines: 0 };
  let bytes: Buffer;
  let moreAvailable: boolean;
  try {
    if (typeof raw === 'string') {
      moreAvailable = raw.length > MAX_HEADER_BYTES;
      bytes = Buffer.from(moreAvailable ? raw.slice(0, MAX_HEADER_BYTES) : raw, 'utf8');
    } else if ((raw as unknown) instanceof Uint8Array) {
      const u8 = raw as Uint8Array;
      const all = Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.length);
      moreAvailable = all.length > MAX_HEADER_BYTES;
      bytes = moreAvailable ? all.subarray(0, MAX_HEADER_BYTES) : all;
    } else {
      result.unparsed = 'input is neither a Buffer nor a string';
      return result;
    }
  } catch (err) {
    result.unparsed = `input could not be read: ${String(err)}`;
    return result;
  }

  // One pending field: its name and the byte ranges of its lines (joined on flush).
  let pendingName: string | null = null;
  let pendingParts: Array<[number, number]> = [];
  let sawBlankLine = false;

  const flush = () => {
    if (pendingName === null) return;
    let total = 0;
    for (const [s, e] of pendingParts) total += e - s;
    const joined = new Uint8Array(total);
    let off = 0;
    for (const [s, e] of pendingParts) {
      joined.set(bytes.subarray(s, e), off);
      off += e - s;
    }
    const { text, latin1 } = decodeBytes(joined);
    if (latin1) result.latin1Fields++;
    // A bare CR (forbidden by RFC 5322, seen in broken MTAs) would split the value in logs and reports.
    const value = (text.includes('\r') ? text.replace(/\r/g, ' ') : text).trim();
    result.fields.push({ name: pendingName, lname: pendingName.toLowerCase(), value });
    pendingName = null;
    pendingParts = [];
  };

  let pos = 0;
  let lastLineTerminated = true;
  while (pos < bytes.length) {
    let nl = bytes.indexOf(0x0a, pos);
    lastLineTerminated = nl !== -1;
    if (nl === -1) nl = bytes.length;
    let end = nl;
    if (end > pos && bytes[end - 1] === 0x0d) end--;
    const lineStart = pos;
    pos = nl + 1;

    if (end === lineStart) {
      sawBlankLine = true;
      break;
    }
    const first = bytes[lineStart];
    if (first === 0x20 || first === 0x09) {
      // Continuation of the previous field (unfolding keeps the leading WSP).
      if (pendingName !== null) pendingParts.push([lineStart, end]);
      else result.malformedLines++;
      continue;
    }
    const colon = bytes.indexOf(0x3a, lineStart);
    if (colon === -1 || colon >= end) {
      result.malformedLines++;
      continue;
    }
    // obs-optional allows WSP between the name and the colon.
    let nameEnd = colon;
    while (nameEnd > lineStart && (bytes[nameEnd - 1] === 0x20 || bytes[nameEnd - 1] === 0x09)) nameEnd--;
    if (!isFieldName(bytes, lineStart, nameEnd)) {
      result.malformedLines++;
      continue;
    }
    flush();
    pendingName = bytes.toString('latin1', lineStart, nameEnd);
    pendingParts = [[colon + 1, end]];
  }

  if (!sawBlankLine && moreAvailable) {
    // The cap cut the block: the field being read may be incomplete, so drop it.
    result.truncated = { limitBytes: MAX_HEADER_BYTES };
    if (pendingName !== null) result.truncated.droppedField = pendingName;
    else if (!lastLineTerminated) result.malformedLines++;
    pendingName = null;
    pendingParts = [];
  }
  flush();

  const subject = headerValue(result, 'subject');
  if (subject !== undefined) result.subject = decodeEncodedWords(subject);
  return result;
}

/** All values of a header, case-insensitively, topmost first. */
export function headerValues(headers: ParsedHeaders, name: string): string[] {
  const lname = name.toLowerCase();
  const out: string[] = [];
  for (const f of headers.fields) if (f.lname === lname) out.push(f.value);
  return out;
}

/** The topmost value of a header, case-insensitively. */
export function headerValue(headers: ParsedHeaders, name: string): string | undefined {
  const lname = name.toLowerCase();
  for (const f of headers.fields) if (f.lname === lname) return f.value;
  return undefined;
}
