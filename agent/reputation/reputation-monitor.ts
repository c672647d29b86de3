/**
 * Runs the configured reputation sources, each on its own interval (first run at start), never
 * two runs of one source at once, never throwing: every failure becomes an error count, a log
 * line and a note in the API, and the agent goes on. Results go to the reputation metrics, to
 * memory (the API, the status page) and to the ledger's key/value store (restart, weekly report);
 * the errors of a run are written to the ledger as it ends, and only then exported
 * (reputation-error-counts.ts).
 *
 *   dnsbl       every path IP x zone (dnsbl.ts), through reputation.dnsbl.servers
 *   hygiene     FCrDNS, HELO and SPF of every path IP (fcrdns.ts, spf-check.ts), through dns.servers
 *   snds        Microsoft SNDS data and blocked IPs (snds.ts)
 *   postmaster  Gmail Postmaster Tools statistics and compliance per domain (postmaster.ts)
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/load-config.js';
import type { SecretValue } from '../config/secret.js';
import type { FetchLike } from '../auth/token-endpoint.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { heloName } from '../send/helo-name.js';
import { createResolver, type DnsResolver } from './dns-resolver.js';
import { lookupDnsbl } from './dnsbl.js';
import { checkFcrdns, heloMatches } from './fcrdns.js';
import { PostmasterClient, POSTMASTER_METRICS, type AccessTokens } from './postmaster.js';
import type { ReputationSource, SourceError, SourceErrorKind } from './reputation-errors.js';
import { ReputationMetrics, SNDS_FILTER_VALUE } from './reputation-metrics.js';
import {
  parseStored,
  pruneHistory,
  STATE_KEYS,
  utcDay,
  type DnsblEntry,
  type DnsblState,
  type HygieneEntry,
  type HygieneState,
  type PostmasterDomainState,
  type PostmasterState,
  type ReputationSnapshot,
  type SndsIpEntry,
  type SndsState,
} from './reputation-state.js';
import { blockedBy, fetchSnds, latestPerIp } from './snds.js';
import { checkSpf, senderAddressOf } from './spf-check.js';

/** Lookups in flight at once in one DNSBL or hygiene run (a DNSBL answers in milliseconds). */
const DNS_CONCURRENCY = 8;
/** Failures kept for the API, newest first. */
const MAX_ERRORS = 50;
/** Days of Postmaster statistics asked for per run (the data lags one to three days). */
const POSTMASTER_DAYS = 10;
/** stop() waits this long for a run in flight; its late result is then dropped. */
const STOP_WAIT_MS = 1_000;

export interface ReputationDeps {
  config: Pick<Config, 'reputation' | 'paths' | 'probe' | 'dns'>;
  ledger: Pick<Ledger, 'getState' | 'setState'>;
  metrics: ReputationMetrics;
  clock: Clock;
  log: Logger;
  /** The SNDS key, resolved when the run needs it (a replaced secret file is picked up). */
  sndsKey?: () => SecretValue;
  /** Access tokens for Postmaster Tools (the agent's OAuth2 token source). */
  postmasterTokens?: AccessTokens;
  fetch?: FetchLike;
  /** Bounds one HTTP request (default REPUTATION_HTTP_TIMEOUT_MS). */
  httpTimeoutMs?: number;
  /** Bounds one DNS query attempt (default DNS_QUERY_TIMEOUT_MS). */
  dnsTimeoutMs?: number;
}

/** Runs `fn` now and then every `everyMs` after each run ends; never overlapping. */
class Interval {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  constructor(
    private readonly fn: () => Promise<void>,
    private readonly everyMs: number,
  ) {}

  start(): void {
    void this.runNow();
  }

  runNow(): Promise<void> {
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = this.fn()
      .catch(() => undefined)
      .finally(() => {
        this.running = null;
        if (!this.stopped) {
          this.timer = setTimeout(() => void this.runNow(), this.everyMs);
          // The HTTP server keeps the agent alive; a reputation timer alone must not.
          this.timer.unref();
        }
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export class ReputationMonitor {
  private readonly intervals = new Map<ReputationSource | 'dnsbl', Interval>();
  private readonly errors: SourceError[] = [];
  private stopped = false;
  private dnsbl: DnsblState = { entries: [], history: {}, lastRunAtMs: null };
  private hygiene: HygieneState = { entries: [], lastRunAtMs: null };
  private snds: SndsState = { ips: [], malformed: [], history: {}, lastRunAtMs: null, lastSuccessAtMs: null };
  private postmaster: PostmasterState = { domains: [], history: {}, lastRunAtMs: null };
  private readonly pathIps: { path: string; ip: string; helo?: string }[];
  private readonly pathOf = new Map<string, string>();

  private constructor(private readonly deps: ReputationDeps) {
    // Direct-to-MX paths: the HELO name the sender really uses (configured or the default);
    // relay paths: none of ours (the relay says its own name).
    this.pathIps = deps.config.paths.flatMap((p) => {
      const helo = p.mx ? heloName(p.mx) : undefined;
      return p.ips.map((ip) => ({ path: p.name, ip, ...(helo !== undefined ? { helo } : {}) }));
    });
    for (const { path, ip } of this.pathIps) if (!this.pathOf.has(ip)) this.pathOf.set(ip, path);
  }

  /** Loads the stored answers, then starts every configured source. Nothing configured: nothing runs. */
  static async start(deps: ReputationDeps): Promise<ReputationMonitor> {
    const m = new ReputationMonitor(deps);
    await m.load();
    const r = deps.config.reputation;
    const timeoutMs = deps.dnsTimeoutMs;
    // Each run's errors go to the ledger as it ends (and then to the counters).
    const every = (run: () => Promise<void>, everyMs: number) =>
      new Interval(async () => {
        try {
          await run();
        } finally {
          if (!m.stopped) await m.persistErrors();
        }
      }, everyMs);
    if (r?.dnsbl) {
      const resolver = createResolver(r.dnsbl.servers, { timeoutMs });
      m.intervals.set('dnsbl', every(() => m.runDnsbl(resolver, r.dnsbl!.zones), r.dnsbl.interval));
    }
    if (r?.hygiene) {
      const resolver = createResolver(deps.config.dns?.servers, { timeoutMs });
      m.intervals.set('hygiene', every(() => m.runHygiene(resolver), r.hygiene.interval));
    }
    if (r?.snds && deps.sndsKey) {
      const snds = r.snds;
      const key = deps.sndsKey;
      m.intervals.set('snds', every(() => m.runSnds(snds.url, key), snds.interval));
    }
    if (r?.postmaster && deps.postmasterTokens) {
      const pm = r.postmaster;
      const client = new PostmasterClient({ rootUrl: pm.rootUrl, tokens: deps.postmasterTokens, fetch: deps.fetch, timeoutMs: deps.httpTimeoutMs });
      m.intervals.set('postmaster', every(() => m.runPostmaster(client, pm.domains), pm.interval));
    }
    for (const i of m.intervals.values()) i.start();
    return m;
  }

  /** Runs a source now (or waits for its run in flight); all configured sources without an argument. */
  async runNow(source?: ReputationSource | 'dnsbl'): Promise<void> {
    const list = source ? [this.intervals.get(source)].filter((i) => i !== undefined) : [...this.intervals.values()];
    await Promise.all(list.map((i) => i.runNow()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.intervals.values()].map((i) => i.stop()));
    // The errors of runs that ended while stopping (the ledger is closed after this).
    await this.persistErrors();
  }

  snapshot(): ReputationSnapshot {
    const r = this.deps.config.reputation;
    const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    return {
      paths: this.deps.config.paths.map((p) => ({ name: p.name, ips: [...p.ips] })),
      ...(r?.dnsbl ? { dnsbl: { ...clone(this.dnsbl), zones: [...r.dnsbl.zones] } } : {}),
      ...(r?.hygiene ? { hygiene: clone(this.hygiene) } : {}),
      ...(r?.snds ? { snds: clone(this.snds) } : {}),
      ...(r?.postmaster ? { postmaster: clone(this.postmaster) } : {}),
      errors: clone(this.errors),
    };
  }

  // --- persistence -------------------------------------------------------------------------

  private async load(): Promise<void> {
    const read = async (key: string) => {
      try {
        return await this.deps.ledger.getState(key);
      } catch (err) {
        this.deps.log.warn({ key, err: (err as Error).message }, 'cannot read stored reputation state');
        return null;
      }
    };
    const dnsbl = parseStored<DnsblState>(await read(STATE_KEYS.dnsbl), ['entries', 'history']);
    if (dnsbl) this.dnsbl = dnsbl;
    const hygiene = parseStored<HygieneState>(await read(STATE_KEYS.hygiene), ['entries']);
    if (hygiene) this.hygiene = hygiene;
    const snds = parseStored<SndsState>(await read(STATE_KEYS.snds), ['ips', 'history']);
    if (snds) this.snds = snds;
    const pm = parseStored<PostmasterState>(await read(STATE_KEYS.postmaster), ['domains', 'history']);
    if (pm) this.postmaster = pm;
  }

  private async save(key: string, value: object): Promise<void> {
    if (this.stopped) return;
    try {
      await this.deps.ledger.setState(key, JSON.stringify(value));
    } catch (err) {
      this.deps.log.error({ key, err: (err as Error).message }, 'cannot store reputation state in the ledger');
    }
  }

  /** Never throws: errors the ledger cannot take now stay counted for the next write. */
  private async persistErrors(): Promise<void> {
    try {
      await this.deps.metrics.persistErrors();
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'cannot store reputation error counts in the ledger; they are kept for the next write');
    }
  }

  private noteError(source: SourceError['source'], kind: string, message: string): void {
    const atMs = this.deps.clock.nowMs();
    this.errors.unshift({ source, kind, message, atMs });
    if (this.errors.length > MAX_ERRORS) this.errors.length = MAX_ERRORS;
    if (source !== 'dnsbl') this.deps.metrics.countSourceError(source, kind);
    this.deps.log.warn({ source, kind, err: message }, 'reputation check failed');
  }

  private succeeded(source: ReputationSource | 'dnsbl', atMs: number): void {
    this.deps.metrics.lastSuccess?.set({ source }, atMs / 1000);
  }

  // --- DNSBL -------------------------------------------------------------------------------

  private async runDnsbl(resolver: DnsResolver, zones: readonly string[]): Promise<void> {
    const now = this.deps.clock.nowMs();
    const day = utcDay(now);
    const metrics = this.deps.metrics;
    const previous = new Map(this.dnsbl.entries.map((e) => [`${e.path}|${e.ip}|${e.zone}`, e]));
    const targets = this.pathIps.flatMap((p) => zones.map((zone) => ({ ...p, zone })));
    const answers = await mapLimit(targets, DNS_CONCURRENCY, (t) => lookupDnsbl(resolver, t.ip, t.zone));
    if (this.stopped) return;
    const history = { ...this.dnsbl.history };
    const today = { ...(history[day] ?? {}) };
    let failures = 0;
    const entries: DnsblEntry[] = targets.map((t, i) => {
      const key = `${t.path}|${t.ip}|${t.zone}`;
      const prev = previous.get(key);
      const a = answers[i];
      const base: DnsblEntry = prev
        ? { ...prev, error: undefined }
        : { path: t.path, ip: t.ip, zone: t.zone, status: 'unknown', codes: [], reasons: [], checkedAtMs: null, listedSinceMs: null };
      if (a.status === 'error') {
        failures++;
        metrics.countDnsblError(t.zone, a.kind);
        this.noteError('dnsbl', a.kind, `${t.ip} on ${t.zone}: ${a.message}`);
        return { ...base, error: { kind: a.kind, message: a.message, atMs: now } };
      }
      const listed = a.status === 'listed';
      metrics.dnsblListed?.set({ path: t.path, ip: t.ip, zone: t.zone }, listed ? 1 : 0);
      const h = today[key] ?? { checks: 0, listed: 0 };
      today[key] = { checks: h.checks + 1, listed: h.listed + (listed ? 1 : 0) };
      return {
        path: t.path,
        ip: t.ip,
        zone: t.zone,
        status: listed ? 'listed' : 'clear',
        codes: listed ? a.codes : [],
        reasons: listed ? a.reasons : [],
        checkedAtMs: now,
        listedSinceMs: listed ? (prev?.status === 'listed' && prev.listedSinceMs !== null ? prev.listedSinceMs : now) : null,
      };
    });
    history[day] = today;
    this.dnsbl = { entries, history: pruneHistory(history, now), lastRunAtMs: now };
    if (failures === 0) this.succeeded('dnsbl', now);
    await this.save(STATE_KEYS.dnsbl, this.dnsbl);
  }

  // --- DNS hygiene -------------------------------------------------------------------------

  private async runHygiene(resolver: DnsResolver): Promise<void> {
    const now = this.deps.clock.nowMs();
    const metrics = this.deps.metrics;
    const sender = senderAddressOf(this.deps.config.probe.from);
    const previous = new Map(this.hygiene.entries.map((e) => [`${e.path}|${e.ip}`, e]));
    let failures = 0;
    const entries = await mapLimit(this.pathIps, DNS_CONCURRENCY, async (t): Promise<HygieneEntry> => {
      const prev = previous.get(`${t.path}|${t.ip}`);
      const labels = { path: t.path, ip: t.ip };
      const [fcrdns, spf] = await Promise.all([checkFcrdns(resolver, t.ip), sender ? checkSpf(resolver, { ip: t.ip, sender, helo: t.helo }) : null]);
      const problems: string[] = [];
      let errorKind: string | undefined;
      const entry: HygieneEntry = {
        path: t.path,
        ip: t.ip,
        fcrdns: prev?.fcrdns ?? { status: 'unknown', ptr: [], confirmed: [] },
        spf: prev?.spf ?? { status: 'unknown', domain: sender?.slice(sender.lastIndexOf('@') + 1) ?? '' },
        checkedAtMs: now,
      };
      if (fcrdns.status === 'error') {
        problems.push(`FCrDNS: ${fcrdns.message}`);
        errorKind = fcrdns.kind;
      } else {
        entry.fcrdns = { status: fcrdns.status, ptr: fcrdns.ptr, confirmed: fcrdns.confirmed };
        metrics.fcrdnsOk?.set(labels, fcrdns.status === 'ok' ? 1 : 0);
      }
      if (t.helo) {
        const ok = heloMatches(t.helo, fcrdns);
        entry.helo = { name: t.helo, ok: ok ?? prev?.helo?.ok ?? null };
        if (ok !== null) metrics.heloOk?.set(labels, ok ? 1 : 0);
      }
      if (spf?.status === 'error') {
        problems.push(`SPF of ${spf.domain}: ${spf.message}`);
        errorKind ??= spf.kind;
      } else if (spf) {
        entry.spf = { status: spf.status, result: spf.result, domain: spf.domain };
        metrics.spfPass?.set(labels, spf.status === 'pass' ? 1 : 0);
      }
      if (problems.length > 0) {
        failures++;
        const message = `${t.ip} (${t.path}): ${problems.join('; ')}`;
        entry.error = { kind: errorKind ?? 'dns', message, atMs: now };
        this.noteError('hygiene', 'dns', message);
      }
      return entry;
    });
    if (this.stopped) return;
    this.hygiene = { entries, lastRunAtMs: now };
    if (failures === 0) this.succeeded('hygiene', now);
    await this.save(STATE_KEYS.hygiene, this.hygiene);
  }

  // --- SNDS --------------------------------------------------------------------------------

  private async runSnds(url: string, key: () => SecretValue): Promise<void> {
    const now = this.deps.clock.nowMs();
    const metrics = this.deps.metrics;
    let secret: SecretValue;
    try {
      secret = key();
    } catch (err) {
      this.snds = { ...this.snds, lastRunAtMs: now, error: { kind: 'forbidden', message: (err as Error).message, atMs: now } };
      this.noteError('snds', 'forbidden', (err as Error).message);
      return;
    }
    const res = await fetchSnds(url, secret.reveal(), { timeoutMs: this.deps.httpTimeoutMs, fetch: this.deps.fetch });
    if (this.stopped) return;
    if (!res.ok) {
      this.snds = { ...this.snds, lastRunAtMs: now, error: { kind: res.kind, message: res.message, atMs: now } };
      this.noteError('snds', res.kind, res.message);
      await this.save(STATE_KEYS.snds, this.snds);
      return;
    }
    const byIp = new Map(this.snds.ips.map((e) => [e.ip, e]));
    const history = { ...this.snds.history };
    for (const row of res.rows) {
      const path = this.pathOf.get(row.ip) ?? null;
      history[row.day] = { ...(history[row.day] ?? {}), [row.ip]: { path, filter: row.filterResult, complaintRate: row.complaintRate, trapHits: row.trapHits, recipients: row.recipients } };
    }
    for (const row of latestPerIp(res.rows).values()) {
      const path = this.pathOf.get(row.ip) ?? null;
      // Blocked comes from ipStatus (below); until it answers, the last known answer stays.
      const prev = byIp.get(row.ip);
      byIp.set(row.ip, { ...row, path, blocked: prev?.blocked ?? null, ...(prev?.blockedReason ? { blockedReason: prev.blockedReason } : {}), fetchedAtMs: now });
      const labels = { path: path ?? '', ip: row.ip };
      metrics.sndsFilter?.set(labels, SNDS_FILTER_VALUE[row.filterResult]);
      if (row.complaintRate !== null) metrics.sndsComplaintRate?.set(labels, row.complaintRate);
      metrics.sndsTrapHits?.set(labels, row.trapHits);
      metrics.sndsRecipients?.set(labels, row.recipients);
    }
    // Blocked: every IP SNDS reported and every IPv4 path IP (ipStatus lists blocked ranges only).
    // A failed ipStatus read says nothing about blocking: gauges and entries keep their last answer.
    const ranges = res.ranges;
    if (ranges !== null) {
      const ips = new Set([...byIp.keys(), ...this.pathIps.map((p) => p.ip).filter((ip) => !ip.includes(':'))]);
      for (const ip of ips) {
        const range = blockedBy(ranges, ip);
        const entry = byIp.get(ip);
        if (entry) byIp.set(ip, { ...entry, blocked: range !== undefined, ...(range ? { blockedReason: range.reason } : { blockedReason: undefined }) });
        metrics.sndsBlocked?.set({ path: this.pathOf.get(ip) ?? '', ip }, range ? 1 : 0);
      }
    }
    if (res.ipStatusError) this.noteError('snds', res.ipStatusError.kind, res.ipStatusError.message);
    for (const m of res.malformed) this.noteError('snds', 'malformed_row', `SNDS ${m.feed} line ${m.line}: ${m.reason}`);
    this.snds = {
      ips: [...byIp.values()].sort((a, b) => (a.path ?? '\uffff').localeCompare(b.path ?? '\uffff') || a.ip.localeCompare(b.ip)) as SndsIpEntry[],
      malformed: res.malformed,
      history: pruneHistory(history, now),
      lastRunAtMs: now,
      // The data feed was read: that is what "last success" of SNDS shows.
      lastSuccessAtMs: now,
      ...(res.ipStatusError ? { error: { ...res.ipStatusError, atMs: now } } : {}),
    };
    if (res.malformed.length === 0 && !res.ipStatusError) this.succeeded('snds', now);
    await this.save(STATE_KEYS.snds, this.snds);
  }

  // --- Gmail Postmaster Tools --------------------------------------------------------------

  private async runPostmaster(client: PostmasterClient, domains: readonly string[]): Promise<void> {
    const now = this.deps.clock.nowMs();
    const metrics = this.deps.metrics;
    let failures = 0;
    const fail = (kind: SourceErrorKind, message: string) => {
      failures++;
      this.noteError('postmaster', kind, message);
    };
    const listed = await client.listDomains();
    let domainListNote: string | undefined;
    const known = new Map<string, { verificationState: string; permission: string }>();
    if (listed.ok) for (const d of listed.value) known.set(d.domain, d);
    // Reading the domain list needs the postmaster.domain scope; statistics need only
    // postmaster.traffic.readonly. A token without the first is not an error.
    else if (listed.kind === 'forbidden') domainListNote = `the domain list is not readable with this token (${listed.message})`;
    else fail(listed.kind, listed.message);

    const previous = new Map(this.postmaster.domains.map((d) => [d.domain, d]));
    const history = { ...this.postmaster.history };
    const firstDay = utcDay(now - (POSTMASTER_DAYS - 1) * 86_400_000);
    const lastDay = utcDay(now);
    const states: PostmasterDomainState[] = [];
    for (const domain of domains) {
      const prev = previous.get(domain);
      const meta = known.get(domain.toLowerCase());
      const st: PostmasterDomainState = prev
        ? { ...prev, error: undefined }
        : { domain, latestDay: null, spamRate: null, authSuccess: {}, tlsEncryption: null, deliveryErrors: {}, fetchedAtMs: null };
      if (meta) {
        st.verificationState = meta.verificationState;
        st.permission = meta.permission;
      }
      const [stats, compliance] = [await client.domainStats(domain, firstDay, lastDay), await client.compliance(domain)];
      if (this.stopped) return;
      if (!stats.ok) {
        fail(stats.kind, `${domain}: ${stats.message}`);
        st.error = { kind: stats.kind, message: stats.message, atMs: now };
      } else {
        const latest = new Map<string, (typeof stats.value)[number]>();
        for (const s of stats.value) {
          const cur = latest.get(s.metric);
          if (!cur || s.day > cur.day) latest.set(s.metric, s);
          if (s.kind === 'spam_rate') history[s.day] = { ...(history[s.day] ?? {}), [domain]: { spamRate: s.value } };
        }
        for (const spec of POSTMASTER_METRICS) {
          const s = latest.get(spec.name);
          if (!s) continue;
          if (spec.kind === 'spam_rate') {
            st.spamRate = s.value;
            st.latestDay = s.day;
            metrics.pmSpamRate?.set({ domain }, s.value);
            metrics.pmDataTimestamp?.set({ domain }, Date.parse(`${s.day}T00:00:00Z`) / 1000);
          } else if (spec.kind === 'auth_success_rate') {
            st.authSuccess[spec.labels.auth_type as 'spf' | 'dkim' | 'dmarc'] = s.value;
            metrics.pmAuthSuccess?.set({ domain, auth_type: spec.labels.auth_type }, s.value);
          } else if (spec.kind === 'tls_encryption_rate') {
            st.tlsEncryption = s.value;
            metrics.pmTls?.set({ domain }, s.value);
          } else {
            st.deliveryErrors[`${spec.labels.error_type}/${spec.labels.error_reason}`] = s.value;
            metrics.pmDeliveryErrors?.set({ domain, error_type: spec.labels.error_type, error_reason: spec.labels.error_reason }, s.value);
          }
        }
        st.fetchedAtMs = now;
      }
      if (!compliance.ok) {
        fail(compliance.kind, `${domain}: ${compliance.message}`);
        st.error ??= { kind: compliance.kind, message: compliance.message, atMs: now };
      } else {
        st.compliance = compliance.value;
        const reqs: Record<string, string> = { ...compliance.value.requirements };
        if (compliance.value.oneClickUnsubscribe && !('one_click_unsubscribe' in reqs)) reqs.one_click_unsubscribe = compliance.value.oneClickUnsubscribe.status;
        if (compliance.value.honorUnsubscribe && !('honor_unsubscribe' in reqs)) reqs.honor_unsubscribe = compliance.value.honorUnsubscribe.status;
        for (const [requirement, status] of Object.entries(reqs)) {
          if (status === 'COMPLIANT' || status === 'NEEDS_WORK') metrics.pmCompliant?.set({ domain, requirement }, status === 'COMPLIANT' ? 1 : 0);
        }
      }
      states.push(st);
    }
    this.postmaster = { domains: states, history: pruneHistory(history, now), lastRunAtMs: now, ...(domainListNote ? { domainListNote } : {}) };
    if (failures === 0) this.succeeded('postmaster', now);
    await this.save(STATE_KEYS.postmaster, this.postmaster);
  }
}
