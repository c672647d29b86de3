import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIp, findIngressIp, fromClauseIp, receivedClauses } from '../../../agent/analyze/ingress-ip.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { loadPresets } from '../../../agent/config/preset.js';
import { createPrng } from '../../../sandbox/prng.js';
import { stampDelivery } from '../../../sandbox/provider-headers.js';
import { SANDBOX_PROVIDERS } from '../../../sandbox/behaviour.js';
import { fixture, OUTLOOK_RECEIVED_HOSTS } from './fixtures.js';
import { INGRESS_GOLDEN } from './ingress-ip-fixtures.js';

const presets = loadPresets();
/** What the watcher passes: the preset's receivedHosts, else the trusted authserv-ids. */
const hostsOf = (provider: string): string[] => {
  const p = presets.get(provider)!;
  return p.receivedHosts.length > 0 ? [...p.receivedHosts] : [...p.authservIds];
};

describe('canonicalIp', () => {
  it.each([
    ['192.0.2.10', '192.0.2.10'],
    [' 198.51.100.7 ', '198.51.100.7'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:127.0.0.3', '127.0.0.3'],
    ['::1', '::1'],
    ['fe80::1', 'fe80::1'],
  ])('%j is %j', (text, canon) => {
    expect(canonicalIp(text)).toBe(canon);
  });

  it.each(['192.0.2.010', '256.1.1.1', '1.2.3', 'example.com', '', '2001:db8::g', 'fe80::1%eth0', '[192.0.2.1]', '1.2.3.4.5', ':::'])('%j is not an address', (text) => {
    expect(canonicalIp(text)).toBeNull();
  });

  it('any IPv6 spelling of the same 128 bits has one canonical form', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const full = groups.map((g) => g.toString(16).toUpperCase().padStart(4, '0')).join(':');
        const short = groups.map((g) => g.toString(16)).join(':');
        const canon = canonicalIp(full);
        expect(canon).not.toBeNull();
        expect(canonicalIp(short)).toBe(canon);
        expect(canonicalIp(canon!)).toBe(canon);
      }),
    );
  });
});

describe('receivedClauses', () => {
  it('reads the from-domain, its comments (nested) and the by-host, up to the date', () => {
    expect(receivedClauses('from a.example (a.example. [192.0.2.1] (may be (really) forged)) by mx.example.net. with ESMTPS id x; Tue, 4 Jun 2024 09:13:07 +0000 (by fake)')).toEqual({
      from: { domain: 'a.example', comments: ['a.example. [192.0.2.1] (may be (really) forged)'] },
      by: 'mx.example.net',
    });
    expect(receivedClauses('by 2002:a05:7208:3188:b0:7e:6ec1:5a7e with SMTP id j8csp2417566rbb')).toEqual({ by: '2002:a05:7208:3188:b0:7e:6ec1:5a7e' });
    expect(receivedClauses('from x (unterminated comment by y')).toEqual({ from: { domain: 'x', comments: ['unterminated comment by y'] } });
  });

  it('prefers the literal the server recorded over the HELO the client claimed', () => {
    expect(fromClauseIp({ domain: '[203.0.113.66]', comments: ['helo.example [192.0.2.10]'] })).toBe('192.0.2.10');
    expect(fromClauseIp({ domain: '203.0.113.66', comments: ['EHLO helo.example'] })).toBe('203.0.113.66');
    expect(fromClauseIp({ domain: 'helo.example', comments: ['198.51.100.7'] })).toBe('198.51.100.7');
    expect(fromClauseIp({ domain: 'helo.example', comments: ['no address here'] })).toBeNull();
  });
});

describe('findIngressIp on real provider messages (test/fixtures/eml)', () => {
  it.each([
    ['gmail-inbox.eml', 'gmail', '192.0.2.10', 'mx.google.com'],
    ['gmail-spam-dmarc-fail.eml', 'gmail', '198.51.100.7', 'mx.google.com'],
    ['gmail-forged-ar.eml', 'gmail', '203.0.113.66', 'mx.google.com'],
    ['outlook-spam.eml', 'outlook', '198.51.100.7', 'BN2PEPF000044A9.mail.protection.outlook.com'],
    ['outlook-forged-ar.eml', 'outlook', '203.0.113.66', 'BN2PEPF000044A9.mail.protection.outlook.com'],
    ['yahoo-inbox.eml', 'yahoo', '192.0.2.10', '10.217.135.75'],
  ])('%s (%s preset): %s', (file, provider, ip, by) => {
    expect(findIngressIp(parseHeaders(fixture(file)), hostsOf(provider))).toMatchObject({ ip, by });
  });

  it('the Microsoft hops come from the outlook preset: the ingress is the protection.outlook.com hop', () => {
    const got = findIngressIp(parseHeaders(fixture('outlook-spam.eml')), OUTLOOK_RECEIVED_HOSTS);
    expect(got).toMatchObject({ ip: '198.51.100.7', hop: 3 });
  });

  it('a broken message: a provider hop without a client address is "unknown", never a guess', () => {
    const got = findIngressIp(parseHeaders(fixture('garbage.eml')), hostsOf('gmail'));
    expect(got.ip).toBeNull();
    expect(got).toMatchObject({ reason: "the provider's ingress hop (by mx.google.com) names no client IP address" });
  });

  it('without any provider host it refuses to answer', () => {
    expect(findIngressIp(parseHeaders(fixture('gmail-inbox.eml')), [])).toMatchObject({ ip: null, reason: expect.stringContaining('not known') });
  });
});

describe('findIngressIp on golden header blocks of other MTAs', () => {
  it.each(INGRESS_GOLDEN.map((g) => [g.name, g] as const))('%s', (_name, g) => {
    const got = findIngressIp(parseHeaders(g.headers), g.hosts);
    expect(got.ip).toBe(g.ip);
    if (g.ip === null) expect((got as { reason: string }).reason).toContain(g.reason);
  });
});

describe('findIngressIp on what the demo sandbox stamps (each provider, both egress IPs)', () => {
  const raw = Buffer.from('From: P <probe@mail.example.com>\r\nTo: s@x\r\nSubject: s\r\nMessage-ID: <a@mail.example.com>\r\n\r\nbody\r\n');
  it.each(SANDBOX_PROVIDERS.flatMap((p) => ['192.0.2.10', '2001:db8::7'].map((ip) => [p, ip] as const)))('%s from %s', (provider, ip) => {
    const stamped = stampDelivery({
      provider,
      raw,
      rcpt: `seed@${provider}.example`,
      mailFrom: 'probe@mail.example.com',
      egress: { helo: 'out.mail.example.com', ip },
      relayClient: { hostname: 'agent', ip: '127.0.0.1' },
      acceptMs: Date.UTC(2026, 10, 23, 12),
      arrivalMs: Date.UTC(2026, 10, 23, 12, 0, 2),
      folder: 'inbox',
      random: createPrng(7),
    });
    expect(findIngressIp(parseHeaders(stamped), hostsOf(provider)).ip).toBe(ip);
  });
});

describe('findIngressIp never throws and never invents an address', () => {
  it('on arbitrary header text, the answer is null or an address that appears in a Received header', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 120 }), { maxLength: 6 }), (values) => {
        const headers = parseHeaders(values.map((v) => `Received: ${v.replace(/[\r\n]/g, ' ')}`).join('\r\n') + '\r\n\r\n');
        const got = findIngressIp(headers, ['*']);
        if (got.ip !== null) {
          const tokens = headers.fields.flatMap((f) => f.value.split(/[\s[\]();,=]+/)).map((t) => canonicalIp(t.replace(/^ipv6:/i, '')));
          expect(tokens).toContain(got.ip);
        }
      }),
    );
  });
});
