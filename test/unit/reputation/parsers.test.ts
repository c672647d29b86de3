import { describe, expect, it } from 'vitest';
import { classifyDnsblCodes, dnsblQueryName } from '../../../agent/reputation/dnsbl.js';
import { reverseName } from '../../../agent/reputation/fcrdns.js';
import { parseCompliance, parseDomainStats } from '../../../agent/reputation/postmaster.js';
import { blockedBy, complaintRate, latestPerIp, parseSndsData, parseSndsIpStatus, sndsDay } from '../../../agent/reputation/snds.js';
import { senderAddressOf } from '../../../agent/reputation/spf-check.js';

describe('DNSBL names and answers (RFC 5782)', () => {
  it.each([
    ['192.0.2.99', 'zen.spamhaus.org', '99.2.0.192.zen.spamhaus.org'],
    ['127.0.0.2', 'bl.test.', '2.0.0.127.bl.test'],
    ['2001:db8:1:2:3:4:567:89ab', 'v6.test', 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6.test'],
    ['2001:DB8::1', 'v6.test', `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.v6.test`],
    ['::ffff:192.0.2.1', 'zen.test', '1.2.0.192.zen.test'],
  ])('%s in %s asks %s', (ip, zone, name) => {
    expect(dnsblQueryName(ip, zone)).toBe(name);
    expect(name.split('.').length).toBe(ip.includes(':') && !ip.startsWith('::ffff') ? 32 + zone.replace(/\.$/, '').split('.').length : 4 + zone.replace(/\.$/, '').split('.').length);
  });

  it('reverse names for PTR lookups', () => {
    expect(reverseName('192.0.2.10')).toBe('10.2.0.192.in-addr.arpa');
    expect(reverseName('2001:db8::25')).toBe(`5.2.${'0.'.repeat(22)}8.b.d.0.1.0.0.2.ip6.arpa`);
    expect(() => dnsblQueryName('not-an-ip', 'x.test')).toThrow(RangeError);
  });

  it.each([
    [[], 'clear', undefined],
    [['127.0.0.2'], 'listed', undefined],
    [['127.0.0.11', '127.0.0.4'], 'listed', undefined],
    [['127.255.255.254'], 'error', 'refused'],
    [['127.255.255.252'], 'error', 'refused'],
    [['127.0.0.2', '127.255.255.255'], 'error', 'refused'],
    [['127.0.0.1'], 'error', 'refused'],
    [['10.0.0.1'], 'error', 'bad_answer'],
    [['93.184.216.34'], 'error', 'bad_answer'],
  ])('A records %j: %s %s', (codes, status, kind) => {
    const a = classifyDnsblCodes(codes);
    expect(a.status).toBe(status);
    if (kind) expect(a).toMatchObject({ kind });
    if (status === 'listed') expect(a).toMatchObject({ codes: [...codes].sort() });
  });
});

describe('SNDS feeds', () => {
  it.each([
    ['< 0.1%', 0.001],
    ['<0.1%', 0.001],
    ['2.5%', 0.025],
    ['0%', 0],
    ['', null],
    ['n/a', undefined],
    ['10', undefined],
  ])('complaint rate %j is %s', (text, v) => {
    expect(complaintRate(text)).toBe(v);
  });

  it.each([
    ['9/29/2020 9:00 PM', '2020-09-29'],
    ['12/31/2019 8:00 AM', '2019-12-31'],
    ['1/2/2026', '2026-01-02'],
    ['13/1/2026 1:00 AM', null],
    ['2026-01-02', null],
  ])('date %j is day %s', (text, day) => {
    expect(sndsDay(text)).toBe(day);
  });

  it('data: CRLF or LF, blank lines ignored, a quoted field with a comma, each bad line reported with its number', () => {
    const text = [
      '192.0.2.1,1/1/2026 12:00 AM,1/1/2026 11:59 PM,5,5,5,GREEN,< 0.1%,,,0,helo.example,"a,b@example.com",',
      '',
      '192.0.2.2,1/1/2026 12:00 AM,1/1/2026 11:59 PM,5,x,5,GREEN,< 0.1%,,,0,h,f,',
      'not an ip,1/1/2026 12:00 AM,1/1/2026 11:59 PM,5,5,5,GREEN,< 0.1%,,,0,h,f,',
      '192.0.2.3,yesterday,1/1/2026 11:59 PM,5,5,5,GREEN,< 0.1%,,,0,h,f,',
      '192.0.2.4,1/1/2026 12:00 AM,1/1/2026 11:59 PM,5,5,5,red,3%,,,0,h,f,',
    ].join('\r\n');
    const r = parseSndsData(text);
    expect(r.rows.map((x) => [x.ip, x.sampleMailFrom, x.filterResult, x.complaintRate])).toEqual([
      ['192.0.2.1', 'a,b@example.com', 'GREEN', 0.001],
      ['192.0.2.4', 'f', 'RED', 0.03],
    ]);
    expect(r.malformed).toEqual([
      { line: 3, reason: 'a count column (RCPT, DATA, recipients, trap hits) is not a whole number' },
      { line: 4, reason: 'column 1 is not an IP address' },
      { line: 5, reason: 'activity start or end is not a date (M/D/YYYY h:mm AM)' },
    ]);
  });

  it('ipStatus ranges and membership; the newest row per IP', () => {
    const s = parseSndsIpStatus('192.0.2.0,192.0.2.127,Yes,Blocked due to spam\r\n198.51.100.1,198.51.100.1,No,\r\ngarbage\r\n');
    expect(s.malformed).toEqual([{ line: 3, reason: 'expected first IP, last IP, blocked, reason' }]);
    expect(blockedBy(s.ranges, '192.0.2.127')?.reason).toBe('Blocked due to spam');
    expect(blockedBy(s.ranges, '192.0.2.128')).toBeUndefined();
    expect(blockedBy(s.ranges, '198.51.100.1')).toBeUndefined(); // listed, but not blocked
    expect(blockedBy(s.ranges, '2001:db8::1')).toBeUndefined();
    const rows = parseSndsData(['3/1/2026', '3/3/2026', '3/2/2026'].map((d) => `192.0.2.1,${d} 12:00 AM,${d} 11:59 PM,1,1,1,GREEN,,,,0,,,`).join('\n')).rows;
    expect(latestPerIp(rows).get('192.0.2.1')?.day).toBe('2026-03-03');
  });
});

describe('Postmaster Tools v2 responses', () => {
  it('domainStats: the metrics asked for, by day; unknown metrics and unreadable values skipped', () => {
    const r = parseDomainStats({
      domainStats: [
        { metric: 'spam_rate', date: { year: 2026, month: 11, day: 21 }, value: { doubleValue: 0.002 } },
        { metric: 'auth_spf', date: { year: 2026, month: 11, day: 21 }, value: { floatValue: 0.5 } },
        { metric: 'error_reject', date: { year: 2026, month: 11, day: 21 }, value: { intValue: '3' } },
        { metric: 'someone_elses', date: { year: 2026, month: 11, day: 21 }, value: { doubleValue: 1 } },
        { metric: 'spam_rate', date: { year: 2026, month: 13, day: 1 }, value: { doubleValue: 1 } },
        { metric: 'spam_rate', date: { year: 2026, month: 11, day: 20 }, value: { stringValue: 'x' } },
      ],
      nextPageToken: 'n',
    });
    expect(r).toEqual({
      stats: [
        { day: '2026-11-21', metric: 'spam_rate', kind: 'spam_rate', labels: {}, value: 0.002 },
        { day: '2026-11-21', metric: 'auth_spf', kind: 'auth_success_rate', labels: { auth_type: 'spf' }, value: 0.5 },
        { day: '2026-11-21', metric: 'error_reject', kind: 'delivery_error_rate', labels: { error_type: 'reject', error_reason: 'all' }, value: 3 },
      ],
      nextPageToken: 'n',
    });
    expect(parseDomainStats({})).toEqual({ stats: [] });
    expect(parseDomainStats('nope')).toBeNull();
    expect(parseDomainStats({ domainStats: 'nope' })).toBeNull();
  });

  it("compliance: the subdomain's own data when present, only known requirements, verdicts kept", () => {
    const c = parseCompliance({
      complianceData: { rowData: [{ requirement: 'SPF', status: { status: 'NEEDS_WORK' } }] },
      subdomainComplianceData: {
        rowData: [
          { requirement: 'SPF', status: { status: 'COMPLIANT' } },
          { requirement: 'BOGUS', status: { status: 'COMPLIANT' } },
          { requirement: 'DKIM', status: { status: 'STATE_UNSPECIFIED' } },
        ],
        honorUnsubscribeVerdict: { status: { status: 'NEEDS_WORK' }, reason: 'NOT_HONORING' },
        oneClickUnsubscribeVerdict: { status: { status: '<script>' } },
      },
    });
    expect(c).toEqual({ requirements: { spf: 'COMPLIANT' }, honorUnsubscribe: { status: 'NEEDS_WORK', reason: 'NOT_HONORING' }, subdomain: true });
    expect(parseCompliance({})).toEqual({ requirements: {}, subdomain: false });
    expect(parseCompliance(null)).toBeNull();
  });
});

describe('the probes\' envelope sender', () => {
  it.each([
    ['Deliverability Probe <probe@mail.example.com>', 'probe@mail.example.com'],
    ['probe@mail.example.com', 'probe@mail.example.com'],
    ['Name only', null],
  ])('%j → %s', (from, addr) => {
    expect(senderAddressOf(from)).toBe(addr);
  });
});
