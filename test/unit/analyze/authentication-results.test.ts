import { describe, expect, it } from 'vitest';
import {
  authenticationResults,
  parseAuthResValue,
  type AuthVerdict,
  type AuthVerdictParsed,
} from '../../../agent/analyze/authentication-results.js';
import { parseHeaders } from '../../../agent/analyze/parse-headers.js';
import { fixture, OUTLOOK_RECEIVED_HOSTS } from './fixtures.js';

function parsed(v: AuthVerdict): AuthVerdictParsed {
  if (!v.found || v.unparsed) throw new Error(`expected a parsed verdict, got ${JSON.stringify(v)}`);
  return v;
}

const ms = { providerReceivedHosts: OUTLOOK_RECEIVED_HOSTS };

describe('parseAuthResValue', () => {
  it('parses a Gmail header with comments, quoted strings and properties', () => {
    const r = parseAuthResValue(
      'mx.google.com; dkim=pass header.i=@mail.example.com header.s=sw2024 header.b=Qx7f+K2=;' +
        ' spf=pass (google.com: domain of a@b designates 192.0.2.10 as permitted sender) smtp.mailfrom="bounce+x@mail.example.com";' +
        ' dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=mail.example.com',
    );
    expect(r.error).toBeUndefined();
    expect(r.authservId).toBe('mx.google.com');
    expect(r.results.map((x) => [x.method, x.result])).toEqual([
      ['dkim', 'pass'],
      ['spf', 'pass'],
      ['dmarc', 'pass'],
    ]);
    expect(r.results[0].props).toEqual({ 'header.i': '@mail.example.com', 'header.s': 'sw2024', 'header.b': 'Qx7f+K2=' });
    expect(r.results[1].props['smtp.mailfrom']).toBe('bounce+x@mail.example.com');
    expect(r.results[1].comments[0]).toMatch(/^google\.com: domain of/);
    expect(r.results[2].comments).toEqual(['p=NONE sp=NONE dis=NONE']);
  });

  it.each([
    // [label, value, authservId, [method, result][], error?]
    ['Microsoft id-less', 'spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=x.com; dkim=none (message not signed) header.d=none;dmarc=bestguesspass action=none header.from=x.com;compauth=pass reason=109', null, [['spf', 'pass'], ['dkim', 'none'], ['dmarc', 'bestguesspass'], ['compauth', 'pass']]],
    ['authres-version after the id', 'mx.microsoft.com 1; spf=pass smtp.mailfrom=x.com; arc=none', 'mx.microsoft.com', [['spf', 'pass'], ['arc', 'none']]],
    ['explicit none', 'mx.example.net; none', 'mx.example.net', []],
    ['results upper-case and spaced "="', 'mx.example.net; SPF = PASS smtp.mailfrom = a.com; DKIM/1=TempError', 'mx.example.net', [['spf', 'pass'], ['dkim', 'temperror']]],
    ['comment glued to result (Yahoo)', 'atlas1.mail.bf1.yahoo.com; dmarc=pass(p=NONE) header.from=x.com;', 'atlas1.mail.bf1.yahoo.com', [['dmarc', 'pass']]],
    ['old Yahoo noise after the id', 'mta1015.mail.gq1.yahoo.com  from=gmail.com; domainkeys=neutral (no sig);  from=gmail.com; dkim=pass (ok)', 'mta1015.mail.gq1.yahoo.com', [['domainkeys', 'neutral'], ['dkim', 'pass']]],
    ['Hotmail stray fragments', 'spf=none (sender IP is 192.0.2.1) smtp.mailfrom=example.net; hotmail.com; dkim=none header.d=example.net;hotmail.com; dmarc=none action=none header.from=example.net;compauth=fail reason=001', null, [['spf', 'none'], ['dkim', 'none'], ['dmarc', 'none'], ['compauth', 'fail']]],
    ['nested comment', 'mx.example.net; spf=fail (a (nested) comment) smtp.mailfrom=a.com', 'mx.example.net', [['spf', 'fail']]],
    ['quoted authserv-id', '"mx.example.net"; spf=pass', 'mx.example.net', [['spf', 'pass']]],
  ])('%s', (_label, value, id, results) => {
    const r = parseAuthResValue(value);
    expect(r.error).toBeUndefined();
    expect(r.authservId).toBe(id);
    expect(r.results.map((x) => [x.method, x.result])).toEqual(results);
  });

  it('records ignored segments and the compauth reason', () => {
    const r = parseAuthResValue('spf=pass smtp.mailfrom=a.com; hotmail.com; compauth=pass reason=100');
    expect(r.ignored).toEqual(['hotmail.com']);
    expect(r.results[1].reason).toBe('100');
  });

  it.each([
    ['unterminated comment', 'mx.google.com; dkim=pass (oops header.i=@a.com', /unterminated comment/, 'mx.google.com'],
    ['unterminated quote', 'mx.google.com; spf=pass smtp.mailfrom="a@b', /unterminated quoted string/, 'mx.google.com'],
    ['stray close paren', 'mx.google.com; spf=pass )', /unbalanced/, 'mx.google.com'],
    ['no results', 'mx.google.com; garbage; more garbage', /no method=result/, 'mx.google.com'],
    ['id only', 'mx.google.com', /no method=result/, 'mx.google.com'],
    ['empty', '', /missing authserv-id/, null],
    ['id-less broken', 'spf=pass (oops', /unterminated comment/, null],
  ])('reports %s', (_label, value, reason, id) => {
    const r = parseAuthResValue(value);
    expect(r.error).toMatch(reason);
    expect(r.authservId).toBe(id);
  });
});

describe('authenticationResults — trust', () => {
  it('Gmail: reads the provider header and its ARC evidence', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('gmail-inbox.eml')), ['mx.google.com']));
    expect(v).toMatchObject({ authservId: 'mx.google.com', trust: 'authserv-id', spf: 'pass', dkim: 'pass', dmarc: 'pass' });
    expect(v.arc).toBeUndefined();
    expect(v.compauth).toBeUndefined();
    expect(v.dkimResults[0].props['header.i']).toBe('@mail.example.com');
    expect(v.arcEvidence).toMatchObject({ instance: 1, authservId: 'mx.google.com', dmarc: 'pass' });
  });

  it('Gmail spam: dmarc=fail, two DKIM results, summary pass because one passed', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('gmail-spam-dmarc-fail.eml')), ['mx.google.com']));
    expect([v.spf, v.dkim, v.dmarc]).toEqual(['softfail', 'pass', 'fail']);
    expect(v.dkimResults.map((r) => [r.props['header.i'], r.result])).toEqual([
      ['@esp.example.net', 'pass'],
      ['@mail.example.com', 'neutral'],
    ]);
    expect(v.results.find((r) => r.method === 'dmarc')?.comments).toEqual(['p=QUARANTINE sp=QUARANTINE dis=QUARANTINE']);
  });

  it('Gmail: ignores a forged copy with the same authserv-id further down', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('gmail-forged-ar.eml')), ['mx.google.com']));
    expect([v.spf, v.dkim, v.dmarc]).toEqual(['fail', undefined, 'fail']);
    expect(v.raw).not.toMatch(/Zz99Yy88/);
    // the forged ARC-A-R (i=7) sits below the real one (i=1)
    expect(v.arcEvidence?.instance).toBe(1);
    expect(v.arcEvidence?.dmarc).toBe('fail');
  });

  it('Yahoo: wildcard authserv-id', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('yahoo-inbox.eml')), ['*.yahoo.com']));
    expect(v).toMatchObject({ authservId: 'atlas213.free.mail.bf1.yahoo.com', spf: 'pass', dkim: 'pass', dmarc: 'pass' });
    expect(authenticationResults(parseHeaders(fixture('yahoo-inbox.eml')), ['mta*.mail.*.yahoo.com'])).toEqual({ found: false });
  });

  it('Microsoft: trusts the id-less header above the ingress hop', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('outlook-spam.eml')), [], ms));
    expect(v).toMatchObject({ authservId: null, trust: 'ingress-position', spf: 'pass', dkim: 'pass', dmarc: 'pass', compauth: 'pass' });
    expect(v.results.find((r) => r.method === 'compauth')?.reason).toBe('100');
    expect(v.results.find((r) => r.method === 'dmarc')?.props.action).toBe('none');
  });

  it('Microsoft: without providerReceivedHosts the id-less header is not trusted', () => {
    expect(authenticationResults(parseHeaders(fixture('outlook-spam.eml')), ['mx.google.com'])).toEqual({ found: false });
  });

  it('Microsoft: ignores a forged passing header planted below the ingress hop', () => {
    const v = parsed(authenticationResults(parseHeaders(fixture('outlook-forged-ar.eml')), [], ms));
    expect([v.spf, v.dkim, v.dmarc, v.compauth]).toEqual(['fail', 'none', 'fail', 'fail']);
    expect(v.results.find((r) => r.method === 'dmarc')?.props.action).toBe('oreject');
  });

  it('Microsoft: when the provider header is missing, the forged one is still not trusted', () => {
    const text = fixture('outlook-forged-ar.eml').toString('latin1');
    const withoutReal = text.replace(/Authentication-Results: spf=fail[\s\S]*?reason=000\r\n/, '');
    expect(withoutReal).not.toBe(text);
    expect(authenticationResults(parseHeaders(withoutReal), [], ms)).toEqual({ found: false });
  });

  it('position rule also bounds headers that carry a trusted authserv-id', () => {
    const raw = [
      'Received: from a.prod.outlook.com by b.prod.outlook.com with HTTPS; Tue, 4 Jun 2024 09:13:09 +0000',
      'Received: from sender.example by x.mail.protection.outlook.com via Frontend Transport; Tue, 4 Jun 2024 09:13:08 +0000',
      'Authentication-Results: mx.microsoft.com; spf=pass smtp.mailfrom=a.com',
      'Received: by sender.example; Tue, 4 Jun 2024 09:13:07 +0000',
    ].join('\r\n');
    expect(authenticationResults(parseHeaders(raw), ['mx.microsoft.com'], ms)).toEqual({ found: false });
    // without the position rule the authserv-id alone decides
    expect(parsed(authenticationResults(parseHeaders(raw), ['mx.microsoft.com'])).spf).toBe('pass');
  });

  it('the topmost Received must be the provider\'s for the position rule to apply', () => {
    const raw = [
      'Received: by sender.example; Tue, 4 Jun 2024 09:13:07 +0000',
      'Authentication-Results: spf=pass smtp.mailfrom=a.com',
      'Received: from x by y.prod.outlook.com; Tue, 4 Jun 2024 09:13:06 +0000',
    ].join('\r\n');
    expect(authenticationResults(parseHeaders(raw), [], ms)).toEqual({ found: false });
  });

  it('a broken trusted header is reported unparsed, not skipped in favour of a lower copy', () => {
    const raw = [
      'Authentication-Results: mx.google.com; dkim=pass (broken',
      'Authentication-Results: mx.google.com; spf=pass; dkim=pass; dmarc=pass',
    ].join('\r\n');
    const v = authenticationResults(parseHeaders(raw), ['mx.google.com']);
    expect(v).toMatchObject({ found: true, unparsed: true, reason: 'unterminated comment', authservId: 'mx.google.com' });
  });

  it('skips untrusted headers above the trusted one', () => {
    const raw = [
      'Authentication-Results: spamfilter.example.org; spf=fail',
      'Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=a.com',
    ].join('\r\n');
    expect(parsed(authenticationResults(parseHeaders(raw), ['mx.google.com'])).spf).toBe('pass');
  });

  it.each([
    [['MX.GOOGLE.COM'], 'mx.google.com', true],
    [['*.google.com'], 'mx.google.com', true],
    [['*.google.com'], 'google.com', false],
    [['mx.google.com'], 'mx.google.com.evil.example', false],
    [['mx.google.com'], 'mxxgoogle.com', false],
    [[], 'mx.google.com', false],
  ])('trusted %j vs authserv-id %s → %s', (trusted, id, found) => {
    const v = authenticationResults(parseHeaders(`Authentication-Results: ${id}; spf=pass`), trusted);
    expect(v.found).toBe(found);
  });

  it('dkim summary: pass if any pass, else the first informative result', () => {
    const sum = (v: string) => parsed(authenticationResults(parseHeaders(`Authentication-Results: m.example; ${v}`), ['m.example'])).dkim;
    expect(sum('dkim=fail; dkim=pass')).toBe('pass');
    expect(sum('dkim=none; dkim=permerror; dkim=fail')).toBe('permerror');
    expect(sum('dkim=none')).toBe('none');
    expect(sum('spf=pass')).toBeUndefined();
  });

  it('caps the raw copy kept as evidence', () => {
    const v = parsed(authenticationResults(parseHeaders(`Authentication-Results: m.example; spf=pass (${'x'.repeat(50_000)})`), ['m.example']));
    expect(v.raw.length).toBeLessThanOrEqual(8 * 1024 + 1);
    expect(v.spf).toBe('pass');
  });

  it('does not throw on nonsense arguments', () => {
    expect(authenticationResults(undefined as never, undefined as never)).toEqual({ found: false });
    expect(authenticationResults(parseHeaders('A: 1'), [null, 3] as never, { providerReceivedHosts: 'x' as never })).toEqual({ found: false });
  });
});
