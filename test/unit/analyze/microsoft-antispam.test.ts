import { describe, expect, it } from 'vitest';
import { microsoftAntispam, parseKeyValueStamp } from '../../../agent/analyze/microsoft-antispam.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { fixture } from './fixtures.js';

describe('microsoftAntispam', () => {
  it('reads SCL/SFV/CAT/IPV and BCL from the Outlook spam fixture', () => {
    expect(microsoftAntispam(parseHeaders(fixture('outlook-spam.eml')))).toEqual({ scl: 5, sfv: 'SPM', cat: 'SPM', ipv: 'NLI', bcl: 6 });
  });

  it('reads Microsoft\'s stamp (the bottommost), not the one the sender planted above it', () => {
    expect(microsoftAntispam(parseHeaders(fixture('outlook-forged-ar.eml')))).toMatchObject({ scl: 9, sfv: 'SPM', cat: 'SPOOF' });
  });

  it.each([
    ['no Microsoft headers', 'A: 1', {}],
    ['Gmail fixture', null, {}],
    ['bypassed', 'X-Forefront-Antispam-Report: CIP:192.0.2.1;SCL:-1;SFV:SKN;CAT:NONE;SFTY:9.25', { scl: -1, sfv: 'SKN', cat: 'NONE', sfty: '9.25' }],
    ['lower-case, spaces, IPv6 CIP', 'X-Forefront-Antispam-Report: cip:2001:db8::1; scl : 6 ;sfv:spm', { scl: 6, sfv: 'SPM' }],
    ['empty values are absent', 'X-Forefront-Antispam-Report: SCL:;SFV:;CAT:;SFTY:;', {}],
    ['out-of-range numbers are absent', 'X-Forefront-Antispam-Report: SCL:10\r\nX-Microsoft-Antispam: BCL:42;', {}],
    ['garbage values are absent', 'X-Forefront-Antispam-Report: SCL:high;CAT:<script>;;;:::', {}],
    ['BCL only', 'X-Microsoft-Antispam: BCL:0;ARA:1444111002|461199028;', { bcl: 0 }],
    ['Untrusted copies are ignored', 'X-Forefront-Antispam-Report-Untrusted: SCL:1\r\nX-Microsoft-Antispam-Untrusted: BCL:1', {}],
  ])('%s', (_label, raw, expected) => {
    const h = parseHeaders(raw ?? fixture('gmail-inbox.eml'));
    expect(microsoftAntispam(h)).toEqual(expected);
  });

  it('parseKeyValueStamp keeps the first occurrence and splits at the first colon', () => {
    const kv = parseKeyValueStamp('CIP:2001:db8::1;SCL:1;SCL:9;H:mx');
    expect(kv.get('CIP')).toBe('2001:db8::1');
    expect(kv.get('SCL')).toBe('1');
    expect(kv.get('H')).toBe('mx');
  });
});
