import { describe, expect, it } from 'vitest';
import { extractProbeId, probeIdFromMessageId } from '../../../agent/analyze/extract-probe-id.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { fixture, fixtureBody } from './fixtures.js';

const ID = '01HZX3K5V8Q2M4N6P8R0T2W4Y6';
const OTHER = '01HZX3K5V8Q2M4N6P8R0T2W4Z0';

describe('extractProbeId', () => {
  it.each([
    ['header wins', `X-Seedwatch-Probe: ${ID}\r\nMessage-ID: <${OTHER}@m.example>`, `seedwatch-probe-${OTHER}`, { id: ID, source: 'header' }],
    ['header is normalised upper-case', `x-seedwatch-probe:  ${ID.toLowerCase()} `, undefined, { id: ID, source: 'header' }],
    ['invalid header falls back to Message-ID', `X-Seedwatch-Probe: nope\r\nMessage-ID: <${ID.toLowerCase()}@m.example>`, undefined, { id: ID, source: 'message-id' }],
    ['Message-ID that is not a ULID falls back to the body', 'Message-ID: <CAFoo123@mail.gmail.com>', `hi seedwatch-probe-${ID.toLowerCase()}`, { id: ID, source: 'body' }],
    ['ULID with an excluded letter (U) is not an id', `X-Seedwatch-Probe: 01HZX3K5V8Q2M4N6P8R0T2W4YU`, undefined, null],
    ['too short', 'X-Seedwatch-Probe: 01HZX3K5V8Q2M4N6P8R0T2W4Y', undefined, null],
    ['nothing', 'Subject: hello', 'no token here', null],
  ])('%s', (_label, raw, body, expected) => {
    expect(extractProbeId(parseHeaders(raw), body)).toEqual(expected);
  });

  it.each([
    ['gmail-inbox.eml', { id: ID, source: 'header' }],
    ['gmail-spam-dmarc-fail.eml', { id: '01HZX3K5V8Q2M4N6P8R0T2W4Y7', source: 'header' }],
    ['body-only-id.eml', { id: '01HZX3K5V8Q2M4N6P8R0T2W4YC', source: 'body' }],
    ['garbage.eml', { id: '01HZX3K5V8Q2M4N6P8R0T2W4YD', source: 'message-id' }],
  ])('%s', (name, expected) => {
    expect(extractProbeId(parseHeaders(fixture(name)), fixtureBody(name))).toEqual(expected);
  });

  it('body-only fixture has no id without its body', () => {
    expect(extractProbeId(parseHeaders(fixture('body-only-id.eml')))).toBeNull();
  });

  it.each([
    [`<${ID}@mail.example.com>`, ID],
    [`${ID}@mail.example.com`, ID],
    [` <${ID}@x> (comment)`, ID],
    ['<not-an-id@x>', null],
    ['', null],
  ])('probeIdFromMessageId(%s)', (mid, id) => {
    expect(probeIdFromMessageId(mid)).toBe(id);
  });
});
