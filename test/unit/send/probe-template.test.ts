/**
 * A probe made from a template (the first probe of a path × seed × day composed twice with
 * placeholder ids, later ones by replacing the placeholder and the Date header) must be the
 * bytes nodemailer composes for it in full, multipart boundary aside; where that cannot be
 * guaranteed (an RFC 2047-encoded subject around the id) the probe is composed in full.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../agent/config/secret.js';
import { composeProbe, type ComposeProbeInput, type ProbeSettings } from '../../../agent/send/compose-probe.js';

const DAY = Date.UTC(2026, 10, 23, 8, 0, 0);
const IDS = ['01JDQ4Z8X9ABCDEFGHJKMNPQRS', '01JDQ4Z8XAZZZZ0000111122TT', '01JDQ4Z8XB7Y6X5W4V3T2S1R0Q'];

/** The root boundary's random part, replaced: two full compositions differ only there. */
function normalise(raw: Buffer): string {
  const text = raw.toString('latin1');
  const base = /-([0-9a-f]{16})-Part_/.exec(text)?.[1];
  return base ? text.replaceAll(base, 'BOUNDARY') : text;
}

function input(probe: ProbeSettings, id: string, nowMs: number, headers: Record<string, string> = {}): ComposeProbeInput {
  return { probe, path: { name: 'transit', index: 1, headers }, seed: { name: 'outlook-7', address: 'seed.seven@outlook.test' }, id, nowMs };
}

const CASES: [string, ProbeSettings, Record<string, string>][] = [
  ['the default digest body', { from: 'Digest <news@mail.example.com>', subject: 'Your weekly digest {{id}}' }, { 'X-Virtual-MTA': '{{path}}' }],
  [
    'custom text and HTML with the id, seed and date, a path header with the id, List-Unsubscribe',
    {
      from: 'news@mail.example.com',
      subject: 'Offers for {{seed}} — ref {{id}} — a subject long enough to be folded over two header lines by the composer, {{date}}',
      text: 'Hello {{seed}},\n\nyour code: {{id}} ({{date}})\n' + 'a long line of text that quoted-printable has to wrap somewhere around the id {{id}} and again '.repeat(3),
      html: '<p>Hi {{seed}} <b>{{id}}</b></p>',
      listUnsubscribe: 'https://mail.example.com/u/{{id}}',
    },
    { 'X-Campaign': 'c-{{id}}-{{path}}' },
  ],
];

describe('probe templates', () => {
  for (const [name, probe, headers] of CASES) {
    it(`${name}: every probe of the day equals its full composition`, async () => {
      for (const [i, id] of IDS.entries()) {
        const at = DAY + i * 3_600_000 + i * 17_000;
        const fast = await composeProbe(input(probe, id, at, headers));
        const full = await composeProbe(input(probe, id, at, headers), { template: false });
        expect(normalise(fast.raw)).toBe(normalise(full.raw));
        // Quoted-printable soft line breaks undone: the body token is whole.
        const unfolded = fast.raw.toString('latin1').replaceAll('=\r\n', '');
        expect(unfolded).toContain(`seedwatch-probe-${id}`);
        for (const other of IDS.filter((x) => x !== id)) expect(unfolded).not.toContain(other);
      }
    });
  }

  it('a subject the composer must encode around the id is composed in full (and still right)', async () => {
    const probe: ProbeSettings = { from: 'news@mail.example.com', subject: 'Ünïcödé digest {{id}}' };
    for (const id of IDS) {
      const fast = await composeProbe(input(probe, id, DAY));
      const full = await composeProbe(input(probe, id, DAY), { template: false });
      expect(normalise(fast.raw)).toBe(normalise(full.raw));
    }
  });

  it('a DKIM-signed probe made from a template verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const dns = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const probe: ProbeSettings = { from: 'news@mail.example.com', subject: 'Digest {{id}}', dkim: { domain: 'mail.example.com', selector: 's1', privateKey: { env: 'X' } } };
    for (const id of IDS.slice(0, 2)) {
      const c = await composeProbe({ ...input(probe, id, DAY + 60_000), dkimPrivateKey: new SecretValue(pem, 'probe.dkim.privateKey') });
      const r = await dkimVerify(c.raw, {
        resolver: async (name: string, type: string) => {
          if (type === 'TXT' && name === 's1._domainkey.mail.example.com') return [[`v=DKIM1; k=rsa; p=${dns}`]];
          throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        },
      });
      expect(r.results[0]?.status?.result).toBe('pass');
    }
  });
});
