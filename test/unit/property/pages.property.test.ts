/**
 * Every page that shows header-derived or remote text escapes it. Generated hostile strings
 * (markup, attribute breakouts, entities, control characters around a unique marker) go into
 * everything a mail header or a remote server controls — subject, folder, Authentication-Results
 * verdicts, Microsoft SCL/BCL stamps, SMTP reply text, send errors, IMAP errors — and the status
 * page and weekly HTML report are rendered. No marker may appear unescaped (`<zq`, `"zq`, `'zq`),
 * and the subject must be shown as text (escaped).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObservationRow, ProbeRow } from '../../../agent/ledger/ledger.js';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { loadStatusData, type StatusData } from '../../../agent/pages/status-data.js';
import { renderStatusPage } from '../../../agent/pages/status-page.js';
import { placementMatrix } from '../../../agent/domain/placement-matrix.js';
import { renderWeeklyHtml } from '../../../agent/report/weekly-html.js';
import { weeklyReportFromLedger } from '../../../agent/report/weekly-report.js';
import { noopEvents } from '../../../agent/events.js';
import { recordCopy } from '../../../agent/record/recorder.js';

const RUNS = 10_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

/** A hostile string carrying markers whose unescaped forms must never reach the page. */
const hostile = fc
  .tuple(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('<zq>', '<zq onload=alert(1)>', '</td><zq>', '"zq=1 x="', "'zq='", '<zq/><script>alert(1)</script>', '<!--zq-->', '"><zq>'),
    fc.string({ maxLength: 12 }),
    fc.constantFrom('', '&amp;', '&lt;', '\u0000', '\r\n', '\u202e', ']]>', '`${x}`', '{{id}}'),
  )
  .map((parts) => parts.join(''));

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function expectEscaped(page: string): void {
  expect(page).not.toMatch(/<zq|<!--zq|"zq|'zq|<script>alert/);
}

const ID = '01KB0000000000000000000000';

function probeRow(h: Record<string, string>, status: ProbeRow['status']): ProbeRow {
  const failed = status !== 'accepted';
  return {
    id: ID,
    path: 'transit',
    seed: 'gmail-1',
    provider: 'gmail',
    messageId: h.messageId,
    cycleId: null,
    status,
    createdAtMs: NOW - 60_000,
    sendStartedAtMs: NOW - 59_000,
    acceptedAtMs: failed ? null : NOW - 58_000,
    deadlineAtMs: failed ? null : NOW + 1_000_000,
    smtpCode: failed ? 550 : 250,
    smtpEnhanced: '5.7.1',
    smtpText: h.smtpText,
    queueId: h.queueId,
    errorReason: failed ? 'rejected' : null,
    errorMessage: failed ? h.errorMessage : null,
    outcome: failed ? null : 'spam',
    resolvedAtMs: NOW - 50_000,
    copies: failed ? 0 : 2,
  };
}

function observation(h: Record<string, string>, copy: number): ObservationRow {
  return {
    id: copy,
    deliveryLatencyMs: copy === 1 ? 2_000 : null,
    detectionDelayMs: 1_000,
    probeId: ID,
    seed: 'gmail-1',
    folder: h.folder,
    folderRole: 'spam',
    placement: 'spam',
    uidValidity: 1,
    uid: copy,
    arrivedAtMs: NOW - 57_000,
    internalDateMs: NOW - 57_000,
    observedAtMs: NOW - 56_000,
    auth: { spf: h.spf, dkim: h.dkim, dmarc: h.dmarc },
    evidence: { subject: h.subject, folder: h.folder, microsoft: { scl: h.scl, bcl: h.bcl } },
    copyNumber: copy,
    kind: copy === 1 ? 'first' : 'duplicate',
  };
}

const fields = fc.record({
  subject: hostile,
  folder: hostile,
  spf: hostile,
  dkim: hostile,
  dmarc: hostile,
  scl: hostile,
  bcl: hostile,
  smtpText: hostile,
  errorMessage: hostile,
  queueId: hostile,
  messageId: hostile,
  imapError: hostile,
});

describe('pages escape hostile text', () => {
  it('status page (rendered from generated data)', () => {
    fc.assert(
      fc.property(fields, fc.constantFrom<ProbeRow['status']>('accepted', 'failed', 'ambiguous'), (h, status) => {
        const probe = probeRow(h, status);
        const observations = status === 'accepted' ? [observation(h, 1), observation(h, 2)] : [];
        const facts = [{ id: ID, path: 'transit', seed: 'gmail-1', provider: 'gmail', createdAtMs: probe.createdAtMs, status, errorReason: probe.errorReason, smtpCode: probe.smtpCode, outcome: probe.outcome, copies: probe.copies, late: false, deliveryLatencySeconds: 1, auth: { spf: h.spf, dkim: h.dkim, dmarc: h.dmarc } }];
        const data: StatusData = {
          nowMs: NOW,
          hour: { sinceMs: NOW - 3_600_000, cells: placementMatrix(facts) },
          day: { sinceMs: NOW - 86_400_000, cells: placementMatrix(facts) },
          latest: [{ probe, observations }],
          mailboxes: [{ seed: 'gmail-1', provider: 'gmail', up: false, connectedOnce: true, lastError: { kind: 'protocol', message: h.imapError, atMs: 0 } }],
        };
        const page = renderStatusPage(data, { title: 'seedwatch', nonce: 'bm9uY2U=' });
        expectEscaped(page);
        // Shown as text: the escaped form is there.
        const shown = status === 'accepted' ? h.subject : h.errorMessage;
        expect(page).toContain(esc(shown));
        expect(page).toContain(esc(h.imapError));
      }),
      { numRuns: RUNS },
    );
  });

  it('status page and weekly HTML report rendered from a ledger holding hostile evidence', async () => {
    await fc.assert(
      fc.asyncProperty(fields, async (h) => {
        const ledger = SqliteLedger.open(':memory:');
        try {
          const at = NOW - 2 * 3_600_000;
          const mk = async (n: number) => `01KB${String(n).padStart(22, '0')}`;
          const ok = await mk(1);
          await ledger.insertProbe({ id: ok, path: 'transit', seed: 'gmail-1', provider: 'gmail', messageId: h.messageId, createdAtMs: at, deadlineMs: 1_800_000 });
          await ledger.recordSendResult(ok, { ok: true, acceptedAtMs: at + 1000, code: 250, text: h.smtpText, queueId: h.queueId });
          await recordCopy(ledger, noopEvents, { probeId: ok, seed: 'gmail-1', folder: h.folder, folderRole: 'spam', placement: 'spam', uidValidity: 1, uid: 1, arrivedAtMs: at + 2000, internalDateMs: at + 2000, observedAtMs: at + 3000, auth: { spf: h.spf, dkim: h.dkim, dmarc: h.dmarc }, evidence: { subject: h.subject, microsoft: { scl: h.scl, bcl: h.bcl } } });
          const bad = await mk(2);
          await ledger.insertProbe({ id: bad, path: 'peering', seed: 'gmail-1', provider: 'gmail', messageId: h.messageId, createdAtMs: at + 10, deadlineMs: 1_800_000 });
          await ledger.recordSendResult(bad, { ok: false, reason: 'rejected', atMs: at + 20, code: 550, text: h.smtpText, message: h.errorMessage });
          const data = await loadStatusData({ ledger, clock: { nowMs: () => NOW }, mailboxes: () => [{ seed: 'gmail-1', provider: 'gmail', up: false, connectedOnce: false, lastError: { kind: 'protocol', message: h.imapError, atMs: 0 } }] } as never);
          const status = renderStatusPage(data, { nonce: 'bm9uY2U=' });
          expectEscaped(status);
          expect(status).toContain(esc(h.subject)); // shown as text, not dropped
          expect(status).toContain(esc(h.errorMessage));
          const weekly = renderWeeklyHtml(await weeklyReportFromLedger(ledger, NOW), { nonce: 'bm9uY2U=', generatedAtMs: NOW });
          expectEscaped(weekly);
        } finally {
          await ledger.close();
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
