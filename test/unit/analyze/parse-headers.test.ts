import { describe, expect, it } from 'vitest';
import {
  MAX_HEADER_BYTES,
  headerValue,
  headerValues,
  parseHeaders,
} from '../../../agent/analyze/parse-headers.js';

describe('parseHeaders', () => {
  it('unfolds, keeps order (index 0 = topmost) and stops at the blank line', () => {
    const raw = [
      'Received: by mx2.example.net with SMTP;',
      '\tTue, 4 Jun 2024 09:13:07 +0000',
      'Received: from a by mx1.example.net; Tue, 4 Jun 2024 09:13:06 +0000',
      'subject: first',
      'Subject: second',
      '',
      'Not-A-Header: body line',
    ].join('\r\n');
    const h = parseHeaders(raw);
    expect(h.fields.map((f) => f.name)).toEqual(['Received', 'Received', 'subject', 'Subject']);
    expect(h.fields[0].value).toBe('by mx2.example.net with SMTP;\tTue, 4 Jun 2024 09:13:07 +0000');
    expect(headerValues(h, 'RECEIVED')).toHaveLength(2);
    expect(headerValues(h, 'subject')).toEqual(['first', 'second']);
    expect(headerValue(h, 'not-a-header')).toBeUndefined();
    expect(h.subject).toBe('first');
    expect(h.truncated).toBeUndefined();
    expect(h.malformedLines).toBe(0);
  });

  it.each([
    ['LF line ends', 'A: 1\nB: 2\n\nbody', ['A', 'B'], ['1', '2']],
    ['CRLF line ends', 'A: 1\r\nB: 2\r\n\r\nbody', ['A', 'B'], ['1', '2']],
    ['no blank line (headers only)', 'A: 1\r\nB: 2', ['A', 'B'], ['1', '2']],
    ['empty value', 'A:\r\nB: 2', ['A', 'B'], ['', '2']],
    ['WSP before colon (obs-optional)', 'A : 1', ['A'], ['1']],
    ['colon inside value', 'Date: Tue, 4 Jun 2024 09:13:07 +0000', ['Date'], ['Tue, 4 Jun 2024 09:13:07 +0000']],
    ['continuation before any field is skipped', ' orphan\r\nA: 1', ['A'], ['1']],
    ['line without colon is skipped', 'garbage line\r\nA: 1', ['A'], ['1']],
    ['name with a space is skipped', 'Bad Name: x\r\nA: 1', ['A'], ['1']],
    ['empty input', '', [], []],
  ])('%s', (_label, raw, names, values) => {
    const h = parseHeaders(raw);
    expect(h.fields.map((f) => f.name)).toEqual(names);
    expect(h.fields.map((f) => f.value)).toEqual(values);
  });

  it('counts malformed lines', () => {
    expect(parseHeaders(' orphan\r\nno colon\r\nBad Name: x\r\nA: 1').malformedLines).toBe(3);
  });

  it.each([
    ['=?UTF-8?B?Vm90cmUgcsOpc3Vtw6k=?=', 'Votre résumé'],
    ['=?ISO-8859-1?Q?Courrier_ind=E9sirable?=', 'Courrier indésirable'],
    ['=?utf-8?q?caf=C3=A9?= =?utf-8?q?_cr=C3=A8me?=', 'café crème'],
    ['plain subject', 'plain subject'],
    ['=?bogus', '=?bogus'],
    ['=?UTF-8?Q?a=0D=0Ab?=', 'a b'],
  ])('decodes RFC 2047 subject %s', (encoded, decoded) => {
    expect(parseHeaders(`Subject: ${encoded}\r\n\r\n`).subject).toBe(decoded);
  });

  it('decodes valid UTF-8 bytes and falls back to latin1 per field for invalid ones', () => {
    const raw = Buffer.concat([
      Buffer.from('Subject: caf\xc3\xa9\r\n', 'latin1'),
      Buffer.from('From: R\xe9sum\xe9 \xff\r\n', 'latin1'),
      Buffer.from('\r\n'),
    ]);
    const h = parseHeaders(raw);
    expect(h.subject).toBe('café');
    expect(headerValue(h, 'from')).toBe('Résumé ÿ');
    expect(h.latin1Fields).toBe(1);
  });

  it('truncates a 1 MB header block and names the field it dropped', () => {
    const big = `X-Junk: ${'a'.repeat(1024 * 1024)}`;
    const raw = Buffer.from(`Received: by mx.example.net; Tue, 4 Jun 2024 09:13:07 +0000\r\nSubject: ok\r\n${big}\r\nAfter: never-seen\r\n\r\n`);
    const h = parseHeaders(raw);
    expect(h.truncated).toEqual({ limitBytes: MAX_HEADER_BYTES, droppedField: 'X-Junk' });
    expect(h.fields.map((f) => f.name)).toEqual(['Received', 'Subject']);
    expect(h.subject).toBe('ok');
  });

  it('truncates a 1 MB block made of many folded lines too (string input)', () => {
    const folded = Array.from({ length: 20_000 }, () => ` ${'b'.repeat(60)}`).join('\r\n');
    const h = parseHeaders(`A: 1\r\nX-Big: start\r\n${folded}\r\nB: 2\r\n\r\n`);
    expect(h.truncated?.droppedField).toBe('X-Big');
    expect(h.fields.map((f) => f.name)).toEqual(['A']);
  });

  it('does not report truncation when the blank line falls inside the cap', () => {
    const h = parseHeaders(Buffer.from(`A: 1\r\n\r\n${'x'.repeat(2 * MAX_HEADER_BYTES)}`));
    expect(h.truncated).toBeUndefined();
    expect(h.fields).toHaveLength(1);
  });

  it('returns an unparsed marker for non-string, non-Buffer input', () => {
    const h = parseHeaders(42 as unknown as string);
    expect(h.unparsed).toMatch(/neither/);
    expect(h.fields).toEqual([]);
  });
});
