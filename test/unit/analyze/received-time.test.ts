import { describe, expect, it } from 'vitest';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { parseRfc5322Date, providerArrivalTime } from '../../../agent/analyze/received-time.js';
import { fixture } from './fixtures.js';

const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number) => Date.UTC(y, mo - 1, d, h, mi, s);

describe('parseRfc5322Date', () => {
  it.each([
    ['Tue, 4 Jun 2024 02:13:07 -0700 (PDT)', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue,  4 Jun 2024 09:13:05 +0000 (UTC)', utc(2024, 6, 4, 9, 13, 5)],
    ['04 Jun 2024 11:13:10 +0200', utc(2024, 6, 4, 9, 13, 10)],
    ['Tue, 4 Jun 2024 09:13 +0000', utc(2024, 6, 4, 9, 13, 0)],
    ['Tue, 4 Jun 2024 02:13:07 PDT', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 04:13:07 EST', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 09:13:07 GMT', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 09:13:07 UT', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 09:13:07 Z', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 09:13:07 A', utc(2024, 6, 4, 9, 13, 7)], // military zone: read as -0000
    ['Tue, 4 Jun 24 09:13:07 +0000', utc(2024, 6, 4, 9, 13, 7)],
    ['Fri, 31 Dec 99 23:59:59 +0000', utc(1999, 12, 31, 23, 59, 59)],
    ['Tue, 4 Jun 124 09:13:07 +0000', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 Jun 2024 09:13:07.123 +0000', utc(2024, 6, 4, 9, 13, 7)],
    ['Tue, 4 (the fourth) Jun 2024\r\n 09:13:07 +0530', utc(2024, 6, 4, 3, 43, 7)],
    ['Thu, 29 Feb 2024 12:00:00 -1130', utc(2024, 2, 29, 23, 30, 0)],
  ])('%s', (text, atMs) => {
    expect(parseRfc5322Date(text)).toEqual({ atMs });
  });

  it.each([
    ['Tue, 32 Jun 2024 09:13:07 +0000', /no such day/],
    ['Thu, 29 Feb 2023 12:00:00 +0000', /no such day/],
    ['Tue, 4 Foo 2024 09:13:07 +0000', /unknown month/],
    ['Tue, 4 Jun 2024 25:13:07 +0000', /out of range/],
    ['Tue, 4 Jun 2024 09:13:07 +9999', /zone out of range/],
    ['Tue, 4 Jun 2024 09:13:07 CEST', /unknown time zone/],
    ['Tue, 4 Jun 2024 09:13:07', /without a time zone/],
    ['2024-06-04T09:13:07Z', /not an RFC 5322 date/],
    ['', /not an RFC 5322 date/],
    ['x'.repeat(500), /too long/],
  ])('rejects %s', (text, reason) => {
    const r = parseRfc5322Date(text);
    expect('unparsed' in r && r.unparsed).toMatch(reason);
  });
});

describe('providerArrivalTime', () => {
  it.each([
    ['gmail-inbox.eml', utc(2024, 6, 4, 9, 13, 7)],
    ['gmail-spam-dmarc-fail.eml', utc(2024, 6, 4, 9, 18, 41)],
    ['outlook-spam.eml', utc(2024, 6, 4, 9, 13, 9)],
    ['yahoo-inbox.eml', utc(2024, 6, 4, 9, 13, 8)],
    ['body-only-id.eml', utc(2024, 6, 4, 9, 13, 10)],
  ])('%s: date of the topmost Received', (name, atMs) => {
    expect(providerArrivalTime(parseHeaders(fixture(name)))).toEqual({ atMs });
  });

  it('takes the text after the LAST semicolon', () => {
    const h = parseHeaders('Received: from a (b; c) by mx; id 1; for <x@y>; Tue, 4 Jun 2024 09:13:07 +0000');
    expect(providerArrivalTime(h)).toEqual({ atMs: utc(2024, 6, 4, 9, 13, 7) });
  });

  it.each([
    ['A: 1', /no Received header/],
    ['Received: from a by b', /no ";"/],
    ['Received: from a by b; yesterday', /not an RFC 5322 date/],
    ['Received: from a by b; Tue, 32 Foo 2024 25:61:00 +9999 (PDT)\r\nReceived: by c; Tue, 4 Jun 2024 09:13:07 +0000', /unknown month/],
  ])('unparsed: %s', (raw, reason) => {
    const r = providerArrivalTime(parseHeaders(raw));
    expect('unparsed' in r && r.unparsed).toMatch(reason);
  });
});
