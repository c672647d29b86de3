/**
 * Microsoft's spam verdict stamps (Exchange Online Protection / Outlook.com):
 *   X-Forefront-Antispam-Report: CIP:209.85.219.169;CTRY:US;LANG:en;SCL:5;SRV:;IPV:NLI;SFV:SPM;...;CAT:SPM;SFTY:;
 *   X-Microsoft-Antispam: BCL:0;ARA:1444111002|...;
 * Only the BOTTOMMOST copy is read. Unlike Received/Authentication-Results, Microsoft does
 * not prepend these stamps: it appends its X-MS-..., X-Forefront-... and X-Microsoft-Antispam block
 * after the message's original header block (right after `X-IncomingHeaderCount`), so a
 * copy planted by the sender sits above Microsoft's. Copies that crossed another tenant are
 * renamed `...-Untrusted` by Microsoft and are not read at all.
 */
import { headerValues, type ParsedHeaders } from './parse-headers.js';

function lastValue(headers: ParsedHeaders, name: string): string | undefined {
  const all = headerValues(headers, name);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

export interface MicrosoftAntispam {
  /** Spam confidence level, -1 (bypassed) .. 9; 5-6 spam, 9 high-confidence spam. */
  scl?: number;
  /** Spam filter verdict: SPM, NSPM, SKN, SKS, SFE, BLK, SKA, SKQ, SKI, SKV, ... (upper-case). */
  sfv?: string;
  /** Protection category: NONE, SPM, HSPM, BULK, PHSH, HPHSH, SPOOF, MALW, ... (upper-case). */
  cat?: string;
  /** Bulk complaint level 0..9. */
  bcl?: number;
  /** Safety tip code, when present and non-empty. */
  sfty?: string;
  /** IP validation: NLI (not listed) or CAL (allow-listed). */
  ipv?: string;
}

/** Bounds the stamp we split (real ones are < 1 KiB). */
const MAX_STAMP_CHARS = 16 * 1024;

/** `KEY:VALUE;KEY:VALUE;` → map, keys upper-case, first occurrence wins. */
export function parseKeyValueStamp(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const s = value.length > MAX_STAMP_CHARS ? value.slice(0, MAX_STAMP_CHARS) : value;
  for (const part of s.split(';')) {
    const colon = part.indexOf(':');
    if (colon <= 0) continue;
    const key = part.slice(0, colon).trim().toUpperCase();
    if (!key || out.has(key)) continue;
    out.set(key, part.slice(colon + 1).trim());
  }
  return out;
}

function intIn(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^-?\d{1,2}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

function code(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim().toUpperCase();
  return /^[A-Z0-9_.-]{1,32}$/.test(t) ? t : undefined;
}

export function microsoftAntispam(headers: ParsedHeaders): MicrosoftAntispam {
  const out: MicrosoftAntispam = {};
  try {
    if (!headers || !Array.isArray(headers.fields)) return out;
    const forefront = lastValue(headers, 'x-forefront-antispam-report');
    if (forefront !== undefined) {
      const kv = parseKeyValueStamp(forefront);
      const scl = intIn(kv.get('SCL'), -1, 9);
      if (scl !== undefined) out.scl = scl;
      const sfv = code(kv.get('SFV'));
      if (sfv !== undefined) out.sfv = sfv;
      const cat = code(kv.get('CAT'));
      if (cat !== undefined) out.cat = cat;
      const sfty = code(kv.get('SFTY'));
      if (sfty !== undefined) out.sfty = sfty;
      const ipv = code(kv.get('IPV'));
      if (ipv !== undefined) out.ipv = ipv;
    }
    const antispam = lastValue(headers, 'x-microsoft-antispam');
    if (antispam !== undefined) {
      const bcl = intIn(parseKeyValueStamp(antispam).get('BCL'), 0, 9);
      if (bcl !== undefined) out.bcl = bcl;
    }
  } catch {
    // Parsing is written not to throw; whatever was read stays.
  }
  return out;
}
