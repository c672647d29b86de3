/**
 * The status page and the weekly report in a real browser (Debian's chromium through
 * playwright-core): numbers shown against the ledger, hostile header text shown as text,
 * the CSP holds (no violation reported, styles applied), the page refreshes itself, the
 * bearer token is enforced. Takes the README screenshots: into a temp dir (a test run changes
 * no tracked file), or into SEEDWATCH_SCREENSHOTS_DIR when set — `npm run screenshots` sets it
 * to docs/screenshots.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { createApp, listen } from '../../../agent/http/server.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { mountPages } from '../../../agent/pages/mount-pages.js';
import type { MailboxHealth } from '../../../agent/pages/status-data.js';
import { formatPp, formatSeconds, formatShareInterval } from '../../../agent/report/format.js';
import { placementMatrix, windowChange, type MatrixCell } from '../../../agent/domain/placement-matrix.js';
import { detectableDifference } from '../../../agent/domain/statistics.js';
import { tabsSummary } from '../../../agent/report/weekly-markdown.js';
import { weeklyReportFromLedger } from '../../../agent/report/weekly-report.js';
import { addProbe, END_MS, fillTwoWeeks } from '../../fixtures/report/two-weeks.js';
import { noopEvents } from '../../../agent/events.js';
import { concludeMissing } from '../../../agent/record/recorder.js';
import { STATE_KEYS, type DnsblState, type PostmasterState, type ReputationSnapshot, type SndsState } from '../../../agent/reputation/reputation-state.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOTS_TO_KEEP = process.env.SEEDWATCH_SCREENSHOTS_DIR;
const SHOTS = SHOTS_TO_KEEP ? resolve(ROOT, SHOTS_TO_KEEP) : mkdtempSync(resolve(tmpdir(), 'seedwatch-screenshots-'));
const TOKEN = 'pages-token-7731-distinct';
const HOSTILE_SUBJECT = `<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2;alert(1)"> Your digest`;
const HOSTILE_DMARC = `"><img src=x onerror=alert(3)>`;
const HOSTILE_SCL = `<script>alert(4)</script>`;
const HOSTILE_FOLDER = `INBOX"><svg onload=alert(6)>`;
const HOSTILE_SMTP = `550 5.7.1 <script>alert(7)</script> rejected`;
const HOSTILE_IMAP = `<img src=x onerror=alert(5)> LOGIN failed`;
const HOSTILE_TXT = `Listed <img src=x onerror=alert(8)> see https://bl.test/?ip=198.51.100.7`;
const HOSTILE_PM_ERROR = `<script>alert(9)</script> The caller does not have permission`;

const MIN = 60_000;

const clock = new ManualClock(END_MS);
const ledger = SqliteLedger.open(':memory:');
const mailboxes: MailboxHealth[] = [
  { seed: 'gmail-1', provider: 'gmail', up: true, connectedOnce: true, lastError: null },
  { seed: 'outlook-1', provider: 'outlook', up: false, connectedOnce: true, lastError: { kind: 'protocol', message: HOSTILE_IMAP, atMs: 0 } },
  { seed: 'yahoo-1', provider: 'yahoo', up: false, connectedOnce: false, lastError: null },
];
let server: Server;
let base: string;
let browser: Browser;
let context: BrowserContext;
let xssProbeId: string;
let mismatchProbeId: string;

/** Egress IPs per path, as the config's paths[].ips. */
const EGRESS_IPS = { peering: ['192.0.2.10'], transit: ['198.51.100.7'] };

/** What the reputation sources found, as the agent's monitor would show it. */
function reputationSnapshot(): ReputationSnapshot {
  const at = END_MS - 5 * MIN;
  return {
    paths: [{ name: 'peering', ips: ['192.0.2.10'] }, { name: 'transit', ips: ['198.51.100.7'] }],
    dnsbl: {
      zones: ['zen.spamhaus.org', 'bl.spamcop.net'],
      lastRunAtMs: at,
      history: {},
      entries: [
        { path: 'peering', ip: '192.0.2.10', zone: 'zen.spamhaus.org', status: 'clear', codes: [], reasons: [], checkedAtMs: at, listedSinceMs: null },
        { path: 'peering', ip: '192.0.2.10', zone: 'bl.spamcop.net', status: 'clear', codes: [], reasons: [], checkedAtMs: at, listedSinceMs: null },
        { path: 'transit', ip: '198.51.100.7', zone: 'zen.spamhaus.org', status: 'listed', codes: ['127.0.0.3'], reasons: [HOSTILE_TXT], checkedAtMs: at, listedSinceMs: END_MS - 3 * 3_600_000 },
        { path: 'transit', ip: '198.51.100.7', zone: 'bl.spamcop.net', status: 'clear', codes: [], reasons: [], checkedAtMs: at - 900_000, listedSinceMs: null, error: { kind: 'timeout', message: 'ETIMEOUT 7.100.51.198.bl.spamcop.net', atMs: at } },
      ],
    },
    hygiene: {
      lastRunAtMs: at,
      entries: [
        { path: 'peering', ip: '192.0.2.10', fcrdns: { status: 'ok', ptr: ['out1.mail.example.com'], confirmed: ['out1.mail.example.com'] }, spf: { status: 'pass', result: 'pass', domain: 'mail.example.com' }, checkedAtMs: at },
        { path: 'transit', ip: '198.51.100.7', fcrdns: { status: 'fail', ptr: ['7.100.51.198.transit-isp.example'], confirmed: [] }, helo: { name: 'out2.mail.example.com', ok: false }, spf: { status: 'not_pass', result: 'softfail', domain: 'mail.example.com' }, checkedAtMs: at },
      ],
    },
    snds: {
      lastRunAtMs: at,
      lastSuccessAtMs: at,
      malformed: [],
      history: {},
      ips: [
        { ip: '192.0.2.10', path: 'peering', activityStart: '11/21/2026 12:00 AM', activityEnd: '11/22/2026 11:59 PM', day: '2026-11-22', rcptCommands: 1500, dataCommands: 1500, recipients: 1490, filterResult: 'GREEN', complaintRateText: '< 0.1%', complaintRate: 0.001, trapHits: 0, sampleHelo: 'out1.mail.example.com', sampleMailFrom: 'bounce@mail.example.com', comments: '', blocked: false, fetchedAtMs: at },
        { ip: '198.51.100.7', path: 'transit', activityStart: '11/21/2026 12:00 AM', activityEnd: '11/22/2026 11:59 PM', day: '2026-11-22', rcptCommands: 1400, dataCommands: 1390, recipients: 1385, filterResult: 'RED', complaintRateText: '2.1%', complaintRate: 0.021, trapHits: 14, sampleHelo: 'out2.mail.example.com', sampleMailFrom: 'bounce@mail.example.com', comments: '<b>x</b>', blocked: true, blockedReason: 'Blocked due to user complaints or other evidence of spamming', fetchedAtMs: at },
      ],
    },
    postmaster: {
      lastRunAtMs: at,
      history: {},
      domains: [
        { domain: 'mail.example.com', verificationState: 'VERIFIED', latestDay: '2026-11-21', spamRate: 0.0034, authSuccess: { spf: 0.999, dkim: 1, dmarc: 0.998 }, tlsEncryption: 1, deliveryErrors: { 'reject/all': 0.012, 'temp_fail/all': 0.003 }, compliance: { requirements: { spf: 'COMPLIANT', dkim: 'COMPLIANT', dmarc_policy: 'COMPLIANT', user_reported_spam_rate: 'NEEDS_WORK' }, subdomain: false }, fetchedAtMs: at },
        { domain: 'news.example.com', latestDay: null, spamRate: null, authSuccess: {}, tlsEncryption: null, deliveryErrors: {}, fetchedAtMs: null, error: { kind: 'forbidden', message: HOSTILE_PM_ERROR, atMs: at } },
      ],
    },
    errors: [{ source: 'dnsbl', kind: 'timeout', message: `198.51.100.7 on bl.spamcop.net: ETIMEOUT ${HOSTILE_TXT}`, atMs: at }],
  };
}

/** Daily histories of the current report week (2026-11-16 .. 22), as the sources store them. */
async function storeReputationHistory(): Promise<void> {
  const days = ['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22'];
  const dnsbl: DnsblState = {
    entries: [],
    lastRunAtMs: END_MS,
    history: Object.fromEntries(
      days.map((d, i) => [
        d,
        {
          'peering|192.0.2.10|zen.spamhaus.org': { checks: 96, listed: 0 },
          // transit listed from Thursday (k = 3) on: the same days its gmail spam share climbs
          'transit|198.51.100.7|zen.spamhaus.org': { checks: 96, listed: i >= 3 ? 40 + i : 0 },
        },
      ]),
    ),
  };
  const colour = ['GREEN', 'GREEN', 'YELLOW', 'YELLOW', 'RED', 'RED', 'RED'] as const;
  const snds: SndsState = {
    ips: [],
    malformed: [],
    lastRunAtMs: END_MS,
    lastSuccessAtMs: END_MS,
    history: Object.fromEntries(
      days.slice(0, 6).map((d, i) => [
        d,
        {
          '192.0.2.10': { path: 'peering', filter: 'GREEN' as const, complaintRate: 0.001, trapHits: 0, recipients: 1500 },
          '198.51.100.7': { path: 'transit', filter: colour[i], complaintRate: 0.002 * (i + 1), trapHits: i, recipients: 1400 },
        },
      ]),
    ),
  };
  const rates = [0.0006, 0.0008, 0.0011, 0.0014, 0.0022, 0.0034];
  const postmaster: PostmasterState = { domains: [], lastRunAtMs: END_MS, history: Object.fromEntries(days.slice(0, 6).map((d, i) => [d, { 'mail.example.com': { spamRate: rates[i] } }])) };
  await ledger.setState(STATE_KEYS.dnsbl, JSON.stringify(dnsbl));
  await ledger.setState(STATE_KEYS.snds, JSON.stringify(snds));
  await ledger.setState(STATE_KEYS.postmaster, JSON.stringify(postmaster));
}

async function fillRecent(): Promise<void> {
  for (const [i, lat] of [2, 4, 6].entries()) {
    await addProbe(ledger, { path: 'peering', seed: 'gmail-1', provider: 'gmail', createdAtMs: END_MS - (50 - i * 10) * MIN, first: { placement: 'inbox', latencySeconds: lat, evidence: { ingressIp: '192.0.2.10', ingressHop: 'mx.google.com' } } });
  }
  xssProbeId = await addProbe(ledger, {
    path: 'peering', seed: 'gmail-1', provider: 'gmail', createdAtMs: END_MS - 5 * MIN,
    first: {
      placement: 'inbox', folder: HOSTILE_FOLDER, latencySeconds: 3,
      auth: { spf: 'pass', dkim: 'pass', dmarc: HOSTILE_DMARC },
      evidence: { subject: HOSTILE_SUBJECT, microsoft: { scl: HOSTILE_SCL, bcl: '<b>9</b>' } },
    },
  });
  // Transit's probe reached Outlook from peering's IP: the egress mismatch the page shows in red.
  mismatchProbeId = await addProbe(ledger, {
    path: 'transit', seed: 'outlook-1', provider: 'outlook', createdAtMs: END_MS - 20 * MIN,
    first: { placement: 'spam', latencySeconds: 12, auth: { spf: 'pass', dkim: 'pass', dmarc: 'fail' }, evidence: { ingressIp: '192.0.2.10', ingressHop: 'BN2PEPF000044A9.mail.protection.outlook.com' } },
  });
  await addProbe(ledger, { path: 'transit', seed: 'outlook-1', provider: 'outlook', createdAtMs: END_MS - 15 * MIN, fail: { reason: 'rejected', code: 550, message: HOSTILE_SMTP } });
  await addProbe(ledger, { path: 'peering', seed: 'outlook-1', provider: 'outlook', createdAtMs: END_MS - 55 * MIN });
  await concludeMissing(ledger, noopEvents, null, END_MS, END_MS);
}

beforeAll(async () => {
  await fillTwoWeeks(ledger);
  await fillRecent();
  await storeReputationHistory();
  const app = createApp({
    ledger, registry: new Registry(), clock, logger: silentLogger(),
    readiness: () => ({ ready: true, checks: {} }),
    token: new SecretValue(TOKEN, 'test'),
    mount: (a, guard) => mountPages(a, guard, { ledger, clock, mailboxes: () => mailboxes, refreshSeconds: 2, reputation: reputationSnapshot, egressIps: EGRESS_IPS }),
  });
  server = await listen(app, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  if (!SHOTS_TO_KEEP) rmSync(SHOTS, { recursive: true, force: true });
  await browser?.close();
  await ledger.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

/** Width and height of a PNG file, from its IHDR chunk (fails on anything that is not a PNG). */
function pngSize(file: string): { width: number; height: number } {
  const png = readFileSync(file);
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

interface Watched {
  page: Page;
  dialogs: string[];
  cspViolations: string[];
}

async function open(path: string): Promise<Watched & { status: number; headers: Record<string, string> }> {
  const page = await context.newPage();
  const dialogs: string[] = [];
  const cspViolations: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text() + ' @ ' + JSON.stringify(m.location()));
  });
  const res = await page.goto(base + path, { waitUntil: 'load' });
  return { page, dialogs, cspViolations, status: res!.status(), headers: res!.headers() };
}

/** Text of every data-k cell of every row of a table, by row key. */
async function tableCells(page: Page, selector: string): Promise<Record<string, Record<string, string>>> {
  return page.$$eval(`${selector} tbody tr`, (rows) =>
    Object.fromEntries(
      rows.map((r) => [
        (r as HTMLElement).dataset.row ?? '',
        Object.fromEntries([...r.querySelectorAll('td[data-k]')].map((td) => [(td as HTMLElement).dataset.k, (td.textContent ?? '').trim()])),
      ]),
    ),
  );
}

async function expectInert(w: Watched, scripts: number): Promise<void> {
  // Give any injected handler (onerror fires after a failed load) a moment to run.
  await w.page.waitForTimeout(300);
  expect(w.dialogs).toEqual([]);
  expect(await w.page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(await w.page.locator('img').count()).toBe(0);
  expect(await w.page.locator('main svg[onload], main [onerror], main [onload]').count()).toBe(0);
  expect(await w.page.locator('script').count()).toBe(scripts);
  expect(w.cspViolations).toEqual([]);
}

describe('pages behind the bearer token', () => {
  it('refuses / and /report/weekly without the token or with a wrong one', async () => {
    for (const path of ['/', '/report/weekly', '/report/weekly?format=csv']) {
      expect((await fetch(base + path)).status).toBe(401);
      expect((await fetch(base + path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    }
    const ok = await fetch(base + '/report/weekly?format=json', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    const bad = await fetch(base + '/report/weekly?format=pdf', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toBe('format: expected one of html, md, csv, json');
  });
});

describe('status page in chromium', () => {
  let w: Watched & { status: number; headers: Record<string, string> };
  beforeAll(async () => {
    w = await open('/');
  });

  it('is served with a strict CSP, and its nonce-carrying stylesheet applies', async () => {
    expect(w.status).toBe(200);
    const csp = w.headers['content-security-policy'];
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(w.headers['x-content-type-options']).toBe('nosniff');
    expect(await w.page.locator('header.top').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(15, 23, 42)');
  });

  it('shows the placement matrices exactly as the ledger has them (last hour and last day)', async () => {
    for (const [id, windowMs] of [['#matrix-hour', 3_600_000], ['#matrix-day', 86_400_000]] as const) {
      const cells: MatrixCell[] = placementMatrix(await ledger.probeFacts(END_MS - windowMs, END_MS + 1));
      const shown = await tableCells(w.page, id);
      expect(Object.keys(shown).sort()).toEqual(cells.map((c) => `${c.provider}|${c.path}`).sort());
      for (const c of cells) {
        const row = shown[`${c.provider}|${c.path}`];
        expect(row.probes).toBe(`${c.probes}${c.tooFewProbes ? ' too few probes' : ''}`);
        expect(row.inbox).toBe(formatShareInterval(c.shares.inbox, c.intervals.inbox, c.tooFewProbes));
        expect(row.spam).toBe(formatShareInterval(c.shares.spam, c.intervals.spam, c.tooFewProbes));
        expect(row.tabs).toBe(tabsSummary(c));
        expect(row.missing).toBe(formatShareInterval(c.shares.missing, c.intervals.missing, c.tooFewProbes));
        expect(row.duplicate).toBe(formatShareInterval(c.duplicateShare, c.intervals.duplicate, c.tooFewProbes));
        expect(row.late).toBe(formatShareInterval(c.lateShare, c.intervals.late, c.tooFewProbes));
        expect(row.p95).toBe(formatSeconds(c.latencyP95Seconds));
        expect(row.errors).toBe(String(c.sendErrors));
      }
    }
    // By hand, last hour: gmail/peering has 3 inbox + the hostile inbox probe + the spam probe
    // created exactly at END (a window's end is inclusive, as in /api/summary): 4/5 inbox.
    const hour = await tableCells(w.page, '#matrix-hour');
    // Five probes are too few for intervals: bare shares, and the row says so.
    expect(hour['gmail|peering']).toMatchObject({ probes: '5 too few probes', inbox: '80.0%', spam: '20.0%', tabs: '–', p95: '6 s' });
    // Last day, gmail/peering: 15 probes, 13 inbox (Wilson 95 %: 62.1–96.3 %), 1 spam and 1 in
    // promotions (1.19–29.8 % each).
    const day = await tableCells(w.page, '#matrix-day');
    expect(day['gmail|peering']).toMatchObject({ probes: '15', inbox: '86.7% (62–96.3%)', spam: '6.7% (1.2–30%)', tabs: 'promotions 6.7% (1.2–30%)' });
    // Late and duplicate are rates with intervals: outlook/transit's spam probe arrived twice,
    // 1 of 10 resolved (1.79–40.4 %); nothing of outlook/peering's 11 resolved was late (0–25.9 %).
    expect(day['outlook|transit']).toMatchObject({ duplicate: '10.0% (1.8–40%)', late: '0.0% (0–28%)' });
    expect(day['outlook|peering']).toMatchObject({ late: '0.0% (0–26%)', duplicate: '0.0% (0–26%)' });
    expect(hour['outlook|transit']).toMatchObject({ duplicate: '0.0%', late: '0.0%' }); // too few: bare
    // Δ spam against the 24 hours before (the fixture's 2026-11-21): gmail/peering 1/15 against
    // 0/10 is +6.7 pp, Newcombe −21.6 to +29.8 points, Fisher's p = 1 (the one spam probe is as
    // likely on either side: 15/25 and 10/25): no mark. gmail/transit 6/10 against 5/10: +10.0 pp.
    expect(day['gmail|peering']['d-spam']).toBe('+6.7 pp');
    expect(day['gmail|transit']['d-spam']).toBe('+10.0 pp');
    const dSpam = w.page.locator('#matrix-day tr[data-row="gmail|peering"] [data-k=d-spam]');
    expect(await dSpam.getAttribute('title')).toBe('+6.7 pp (−21.6 to +29.8 pp), p = 1.00: not significant');
    expect(await dSpam.getAttribute('data-sig')).toBe('no');
    // Every row's change is the domain's windowChange of the two windows.
    const previousDay = new Map(placementMatrix(await ledger.probeFacts(END_MS - 2 * 86_400_000, END_MS - 86_400_000)).map((c) => [`${c.provider}|${c.path}`, c]));
    for (const c of placementMatrix(await ledger.probeFacts(END_MS - 86_400_000, END_MS + 1))) {
      const before = previousDay.get(`${c.provider}|${c.path}`);
      const t = before ? windowChange(c, before, 'spam') : null;
      expect(day[`${c.provider}|${c.path}`]['d-spam']).toBe(t ? `${formatPp(t.diff * 100)}${t.clear ? ' *' : ''}` : '–');
    }
    // The hour before held no probe: no change to show.
    expect(hour['gmail|peering']['d-spam']).toBe('–');
    // Paths compared on spam, last day: gmail transit 6/10 against peering 1/15 (Newcombe
    // 16.4–77.2 points, Fisher's p = 0.0068); outlook transit 2/10 against peering 0/11 (p = 0.214).
    expect(await w.page.locator('#matrix-day-compare li[data-compare="gmail|transit"]').textContent()).toBe(
      'transit is worse than peering for gmail: spam +53.3 pp (16.4–77.2 pp), p = 0.007',
    );
    expect(await w.page.locator('#matrix-day-compare li[data-compare="gmail|transit"]').getAttribute('class')).toBe('bad');
    expect(await w.page.locator('#matrix-day-compare li[data-compare="outlook|transit"]').textContent()).toBe(
      'transit is not distinguishable from peering for outlook: spam +20.0 pp (−9.6 to +51.0 pp), p = 0.21',
    );
    expect(await w.page.locator('#matrix-hour-compare li').count()).toBe(1); // outlook only: gmail has one path this hour
    // How fine a difference the day resolves: gmail 10 probes on transit, best path at 1/15 spam;
    // outlook 10 resolved on transit, peering at 0 spam.
    const resolvable = await w.page.$$eval('#resolvable li', (li) => li.map((x) => x.textContent));
    const pp = (d: number | null) => `${(Math.round(d! * 1000) / 10).toFixed(1)} pp`;
    expect(resolvable).toEqual([
      `gmail: ${pp(detectableDifference(10, 1 / 15))} or more (10 probes on the smallest path, best path at 6.7% spam)`,
      `outlook: ${pp(detectableDifference(10, 0))} or more (10 probes on the smallest path, best path at 0.0% spam)`,
    ]);
    // outlook/peering: the missing probe resolved; the fixture's END-60 s probe in flight.
    expect(hour['outlook|peering']).toMatchObject({ probes: '2 too few probes', missing: '100.0%', inflight: '1' });
    expect(hour['outlook|transit']).toMatchObject({ probes: '2 too few probes', spam: '100.0%', errors: '1', auth: '0 / 0 / 1' });
    expect(await w.page.locator('[data-card="inbox"] .value').textContent()).toBe('57.1%'); // 4 of 7 resolved
    expect(await w.page.locator('[data-card="inbox"] .detail').textContent()).toBe('4 of 7 resolved · too few probes');
    expect(await w.page.locator('[data-card="mailboxes"] .value').textContent()).toBe('1 / 3');
  });

  it('lists the latest probes with their evidence and the four timestamps', async () => {
    const latest = await ledger.listProbes({ limit: 50 });
    expect(await w.page.locator('#probes tbody tr').count()).toBe(50);
    const ids = await w.page.$$eval('#probes tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.probe));
    expect(ids).toEqual(latest.map((p) => p.id));
    const row = w.page.locator(`tr[data-probe="${xssProbeId}"]`);
    const probe = (await ledger.getProbe(xssProbeId))!;
    const [obs] = await ledger.observations(xssProbeId);
    const hms = (ms: number | null) => new Date(ms!).toISOString().slice(11, 19);
    for (const [k, ms] of [['t1', probe.acceptedAtMs], ['t2', obs.arrivedAtMs], ['t3', obs.internalDateMs], ['t4', obs.observedAtMs]] as const) {
      expect(await row.locator(`[data-k=${k}]`).textContent()).toBe(hms(ms));
      expect(await row.locator(`[data-k=${k}]`).getAttribute('data-ms')).toBe(String(ms));
    }
    // Hover text: exact time, and the offset from t1 (arrival 3 s after the accept, observed 5 s later).
    expect(await row.locator('[data-k=t2]').getAttribute('title')).toBe(`${new Date(obs.arrivedAtMs!).toISOString()} (t1 +2.5 s)`);
    expect(await row.locator('[data-k=t4]').getAttribute('title')).toBe(`${new Date(obs.observedAtMs).toISOString()} (t1 +7.5 s)`);
    expect(await row.locator('a').getAttribute('href')).toBe(`api/probes/${xssProbeId}`);
    expect(await row.locator('[data-k=latency]').textContent()).toBe('3 s');
    expect(await row.locator('[data-k=spf]').textContent()).toBe('pass');
    const spam = w.page.locator('#probes tbody tr', { hasText: 'Junk Email' }).first();
    expect(await spam.locator('[data-k=scl]').textContent()).toBe('5 / 0');
    expect(await spam.locator('[data-k=auth]').textContent()).toBe('pass / pass / fail');
    expect(await spam.locator('[data-k=dmarc]').textContent()).toBe('fail');
    expect(await w.page.locator('tr[data-seed="outlook-1"] [data-k=state]').textContent()).toBe('down');
    expect(await w.page.locator('tr[data-seed="yahoo-1"] [data-k=state]').textContent()).toBe('connecting');
  });

  it('shows hostile subject, verdict, SCL, folder, SMTP reply and IMAP error as text', async () => {
    const row = w.page.locator(`tr[data-probe="${xssProbeId}"]`);
    expect(await row.locator('[data-k=subject]').textContent()).toBe(HOSTILE_SUBJECT);
    expect(await row.locator('[data-k=subject]').isVisible()).toBe(true);
    expect(await row.locator('[data-k=dmarc]').textContent()).toBe(HOSTILE_DMARC);
    expect(await row.locator('[data-k=scl]').textContent()).toBe(`${HOSTILE_SCL} / <b>9</b>`);
    expect(await row.locator('[data-k=folder]').textContent()).toBe(HOSTILE_FOLDER);
    expect(await w.page.getByText(HOSTILE_SMTP).isVisible()).toBe(true);
    expect(await w.page.locator('tr[data-seed="outlook-1"] [data-k=error]').textContent()).toBe(HOSTILE_IMAP);
    await expectInert(w, 1);
  });

  it('shows the reputation block: listings with their reason, DNS hygiene, SNDS, Postmaster, the IPs the providers saw', async () => {
    const block = w.page.locator('#reputation');
    const transit = block.locator('tr[data-row="transit|198.51.100.7"]');
    expect(await transit.locator('[data-k=dnsbl] [data-zone="zen.spamhaus.org"]').textContent()).toContain('listed on zen.spamhaus.org');
    // The TXT reason comes from the list's DNS: shown as text.
    expect(await transit.locator('[data-k=dnsbl]').textContent()).toContain(HOSTILE_TXT);
    expect(await transit.locator('[data-k=dnsbl] .warn').textContent()).toBe('1 lookup(s) failing');
    expect(await transit.locator('[data-k=fcrdns]').textContent()).toBe('7.100.51.198.transit-isp.example does not confirm');
    expect(await transit.locator('[data-k=helo]').textContent()).toBe('out2.mail.example.com ≠ PTR');
    expect(await transit.locator('[data-k=spf]').textContent()).toBe('softfail');
    expect(await transit.locator('[data-k=snds] .badge').first().textContent()).toBe('RED');
    expect(await transit.locator('[data-k=snds]').textContent()).toContain('blocked');
    // Of the latest probes' first copies: one of transit's came from peering's IP; the older
    // fixture copies carry no ingress IP (recorded before the check): unknown, not "fine".
    const latest = await ledger.listProbes({ limit: 50 });
    const transitSeen = (await Promise.all(latest.filter((p) => p.path === 'transit').map((p) => ledger.observations(p.id)))).filter((o) => o.some((c) => c.copyNumber === 1)).length;
    expect(await transit.locator('[data-k=egress]').textContent()).toBe(`0/${transitSeen} from its IPs1 from 192.0.2.10${transitSeen - 1} without ingress IP`);
    expect(await transit.locator('[data-k=egress]').getAttribute('class')).toBe('bad');
    const peering = block.locator('tr[data-row="peering|192.0.2.10"]');
    expect(await peering.locator('[data-k=dnsbl]').textContent()).toBe('clear on 2 of 2');
    const peeringSeen = (await Promise.all(latest.filter((p) => p.path === 'peering').map((p) => ledger.observations(p.id)))).filter((o) => o.some((c) => c.copyNumber === 1)).length;
    expect(await peering.locator('[data-k=egress]').textContent()).toBe(`3/${peeringSeen} from its IPs${peeringSeen - 3} without ingress IP`);
    expect(await peering.locator('[data-k=fcrdns]').textContent()).toBe('ok · out1.mail.example.com');
    const pm = block.locator('#postmaster tr[data-domain="mail.example.com"]');
    expect(await pm.locator('[data-k=spam]').textContent()).toBe('0.34%');
    expect(await pm.locator('[data-k=spam]').getAttribute('class')).toBe('bad');
    expect(await pm.locator('[data-k=compliance]').textContent()).toBe('needs work: user_reported_spam_rate');
    expect(await block.locator('#postmaster tr[data-domain="news.example.com"] [data-k=error]').textContent()).toBe(HOSTILE_PM_ERROR);
    // The probe table's ingress column: the mismatch in red, a copy without an ingress IP "unknown".
    expect(await w.page.locator(`tr[data-probe="${mismatchProbeId}"] [data-k=ingress]`).textContent()).toBe('192.0.2.10');
    expect(await w.page.locator(`tr[data-probe="${mismatchProbeId}"] [data-k=ingress]`).getAttribute('data-verdict')).toBe('mismatch');
    expect(await w.page.locator(`tr[data-probe="${xssProbeId}"] [data-k=ingress]`).textContent()).toBe('unknown');
    await expectInert(w, 1);
  });

  it('screenshots the reputation block (kept with the others under SEEDWATCH_SCREENSHOTS_DIR)', async () => {
    const file = resolve(SHOTS, 'status-reputation.png');
    // The page refreshes itself (it swaps its content in place): a refresh landing during the
    // shot detaches the element; shoot the new one.
    for (let attempt = 0; ; attempt++) {
      try {
        await w.page.locator('#reputation').screenshot({ path: file });
        break;
      } catch (err) {
        if (attempt >= 4 || !/not attached/.test(String(err))) throw err;
      }
    }
    const size = pngSize(file);
    expect(size.width).toBeGreaterThan(800);
    expect(size.height).toBeGreaterThan(150);
  });

  it('saves the screenshot', async () => {
    const file = resolve(SHOTS, 'status-page.png');
    await w.page.screenshot({ path: file, fullPage: true });
    const size = pngSize(file);
    expect(size.width).toBe(1600);
    expect(size.height).toBe(await w.page.evaluate(() => document.documentElement.scrollHeight));
  });

  it('refreshes itself: a new probe appears without a reload, the hostile row stays inert', async () => {
    clock.advance(MIN);
    const id = await addProbe(ledger, { path: 'transit', seed: 'gmail-1', provider: 'gmail', createdAtMs: END_MS + 30_000, first: { placement: 'updates', latencySeconds: 9 } });
    await w.page.locator(`tr[data-probe="${id}"]`).waitFor({ timeout: 10_000 });
    expect(await w.page.locator(`tr[data-probe="${id}"] [data-k=result]`).textContent()).toBe('updates');
    expect(await w.page.locator('#updated').textContent()).toContain('2026-11-23 00:01:00 UTC');
    expect(await w.page.evaluate(() => document.body.classList.contains('is-stale'))).toBe(false);
    expect(await w.page.locator(`tr[data-probe="${xssProbeId}"] [data-k=subject]`).textContent()).toBe(HOSTILE_SUBJECT);
    await expectInert(w, 1);
    clock.set(END_MS);
  });
});

describe('weekly report in chromium', () => {
  let w: Watched & { status: number; headers: Record<string, string> };
  beforeAll(async () => {
    w = await open('/report/weekly');
  });

  it('shows the report numbers computed from the ledger, with a CSP and no script', async () => {
    expect(w.status).toBe(200);
    expect(w.headers['content-security-policy']).toMatch(/style-src 'nonce-/);
    const report = await weeklyReportFromLedger(ledger, clock.nowMs());
    const shown = await tableCells(w.page, '#by-cell');
    expect(Object.keys(shown)).toEqual(report.rows.map((r) => `${r.provider}|${r.path}`));
    for (const r of report.rows) {
      const row = shown[`${r.provider}|${r.path}`];
      const c = r.current;
      expect(row.probes).toBe(`${c.probes}${c.tooFewProbes ? ' too few probes' : ''}`);
      expect(row.inbox).toBe(formatShareInterval(c.shares.inbox, c.intervals.inbox, c.tooFewProbes));
      expect(row.spam).toBe(formatShareInterval(c.shares.spam, c.intervals.spam, c.tooFewProbes));
      expect(row.missing).toBe(formatShareInterval(c.shares.missing, c.intervals.missing, c.tooFewProbes));
      expect(row.late).toBe(formatShareInterval(c.lateShare, c.intervals.late, c.tooFewProbes));
      expect(row.duplicate).toBe(formatShareInterval(c.duplicateShare, c.intervals.duplicate, c.tooFewProbes));
      expect(row.p50).toBe(formatSeconds(r.current.latencyP50Seconds));
      expect(row.p95).toBe(formatSeconds(r.current.latencyP95Seconds));
      expect(row['d-inbox']).toBe(`${formatPp(r.changePp.inbox)}${r.changeTests.inbox?.clear ? ' *' : ''}`);
      expect(row.tabs).toBe(tabsSummary(r.current));
    }
    // By hand (the recent probes do not touch gmail/transit in the current week).
    // 49/70 inbox (Wilson 95 %: 58.5–79.5 %), 21/70 spam (20.5–41.5 %); both changes from last
    // week's 70/70 inbox are significant (z = 4.97): marked *.
    // gmail/peering: the fixture's 70 plus 4 recent inbox probes; 7 of the 74 in promotions
    // (Wilson 95 %: 4.66–18.26 %).
    expect(shown['gmail|peering'].tabs).toBe('promotions 9.5% (4.7–18%)');
    expect(shown['gmail|transit']).toMatchObject({ probes: '70', inbox: '70.0% (58–79%)', spam: '30.0% (21–42%)', 'd-inbox': '−30.0 pp *', 'd-spam': '+30.0 pp *', p50: '15 s', p95: '30 s', auth: '0 / 21 / 0' });
    expect(await w.page.locator('#by-cell tr[data-row="gmail|transit"] [data-k=d-spam]').getAttribute('title')).toBe('+30.0 pp (19.2–41.5 pp), p < 0.001: significant');
    expect(await w.page.locator('#comparisons li[data-compare="gmail|transit"]').textContent()).toMatch(/^transit is worse than peering for gmail: spam \+30\.0 pp \(\d+\.\d–\d+\.\d pp\), p < 0\.001$/);
    const days = await tableCells(w.page, '#daily');
    expect(Object.keys(days).length).toBeGreaterThan(0);
    const day19 = await w.page.locator('#daily tr[data-day="2026-11-19"][data-row="gmail|transit"] [data-k=spam]').textContent();
    expect(day19).toBe('30.0% (11–60%)'); // 3/10: Wilson 95 % 10.8–60.3 %
    // Inbox share, latency, and the Gmail spam rate of "Reputation by path".
    expect(await w.page.locator('figure.chart svg').count()).toBe(3);
    expect(await w.page.locator('figure.chart').first().locator('g.series').count()).toBe(report.rows.length);
  });

  it('shows the hostile verdict as text, runs nothing', async () => {
    const text = await w.page.locator('#auth-failures').textContent();
    expect(text).toContain(`dmarc=${HOSTILE_DMARC} ×1`);
    expect(await w.page.getByText(`dmarc=${HOSTILE_DMARC}`).isVisible()).toBe(true);
    await expectInert(w, 0);
  });

  it('saves the screenshot', async () => {
    const file = resolve(SHOTS, 'weekly-report.png');
    await w.page.screenshot({ path: file, fullPage: true });
    const size = pngSize(file);
    expect(size.width).toBe(1600);
    expect(size.height).toBe(await w.page.evaluate(() => document.documentElement.scrollHeight));
  });

  it('shows "Reputation by path": days listed, SNDS colours per day, the Gmail spam-rate trend', async () => {
    const report = await weeklyReportFromLedger(ledger, clock.nowMs());
    expect(report.reputation?.dnsbl.find((d) => d.path === 'transit')).toMatchObject({ daysListed: 4, daysChecked: 7 });
    const section = w.page.locator('section#reputation');
    expect(await section.locator('h2').textContent()).toMatch(/^Reputation by path/);
    expect(await section.locator('#rep-dnsbl tr[data-row="transit|198.51.100.7|zen.spamhaus.org"] [data-k=listed]').textContent()).toBe('4 of 7');
    expect(await section.locator('#rep-dnsbl tr[data-row="transit|198.51.100.7|zen.spamhaus.org"] [data-k=days]').textContent()).toBe('11-19, 11-20, 11-21, 11-22');
    expect(await section.locator('#rep-dnsbl tr[data-row="peering|192.0.2.10|zen.spamhaus.org"] [data-k=listed]').textContent()).toBe('0 of 7');
    const swatches = await section.locator('#rep-snds tr[data-row="transit|198.51.100.7"] [data-k=snds]').evaluateAll((cells) => cells.map((c) => c.getAttribute('title')));
    expect(swatches).toEqual(['GREEN', 'GREEN', 'YELLOW', 'YELLOW', 'RED', 'RED', 'no data']);
    // The swatch colours apply (the stylesheet carries the CSP nonce).
    expect(await section.locator('#rep-snds tr[data-row="transit|198.51.100.7"] .swatch.RED').first().evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(185, 28, 28)');
    expect(await section.locator('#rep-postmaster tr[data-row="mail.example.com"] [data-k=max]').textContent()).toBe('0.34%');
    expect(await section.locator('figure.chart g.series circle').count()).toBe(6);
  });

  it('screenshots the "Reputation by path" section (kept with the others under SEEDWATCH_SCREENSHOTS_DIR)', async () => {
    const file = resolve(SHOTS, 'weekly-reputation.png');
    await w.page.locator('section#reputation').screenshot({ path: file });
    const size = pngSize(file);
    expect(size.width).toBeGreaterThan(800);
    expect(size.height).toBeGreaterThan(150);
  });

  it('serves Markdown and CSV with the same numbers', async () => {
    const md = await (await fetch(base + '/report/weekly?format=md', { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(md).toContain('| gmail | transit | 70 | 70.0% (58–79%) | −30.0 pp \\* | 30.0% (21–42%) | +30.0 pp \\* |');
    expect(md).not.toContain('<img');
    expect(md).toContain('## Reputation by path');
    expect(md).toContain('| transit | 198.51.100.7 | zen.spamhaus.org | 4 of 7 | 2026-11-19, 2026-11-20, 2026-11-21, 2026-11-22 |');
    expect(md).toContain('| transit | 198.51.100.7 | G | G | Y | Y | R | R | – | 15 | 1.20% |');
    const res = await fetch(base + '/report/weekly?format=csv', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="seedwatch-weekly-2026-11-23\.csv"/);
    expect((await res.text()).split('\r\n')[0]).toMatch(/^scope,from,until,provider,path,probes,/);
  });
});
