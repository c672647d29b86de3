import { describe, expect, it } from 'vitest';
import { parseSmtpReply } from '../../../agent/send/parse-smtp-reply.js';

describe('parseSmtpReply', () => {
  it.each([
    ['250 2.0.0 Ok: queued as 4XyzAbC12', { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 4XyzAbC12', queueId: '4XyzAbC12' }],
    ['250 OK queued as peering-3', { code: 250, text: 'OK queued as peering-3', queueId: 'peering-3' }],
    ['250 OK id=1qAbCd-0001Xy-Zz', { code: 250, text: 'OK id=1qAbCd-0001Xy-Zz', queueId: '1qAbCd-0001Xy-Zz' }],
    ['250 2.0.0 OK  1700000000 a1b2c3d4e5si1234567abc.45 - gsmtp', { code: 250, enhanced: '2.0.0', queueId: 'a1b2c3d4e5si1234567abc.45' }],
    ['250 2.0.0 x7KJk1a1234567 Message accepted for delivery', { code: 250, enhanced: '2.0.0', queueId: 'x7KJk1a1234567' }],
    ['250 2.6.0 <abc@example.com> [InternalId=123456789, Hostname=AM0PR01MB1234] Queued mail for delivery', { code: 250, enhanced: '2.6.0', queueId: '123456789' }],
    ['250 Ok 0100018b5c3c0a4f-1a2b3c4d-5e6f-0000-0000-000000000000-000000', { code: 250, queueId: '0100018b5c3c0a4f-1a2b3c4d-5e6f-0000-0000-000000000000-000000' }],
    ['250 OK: message queued', { code: 250, text: 'OK: message queued', queueId: undefined }],
    ['550 5.7.1 queued as NOTANID', { code: 550, enhanced: '5.7.1', queueId: undefined }],
    ['421 4.4.2 closing', { code: 421, enhanced: '4.4.2', text: 'closing' }],
    ['250', { code: 250, text: '' }],
  ])('%s', (response, expected) => {
    const r = parseSmtpReply(response);
    expect(r).not.toBeNull();
    for (const [k, v] of Object.entries(expected)) expect(r![k as keyof typeof r]).toBe(v);
  });

  it('returns null for text without a reply code', () => {
    expect(parseSmtpReply('Connection closed')).toBeNull();
    expect(parseSmtpReply('')).toBeNull();
  });
});
