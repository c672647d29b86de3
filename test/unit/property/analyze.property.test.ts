/**
 * Hostile mail headers, 10,000 generated inputs per property: whatever a mailbox hands the
 * agent, the analysis layer returns data of the promised shape (never throws, JSON-safe,
 * bounded), and a probe id embedded in hostile surroundings is still found — or, when it
 * is not a valid id, never invented. (test/unit/analyze/properties.test.ts covers the single
 * parsers; this adds analyzeMessage at full strength, probe-id extraction and folder roles.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeMessage } from '../../../agent/analyze/analyze-message.js';
import { OUTLOOK_RECEIVED_HOSTS } from '../analyze/fixtures.js';
import { extractProbeId, probeIdFromMessageId } from '../../../agent/analyze/extract-probe-id.js';
import { resolveFolderRoles } from '../../../agent/analyze/folder-roles.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { PROBE_ID_PATTERN } from '../../../agent/probe-id.js';

const RUNS = 10_000;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const probeId = fc.array(fc.constantFrom(...CROCKFORD.split('')), { minLength: 26, maxLength: 26 }).map((a) => a.join(''));

/** Pieces real headers are made of, so generated input reaches deep into the parsers. */
const piece = fc.constantFrom(
  'Received: from x by mx.google.com with ESMTPS id a; ', 'Authentication-Results: mx.google.com; ', 'spf=pass smtp.mailfrom=a.b; ',
  'dkim=fail header.d=x.y; ', 'dmarc=pass (p=NONE) header.from=z; ', 'ARC-Authentication-Results: i=1; ', 'X-Forefront-Antispam-Report: SCL:9;SFV:SPM;',
  'X-Microsoft-Antispam: BCL:7;', 'Subject: ', 'Message-ID: <', '@x>', 'X-Seedwatch-Probe: ', 'Date: Tue, 4 Jun 2024 09:13:07 +0000',
  '=?UTF-8?B?PHNjcmlwdD4=?=', '=?utf-8?q?=3Cscript=3E?=', '<script>alert(1)</script>', '"', "'", '\\', '(', ')', ';', '=', ':',
  ' ', '\t', '\r\n', '\n', '\r', '\r\n ', '\r\n\t', '\r\n\r\n', '\u0000', '\u00e9', '\ud800', '\ufeff', '\u202e', 'x'.repeat(1000),
);
const headerish = fc.array(fc.oneof(piece, fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 60 }).map((a) => a.join(''));
const bytesish = fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b));
const anyRaw = fc.oneof(headerish, bytesish, headerish.map((s) => Buffer.from(s, 'latin1')), headerish.map((s) => Buffer.from(s, 'utf8')));
const anyOpts = fc.record({
  trustedAuthservIds: fc.oneof(fc.constant(['mx.google.com']), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.constant(['*'])).map((a) => [...a]),
  providerReceivedHosts: fc.option(fc.constant(OUTLOOK_RECEIVED_HOSTS), { nil: undefined }),
  bodyText: fc.option(fc.oneof(headerish, fc.string()), { nil: undefined }),
});

describe('analyzeMessage on hostile input', () => {
  it('never throws; JSON-safe; parse errors are short strings; fields are bounded', () => {
    fc.assert(
      fc.property(anyRaw, anyOpts, (raw, opts) => {
        const r = analyzeMessage(raw, opts);
        expect(JSON.parse(JSON.stringify(r))).toEqual(r);
        expect(Array.isArray(r.parseErrors)).toBe(true);
        for (const e of r.parseErrors) {
          expect(typeof e).toBe('string');
          expect(e.length).toBeLessThan(2_000);
        }
        expect(r.parseErrors.filter((e) => e.startsWith('internal:'))).toEqual([]); // no parser blew up inside
        if (r.probeId !== undefined) expect(r.probeId).toMatch(PROBE_ID_PATTERN);
        if (r.arrivalMs !== undefined) expect(Number.isFinite(r.arrivalMs)).toBe(true);
        if (r.messageId !== undefined) expect(r.messageId.length).toBeLessThanOrEqual(998);
        if (r.subject !== undefined) expect(r.subject).not.toMatch(/[\r\n]/);
      }),
      { numRuns: RUNS },
    );
  });

  it('finds a probe id in the X-Seedwatch-Probe header among hostile headers, in any letter case', () => {
    fc.assert(
      fc.property(headerish, headerish, probeId, fc.boolean(), (before, after, id, lower) => {
        const clean = (s: string) => s.replace(/x-seedwatch-probe/gi, 'x-other');
        const raw = `X-Junk: ${clean(before).replace(/\r?\n|\r/g, ' ')}\r\nX-Seedwatch-Probe: ${lower ? id.toLowerCase() : id}\r\nX-More: ${clean(after).replace(/\r?\n|\r/g, ' ')}\r\n\r\nbody`;
        const r = analyzeMessage(raw, { trustedAuthservIds: [] });
        expect(r.probeId).toBe(id);
        expect(r.probeIdSource).toBe('header');
      }),
      { numRuns: RUNS },
    );
  });

  it('never reports an id that is not in the message', () => {
    fc.assert(
      fc.property(anyRaw, (raw) => {
        const r = analyzeMessage(raw, { trustedAuthservIds: [] });
        const text = (Buffer.isBuffer(raw) ? raw.toString('latin1') : raw).toUpperCase();
        if (r.probeId !== undefined) expect(text).toContain(r.probeId);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('probe id extraction', () => {
  it('Message-ID <ID@domain> gives the id back; a non-ULID local part gives nothing', () => {
    fc.assert(
      fc.property(probeId, fc.stringMatching(/^[a-z0-9.-]{1,40}$/), fc.string({ maxLength: 30 }), (id, domain, junk) => {
        expect(probeIdFromMessageId(`<${id}@${domain}>`)).toBe(id);
        expect(probeIdFromMessageId(` <${id.toLowerCase()}@${domain}> (comment)`)).toBe(id);
        const local = junk.replace(/[<>@\s]/g, '');
        if (!PROBE_ID_PATTERN.test(local.trim().toUpperCase())) expect(probeIdFromMessageId(`<${local}@${domain}>`)).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it('the body token is found anywhere in a hostile body, and only a well-formed one', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), probeId, (a, b, id) => {
        const strip = (s: string) => s.replace(/seedwatch-probe-/gi, '');
        expect(extractProbeId(parseHeaders('Subject: x\r\n\r\n'), `${strip(a)}seedwatch-probe-${id}${strip(b)}`)).toEqual({ id, source: 'body' });
        expect(extractProbeId(parseHeaders('Subject: x\r\n\r\n'), `${strip(a)}seedwatch-probe-${id.slice(0, 25)}`)).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});

describe('folder roles from a hostile LIST', () => {
  const entry = fc.record({
    path: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('INBOX', 'Junk', 'Spam', '[Gmail]/Spam', 'Junk Email', 'Trash', '[Gmail]/All Mail', 'inbox')),
    specialUse: fc.option(fc.constantFrom('\\Junk', '\\Trash', '\\All', '\\Sent', '\\Inbox', 'junk', ''), { nil: undefined }),
    flags: fc.option(fc.array(fc.constantFrom('\\Noselect', '\\NonExistent', '\\HasChildren', '\\Junk', '\\Trash'), { maxLength: 3 }), { nil: undefined }),
    delimiter: fc.option(fc.constantFrom('/', '.', ''), { nil: undefined }),
  });
  it('every role resolves to a listed, selectable folder (or the config override, or null)', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), fc.option(fc.string({ maxLength: 12 }), { nil: undefined }), (list, spamOverride) => {
        const roles = resolveFolderRoles(list, { spam: ['Junk', 'Spam', '[Gmail]/Spam'], trash: ['Trash'], all: ['[Gmail]/All Mail'] }, spamOverride === undefined ? {} : { spam: spamOverride });
        const listed = new Set(list.map((e) => e.path));
        for (const [role, r] of Object.entries(roles)) {
          if (r === null) continue;
          expect(['config', 'special-use', 'name', 'default']).toContain(r.rule);
          // The override as written, or the listed folder it names (the server's spelling wins).
          if (r.rule === 'config') expect(r.path === spamOverride || listed.has(r.path), `${role} → ${r.path}`).toBe(true);
          else if (r.rule === 'default') expect(role).toBe('inbox');
          else expect(listed.has(r.path), `${role} → ${r.path}`).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
