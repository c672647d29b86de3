import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { SecretValue } from '../config/secret.js';
import { parseDuration } from '../config/duration.js';
import { type Ledger } from '../ledger/ledger.js';
import { comparePaths, placementMatrix } from '../domain/placement-matrix.js';
import { MIN_PROBES_FOR_SHARE } from '../domain/statistics.js';
import { OUTCOMES } from '../domain/vocabulary.js';
import { isProbeId } from '../probe-id.js';
import { createExposition } from './exposition.js';
import type { Logger } from '../log.js';
import { egressVerdict } from '../analyze/ingress-ip.js';
import type { ReputationSnapshot } from '../reputation/reputation-state.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HttpDeps {
  ledger: Ledger;
  registry: Registry;
  clock: Clock;
  logger: Logger;
  readiness: () => Readiness | Promise<Readiness>;
  token?: SecretValue;
  protectMetrics?: boolean;
  /** Extra routes (status page, weekly report) mounted after the API. */
  mount?: (app: express.Express, guard: express.RequestHandler) => void;
  /** POST /-/reload (config `http.reload`): reload the config, as SIGHUP does. */
  reload?: () => Promise<ReloadResult>;
  /** GET /api/reputation: what the reputation sources found (null: none configured). */
  reputation?: () => ReputationSnapshot | null;
  /** Egress IPs per path (config paths[].ips), for the egress verdict of /api/probes/:id. */
  egressIps?: Readonly<Record<string, readonly string[]>>;
}

export type ReloadResult = { ok: true } | { ok: false; error: string };

/** Most probes one API page returns. */
const MAX_PAGE = 1000;

class BadRequest extends Error {}

/** `since`: an ISO timestamp, epoch milliseconds, or a duration back from now (`1h`). */
function parseSince(v: string, nowMs: number): number {
  const d = parseDuration(v);
  if (d !== null) return nowMs - d;
  if (/^\d{10,}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new BadRequest(`since: expected an ISO timestamp, epoch milliseconds or a duration such as 1h, got "${v.slice(0, 40)}"`);
  return t;
}

const ProbesQuery = z.strictObject({
  since: z.string().optional(),
  until: z.string().optional(),
  path: z.string().max(64).optional(),
  seed: z.string().max(64).optional(),
  placement: z.enum(OUTCOMES, { error: `placement: expected one of ${OUTCOMES.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'limit: expected an integer' }).int({ error: 'limit: expected an integer' }).min(1, { error: `limit: expected 1 to ${MAX_PAGE}` }).max(MAX_PAGE, { error: `limit: expected 1 to ${MAX_PAGE}` }).default(100),
  before: z.string().refine(isProbeId, { error: 'before: expected a probe id' }).optional(),
});

function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (i.code === 'unrecognized_keys') return `unknown query parameter "${i.keys[0]}"`;
  return i.message.includes(':') ? i.message : `${i.path.join('.')}: ${i.message}`;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const expose = createExposition(deps.registry);

  const guard: express.RequestHandler = (req, res, next) => {
    if (!deps.token) return next();
    const header = req.get('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Compare digests: constant time, and no length leak.
    if (given && timingSafeEqual(digest(given), digest(deps.token.reveal()))) return next();
    res.set('WWW-Authenticate', 'Bearer realm="seedwatch"').status(401).json({ error: 'missing or wrong bearer token' });
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res, next) => {
    try {
      const r = await deps.readiness();
      res.status(r.ready ? 200 : 503).json(r);
    } catch (err) {
      next(err);
    }
  });
  app.get('/metrics', deps.protectMetrics ? guard : (_q, _s, n) => n(), async (req, res, next) => {
    try {
      const { contentType, body } = await expose(req.get('accept'));
      res.set('Content-Type', contentType).send(body);
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/probes', guard, async (req, res, next) => {
    try {
      const q = ProbesQuery.safeParse(req.query);
      if (!q.success) throw new BadRequest(firstIssue(q.error));
      const now = deps.clock.nowMs();
      const rows = await deps.ledger.listProbes({
        sinceMs: q.data.since ? parseSince(q.data.since, now) : undefined,
        untilMs: q.data.until ? parseSince(q.data.until, now) : undefined,
        path: q.data.path,
        seed: q.data.seed,
        outcome: q.data.placement,
        before: q.data.before,
        limit: q.data.limit + 1,
      });
      const page = rows.slice(0, q.data.limit);
      res.json({ probes: page, next: rows.length > q.data.limit ? page[page.length - 1].id : null });
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/probes/:id', guard, async (req, res, next) => {
    try {
      const id = String(req.params.id).toUpperCase();
      if (!isProbeId(id)) throw new BadRequest('id: expected a probe id (26-character ULID)');
      const probe = await deps.ledger.getProbe(id);
      if (!probe) {
        res.status(404).json({ error: `probe ${id} not found` });
        return;
      }
      const observations = await deps.ledger.observations(id);
      // Which IP the provider saw (the first copy's ingress hop) against the path's egress IPs.
      const first = observations.find((o) => o.copyNumber === 1);
      const ips = deps.egressIps?.[probe.path] ?? [];
      const ingressIp = typeof first?.evidence.ingressIp === 'string' ? first.evidence.ingressIp : null;
      const egress = { pathIps: ips, ingressIp, verdict: first ? egressVerdict(ingressIp, ips) : null };
      res.json({ probe, observations, egress });
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/summary', guard, async (req, res, next) => {
    try {
      const unknown = Object.keys(req.query).filter((k) => k !== 'window');
      if (unknown.length) throw new BadRequest(`unknown query parameter "${unknown[0]}"`);
      const window = typeof req.query.window === 'string' ? req.query.window : '1h';
      const windowMs = parseDuration(window);
      if (windowMs === null || windowMs <= 0) throw new BadRequest(`window: expected a duration such as 1h or 7d, got "${window.slice(0, 40)}"`);
      const until = deps.clock.nowMs();
      const facts = await deps.ledger.probeFacts(until - windowMs, until + 1);
      const cells = placementMatrix(facts);
      // Each cell carries `intervals` (95 % Wilson) beside `shares`, and `tooFewProbes` below
      // minProbes resolved; `comparisons`: each provider's paths against its best path (spam).
      res.json({ window, sinceMs: until - windowMs, untilMs: until, minProbes: MIN_PROBES_FOR_SHARE, cells, comparisons: comparePaths(cells) });
    } catch (err) {
      next(err);
    }
  });

  app.get('/api/reputation', guard, (req, res, next) => {
    try {
      if (Object.keys(req.query).length > 0) throw new BadRequest(`unknown query parameter "${Object.keys(req.query)[0]}"`);
      const snapshot = deps.reputation?.() ?? null;
      if (snapshot === null) {
        res.status(404).json({ error: 'no reputation source is configured (reputation: in the config)' });
        return;
      }
      res.json({ nowMs: deps.clock.nowMs(), ...snapshot });
    } catch (err) {
      next(err);
    }
  });

  deps.mount?.(app, guard);

  if (deps.reload) {
    const reload = deps.reload;
    // As Prometheus' /-/reload: 200 when the new config runs, 500 with the reason when it was
    // refused (the agent keeps running on the previous one).
    app.post('/-/reload', guard, async (_req, res, next) => {
      try {
        const r = await reload();
        if (r.ok) res.json({ status: 'reloaded' });
        else res.status(500).json({ error: r.error });
      } catch (err) {
        next(err);
      }
    });
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BadRequest) {
      res.status(400).json({ error: err.message });
      return;
    }
    deps.logger.error({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'http handler failed');
    res.status(500).json({ error: 'internal error' });
  });
  return app;
}

export async function listen(app: express.Express, address: string): Promise<Server> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${address}: ${err.code ?? err.message}`)),
    );
  });
}
