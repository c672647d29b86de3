/**
 * The behaviour every Ledger implementation must have (SQLite and Postgres): call
 * `ledgerContract(name, open)` from the implementation's test file. The ledger stores what the
 * domain decided (through agent/record/recorder.ts, as the agent does) and must keep every
 * decision atomic with its write.
 */
import { describe, expect, it } from 'vitest';
import { noopEvents } from '../../../agent/events.js';
import type { Ledger, LedgerFact, NewObservation } from '../../../agent/ledger/ledger.js';
import { concludeMissing, recordCopy, recordSendResult } from '../../../agent/record/recorder.js';

export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

export const probe = (id: string, over: Partial<{ path: string; seed: string }> = {}) => ({
  id,
  path: over.path ?? 'peering',
  seed: over.seed ?? 'gmail-1',
  provider: 'gmail',
  messageId: `<${id}@mail.example.com>`,
  createdAtMs: T0,
  deadlineMs: 60_000,
});

/** A copy that arrived (whole seconds, as IMAP and Received give them) 3 s after T0. */
export const obs = (probeId: string, uid: number, over: Partial<NewObservation> = {}): NewObservation => ({
  probeId,
  seed: 'gmail-1',
  folder: 'INBOX',
  folderRole: 'inbox',
  placement: 'inbox',
  uidValidity: 7,
  uid,
  arrivedAtMs: T0 + 3_000,
  internalDateMs: T0 + 3_000,
  observedAtMs: T0 + 4_000,
  auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass' },
  evidence: { folder: 'INBOX' },
  ...over,
});

/** Accepted at T0 + 1 s: the deadline is T0 + 61 s. */
export async function accepted(l: Ledger, id: string, over = {}) {
  await l.insertProbe(probe(id, over));
  await l.markSendStarted(id, T0 + 10);
  return l.recordSendResult(id, { ok: true, acceptedAtMs: T0 + 1_000, code: 250, enhanced: '2.0.0', text: 'Ok: queued as ABC', queueId: 'ABC' });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function ledgerContract(name: string, open: () => Promise<Ledger>): void {
  describe(`Ledger contract: ${name}`, () => {
    it('write-ahead: a probe is "sending" before its result, then accepted with t1 and deadline', async () => {
      const l = await open();
      await l.insertProbe(probe('P1'));
      expect((await l.getProbe('P1'))!.status).toBe('sending');
      const row = await l.recordSendResult('P1', { ok: true, acceptedAtMs: T0 + 1_000, code: 250, text: 'ok', queueId: 'Q1' });
      expect(row).toMatchObject({ status: 'accepted', acceptedAtMs: T0 + 1_000, deadlineAtMs: T0 + 61_000, smtpCode: 250, queueId: 'Q1' });
      await expect(l.recordSendResult('P1', { ok: true, acceptedAtMs: T0, code: 250, text: 'again' })).rejects.toThrow(/not awaiting/);
      await l.close();
    });

    it('failures keep reason, code, enhanced code and text', async () => {
      const l = await open();
      await l.insertProbe(probe('P2'));
      const row = await l.recordSendResult('P2', { ok: false, reason: 'rejected', atMs: T0, code: 550, enhanced: '5.7.1', text: 'blocked', message: '550 5.7.1 blocked' });
      expect(row).toMatchObject({ status: 'failed', errorReason: 'rejected', smtpCode: 550, smtpEnhanced: '5.7.1' });
      await l.insertProbe(probe('P3'));
      expect((await l.recordSendResult('P3', { ok: false, reason: 'ambiguous', atMs: T0, message: 'lost after DATA' })).status).toBe('ambiguous');
      await l.close();
    });

    it('first copy sets the placement with whole-millisecond latencies; further copies are duplicates; the same UID or fingerprint is not recorded twice', async () => {
      const l = await open();
      await accepted(l, 'P1');
      const first = await recordCopy(l, noopEvents, obs('P1', 10));
      // Arrival T0+3 s (whole second → mid-second T0+3.5 s) − t1 T0+1 s; observed T0+4 s − 3.5 s.
      expect(first).toMatchObject({ kind: 'first', copyNumber: 1, deliveryLatencyMs: 2_500, detectionDelayMs: 500 });
      expect(first.probe!.outcome).toBe('inbox');
      expect((await recordCopy(l, noopEvents, obs('P1', 10))).kind).toBe('already-recorded');
      const dup = await recordCopy(l, noopEvents, obs('P1', 11, { folder: '[Gmail]/Spam', folderRole: 'spam', placement: 'spam' }));
      expect(dup).toMatchObject({ kind: 'duplicate', copyNumber: 2 });
      expect(dup.deliveryLatencyMs).toBeUndefined();
      expect((await l.getProbe('P1'))!).toMatchObject({ outcome: 'inbox', copies: 2 });
      await recordCopy(l, noopEvents, obs('P1', 12, { fingerprint: 'fp-1' }));
      expect((await recordCopy(l, noopEvents, obs('P1', 1, { uidValidity: 8, fingerprint: 'fp-1' }))).kind).toBe('already-recorded');
      const rows = await l.observations('P1');
      expect(rows.map((r) => [r.kind, r.deliveryLatencyMs, r.detectionDelayMs])).toEqual([
        ['first', 2_500, 500],
        ['duplicate', null, 500],
        ['duplicate', null, 500],
      ]);
      await l.close();
    });

    it('unknown probes and probes of another seed are not recorded', async () => {
      const l = await open();
      await accepted(l, 'P1');
      expect((await recordCopy(l, noopEvents, obs('NOPE', 1))).kind).toBe('unknown-probe');
      expect((await recordCopy(l, noopEvents, obs('P1', 1, { seed: 'outlook-1' }))).kind).toBe('unknown-probe');
      expect((await l.observations('P1')).length).toBe(0);
      await l.close();
    });

    it('missing only once the seed was scanned from after the deadline; a later copy is late, never a placement', async () => {
      const l = await open();
      await accepted(l, 'P1');
      await accepted(l, 'P2');
      await recordCopy(l, noopEvents, obs('P2', 5));
      // Deadline T0+61 s. A scan from before it concludes nothing, for any seed.
      expect(await concludeMissing(l, noopEvents, 'gmail-1', T0 + 61_000, T0 + 70_000)).toEqual([]);
      expect(await concludeMissing(l, noopEvents, 'outlook-1', T0 + 99_000, T0 + 99_000)).toEqual([]);
      expect((await l.inFlight(T0 + 60_999)).map((p) => p.id)).toEqual(['P1']);
      const missing = await concludeMissing(l, noopEvents, 'gmail-1', T0 + 61_001, T0 + 70_000);
      expect(missing.map((p) => p.id)).toEqual(['P1']);
      expect(await concludeMissing(l, noopEvents, null, T0 + 99_000, T0 + 99_000)).toEqual([]);
      // Even a copy that arrived in time is late once missing was concluded (never taken back).
      const late = await recordCopy(l, noopEvents, obs('P1', 6, { observedAtMs: T0 + 120_000 }));
      expect(late).toMatchObject({ kind: 'late', settledMissing: false });
      expect(late.deliveryLatencyMs).toBeUndefined();
      expect((await l.getProbe('P1'))!.outcome).toBe('missing');
      await l.close();
    });

    it('fate by timestamps: a first copy that arrived after the deadline settles the probe missing, before any reconciler ran', async () => {
      const l = await open();
      await accepted(l, 'LATE');
      await accepted(l, 'INTIME');
      // Deadline T0+61 s. Arrival stamps are whole seconds, taken as mid-second.
      const late = await recordCopy(l, noopEvents, obs('LATE', 1, { arrivedAtMs: T0 + 61_000, internalDateMs: T0 + 61_000, observedAtMs: T0 + 62_000 }));
      expect(late).toMatchObject({ kind: 'late', settledMissing: true });
      expect((await l.getProbe('LATE'))!.outcome).toBe('missing');
      // Arrived 1 s before the deadline, seen long after it (the agent was down): a placement.
      const inTime = await recordCopy(l, noopEvents, obs('INTIME', 2, { arrivedAtMs: T0 + 60_000, internalDateMs: T0 + 60_000, observedAtMs: T0 + 600_000 }));
      expect(inTime).toMatchObject({ kind: 'first', deliveryLatencyMs: 59_500, detectionDelayMs: 539_500 });
      expect((await l.getProbe('INTIME'))!.outcome).toBe('inbox');
      // Neither is concluded missing again.
      expect(await concludeMissing(l, noopEvents, null, T0 + 999_000, T0 + 999_000)).toEqual([]);
      await l.close();
    });

    it('a copy of a probe that was never accepted is recorded (evidence) without latency', async () => {
      const l = await open();
      await l.insertProbe(probe('AMB'));
      await l.recordSendResult('AMB', { ok: false, reason: 'ambiguous', atMs: T0 + 1_000, message: 'connection lost after DATA' });
      const r = await recordCopy(l, noopEvents, obs('AMB', 1));
      expect(r).toMatchObject({ kind: 'first' });
      expect(r.deliveryLatencyMs).toBeUndefined();
      expect((await recordCopy(l, noopEvents, obs('AMB', 2))).kind).toBe('duplicate');
      await l.close();
    });

    it('a copy recorded before the 250 reached the agent gets its latency at the accept, and counts from then on', async () => {
      const l = await open();
      await l.insertProbe(probe('EARLY'));
      await l.markSendStarted('EARLY', T0 + 10);
      const seen: string[] = [];
      const listening = { ...noopEvents, observed: (r: { kind: string; deliveryLatencyMs?: number }) => seen.push(`${r.kind}:${r.deliveryLatencyMs}`) };
      // The relay delivered (arrival T0+3 s) before its 250, which arrives at T0+4.2 s.
      expect((await recordCopy(l, listening, obs('EARLY', 1))).kind).toBe('first');
      // Nothing emitted while the probe is being sent: its status is not settled yet.
      expect(seen).toEqual([]);
      const row = await recordSendResult(l, listening, 'EARLY', { ok: true, acceptedAtMs: T0 + 4_200, code: 250, text: 'ok' });
      expect(row).toMatchObject({ status: 'accepted', outcome: 'inbox', copies: 1 });
      // Arrival T0+3.5 s (mid-second) is before t1: latency 0, never negative.
      expect(seen).toEqual(['first:0']);
      expect((await l.observations('EARLY'))[0]).toMatchObject({ kind: 'first', deliveryLatencyMs: 0 });
      await l.close();
    });

    it('copies of one probe recorded concurrently: exactly one is first', async () => {
      const l = await open();
      await accepted(l, 'P1');
      const kinds = (await Promise.all([1, 2, 3, 4, 5].map((uid) => recordCopy(l, noopEvents, obs('P1', uid))))).map((r) => r.kind);
      expect(kinds.filter((k) => k === 'first')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'duplicate')).toHaveLength(4);
      await l.close();
    });

    it('probes interrupted mid-send become ambiguous, never re-sent', async () => {
      const l = await open();
      await l.insertProbe(probe('P1'));
      const rows = await l.recoverInterrupted(T0);
      expect(rows.map((r) => [r.id, r.status, r.errorReason])).toEqual([['P1', 'ambiguous', 'ambiguous']]);
      await l.close();
    });

    it('records which agent sent each probe and which saw each copy (none for rows without a name)', async () => {
      const l = await open();
      await l.insertProbe({ ...probe('A1'), agent: 'site-a-1' });
      await l.recordSendResult('A1', { ok: true, acceptedAtMs: T0 + 1_000, code: 250, text: 'ok' });
      await recordCopy(l, noopEvents, obs('A1', 1, { agent: 'site-b-2' }));
      await recordCopy(l, noopEvents, obs('A1', 2));
      await accepted(l, 'NONAME');
      expect((await l.getProbe('A1'))!.agent).toBe('site-a-1');
      expect((await l.getProbe('NONAME'))!.agent).toBeNull();
      expect((await l.observations('A1')).map((o) => o.agent)).toEqual(['site-b-2', undefined]);
      const facts = await collect(l.replay());
      expect(facts.filter((f) => f.type === 'copy').map((f) => [f.probe.agent, f.type === 'copy' ? f.copy.agent : null])).toEqual([
        ['site-a-1', 'site-b-2'],
        ['site-a-1', undefined],
      ]);
      await l.close();
    });

    it('totals count completed and overlapped cycles and mailbox errors per seed and kind', async () => {
      const l = await open();
      expect(await l.totals()).toEqual({ cycles: { completed: 0, overlaps: 0, lastFinishedAtMs: null }, mailboxErrors: [] });
      await l.startCycle('C1', T0);
      await l.finishCycle('C1', T0 + 5_000, 4);
      await l.startCycle('C2', T0 + 60_000, true);
      await l.startCycle('C3', T0 + 120_000);
      await l.recordMailboxError('outlook-1', 'login', T0, 'AUTHENTICATIONFAILED');
      await l.recordMailboxError('gmail-1', 'timeout', T0, 'timed out');
      await l.recordMailboxError('gmail-1', 'timeout', T0 + 1, 'timed out');
      expect(await l.totals()).toEqual({
        cycles: { completed: 1, overlaps: 1, lastFinishedAtMs: T0 + 5_000 },
        mailboxErrors: [
          { seed: 'gmail-1', kind: 'timeout', count: 2 },
          { seed: 'outlook-1', kind: 'login', count: 1 },
        ],
      });
      await l.close();
    });

    it('folder state and the key/value store are upserts', async () => {
      const l = await open();
      expect(await l.getFolderState('gmail-1', 'INBOX')).toBeNull();
      await l.setFolderState('gmail-1', 'INBOX', { uidValidity: 7, lastUid: 10 });
      // UIDs and UIDVALIDITY are unsigned 32-bit.
      await l.setFolderState('gmail-1', 'INBOX', { uidValidity: 4_294_967_295, lastUid: 4_294_967_294 });
      expect(await l.getFolderState('gmail-1', 'INBOX')).toEqual({ uidValidity: 4_294_967_295, lastUid: 4_294_967_294 });
      expect(await l.getState('k')).toBeNull();
      await l.setState('k', 'v1');
      await l.setState('k', 'v2');
      expect(await l.getState('k')).toBe('v2');
      await l.close();
    });

    it('lists probes newest first with filters and an id cursor', async () => {
      const l = await open();
      for (const [id, path] of [['01A', 'peering'], ['01B', 'transit'], ['01C', 'peering'], ['01D', 'peering']] as const) await accepted(l, id, { path });
      expect((await l.listProbes({})).map((p) => p.id)).toEqual(['01D', '01C', '01B', '01A']);
      expect((await l.listProbes({ path: 'peering', limit: 2 })).map((p) => p.id)).toEqual(['01D', '01C']);
      expect((await l.listProbes({ path: 'peering', before: '01C' })).map((p) => p.id)).toEqual(['01A']);
      expect((await l.listProbes({ sinceMs: T0 + 1 })).map((p) => p.id)).toEqual([]);
      await l.close();
    });

    it('replay yields every ended probe and every copy with its probe', async () => {
      const l = await open();
      await accepted(l, 'P1');
      await l.insertProbe(probe('P2'));
      await recordCopy(l, noopEvents, obs('P1', 1));
      await recordCopy(l, noopEvents, obs('P1', 2));
      const facts: LedgerFact[] = await collect(l.replay());
      expect(facts.filter((f) => f.type === 'send').map((f) => f.probe.id)).toEqual(['P1']);
      const copies = facts.filter((f): f is Extract<LedgerFact, { type: 'copy' }> => f.type === 'copy');
      expect(copies.map((f) => [f.probe.id, f.probe.status, f.copy.kind, f.copy.deliveryLatencyMs])).toEqual([
        ['P1', 'accepted', 'first', 2_500],
        ['P1', 'accepted', 'duplicate', null],
      ]);
      await l.close();
    });
  });
}
