/**
 * Property tests: whatever bytes a mailbox hands us, the analysis layer returns data of the
 * promised shape and never throws. 10,000 runs each (the brief's floor).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticationResults } from '../../../agent/analyze/authentication-results.js';
import { OUTLOOK_RECEIVED_HOSTS } from './fixtures.js';
import { microsoftAntispam } from '../../../agent/analyze/microsoft-antispam.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { providerArrivalTime } from '../../../agent/analyze/received-time.js';
import { analyzeMessage } from '../../../agent/analyze/analyze-message.js';

const RUNS = 10_000;

/** Pieces real headers are made of, so random input often gets deep into the parsers. */
const piece = fc.constantFrom(
  'Received: ', 'Authentication-Results: ', 'ARC-Authentication-Results: i=1; ', 'X-Forefront-Antispam-Report: ',
  'X-Microsoft-Antispam: ', 'Subject: ', 'Message-ID: <', '@x>', 'X-Seedwatch-Probe: ', '01HZX3K5V8Q2M4N6P8R0T2W4Y6',
  'mx.google.com', ';', '=', '(', ')', '"', '\\', ' ', '\t', '\r\n', '\n', '\r\n ', '\r\n\r\n', ':', 'spf', 'dkim', 'pass',
  'header.d', '.', '/', 'by ', 'x.prod.outlook.com', 'Tue, 4 Jun 2024 09:13:07 +0000', 'PDT', '=?UTF-8?B?w6k=?=', '=?x?Q?',
  'SCL:', 'SFV:SPM', 'BCL:', '-1', '9', '\u00e9', '\ud800', '\u0000',
);
const headerish = fc.array(fc.oneof(piece, fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 40 }).map((a) => a.join(''));
const bytesish = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
const anyRaw = fc.oneof(headerish, bytesish, headerish.map((s) => Buffer.from(s, 'latin1')));

const isResult = (v: unknown) => v === undefined || (typeof v === 'string' && /^[a-z0-9][a-z0-9_-]*$/.test(v));

describe('properties', () => {
  it('parseHeaders: fields keep their shape; names are header names; values are trimmed', () => {
    fc.assert(
      fc.property(anyRaw, (raw) => {
        const h = parseHeaders(raw);
        expect(Array.isArray(h.fields)).toBe(true);
        for (const f of h.fields) {
          expect(f.name).toMatch(/^[\x21-\x39\x3b-\x7e]+$/);
          expect(f.lname).toBe(f.name.toLowerCase());
          expect(f.value).toBe(f.value.trim());
          expect(f.value).not.toMatch(/[\r\n]/);
        }
        expect(Number.isInteger(h.malformedLines) && h.malformedLines >= 0).toBe(true);
        expect(h.latin1Fields).toBeLessThanOrEqual(h.fields.length);
        if (h.subject !== undefined) expect(h.subject).not.toMatch(/[\r\n]/);
      }),
      { numRuns: RUNS },
    );
  });

  it('authenticationResults: a verdict of one of the three shapes, lower-case results', () => {
    fc.assert(
      fc.property(headerish, fc.boolean(), (raw, microsoft) => {
        const v = authenticationResults(parseHeaders(raw), ['mx.google.com', '*.yahoo.com'], microsoft ? { providerReceivedHosts: OUTLOOK_RECEIVED_HOSTS } : {});
        expect(typeof v.found).toBe('boolean');
        if (v.found && v.unparsed) {
          expect(typeof v.reason).toBe('string');
          expect(v.reason.length).toBeGreaterThan(0);
        } else if (v.found) {
          for (const k of ['spf', 'dkim', 'dmarc', 'arc', 'compauth'] as const) expect(isResult(v[k])).toBe(true);
          expect(v.dkim === undefined).toBe(v.dkimResults.length === 0);
          if (v.dkimResults.some((r) => r.result === 'pass')) expect(v.dkim).toBe('pass');
          if (v.authservId === null) expect(v.trust).toBe('ingress-position');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('authenticationResults: A-R values alone (random resinfo strings)', () => {
    fc.assert(
      fc.property(headerish, (value) => {
        const v = authenticationResults(parseHeaders(`Authentication-Results: mx.google.com; ${value.replace(/[\r\n]/g, ' ')}`), ['mx.google.com']);
        expect(v.found).toBe(true);
        if (v.found && !v.unparsed) expect(v.results.every((r) => r.method === r.method.toLowerCase())).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('providerArrivalTime: a finite time or a reason', () => {
    fc.assert(
      fc.property(headerish, (raw) => {
        const r = providerArrivalTime(parseHeaders(raw));
        if ('atMs' in r) expect(Number.isFinite(r.atMs)).toBe(true);
        else expect(typeof r.unparsed).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });

  it('providerArrivalTime: any valid date round-trips to the same instant', () => {
    const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }).map((ms) => ms - (ms % 1000)),
        fc.integer({ min: -12 * 60, max: 14 * 60 }),
        (ms, offsetMin) => {
          const local = new Date(ms + offsetMin * 60_000);
          const p = (n: number) => String(n).padStart(2, '0');
          const zone = `${offsetMin < 0 ? '-' : '+'}${p(Math.floor(Math.abs(offsetMin) / 60))}${p(Math.abs(offsetMin) % 60)}`;
          const date = `${DAYS[local.getUTCDay()]}, ${local.getUTCDate()} ${MONTHS[local.getUTCMonth()]} ${local.getUTCFullYear()} ${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} ${zone}`;
          expect(providerArrivalTime(parseHeaders(`Received: by mx.example; ${date} (comment)`))).toEqual({ atMs: ms });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('microsoftAntispam: only known keys, in range', () => {
    fc.assert(
      fc.property(headerish, (raw) => {
        const a = microsoftAntispam(parseHeaders(raw));
        for (const k of Object.keys(a)) expect(['scl', 'sfv', 'cat', 'bcl', 'sfty', 'ipv']).toContain(k);
        if (a.scl !== undefined) expect(a.scl >= -1 && a.scl <= 9 && Number.isInteger(a.scl)).toBe(true);
        if (a.bcl !== undefined) expect(a.bcl >= 0 && a.bcl <= 9 && Number.isInteger(a.bcl)).toBe(true);
        for (const k of ['sfv', 'cat', 'sfty', 'ipv'] as const) if (a[k] !== undefined) expect(a[k]).toMatch(/^[A-Z0-9_.-]+$/);
      }),
      { numRuns: RUNS },
    );
  });

  it('microsoftAntispam: stamps built from random key/values read back', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 9 }), fc.integer({ min: 0, max: 9 }), fc.constantFrom('SPM', 'NSPM', 'SKN', 'SKS', 'BLK'), (scl, bcl, sfv) => {
        const raw = `X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:FR;SCL:${scl};SRV:;IPV:NLI;SFV:${sfv};\r\nX-Microsoft-Antispam: BCL:${bcl};`;
        expect(microsoftAntispam(parseHeaders(raw))).toEqual({ scl, sfv, ipv: 'NLI', bcl });
      }),
      { numRuns: RUNS },
    );
  });

  it('analyzeMessage: JSON-safe evidence, never throws', () => {
    fc.assert(
      fc.property(anyRaw, (raw) => {
        const r = analyzeMessage(raw, { trustedAuthservIds: ['mx.google.com'], providerReceivedHosts: OUTLOOK_RECEIVED_HOSTS });
        expect(Array.isArray(r.parseErrors)).toBe(true);
        expect(JSON.parse(JSON.stringify(r))).toEqual(r);
      }),
      { numRuns: 2_000 },
    );
  });
});
