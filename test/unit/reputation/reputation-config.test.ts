import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../agent/config/load-config.js';
import { GOOGLE_TOKEN_URL, POSTMASTER_DEFAULT_ROOT_URL, SNDS_DEFAULT_URL } from '../../../agent/config/schema.js';
import { collectSecrets } from '../../../agent/config/load-config.js';

const base = (extra: string, paths: string) => `probe: { from: "P <p@mail.example.com>" }
${extra}
paths:
${paths}
seeds:
  - { name: gmail-1, address: s@gmail.com, provider: gmail, imap: { user: u, password: { env: SW_PW } } }
`;

describe('paths[].ips', () => {
  it('defaults to the path\'s localAddress (or mx.localAddress), kept in canonical form; none without either', () => {
    const c = parseConfig(
      base(
        '',
        `  - { name: a, smtp: { host: h }, localAddress: "2001:DB8:0::10" }
  - { name: b, mx: { localAddress: 198.51.100.7 } }
  - { name: c, smtp: { host: h } }
  - { name: d, smtp: { host: h }, localAddress: 192.0.2.1, ips: [192.0.2.2, "::FFFF:192.0.2.3"] }`,
      ),
      'x.yaml',
    );
    expect(c.paths.map((p) => [p.name, p.ips])).toEqual([
      ['a', ['2001:db8::10']],
      ['b', ['198.51.100.7']],
      ['c', []],
      ['d', ['192.0.2.2', '192.0.2.3']],
    ]);
  });

  it('two paths may share a localAddress (the defaults), but never list the same IP', () => {
    const shared = parseConfig(base('', '  - { name: a, smtp: { host: h }, localAddress: 192.0.2.1 }\n  - { name: b, smtp: { host: h2 }, localAddress: 192.0.2.1 }'), 'x.yaml');
    expect(shared.paths.map((p) => p.ips)).toEqual([['192.0.2.1'], ['192.0.2.1']]);
    expect(() => parseConfig(base('', '  - { name: a, smtp: { host: h }, ips: [192.0.2.1] }\n  - { name: b, smtp: { host: h2 }, ips: ["::ffff:192.0.2.1"] }'), 'x.yaml')).toThrow(
      'x.yaml: paths[1].ips[0]: 192.0.2.1 is also an egress IP of path "a" (paths[0]); an IP belongs to one path only',
    );
  });
});

describe('reputation', () => {
  it('is absent unless configured', () => {
    expect(parseConfig(base('', '  - { name: a, smtp: { host: h } }'), 'x.yaml').reputation).toBeUndefined();
  });

  it('fills the documented defaults (intervals, SNDS URL, Google endpoints) and lists its secrets by field', () => {
    const c = parseConfig(
      base(
        `reputation:
  dnsbl: { zones: [zen.spamhaus.org] }
  hygiene: {}
  snds: { key: { env: SNDS_KEY } }
  postmaster: { domains: [mail.example.com], oauth2: { clientId: id, clientSecret: { file: ./cs }, refreshToken: { env: GOOGLE_RT } } }`,
        '  - { name: a, smtp: { host: h } }',
      ),
      'x.yaml',
    );
    expect(c.reputation).toEqual({
      dnsbl: { zones: ['zen.spamhaus.org'], interval: 15 * 60_000 },
      hygiene: { interval: 3_600_000 },
      snds: { key: { env: 'SNDS_KEY' }, url: SNDS_DEFAULT_URL, interval: 3_600_000 },
      postmaster: {
        domains: ['mail.example.com'],
        oauth2: { clientId: 'id', clientSecret: { file: './cs' }, refreshToken: { env: 'GOOGLE_RT' }, tokenUrl: GOOGLE_TOKEN_URL },
        rootUrl: POSTMASTER_DEFAULT_ROOT_URL,
        interval: 3_600_000,
      },
    });
    expect(collectSecrets(c).map((s) => s.path)).toEqual([
      'reputation.snds.key',
      'reputation.postmaster.oauth2.refreshToken',
      'reputation.postmaster.oauth2.clientSecret',
      'seeds[0].imap.password',
    ]);
  });

  it.each(['127.0.0.1', '127.0.0.1:5353', '[::1]:53', '::1'])('accepts the DNS server %j', (server) => {
    const c = parseConfig(base(`reputation: { dnsbl: { zones: [bl.test], servers: ["${server}"] } }`, '  - { name: a, smtp: { host: h } }'), 'x.yaml');
    expect(c.reputation?.dnsbl?.servers).toEqual([server]);
  });
});
