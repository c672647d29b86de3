import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { SecretValue } from '../../../agent/config/secret.js';
import { composeProbe, type ProbeSettings } from '../../../agent/send/compose-probe.js';
import { TemplateError } from '../../../agent/template/render-template.js';

const ID = '01JDQ4Z8X9ABCDEFGHJKMNPQRS';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const probe = (over: Partial<ProbeSettings> = {}): ProbeSettings => ({
  from: 'Deliverability Probe <probe@mail.example.com>',
  subject: 'Your weekly digest {{id}}',
  ...over,
});
const input = (p: ProbeSettings, headers: Record<string, string> = {}) => ({
  probe: p,
  path: { name: 'peering', index: 0, headers },
  seed: { name: 'gmail-1', address: 'seed.one@gmail.test' },
  id: ID,
  nowMs: NOW,
});

function headerOf(raw: Buffer, name: string): string | undefined {
  const head = raw.toString('utf8').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

describe('composeProbe', () => {
  it('puts the id in Message-ID (sender domain), X-Seedwatch-Probe, and both body parts', async () => {
    const c = await composeProbe(input(probe()));
    expect(c.messageId).toBe(`<${ID}@mail.example.com>`);
    expect(headerOf(c.raw, 'Message-ID')).toBe(`<${ID}@mail.example.com>`);
    expect(headerOf(c.raw, 'X-Seedwatch-Probe')).toBe(ID);
    expect(headerOf(c.raw, 'Subject')).toBe(`Your weekly digest ${ID}`);
    expect(c.envelope).toEqual({ from: 'probe@mail.example.com', to: 'seed.one@gmail.test' });
    const text = c.raw.toString('utf8');
    expect(text).toMatch(/multipart\/alternative/);
    // once in text/plain, once in text/html (both quoted-printable-safe ASCII)
    expect(text.match(new RegExp(`seedwatch-probe-${ID}`, 'g'))?.length).toBe(2);
    expect(text).toContain('Your weekly digest');
    expect(headerOf(c.raw, 'Date')).toBe('Mon, 23 Nov 2026 12:00:00 +0000');
  });

  it('fills {{path}}, {{seed}}, {{date}} and appends the token when a template omits it', async () => {
    const c = await composeProbe(
      input(probe({ subject: '{{ path }}/{{seed}} {{date}}', text: 'Hello from {{path}}', html: '<p>{{seed}}</p>' })),
    );
    expect(c.subject).toBe('peering/gmail-1 Mon, 23 Nov 2026');
    const raw = c.raw.toString('utf8');
    expect(raw).toContain('Hello from peering');
    expect(raw).toContain('<p>gmail-1</p>');
    expect(raw.match(new RegExp(`seedwatch-probe-${ID}`, 'g'))?.length).toBe(2);
  });

  it.each([
    [{ subject: 'Hi {{foo}}' }, 'probe.subject: unknown placeholder {{foo}}'],
    [{ text: 'x {{ recipient }}' }, 'probe.text: unknown placeholder {{recipient}}'],
    [{ html: '<p>{{name}}</p>' }, 'probe.html: unknown placeholder {{name}}'],
    [{ listUnsubscribe: 'http://example.com/u' }, 'probe.listUnsubscribe: expected an https: URL or a mailto: address'],
    [{ from: 'nobody' }, 'probe.from: expected'],
  ])('rejects bad input %o with a message naming the field', async (over, message) => {
    await expect(composeProbe(input(probe(over as Partial<ProbeSettings>)))).rejects.toThrow(message);
    await expect(composeProbe(input(probe(over as Partial<ProbeSettings>)))).rejects.toBeInstanceOf(TemplateError);
  });

  it('names the path header field for a bad header template, a reserved header, or a line break', async () => {
    await expect(composeProbe(input(probe(), { 'X-Pool': '{{pool}}' }))).rejects.toThrow('paths[0].headers.X-Pool: unknown placeholder {{pool}}');
    await expect(composeProbe(input(probe(), { 'Message-ID': '<x@y>' }))).rejects.toThrow('paths[0].headers.Message-ID: reserved header');
    await expect(composeProbe(input(probe(), { 'X-A': 'a\r\nBcc: x@y' }))).rejects.toThrow('paths[0].headers.X-A: must be a single line');
  });

  it('adds path headers (templated) and one-click List-Unsubscribe for an https URL', async () => {
    const c = await composeProbe(
      input(probe({ listUnsubscribe: 'https://example.com/u?p={{id}}' }), { 'X-Virtual-MTA': 'peering', 'X-Campaign': 'probe-{{path}}' }),
    );
    expect(headerOf(c.raw, 'X-Virtual-MTA')).toBe('peering');
    expect(headerOf(c.raw, 'X-Campaign')).toBe('probe-peering');
    expect(headerOf(c.raw, 'List-Unsubscribe')).toBe(`<https://example.com/u?p=${ID}>`);
    expect(headerOf(c.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
  });

  it('adds no List-Unsubscribe-Post for a mailto: address', async () => {
    const c = await composeProbe(input(probe({ listUnsubscribe: 'mailto:unsub@example.com' })));
    expect(headerOf(c.raw, 'List-Unsubscribe')).toBe('<mailto:unsub@example.com>');
    expect(headerOf(c.raw, 'List-Unsubscribe-Post')).toBeUndefined();
  });

  it('DKIM-signs so that mailauth verifies the signature against the published key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const c = await composeProbe({
      ...input(probe({ dkim: { domain: 'mail.example.com', selector: 'sw1', privateKey: { env: 'X' } } }), { 'X-Virtual-MTA': 'peering' }),
      dkimPrivateKey: new SecretValue(pem, 'test'),
    });
    expect(headerOf(c.raw, 'DKIM-Signature')).toMatch(/d=mail\.example\.com; .*s=sw1/);
    const lookups: string[] = [];
    const result = await dkimVerify(c.raw, {
      resolver: async (name: string, type: string) => {
        lookups.push(`${type} ${name}`);
        if (type === 'TXT' && name === 'sw1._domainkey.mail.example.com') return [[`v=DKIM1; k=rsa; p=${p}`]];
        throw Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' });
      },
    });
    expect(lookups).toContain('TXT sw1._domainkey.mail.example.com');
    expect(result.results[0].status.result).toBe('pass');
    // a tampered body no longer verifies (the test can fail)
    const tampered = Buffer.from(c.raw.toString('utf8').replace('Product notes', 'Product n0tes'));
    const bad = await dkimVerify(tampered, { resolver: async () => [[`v=DKIM1; k=rsa; p=${p}`]] });
    expect(bad.results[0].status.result).not.toBe('pass');
    expect(bad.results[0].status.comment).toMatch(/body hash/);
  });

  it('reports an unusable DKIM key without its content', async () => {
    const err = await composeProbe({
      ...input(probe({ dkim: { domain: 'mail.example.com', selector: 's', privateKey: { env: 'X' } } })),
      dkimPrivateKey: new SecretValue('-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETMATERIAL\n-----END PRIVATE KEY-----', 'test'),
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toMatch(/^probe\.dkim\.privateKey: cannot sign/);
    expect((err as Error).message).not.toContain('SECRETMATERIAL');
  });
});
