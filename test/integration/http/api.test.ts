import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../agent/clock.js';
import { SecretValue } from '../../../agent/config/secret.js';
import { createApp, listen } from '../../../agent/http/server.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { silentLogger } from '../../../agent/log.js';
import { Metrics } from '../../../agent/metrics/metrics.js';
import { noopEvents } from '../../../agent/events.js';
import { recordCopy } from '../../../agent/record/recorder.js';

const TOKEN = 'api-token-5521-distinct';
const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
const ledger = SqliteLedger.open(':memory:');
const target = { paths: [{ name: 'peering' }, { name: 'transit' }], seeds: [{ name: 'gmail-1', provider: 'gmail' }] };
const metrics = new Metrics(target, ledger, clock);
let server: Server;
let base: string;
let ready = false;

const ids: string[] = [];
beforeAll(async () => {
  for (let i = 0; i < 5; i++) {
    const id = `01KTESTAPX${String(i).padStart(16, '0')}`;
    ids.push(id);
    const path = i % 2 ? 'transit' : 'peering';
    await ledger.insertProbe({ id, path, seed: 'gmail-1', provider: 'gmail', messageId: `<${id}@x>`, createdAtMs: clock.nowMs() - 60_000 + i, deadlineMs: 600_000 });
    metrics.events.sendFinished(await ledger.recordSendResult(id, { ok: true, acceptedAtMs: clock.nowMs() - 59_000, code: 250, text: 'ok' }));
    const r = await recordCopy(ledger, noopEvents, {
      probeId: id, seed: 'gmail-1', folder: i % 2 ? '[Gmail]/Spam' : 'INBOX', folderRole: i % 2 ? 'spam' : 'inbox', placement: i % 2 ? 'spam' : 'inbox',
      uidValidity: 1, uid: i + 1, arrivedAtMs: clock.nowMs() - 55_000, internalDateMs: clock.nowMs() - 55_000, observedAtMs: clock.nowMs() - 54_000,
      auth: { spf: 'pass' }, evidence: { subject: '<script>alert(1)</script>' },
    });
    metrics.events.observed(r);
  }
  const app = createApp({
    ledger, registry: metrics.registry, clock, logger: silentLogger(),
    readiness: () => ({ ready, checks: { ledger: { ok: true }, mailboxes: { ok: ready } } }),
    token: new SecretValue(TOKEN, 'test'),
    protectMetrics: false,
  });
  server = await listen(app, '127.0.0.1:0');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const auth = { authorization: `Bearer ${TOKEN}` };
const get = (path: string, headers: Record<string, string> = auth) => fetch(base + path, { headers });

describe('HTTP API', () => {
  it('/healthz is always 200; /readyz follows readiness', async () => {
    expect((await get('/healthz', {})).status).toBe(200);
    expect((await get('/readyz', {})).status).toBe(503);
    ready = true;
    const r = await get('/readyz', {});
    expect(r.status).toBe(200);
    expect((await r.json()).checks.mailboxes.ok).toBe(true);
  });

  it('the API needs the bearer token; the wrong one is refused', async () => {
    expect((await get('/api/probes', {})).status).toBe(401);
    expect((await get('/api/probes', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get('/api/probes')).status).toBe(200);
  });

  it('/api/probes filters and paginates, newest first', async () => {
    const all = await (await get('/api/probes?limit=2')).json();
    expect(all.probes.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);
    expect(all.next).toBe(ids[3]);
    const page2 = await (await get(`/api/probes?limit=2&before=${all.next}`)).json();
    expect(page2.probes.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
    const spam = await (await get('/api/probes?placement=spam&path=transit&since=1h')).json();
    expect(spam.probes.map((p: { id: string }) => p.id)).toEqual([ids[3], ids[1]]);
    expect(spam.next).toBeNull();
  });

  it.each([
    ['/api/probes?limit=0', 'limit: expected 1 to 1000'],
    ['/api/probes?limit=abc', 'limit: expected an integer'],
    ['/api/probes?placement=heaven', 'placement: expected one of inbox, spam, promotions, social, updates, forums, other, missing'],
    ['/api/probes?since=yesterday', 'since: expected an ISO timestamp, epoch milliseconds or a duration such as 1h, got "yesterday"'],
    ['/api/probes?colour=red', 'unknown query parameter "colour"'],
    ['/api/probes/not-an-id', 'id: expected a probe id (26-character ULID)'],
    ['/api/summary?window=forever', 'window: expected a duration such as 1h or 7d, got "forever"'],
  ])('%s answers 400 with a message', async (url, message) => {
    const r = await get(url);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toBe(message);
  });

  it('/api/probes/:id gives the evidence; unknown id is 404', async () => {
    const one = await (await get(`/api/probes/${ids[1]}`)).json();
    expect(one.probe).toMatchObject({ id: ids[1], path: 'transit', outcome: 'spam', copies: 1 });
    expect(one.observations[0]).toMatchObject({ folder: '[Gmail]/Spam', auth: { spf: 'pass' }, kind: 'first' });
    expect((await get('/api/probes/01KTESTAPX9999999999999999')).status).toBe(404);
  });

  it('/api/summary gives the provider x path matrix of the window', async () => {
    const s = await (await get('/api/summary?window=1h')).json();
    const byPath = Object.fromEntries(s.cells.map((c: { path: string }) => [c.path, c]));
    expect(byPath.peering).toMatchObject({ provider: 'gmail', accepted: 3, resolved: 3, counts: { inbox: 3, spam: 0 } });
    expect(byPath.transit).toMatchObject({ provider: 'gmail', accepted: 2, resolved: 2, counts: { spam: 2 }, shares: { spam: 1 } });
    // Accepted at t - 59 s (milliseconds), arrived in the whole second t - 55 s, taken as its middle.
    expect(byPath.transit.latencyP50Seconds).toBe(4.5);
    // 95 % Wilson intervals beside the shares: 2/2 is 34.238–100 %, 3/3 is 43.850–100 %.
    expect(byPath.transit.intervals.spam).toEqual([expect.closeTo(0.34238, 5), 1]);
    expect(byPath.peering.intervals.inbox).toEqual([expect.closeTo(0.438503, 6), 1]);
    expect(byPath.peering.intervals.spam).toEqual([0, expect.closeTo(0.561497, 6)]);
    expect(byPath.transit.tooFewProbes).toBe(true);
    expect(s.minProbes).toBe(10);
    // transit 2/2 spam against peering 0/3: Fisher's exact p = 0.1, not significant.
    expect(s.comparisons).toEqual([
      expect.objectContaining({ provider: 'gmail', path: 'transit', bestPath: 'peering', key: 'spam', n: 2, bestN: 3, diff: 1, worse: false, method: 'fisher', p: expect.closeTo(0.1, 12) }),
    ]);
    expect(s.comparisons[0].low).toBeCloseTo(0.135279, 6);
  });

  it('/metrics is Prometheus text by default, OpenMetrics on request, and stays correct after both', async () => {
    const prom = await (await get('/metrics', {})).text();
    expect(prom).toContain('seedwatch_placements_total{path="transit",seed="gmail-1",provider="gmail",placement="spam"} 2');
    const om = await get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' });
    expect(om.headers.get('content-type')).toContain('application/openmetrics-text');
    const omText = await om.text();
    expect(omText).toContain('# TYPE seedwatch_placements counter');
    expect(omText.trimEnd().endsWith('# EOF')).toBe(true);
    const again = await (await get('/metrics', {})).text();
    expect(again).toContain('# TYPE seedwatch_placements_total counter');
  });

  it('promtool check metrics finds no problem in the exposition', async () => {
    const text = await (await get('/metrics', {})).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('never answers with the token', async () => {
    const bodies = await Promise.all(['/api/probes', '/api/summary', '/metrics', '/readyz'].map(async (u) => (await get(u)).text()));
    for (const b of bodies) expect(b).not.toContain(TOKEN);
  });
});
