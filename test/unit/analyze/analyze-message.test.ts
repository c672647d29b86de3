import { describe, expect, it } from 'vitest';
import { analyzeMessage, type AnalyzeOptions } from '../../../agent/analyze/analyze-message.js';
import { MAX_HEADER_BYTES } from '../../../agent/analyze/parse-headers.js';
import { fixture, fixtureBody, OUTLOOK_RECEIVED_HOSTS } from './fixtures.js';

const GMAIL: AnalyzeOptions = { trustedAuthservIds: ['mx.google.com'] };
const YAHOO: AnalyzeOptions = { trustedAuthservIds: ['*.yahoo.com'] };
const OUTLOOK: AnalyzeOptions = { trustedAuthservIds: ['mx.microsoft.com'], providerReceivedHosts: OUTLOOK_RECEIVED_HOSTS };
const ORANGE: AnalyzeOptions = { trustedAuthservIds: ['*.me-wanadoo.net'] };

const at = (iso: string) => Date.parse(iso);

describe('analyzeMessage — golden fixtures', () => {
  it.each([
    {
      file: 'gmail-inbox.eml',
      opts: GMAIL,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4Y6',
        probeIdSource: 'header',
        arrivalMs: at('2024-06-04T09:13:07Z'),
        auth: { found: true, unparsed: false, spf: 'pass', dkim: 'pass', dmarc: 'pass' },
        antispam: {},
        subject: 'Your weekly digest 01HZX3K5V8Q2M4N6P8R0T2W4Y6',
        messageId: '<01HZX3K5V8Q2M4N6P8R0T2W4Y6@mail.example.com>',
        parseErrors: [],
      },
    },
    {
      file: 'gmail-spam-dmarc-fail.eml',
      opts: GMAIL,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4Y7',
        arrivalMs: at('2024-06-04T09:18:41Z'),
        auth: { found: true, spf: 'softfail', dkim: 'pass', dmarc: 'fail' },
        subject: 'Votre résumé hebdomadaire 01HZX3K5V8Q2M4N6P8R0T2W4Y7',
        parseErrors: [],
      },
    },
    {
      file: 'gmail-forged-ar.eml',
      opts: GMAIL,
      expected: { probeId: '01HZX3K5V8Q2M4N6P8R0T2W4Y9', auth: { found: true, spf: 'fail', dmarc: 'fail' }, parseErrors: [] },
    },
    {
      file: 'outlook-spam.eml',
      opts: OUTLOOK,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4Y8',
        arrivalMs: at('2024-06-04T09:13:09Z'),
        auth: { found: true, authservId: null, trust: 'ingress-position', spf: 'pass', dkim: 'pass', dmarc: 'pass', compauth: 'pass' },
        antispam: { scl: 5, sfv: 'SPM', cat: 'SPM', ipv: 'NLI', bcl: 6 },
        parseErrors: [],
      },
    },
    {
      file: 'outlook-forged-ar.eml',
      opts: OUTLOOK,
      expected: {
        auth: { found: true, spf: 'fail', dkim: 'none', dmarc: 'fail', compauth: 'fail' },
        antispam: { scl: 9, cat: 'SPOOF' },
      },
    },
    {
      file: 'yahoo-inbox.eml',
      opts: YAHOO,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4YB',
        arrivalMs: at('2024-06-04T09:13:08Z'),
        auth: { found: true, authservId: 'atlas213.free.mail.bf1.yahoo.com', spf: 'pass', dkim: 'pass', dmarc: 'pass' },
        parseErrors: [],
      },
    },
    {
      file: 'body-only-id.eml',
      opts: ORANGE,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4YC',
        probeIdSource: 'body',
        arrivalMs: at('2024-06-04T09:13:10Z'),
        auth: { found: false },
        subject: 'Votre résumé hebdomadaire',
        parseErrors: [],
      },
    },
    {
      file: 'garbage.eml',
      opts: GMAIL,
      expected: {
        probeId: '01HZX3K5V8Q2M4N6P8R0T2W4YD',
        probeIdSource: 'message-id',
        auth: { found: true, unparsed: true, reason: 'unterminated comment', authservId: 'mx.google.com' },
        antispam: {},
        subject: 'Résumé ÿþ hebdo',
        parseErrors: [
          'headers: 2 field(s) not UTF-8, read as latin1',
          'headers: 3 malformed line(s) skipped',
          'authentication-results: unterminated comment',
          'received: unknown month "Foo"',
        ],
      },
    },
  ])('$file', ({ file, opts, expected }) => {
    const r = analyzeMessage(fixture(file), { ...opts, bodyText: fixtureBody(file) });
    expect(r).toMatchObject(expected);
    // JSON evidence round-trips unchanged (plain data only).
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('garbage has no arrival time', () => {
    expect(analyzeMessage(fixture('garbage.eml'), GMAIL).arrivalMs).toBeUndefined();
  });

  it('garbage + a 1 MB header: truncated and said so; the top of the block is still analysed', () => {
    const text = fixture('gmail-inbox.eml').toString('latin1');
    const cut = text.indexOf('Return-Path:');
    const huge = `${text.slice(0, cut)}X-Junk: ${'\xff'.repeat(1024 * 1024)}\r\n${text.slice(cut)}`;
    const r = analyzeMessage(Buffer.from(huge, 'latin1'), GMAIL);
    expect(r.parseErrors).toContain(`headers: truncated at ${MAX_HEADER_BYTES} bytes (dropped field X-Junk)`);
    // Everything above the junk (topmost Received, ARC-A-R) survives; the provider's A-R was below it.
    expect(r.arrivalMs).toBe(at('2024-06-04T09:13:07Z'));
    expect(r.auth).toEqual({ found: false, arcEvidence: expect.objectContaining({ instance: 1, dmarc: 'pass' }) });
    expect(r.probeId).toBeUndefined();
  });

  it('never throws on nonsense', () => {
    const r = analyzeMessage(null as never, null as never);
    expect(r.parseErrors).toEqual(['headers: input is neither a Buffer nor a string', 'received: no Received header']);
    expect(r.auth).toEqual({ found: false });
  });
});
