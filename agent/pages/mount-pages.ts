/**
 * Mounts the human-facing pages on the agent's HTTP app (through createApp's `mount`):
 *   GET /               the status page
 *   GET /report/weekly  the weekly report (?format=html|md|csv|json, default html)
 * Both behind the bearer-token guard, both with a strict Content-Security-Policy.
 */
import { randomBytes } from 'node:crypto';
import type express from 'express';
import type { Clock } from '../clock.js';
import type { Ledger } from '../ledger/ledger.js';
import { isWeeklyFormat, renderWeekly, WEEKLY_FORMATS } from '../report/render-weekly.js';
import { weeklyReportFromLedger } from '../report/weekly-report.js';
import { loadStatusData, type MailboxHealth } from './status-data.js';
import { renderStatusPage } from './status-page.js';
import type { ReputationSnapshot } from '../reputation/reputation-state.js';
import type { FleetView } from '../fleet/fleet.js';

export interface PagesDeps {
  ledger: Ledger;
  clock: Clock;
  mailboxes: () => MailboxHealth[];
  /** What the reputation sources found (null or absent: none configured). */
  reputation?: () => ReputationSnapshot | null;
  /** Egress IPs per path (paths[].ips). */
  egressIps?: Readonly<Record<string, readonly string[]>>;
  /** Fleet mode: the agents alive and the seeds each holds. */
  fleet?: () => FleetView;
  title?: string;
  /** Status page self-refresh period (default 15 s). */
  refreshSeconds?: number;
}

/**
 * Nothing may load from elsewhere, nothing may frame the page; the one <style> and the one
 * <script> carry the response's nonce, so an injected element (should escaping ever fail)
 * would neither run nor style. SVG presentation attributes are not styles; no style="" is used.
 */
export function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(res: express.Response, csp: string): void {
  res.set({
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
}

export function mountPages(app: express.Express, guard: express.RequestHandler, deps: PagesDeps): void {
  app.get('/', guard, async (_req, res, next) => {
    try {
      const data = await loadStatusData(deps);
      const nonce = randomBytes(16).toString('base64');
      securityHeaders(res, pageCsp(nonce));
      res.type('html').send(renderStatusPage(data, { title: deps.title, nonce, refreshSeconds: deps.refreshSeconds }));
    } catch (err) {
      next(err);
    }
  });

  app.get('/report/weekly', guard, async (req, res, next) => {
    try {
      const format = req.query.format ?? 'html';
      if (!isWeeklyFormat(format)) {
        res.status(400).json({ error: `format: expected one of ${WEEKLY_FORMATS.join(', ')}` });
        return;
      }
      const nowMs = deps.clock.nowMs();
      const report = await weeklyReportFromLedger(deps.ledger, nowMs);
      const title = deps.title ? `${deps.title} weekly report` : undefined;
      const nonce = randomBytes(16).toString('base64');
      const links = [{ label: 'status', href: '../' }, ...WEEKLY_FORMATS.filter((f) => f !== 'html').map((f) => ({ label: f.toUpperCase(), href: `?format=${f}` }))];
      const out = renderWeekly(report, format, { title, nonce, links, generatedAtMs: nowMs });
      // The HTML is a page (its one <style> carries the nonce); the other formats are not
      // pages, but a browser may still open them: nothing in them may run.
      securityHeaders(res, format === 'html' ? pageCsp(nonce) : "default-src 'none'; frame-ancestors 'none'; sandbox");
      if (format === 'csv') res.set('Content-Disposition', `attachment; filename="${out.filename}"`);
      res.type(out.contentType).send(out.body);
    } catch (err) {
      next(err);
    }
  });
}
