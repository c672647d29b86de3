/**
 * Golden header blocks for the ingress-IP parser, beside the real provider messages of
 * test/fixtures/eml: the Received trails of other MTAs and providers (Exim, sendmail, Postfix
 * over IPv6, Orange), written as those servers write them (RFC 5321 §4.4 plus each one's
 * TCP-info comment). Each names the IP the provider saw, or null when none can be found.
 */
export interface IngressGolden {
  name: string;
  /** The header block (CRLF). */
  headers: string;
  /** Globs of the provider's hosts, as the caller passes them. */
  hosts: string[];
  ip: string | null;
  /** For null: a fragment of the reason. */
  reason?: string;
}

const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n\r\n';

export const INGRESS_GOLDEN: IngressGolden[] = [
  {
    name: 'Postfix MX over IPv6 (address literal with the IPv6: tag)',
    hosts: ['mx.example.net'],
    ip: '2001:db8:25::10',
    headers: crlf([
      'Received: from mx.example.net (localhost [127.0.0.1]) by store.example.net (Dovecot) with LMTP id 1; Tue, 4 Jun 2024 09:13:08 +0000',
      'Received: from out6.mail.example.com (out6.mail.example.com [IPv6:2001:DB8:25:0:0:0:0:10])',
      '\tby mx.example.net (Postfix) with ESMTPS id 4VtZ1k0Zx2z9sT1',
      '\tfor <seed@example.net>; Tue,  4 Jun 2024 09:13:07 +0000 (UTC)',
      'Received: from localhost (localhost [127.0.0.1])',
      '\tby out6.mail.example.com (Postfix) with ESMTP id 4VtZ1k0Zx2z9sT0; Tue,  4 Jun 2024 09:13:05 +0000 (UTC)',
      'Subject: x',
    ]),
  },
  {
    name: 'Exim MX: the client address as the from-domain, HELO in the comment',
    hosts: ['*.example.org'],
    ip: '198.51.100.7',
    headers: crlf([
      'Received: from [198.51.100.7] (helo=out2.mail.example.com)',
      '\tby mx1.example.org with esmtps (TLS1.3) (Exim 4.96)',
      '\t(envelope-from <bounce@mail.example.com>) id 1sEQ9X-000Abc-2x',
      '\tfor seed@example.org; Tue, 04 Jun 2024 09:13:07 +0000',
      'Subject: x',
    ]),
  },
  {
    name: 'sendmail: rDNS and literal in the comment, "may be forged" note',
    hosts: ['mail.example.edu'],
    ip: '192.0.2.10',
    headers: crlf([
      'Received: from out1.mail.example.com (out1.mail.example.com [192.0.2.10] (may be forged))',
      '\tby mail.example.edu (8.17.1/8.17.1) with ESMTP id 454ADabc012345',
      '\tfor <seed@example.edu>; Tue, 4 Jun 2024 05:13:07 -0400',
      'Subject: x',
    ]),
  },
  {
    name: 'Orange: internal store hops above the ingress (not matched), ingress by smtp-in',
    hosts: ['*.orange.fr', '*.mail.orange.fr'],
    ip: '192.0.2.10',
    headers: crlf([
      'Received: from mwinf5c21 ([10.232.9.14])',
      '\tby mwinf5c21.me-wanadoo.net with ME',
      '\tid 1a2b3c4d5e6f7g8h; Tue, 04 Jun 2024 11:13:08 +0200',
      'Received: from out1.mail.example.com ([192.0.2.10])',
      '\tby smtp-in12.mail.orange.fr with ESMTPS id abcdef123456; Tue, 04 Jun 2024 11:13:07 +0200',
      'Received: from localhost (localhost [127.0.0.1])',
      '\tby out1.mail.example.com (Postfix) with ESMTP id 4VtZ1k0Zx2z9sT0; Tue,  4 Jun 2024 09:13:05 +0000 (UTC)',
      'Subject: x',
    ]),
  },
  {
    name: 'a dual-stack listener shows an IPv4 client as IPv4-mapped IPv6',
    hosts: ['mx.example.net'],
    ip: '127.0.0.3',
    headers: crlf([
      'Received: from peering.example ([::ffff:127.0.0.3]) by mx.example.net with ESMTP; Tue, 4 Jun 2024 09:13:07 +0000',
      'Subject: x',
    ]),
  },
  {
    name: "the sender's own hops cannot stand in for the provider's: no provider hop at all",
    hosts: ['mx.google.com'],
    ip: null,
    reason: "no Received header by the provider's hosts",
    headers: crlf([
      'Received: from localhost (localhost [127.0.0.1])',
      '\tby out1.mail.example.com (Postfix) with ESMTP id 4VtZ1k0Zx2z9sT0; Tue,  4 Jun 2024 09:13:05 +0000 (UTC)',
      'Subject: x',
    ]),
  },
  {
    name: 'an ingress hop that names its client by name only',
    hosts: ['mx.example.net'],
    ip: null,
    reason: 'names no client IP address',
    headers: crlf(['Received: from out1.mail.example.com by mx.example.net with ESMTP; Tue, 4 Jun 2024 09:13:07 +0000', 'Subject: x']),
  },
  {
    name: 'a private front-end literal below a provider hop extends the run; a public one does not',
    hosts: ['*.example.net'],
    ip: '203.0.113.5',
    headers: crlf([
      'Received: from 10.1.2.3 by store1.example.net with HTTP; Tue, 4 Jun 2024 09:13:08 +0000',
      'Received: from 203.0.113.5 (EHLO out.sender.example) by 10.1.2.3 with SMTP; Tue, 4 Jun 2024 09:13:07 +0000',
      'Received: from 198.51.100.99 (EHLO inner) by 198.51.100.1 with SMTP; Tue, 4 Jun 2024 09:13:06 +0000',
      'Subject: x',
    ]),
  },
];
