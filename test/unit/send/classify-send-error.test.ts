import { describe, expect, it } from 'vitest';
import { classifySendError, type SmtpErrorLike } from '../../../agent/send/classify-send-error.js';

const AT = 1_700_000_000_000;

// Errors shaped exactly as nodemailer 10's SMTPConnection produces them (see _formatError).
const cases: { name: string; err: SmtpErrorLike; dataSent?: boolean; reason: string; code?: number; enhanced?: string; text?: string }[] = [
  { name: '550 to RCPT TO', err: { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550, response: '550 5.1.1 <x@y>: Recipient address rejected: User unknown' }, reason: 'rejected', code: 550, enhanced: '5.1.1', text: '<x@y>: Recipient address rejected: User unknown' },
  { name: '554 after DATA (content)', err: { code: 'EMESSAGE', command: 'DATA', responseCode: 554, response: '554 5.7.1 Message rejected as spam' }, dataSent: true, reason: 'rejected', code: 554, enhanced: '5.7.1', text: 'Message rejected as spam' },
  { name: '450 greylisting at RCPT', err: { code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450, response: '450 4.2.0 <x@y>: Recipient address rejected: Greylisted' }, reason: 'deferred', code: 450, enhanced: '4.2.0' },
  { name: '451 after DATA is a reply, not ambiguous', err: { code: 'EMESSAGE', command: 'DATA', responseCode: 451, response: '451 4.3.0 Error: queue file write error' }, dataSent: true, reason: 'deferred', code: 451, enhanced: '4.3.0' },
  { name: '421 after DATA (server closing) is deferred with its code', err: { code: 'ECONNECTION', command: 'CONN', responseCode: 421, response: '421 4.7.0 Try again later, closing connection' }, dataSent: true, reason: 'deferred', code: 421, enhanced: '4.7.0' },
  { name: '421 greeting', err: { code: 'ECONNECTION', command: 'EHLO', responseCode: 421, response: '421 mx.example.com Service not available' }, reason: 'deferred', code: 421, text: 'mx.example.com Service not available' },
  { name: 'multi-line 550 keeps first enhanced code, joins text', err: { code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 550, response: '550-5.7.1 [192.0.2.1] Our system has detected\n550-5.7.1 an unusual rate of mail.\n550 5.7.1 https://support.google.com/mail' }, reason: 'rejected', code: 550, enhanced: '5.7.1', text: '[192.0.2.1] Our system has detected an unusual rate of mail. https://support.google.com/mail' },
  { name: 'connection refused', err: { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN', message: 'connect ECONNREFUSED 127.0.0.1:1' }, reason: 'connection' },
  { name: 'DNS failure', err: { code: 'EDNS', command: 'CONN', message: 'getaddrinfo ENOTFOUND relay.invalid' }, reason: 'connection' },
  { name: 'greeting timeout', err: { code: 'ETIMEDOUT', command: 'CONN', message: 'Greeting never received' }, reason: 'timeout' },
  { name: 'timeout waiting for RCPT reply', err: { code: 'ETIMEDOUT', command: 'CONN', message: 'Timeout' }, dataSent: false, reason: 'timeout' },
  { name: 'connection lost after DATA → ambiguous', err: { code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' }, dataSent: true, reason: 'ambiguous' },
  { name: 'timeout after DATA → ambiguous', err: { code: 'ETIMEDOUT', command: 'CONN', message: 'no final reply' }, dataSent: true, reason: 'ambiguous' },
  { name: 'socket reset after DATA → ambiguous', err: { code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN', message: 'read ECONNRESET' }, dataSent: true, reason: 'ambiguous' },
  { name: 'connection lost before DATA → connection', err: { code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' }, dataSent: false, reason: 'connection' },
  { name: 'STARTTLS failed', err: { code: 'ETLS', command: 'CONN', message: 'Error initiating TLS - self-signed certificate' }, reason: 'tls' },
  { name: 'implicit TLS to a plaintext port', err: { code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER', command: 'CONN', message: 'ssl3_get_record:wrong version number' }, reason: 'tls' },
  { name: 'self-signed with implicit TLS', err: { code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN', message: 'self-signed certificate' }, reason: 'tls' },
  { name: 'requireTLS but not offered', err: { code: 'ETLS', command: 'EHLO', message: 'STARTTLS is required' }, reason: 'tls' },
  { name: '454 to STARTTLS', err: { code: 'ETLS', command: 'STARTTLS', responseCode: 454, response: '454 4.7.0 TLS not available' }, reason: 'tls', code: 454, enhanced: '4.7.0' },
  { name: '535 bad credentials', err: { code: 'EAUTH', command: 'AUTH PLAIN', responseCode: 535, response: '535 5.7.8 Error: authentication failed' }, reason: 'auth', code: 535, enhanced: '5.7.8' },
  { name: 'no credentials', err: { code: 'ENOAUTH', command: 'API', message: 'Missing credentials for "PLAIN"' }, reason: 'auth' },
  { name: 'invalid recipient (no reply)', err: { code: 'EENVELOPE', command: 'API', message: 'Invalid recipient "a"' }, reason: 'rejected' },
];

describe('classifySendError', () => {
  it.each(cases)('$name → $reason', (c) => {
    const r = classifySendError(c.err, { atMs: AT, dataSent: c.dataSent ?? false });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe(c.reason);
    expect(r.atMs).toBe(AT);
    expect(r.code).toBe(c.code);
    if (c.enhanced !== undefined || c.code !== undefined) expect(r.enhanced).toBe(c.enhanced);
    if (c.text !== undefined) expect(r.text).toBe(c.text);
    expect(r.message.length).toBeGreaterThan(5);
  });

  it('says in the ambiguous message that the message may have been accepted and is not retried', () => {
    const r = classifySendError({ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, { atMs: AT, dataSent: true });
    expect(r.message).toMatch(/may have accepted it \(not retried\)/);
  });

  it('names the system error code in the message of a refused connection', () => {
    const r = classifySendError({ code: 'ESOCKET', originalCode: 'ECONNREFUSED', message: 'connect failed' }, { atMs: AT, dataSent: false });
    expect(r.message).toContain('ECONNREFUSED');
  });
});
