/**
 * The trace and verdict headers a simulated provider prepends (and, for Microsoft, appends)
 * when it delivers a message, modelled on real messages (test/fixtures/eml): the provider's
 * own Received hops — the topmost one carries the arrival time t2 —, its Authentication-Results
 * under the authserv-id the presets trust (seed-accounts/providers/*.yaml), and its spam stamps.
 * Pure: all randomness (queue ids, host names) comes from the injected draw.
 *
 * The sandbox does not verify anything: the path's egress IPs count as SPF-permitted, a
 * DKIM-Signature counts as valid, and DMARC passes when either is aligned with From.
 */
import type { SandboxProvider } from './behaviour.js';
import { randomAlnum, randomHex, type Random } from './prng.js';

export interface Egress {
  /** The path's MTA name (HELO) and source address as the provider sees them. */
  helo: string;
  ip: string;
}

export interface StampInput {
  provider: SandboxProvider;
  /** The message as the path's relay received it (CRLF line endings). */
  raw: Buffer;
  rcpt: string;
  /** Envelope sender (MAIL FROM); empty for a null sender. */
  mailFrom: string;
  egress: Egress;
  /** The relay's own hop: the client it accepted the message from. */
  relayClient: { hostname: string; ip: string };
  /** SMTP accept by the path's relay (t1). */
  acceptMs: number;
  /** Arrival at the provider (t2): the date of the provider's topmost Received. */
  arrivalMs: number;
  folder: 'inbox' | 'spam';
  random: Random;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad2 = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 date-time in a fixed zone, e.g. `Tue, 4 Jun 2024 02:13:07 -0700`. Seconds are truncated, as MTAs do. */
export function rfc5322Date(ms: number, offsetMinutes = 0): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

/** Header block of a raw message (without the blank line). */
function headerBlock(raw: Buffer): string {
  const s = raw.toString('latin1');
  const end = s.indexOf('\r\n\r\n');
  return end === -1 ? s : s.slice(0, end);
}

function headerField(block: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r\\n[ \\t].*)*)`, 'im');
  const m = re.exec(block);
  return m ? m[1].replace(/\r\n[ \t]+/g, ' ').trim() : undefined;
}

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const all = [...address.matchAll(/@([A-Za-z0-9.-]+)/g)];
  return all.length > 0 ? all[all.length - 1][1].toLowerCase().replace(/\.$/, '') : undefined;
}

/** Relaxed DMARC alignment, approximated: the same last two labels. */
function aligned(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const org = (d: string) => d.split('.').slice(-2).join('.');
  return org(a) === org(b);
}

export interface SandboxAuth {
  spf: 'pass';
  dkim: 'pass' | 'none';
  dmarc: 'pass' | 'fail';
  dkimDomain?: string;
  dkimSelector?: string;
  mailFromDomain?: string;
  fromDomain?: string;
}

/** The verdict the sandbox hands out for a message (see the module comment). */
export function sandboxAuth(raw: Buffer, mailFrom: string): SandboxAuth {
  const block = headerBlock(raw);
  const fromDomain = domainOf(headerField(block, 'From'));
  const mailFromDomain = domainOf(mailFrom) ?? fromDomain;
  const sig = headerField(block, 'DKIM-Signature');
  const dkimDomain = sig ? /(?:^|;)\s*d=([^;\s]+)/.exec(sig)?.[1]?.toLowerCase() : undefined;
  const dkimSelector = sig ? /(?:^|;)\s*s=([^;\s]+)/.exec(sig)?.[1] : undefined;
  const dkim = dkimDomain ? 'pass' : 'none';
  const dmarc = aligned(mailFromDomain, fromDomain) || (dkim === 'pass' && aligned(dkimDomain, fromDomain)) ? 'pass' : 'fail';
  return { spf: 'pass', dkim, dmarc, dkimDomain, dkimSelector, mailFromDomain, fromDomain };
}

function crlf(lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}

function relayHop(input: StampInput, queueId: string): string {
  return crlf([
    `Received: from ${input.relayClient.hostname} (${input.relayClient.hostname} [${input.relayClient.ip}])`,
    `\tby ${input.egress.helo} (seedwatch sandbox relay) with ESMTP id ${queueId}`,
    `\tfor <${input.rcpt}>; ${rfc5322Date(input.acceptMs)} (UTC)`,
  ]);
}

/** The provider's ingress hop: between accept and arrival, never before accept. */
function ingressMs(input: StampInput): number {
  return Math.max(input.acceptMs, input.arrivalMs - 600);
}

function gmail(input: StampInput, a: SandboxAuth): { top: string; bottom: string } {
  const r = input.random;
  const pst = -8 * 60;
  const host = `2002:a05:${randomHex(r, 4)}:${randomHex(r, 4)}:b0:${randomHex(r, 2)}:${randomHex(r, 4)}:${randomHex(r, 4)}`;
  const smtpId = `${randomAlnum(r, 3).toLowerCase()}${randomHex(r, 7)}`;
  const esmtpsId = `a640c23a62f3a-${randomHex(r, 12)}si${Math.floor(r() * 1e9)}.${Math.floor(r() * 1000)}`;
  const mailFrom = input.mailFrom || 'postmaster';
  const dkim = a.dkim === 'pass' ? `dkim=pass header.i=@${a.dkimDomain} header.s=${a.dkimSelector} header.b=${randomAlnum(r, 8)}` : 'dkim=none';
  const spfText = `spf=pass (google.com: domain of ${mailFrom} designates ${input.egress.ip} as permitted sender) smtp.mailfrom=${mailFrom}`;
  const dmarc = `dmarc=${a.dmarc} (p=NONE sp=NONE dis=NONE) header.from=${a.fromDomain ?? 'unknown'}`;
  const arrival = `${rfc5322Date(input.arrivalMs, pst)} (PST)`;
  const top = crlf([
    `Delivered-To: ${input.rcpt}`,
    `Received: by ${host} with SMTP id ${smtpId};`,
    `        ${arrival}`,
    `X-Received: by 2002:a17:906:${randomHex(r, 4)}:b0:a68:${randomHex(r, 4)}:${randomHex(r, 4)} with SMTP id ${randomAlnum(r, 12).toLowerCase()};`,
    `        ${arrival}`,
    `ARC-Authentication-Results: i=1; mx.google.com;`,
    `       ${dkim};`,
    `       ${spfText};`,
    `       ${dmarc}`,
    `Return-Path: <${input.mailFrom}>`,
    `Received: from ${input.egress.helo} (${input.egress.helo}. [${input.egress.ip}])`,
    `        by mx.google.com with ESMTPS id ${esmtpsId}`,
    `        for <${input.rcpt}>`,
    `        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);`,
    `        ${rfc5322Date(ingressMs(input), pst)} (PST)`,
    `Received-SPF: pass (google.com: domain of ${mailFrom} designates ${input.egress.ip} as permitted sender) client-ip=${input.egress.ip};`,
    `Authentication-Results: mx.google.com;`,
    `       ${dkim};`,
    `       ${spfText};`,
    `       ${dmarc}`,
  ]);
  return { top, bottom: '' };
}

function outlook(input: StampInput, a: SandboxAuth): { top: string; bottom: string } {
  const r = input.random;
  const spam = input.folder === 'spam';
  const mailbox = `${randomAlnum(r, 4)}P223MB${randomAlnum(r, 4)}`;
  const store = `${randomAlnum(r, 4)}P223MB${randomAlnum(r, 4)}`;
  const frontend = `BN9PR03CA${randomAlnum(r, 4)}`;
  const eop = `BN2PEPF0000${randomAlnum(r, 4)}`;
  const ingress = ingressMs(input);
  const mid = Math.max(ingress, input.arrivalMs - 300);
  const build = `15.20.${7600 + Math.floor(r() * 100)}.${Math.floor(r() * 40)}`;
  const domain = a.mailFromDomain ?? 'unknown';
  const dkim = a.dkim === 'pass' ? `dkim=pass (signature was verified) header.d=${a.dkimDomain}` : 'dkim=none (message not signed) header.d=none';
  const dmarc = a.dmarc === 'pass' ? 'dmarc=pass action=none' : 'dmarc=fail action=none';
  const compauth = a.dmarc === 'pass' ? 'compauth=pass reason=100' : 'compauth=fail reason=001';
  const scl = spam ? 5 : 1;
  const bcl = Math.floor(r() * 3) + (spam ? 4 : 0);
  const netId = `${randomHex(r, 8)}-${randomHex(r, 4)}-${randomHex(r, 4)}-${randomHex(r, 4)}-${randomHex(r, 12)}`;
  const top = crlf([
    `Received: from ${mailbox}.NAMP223.PROD.OUTLOOK.COM (::1) by`,
    ` ${store}.NAMP223.PROD.OUTLOOK.COM with HTTPS; ${rfc5322Date(input.arrivalMs)}`,
    `Received: from ${frontend}.namprd03.prod.outlook.com (2603:10b6:408:10d::6)`,
    ` by ${mailbox}.NAMP223.PROD.OUTLOOK.COM (2603:10b6:806:3d9::13) with`,
    ` Microsoft SMTP Server (version=TLS1_2,`,
    ` cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id ${build}; ${rfc5322Date(mid)}`,
    `Received: from ${eop}.namprd04.prod.outlook.com`,
    ` (2603:10b6:408:10d:cafe::2e) by ${frontend}.outlook.office365.com`,
    ` (2603:10b6:408:10d::6) with Microsoft SMTP Server (version=TLS1_2,`,
    ` cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id ${build} via Frontend`,
    ` Transport; ${rfc5322Date(mid)}`,
    `Authentication-Results: spf=pass (sender IP is ${input.egress.ip})`,
    ` smtp.mailfrom=${domain}; ${dkim};${dmarc}`,
    ` header.from=${a.fromDomain ?? 'unknown'};${compauth}`,
    `Received-SPF: Pass (protection.outlook.com: domain of ${domain}`,
    ` designates ${input.egress.ip} as permitted sender) receiver=protection.outlook.com;`,
    ` client-ip=${input.egress.ip}; helo=${input.egress.helo}; pr=C`,
    `Received: from ${input.egress.helo} (${input.egress.ip}) by`,
    ` ${eop}.mail.protection.outlook.com (10.167.243.${Math.floor(r() * 250) + 2}) with Microsoft`,
    ` SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id ${build}`,
    ` via Frontend Transport; ${rfc5322Date(ingress)}`,
  ]);
  // Microsoft appends its verdict stamps after the original header block (see microsoft-antispam.ts).
  const bottom = crlf([
    `X-IncomingHeaderCount: 12`,
    `Return-Path: ${input.mailFrom}`,
    `X-MS-Exchange-Organization-Network-Message-Id: ${netId}`,
    `X-MS-Exchange-Organization-MessageDirectionality: Incoming`,
    `X-MS-Exchange-Organization-AuthAs: Anonymous`,
    `X-MS-Exchange-Organization-SCL: ${scl}`,
    `X-Microsoft-Antispam: BCL:${bcl};ARA:1444111002|461199028|2066899003;`,
    `X-Forefront-Antispam-Report:`,
    ` CIP:${input.egress.ip};CTRY:FR;LANG:en;SCL:${scl};SRV:;IPV:NLI;SFV:${spam ? 'SPM' : 'NSPM'};H:${input.egress.helo};PTR:${input.egress.helo};CAT:${spam ? 'SPM' : 'NONE'};SFS:(13230031)(4636009)(461199028);DIR:INB;`,
    `X-MS-Exchange-CrossTenant-OriginalArrivalTime: ${rfc5322Date(ingress)}`,
    `X-MS-Exchange-CrossTenant-Network-Message-Id: ${netId}`,
    `X-Microsoft-Antispam-Mailbox-Delivery:`,
    `\tucf:0;jmr:0;auth:1;dest:${spam ? 'J' : 'I'};OFR:${spam ? 'SpamFilterAuthJ' : 'TrustedSenders'};ENG:(5062000305)(90000117);RF:${spam ? 'JunkEmail' : 'Inbox'};`,
  ]);
  return { top, bottom };
}

function yahoo(input: StampInput, a: SandboxAuth): { top: string; bottom: string } {
  const r = input.random;
  const atlas = `atlas${100 + Math.floor(r() * 200)}.free.mail.${['bf1', 'gq1', 'ne1'][Math.floor(r() * 3)]}.yahoo.com`;
  const internal = `10.217.${Math.floor(r() * 250) + 2}.${Math.floor(r() * 250) + 2}`;
  const domain = a.mailFromDomain ?? 'unknown';
  const dkim = a.dkim === 'pass' ? `dkim=pass header.i=@${a.dkimDomain} header.s=${a.dkimSelector}` : 'dkim=unknown';
  const top = crlf([
    `Received: from ${internal}`,
    ` by ${atlas} with HTTPS; ${rfc5322Date(input.arrivalMs)}`,
    `Return-Path: <${input.mailFrom}>`,
    `X-Originating-Ip: [${input.egress.ip}]`,
    `Received-SPF: pass (domain of ${domain} designates ${input.egress.ip} as permitted sender)`,
    `Authentication-Results: ${atlas};`,
    ` ${dkim};`,
    ` spf=pass smtp.mailfrom=${domain};`,
    ` dmarc=${a.dmarc}(p=NONE) header.from=${a.fromDomain ?? 'unknown'};`,
    `X-Apparently-To: ${input.rcpt}; ${rfc5322Date(input.arrivalMs)}`,
    `X-YMailISG: ${randomAlnum(r, 40)}`,
    `Received: from ${input.egress.ip} (EHLO ${input.egress.helo})`,
    ` by ${internal} with SMTP; ${rfc5322Date(ingressMs(input))}`,
  ]);
  return { top, bottom: '' };
}

function orange(input: StampInput, a: SandboxAuth): { top: string; bottom: string } {
  const r = input.random;
  const cet = 60;
  const inbound = `smtp-in${Math.floor(r() * 20) + 1}.mail.orange.fr`;
  const store = `mwinf5c${pad2(Math.floor(r() * 90) + 10)}`;
  const meId = randomAlnum(r, 16);
  const dkim = a.dkim === 'pass' ? `dkim=pass header.d=${a.dkimDomain} header.s=${a.dkimSelector}` : 'dkim=none';
  const top = crlf([
    `Received: from ${store} ([10.232.${Math.floor(r() * 250) + 2}.${Math.floor(r() * 250) + 2}])`,
    `\tby ${store}.me-wanadoo.net with ME`,
    `\tid ${meId}; ${rfc5322Date(input.arrivalMs, cet)}`,
    `X-ME-Helo: ${input.egress.helo}`,
    `X-ME-IP: ${input.egress.ip}`,
    `X-ME-Date: ${rfc5322Date(input.arrivalMs, cet)}`,
    `Authentication-Results: ${inbound}; spf=pass smtp.mailfrom=${a.mailFromDomain ?? 'unknown'};`,
    `\t${dkim}; dmarc=${a.dmarc} header.from=${a.fromDomain ?? 'unknown'}`,
    `Received: from ${input.egress.helo} ([${input.egress.ip}])`,
    `\tby ${inbound} with ESMTPS id ${randomAlnum(r, 12)}; ${rfc5322Date(ingressMs(input), cet)}`,
  ]);
  return { top, bottom: '' };
}

const STAMPERS: Record<SandboxProvider, (input: StampInput, a: SandboxAuth) => { top: string; bottom: string }> = {
  gmail,
  outlook,
  yahoo,
  orange,
};

/**
 * The message as the provider stores it: provider headers, the relay's hop, the original
 * message; Microsoft's stamps go at the end of the header block.
 */
export function stampDelivery(input: StampInput): Buffer {
  const auth = sandboxAuth(input.raw, input.mailFrom);
  const relay = relayHop(input, randomAlnum(input.random, 12));
  const { top, bottom } = STAMPERS[input.provider](input, auth);
  let original = input.raw;
  if (bottom) {
    const s = original.toString('latin1');
    const end = s.indexOf('\r\n\r\n');
    original = end === -1 ? Buffer.from(`${s}\r\n${bottom}`, 'latin1') : Buffer.from(`${s.slice(0, end + 2)}${bottom}${s.slice(end + 2)}`, 'latin1');
  }
  return Buffer.concat([Buffer.from(top + relay, 'latin1'), original]);
}
