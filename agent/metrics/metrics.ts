import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentEvents } from '../events.js';
import { type Ledger, type ObservationResult, type ProbeRow } from '../ledger/ledger.js';
import { AUTH_METHODS, MAILBOX_ERROR_KINDS, OUTCOMES, SEND_FAILURE_REASONS } from '../domain/vocabulary.js';
import type { Clock } from '../clock.js';
import type { ObservationRow } from '../ledger/ledger.js';
import { ExactHistogram } from './exact-histogram.js';
import { egressVerdict } from '../analyze/ingress-ip.js';
import { VERSION } from '../version.js';

/**
 * Delivery latency: SMTP accept → arrival at the provider; e-mail is seconds to hours. The
 * arrival is a whole-second timestamp (±0.5 s once centred): no bucket below 1 s.
 */
export const DELIVERY_LATENCY_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/**
 * Detection delay: arrival in the mailbox → announced to the agent. INTERNALDATE has whole
 * seconds (±0.5 s once centred), so buckets finer than 1 s would only split noise; IDLE lands
 * in the first bucket, polling in the tens of seconds.
 */
export const DETECTION_DELAY_BUCKETS = [1, 2, 3, 5, 10, 30, 60, 120, 300, 600];
/** Auth results created at zero per method (others appear when first seen). */
const ZERO_AUTH_RESULTS = ['pass', 'fail'] as const;
/** SMTP reply codes created at zero. */
const ZERO_REPLY_CODES = ['250'] as const;

const PSP = ['path', 'seed', 'provider'] as const;

/** RFC 8601 §2.7 result values (plus Microsoft's bestguesspass); anything else → other. */
const AUTH_RESULT_VALUES = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy', 'hardfail', 'bestguesspass']);

/** Header text comes from the internet: only a bounded set may become a label value. */
export function authResultLabel(result: string): string {
  const r = result.toLowerCase();
  return AUTH_RESULT_VALUES.has(r) ? r : 'other';
}

/** The daemon's configuration (re)loads, as blackbox_exporter exports them. Process state, not ledger facts. */
export interface ReloadState {
  successful: boolean;
  lastSuccessAtMs: number;
}

export interface MetricsTarget {
  /** `ips`: the path's egress IPs (canonical), when configured: the egress check runs on those paths only. */
  paths: { name: string; ips?: readonly string[] }[];
  seeds: { name: string; provider: string }[];
}

/**
 * All seedwatch metrics on an explicit registry. Counters are derived from the ledger: at
 * start-up `bootstrap()` loads the ledger's all-time totals, then `events` adds what the ledger
 * confirms as new (the ledger dedupes, so nothing is counted twice, across restarts too).
 */
export class Metrics {
  /**
   * Owned, never passed in: the registry is what this object exports, not a collaborator
   * shared with another module. Whoever needs it (the /metrics handler, the reputation
   * metrics) takes `metrics.registry` from the composition root, so no two modules can end up
   * on different registries, and no instance shares prom-client's global one.
   */
  readonly registry = new Registry();
  readonly sent: Counter<(typeof PSP)[number]>;
  readonly sendErrors: Counter<(typeof PSP)[number] | 'reason'>;
  readonly replies: Counter<(typeof PSP)[number] | 'code'>;
  readonly placements: Counter<(typeof PSP)[number] | 'placement'>;
  readonly duplicates: Counter<(typeof PSP)[number]>;
  readonly late: Counter<(typeof PSP)[number]>;
  readonly deliveryLatency: ExactHistogram<(typeof PSP)[number]>;
  readonly detectionDelay: ExactHistogram<(typeof PSP)[number]>;
  readonly auth: Counter<(typeof PSP)[number] | 'method' | 'result'>;
  readonly inFlight: Gauge<(typeof PSP)[number]>;
  readonly mailboxUp: Gauge<'seed' | 'provider'>;
  readonly mailboxErrors: Counter<'seed' | 'provider' | 'kind'>;
  readonly lastProbe: Gauge<(typeof PSP)[number]>;
  readonly buildInfo: Gauge<'version'>;
  readonly cycles: Counter;
  readonly cycleOverlaps: Counter;
  readonly lastCycle: Gauge;
  readonly egressMismatch: Counter<(typeof PSP)[number]>;
  readonly egressUnknown: Counter<(typeof PSP)[number]>;
  private readonly providerOf = new Map<string, string>();
  /** Egress IPs per path, for the paths that configure them. */
  private readonly egressIps = new Map<string, readonly string[]>();
  /** Live ingress-IP look-ups not finished yet (see settled()). */
  private readonly pending = new Set<Promise<void>>();
  private readonly agent: string | undefined;
  /** Seeds this agent watches (fleet mode: the ones it holds); mailbox_up exists for these only. */
  private watched: ReadonlySet<string>;
  /** Newest accept per path and seed (the gauge never goes back when facts come out of order). */
  private readonly lastAccepted = new Map<string, number>();

  constructor(
    private readonly target: MetricsTarget,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    opts: {
      defaultMetrics?: boolean;
      reloadState?: ReloadState;
      /**
       * Fleet mode: this agent's name. Each agent exports what it recorded itself (sends it made,
       * copies it counted, deadlines it concluded), so a sum over the agents counts every fact
       * once, and an agent that comes back resumes its own counters. Absent: one agent, every fact.
       */
      agent?: string;
    } = {},
  ) {
    this.agent = opts.agent;
    const registry = this.registry;
    for (const s of target.seeds) this.providerOf.set(s.name, s.provider);
    for (const p of target.paths) if (p.ips && p.ips.length > 0) this.egressIps.set(p.name, [...p.ips]);
    this.watched = new Set(target.seeds.map((s) => s.name));
    const reg = [registry];
    this.sent = new Counter({ name: 'seedwatch_probes_sent_total', help: 'Probes accepted by the first SMTP hop.', labelNames: PSP, registers: reg });
    this.sendErrors = new Counter({
      name: 'seedwatch_probe_send_errors_total',
      help: 'Probes not accepted, by reason (rejected, deferred, connection, timeout, tls, auth, ambiguous).',
      labelNames: [...PSP, 'reason'] as const,
      registers: reg,
    });
    this.replies = new Counter({ name: 'seedwatch_smtp_replies_total', help: 'Final SMTP reply code per send.', labelNames: [...PSP, 'code'] as const, registers: reg });
    this.placements = new Counter({
      name: 'seedwatch_placements_total',
      help: 'Once per probe: where its first copy landed (inbox = Gmail primary), or missing at the deadline.',
      labelNames: [...PSP, 'placement'] as const,
      registers: reg,
    });
    this.duplicates = new Counter({ name: 'seedwatch_duplicates_total', help: 'Copies of a probe beyond the first.', labelNames: PSP, registers: reg });
    this.late = new Counter({ name: 'seedwatch_late_arrivals_total', help: 'Probes whose first copy arrived (topmost Received, else INTERNALDATE) after their deadline; each is also counted missing.', labelNames: PSP, registers: reg });
    this.deliveryLatency = new ExactHistogram({
      name: 'seedwatch_delivery_latency_seconds',
      help: 'SMTP accept (t1, agent clock, ms) to arrival at the provider (topmost Received, else INTERNALDATE: whole seconds, taken as mid-second; +-0.5 s). First in-time copy only.',
      labelNames: PSP,
      buckets: DELIVERY_LATENCY_BUCKETS,
      registers: reg,
    });
    this.detectionDelay = new ExactHistogram({
      name: 'seedwatch_detection_delay_seconds',
      help: 'Arrival in the mailbox (INTERNALDATE, else the topmost Received: whole seconds, taken as mid-second; +-0.5 s) to announced to the agent (IDLE EXISTS or the scan that found it, agent clock, ms). Every copy.',
      labelNames: PSP,
      buckets: DETECTION_DELAY_BUCKETS,
      registers: reg,
    });
    this.auth = new Counter({
      name: 'seedwatch_auth_results_total',
      help: "The provider's own Authentication-Results verdicts, once per probe.",
      labelNames: [...PSP, 'method', 'result'] as const,
      registers: reg,
    });
    const ledgerRef = this.ledger;
    const clockRef = this.clock;
    const self = this;
    this.inFlight = new Gauge({
      name: 'seedwatch_probes_in_flight',
      help: 'Probes sent, not yet seen, deadline not passed.',
      labelNames: PSP,
      registers: reg,
      async collect() {
        // In a fleet each agent exports its own sends in flight (the ledger holds everyone's).
        const rows = (await ledgerRef.inFlight(clockRef.nowMs())).filter((r) => self.agent === undefined || r.agent === self.agent);
        self.zeroInFlight();
        const counts = new Map<string, { path: string; seed: string; provider: string; n: number }>();
        for (const r of rows) {
          const k = `${r.path}\u0000${r.seed}`;
          const c = counts.get(k) ?? { path: r.path, seed: r.seed, provider: r.provider, n: 0 };
          c.n++;
          counts.set(k, c);
        }
        for (const c of counts.values()) this.set({ path: c.path, seed: c.seed, provider: c.provider }, c.n);
      },
    });
    this.mailboxUp = new Gauge({ name: 'seedwatch_mailbox_up', help: "1 while the seed's IMAP session is healthy.", labelNames: ['seed', 'provider'] as const, registers: reg });
    this.mailboxErrors = new Counter({
      name: 'seedwatch_mailbox_errors_total',
      help: 'IMAP failures by kind (login, connection, timeout, protocol).',
      labelNames: ['seed', 'provider', 'kind'] as const,
      registers: reg,
    });
    this.lastProbe = new Gauge({ name: 'seedwatch_last_probe_timestamp_seconds', help: 'Last successful send (SMTP accept) per path and seed.', labelNames: PSP, registers: reg });
    this.buildInfo = new Gauge({ name: 'seedwatch_build_info', help: 'Always 1; the version label says which seedwatch runs.', labelNames: ['version'] as const, registers: reg });
    this.cycles = new Counter({ name: 'seedwatch_cycles_total', help: 'Probe cycles completed (every path x every seed).', registers: reg });
    this.cycleOverlaps = new Counter({ name: 'seedwatch_cycle_overlaps_total', help: 'Scheduler ticks skipped because the previous cycle was still running.', registers: reg });
    this.lastCycle = new Gauge({ name: 'seedwatch_last_cycle_timestamp_seconds', help: 'End of the last completed cycle.', registers: reg });
    this.egressMismatch = new Counter({
      name: 'seedwatch_egress_ip_mismatch_total',
      help: "Probes whose first copy the provider received from an IP that is not one of the path's ips (paths with ips only; counted on each probe's first copy only).",
      labelNames: PSP,
      registers: reg,
    });
    this.egressUnknown = new Counter({
      name: 'seedwatch_egress_ip_unknown_total',
      help: "Probes whose first copy names no ingress IP of the provider (no provider Received hop, or no client address in it; paths with ips only; first copy only).",
      labelNames: PSP,
      registers: reg,
    });
    this.buildInfo.set({ version: VERSION }, 1);
    const reload = opts.reloadState ?? { successful: true, lastSuccessAtMs: clock.nowMs() };
    new Gauge({
      name: 'seedwatch_config_last_reload_successful',
      help: 'Whether the last configuration reload (SIGHUP, POST /-/reload) succeeded: 1, or 0 while the agent runs on the previous config.',
      registers: reg,
      collect() {
        this.set(reload.successful ? 1 : 0);
      },
    });
    new Gauge({
      name: 'seedwatch_config_last_reload_success_timestamp_seconds',
      help: 'When the running configuration was loaded (start-up or the last successful reload).',
      registers: reg,
      collect() {
        this.set(reload.lastSuccessAtMs / 1000);
      },
    });
    if (opts.defaultMetrics !== false) {
      // The event-loop delay histogram samples once a second, not prom-client's default every
      // 10 ms: that timer woke an idle agent ~100 times a second (17 s of CPU an hour instead of
      // 52 s at 10 seeds, docs/benchmark.md "Idle"); a p99 of a second's delays still shows a
      // blocked loop, since the delay of the timer itself is what is measured.
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
      // prom-client exports these gauges with a `_total` suffix, which promtool flags (a gauge
      // must not look like a counter); the same numbers remain as nodejs_active_handles etc.
      for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        registry.removeSingleMetric(n);
      }
    }
    this.zero();
  }

  private labels(path: string, seed: string) {
    return { path, seed, provider: this.providerOf.get(seed) ?? 'unknown' };
  }

  private zeroInFlight(): void {
    for (const p of this.target.paths) for (const s of this.target.seeds) this.inFlight.set(this.labels(p.name, s.name), 0);
  }

  /** Every series for every configured path x seed exists at 0 before the first event. */
  private zero(): void {
    for (const s of this.target.seeds) {
      this.mailboxUp.set({ seed: s.name, provider: s.provider }, 0);
      for (const kind of MAILBOX_ERROR_KINDS) this.mailboxErrors.inc({ seed: s.name, provider: s.provider, kind }, 0);
      for (const p of this.target.paths) {
        const l = this.labels(p.name, s.name);
        this.sent.inc(l, 0);
        this.duplicates.inc(l, 0);
        this.late.inc(l, 0);
        this.deliveryLatency.zero(l);
        this.detectionDelay.zero(l);
        for (const reason of SEND_FAILURE_REASONS) this.sendErrors.inc({ ...l, reason }, 0);
        for (const placement of OUTCOMES) this.placements.inc({ ...l, placement }, 0);
        for (const code of ZERO_REPLY_CODES) this.replies.inc({ ...l, code }, 0);
        for (const method of AUTH_METHODS) for (const result of ZERO_AUTH_RESULTS) this.auth.inc({ ...l, method, result }, 0);
        if (this.egressIps.has(p.name)) {
          this.egressMismatch.inc(l, 0);
          this.egressUnknown.inc(l, 0);
        }
      }
    }
    this.cycles.inc(0);
    this.cycleOverlaps.inc(0);
    this.zeroInFlight();
  }

  /**
   * Load the ledger's history (call once, before events flow): every probe and copy goes
   * through the same count functions as the live events, so a restart resumes every counter
   * and histogram at exactly the value it had.
   */
  async bootstrap(): Promise<void> {
    const mine = (by: string | null | undefined) => this.agent === undefined || by === this.agent;
    for await (const f of this.ledger.replay()) {
      if (f.type === 'send') {
        if (mine(f.probe.agent)) this.countSend(f.probe);
        if (f.probe.outcome === 'missing' && mine(f.probe.resolvedBy)) this.countMissing(f.probe);
      } else if (mine(f.copy.countedBy)) {
        this.countCopy(f.probe, f.copy);
      }
    }
    const t = await this.ledger.totals();
    for (const r of t.mailboxErrors)
      this.mailboxErrors.inc({ seed: r.seed, provider: this.providerOf.get(r.seed) ?? 'unknown', kind: r.kind }, r.count);
    this.cycles.inc(t.cycles.completed);
    this.cycleOverlaps.inc(t.cycles.overlaps);
    if (t.cycles.lastFinishedAtMs != null) this.lastCycle.set(t.cycles.lastFinishedAtMs / 1000);
  }

  /** A probe's SMTP attempt ended: accepted (sent), or failed/ambiguous (send error). */
  private countSend(row: ProbeRow): void {
    const l = { path: row.path, seed: row.seed, provider: row.provider };
    if (row.status === 'sending') return;
    if (row.smtpCode != null) this.replies.inc({ ...l, code: String(row.smtpCode) });
    if (row.status === 'accepted') {
      this.sent.inc(l);
      if (row.acceptedAtMs != null && row.acceptedAtMs / 1000 > (this.lastAccepted.get(`${row.path}\u0000${row.seed}`) ?? -1)) {
        this.lastAccepted.set(`${row.path}\u0000${row.seed}`, row.acceptedAtMs / 1000);
        this.lastProbe.set(l, row.acceptedAtMs / 1000);
      }
    } else if (row.errorReason) {
      this.sendErrors.inc({ ...l, reason: row.errorReason });
    }
  }

  /** An accepted probe concluded missing (at its deadline, or by a late first copy). */
  private countMissing(row: ProbeRow): void {
    if (row.status !== 'accepted') return;
    this.placements.inc({ path: row.path, seed: row.seed, provider: row.provider, placement: 'missing' });
  }

  /**
   * A recorded copy. Only copies of accepted probes count: a probe that was never accepted
   * (ambiguous) has no placement, so its copies are evidence in the ledger, not metrics.
   */
  private countCopy(
    p: ProbeRow,
    c: Pick<ObservationRow, 'kind' | 'placement' | 'auth' | 'deliveryLatencyMs' | 'detectionDelayMs' | 'copyNumber'> & {
      /** The copy's evidence as recorded (the replay has it; live events do not carry it). */
      evidence?: Record<string, unknown>;
    },
  ): void {
    if (p.status !== 'accepted') return;
    const l = { path: p.path, seed: p.seed, provider: p.provider };
    if (c.detectionDelayMs != null) this.detectionDelay.observeMs(l, c.detectionDelayMs);
    if (c.kind === 'first') {
      this.placements.inc({ ...l, placement: c.placement });
      if (c.deliveryLatencyMs != null) this.deliveryLatency.observeMs(l, c.deliveryLatencyMs);
      for (const method of AUTH_METHODS) {
        const result = c.auth?.[method];
        if (result) this.auth.inc({ ...l, method, result: authResultLabel(result) });
      }
    } else if (c.kind === 'duplicate') this.duplicates.inc(l);
    else if (c.kind === 'late') this.late.inc(l);
    // Which IP the provider saw, once per probe: on its first copy (late or not); a duplicate
    // took the same route or says nothing about the path the probe was sent on.
    if (c.copyNumber === 1 && this.egressIps.has(p.path)) {
      if (c.evidence) this.countEgress(p, c.evidence);
      else this.lookUpEgress(p);
    }
  }

  private countEgress(p: ProbeRow, evidence: Record<string, unknown>): void {
    const ips = this.egressIps.get(p.path);
    if (!ips) return;
    const l = { path: p.path, seed: p.seed, provider: p.provider };
    const verdict = egressVerdict(evidence.ingressIp, ips);
    if (verdict === 'unknown') this.egressUnknown.inc(l);
    else if (verdict === 'mismatch') this.egressMismatch.inc(l);
  }

  /**
   * A live event carries the copy's decision, not its evidence: read the first copy back as
   * the ledger recorded it (the replay at the next start reads the very same row). A failed
   * read is logged nowhere and counted at the next start instead.
   */
  private lookUpEgress(p: ProbeRow): void {
    const job = this.ledger
      .observations(p.id)
      .then((rows) => {
        const first = rows.find((o) => o.copyNumber === 1);
        if (first) this.countEgress(p, first.evidence);
      })
      .catch(() => undefined)
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Resolves when every live ingress-IP look-up started so far has been counted (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /**
   * Fleet mode: the seeds this agent watches now. `seedwatch_mailbox_up` exists only for them
   * (at 0 until their session is up), so summing or alerting over the fleet sees each seed once,
   * from its holder, and a seed held by nobody has no series (the fleet alert's business).
   */
  setWatched(seeds: ReadonlySet<string>, isUp: (seed: string) => boolean = () => false): void {
    for (const s of this.target.seeds) {
      const l = { seed: s.name, provider: s.provider };
      if (seeds.has(s.name) && !this.watched.has(s.name)) this.mailboxUp.set(l, isUp(s.name) ? 1 : 0);
      else if (!seeds.has(s.name) && this.watched.has(s.name)) this.mailboxUp.remove(l);
    }
    this.watched = new Set(seeds);
  }

  cycleFinished(atMs: number): void {
    this.cycles.inc();
    this.lastCycle.set(atMs / 1000);
  }

  cycleOverlapped(): void {
    this.cycleOverlaps.inc();
  }

  /** The event sink: increments exactly what the ledger reported as new. */
  readonly events: AgentEvents = {
    sendFinished: (row: ProbeRow) => this.countSend(row),
    observed: (r: ObservationResult) => {
      if (!r.probe || (r.kind !== 'first' && r.kind !== 'duplicate' && r.kind !== 'late') || !r.placement) return;
      this.countCopy(r.probe, {
        kind: r.kind,
        copyNumber: r.copyNumber,
        placement: r.placement,
        auth: r.auth ?? {},
        deliveryLatencyMs: r.deliveryLatencyMs ?? null,
        detectionDelayMs: r.detectionDelayMs ?? null,
      });
    },
    missing: (rows: ProbeRow[]) => {
      for (const p of rows) this.countMissing(p);
    },
    mailboxState: (seed: string, up: boolean) => {
      if (!this.watched.has(seed)) return;
      this.mailboxUp.set({ seed, provider: this.providerOf.get(seed) ?? 'unknown' }, up ? 1 : 0);
    },
    mailboxError: (seed, kind) => {
      this.mailboxErrors.inc({ seed, provider: this.providerOf.get(seed) ?? 'unknown', kind });
    },
  };
}
