import type express from 'express';
import type { Agent } from '../agent.js';
import { systemClock } from '../clock.js';
import { mountPages } from '../pages/mount-pages.js';

/** The status page `/` and the weekly report `/report/weekly`, behind the API's bearer guard. */
export function mountDefaultPages(app: express.Express, guard: express.RequestHandler, agent: Agent): void {
  mountPages(app, guard, {
    ledger: agent.ledger,
    clock: systemClock,
    mailboxes: () =>
      agent.mailboxes().map((h) => ({
        seed: h.seed,
        provider: h.provider,
        up: h.up,
        connectedOnce: h.connectedOnce,
        lastError: h.lastError?.message,
      })),
  });
}
