/**
 * The reputation metrics, on the agent's registry (the composition root hands it over). A
 * source that is not configured registers nothing: no series, no errors. Gauges of a path IP
 * appear with the first conclusive answer about it (a failed lookup sets nothing: "unknown" is
 * not "clean"); error counters exist at 0 for every configured zone or source and every kind.
 * The error counters are ledger facts (reputation-error-counts.ts): they export what the ledger
 * holds, so a restart resumes them where they were.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Ledger } from '../ledger/ledger.js';
import { DNS_ERROR_KINDS, type DnsErrorKind } from './dns-resolver.js';
import { ReputationErrorCounts } from './reputation-error-counts.js';
import { KINDS_OF_SOURCE, type ReputationSource } from './reputation-errors.js';
import { errorCountsKey, type ErrorTally } from './reputation-state.js';

export interface ReputationMetricsConfig {
  dnsblZones?: readonly string[];
  hygiene?: boolean;
  snds?: boolean;
  postmaster?: boolean;
}

/** SNDS filter result as the gauge value (README, "Reputation per egress path"): GREEN 0, YELLOW 1, RED 2. */
export const SNDS_FILTER_VALUE = { GREEN: 0, YELLOW: 1, RED: 2 } as const;

const PI = ['path', 'ip'] as const;

/** Where the error counts are kept. */
export interface ErrorCountsStore {
  ledger: Pick<Ledger, 'getState' | 'setState'>;
  /**
   * In a fleet, this agent's name: it keeps and exports its own counts (README, "Fleet"), as
   * the agent's other counters do. Absent: one agent.
   */
  agent?: string;
}

/** Without a ledger (a registry fed by hand, as the dashboards' test does) the counts live in the process. */
function processStore(): Pick<Ledger, 'getState' | 'setState'> {
  const m = new Map<string, string>();
  return { getState: async (k) => m.get(k) ?? null, setState: async (k, v) => void m.set(k, v) };
}

/**
 * Sets an error counter to the counts the ledger holds: every configured zone or source × kind
 * (0 when none), and any other kind counted for it. While the ledger cannot be read it exports
 * no series: an unknown count is not 0.
 */
async function exportCounts(counter: Counter<string>, label: 'zone' | 'source', read: () => Promise<ErrorTally>, kindsOf: ReadonlyMap<string, readonly string[]>): Promise<void> {
  let tally: ErrorTally;
  try {
    tally = await read();
  } catch {
    counter.reset();
    return;
  }
  counter.reset();
  for (const [group, kinds] of kindsOf) {
    for (const kind of new Set([...kinds, ...Object.keys(tally[group] ?? {})])) counter.inc({ [label]: group, kind }, tally[group]?.[kind] ?? 0);
  }
}

export class ReputationMetrics {
  readonly dnsblListed?: Gauge<'path' | 'ip' | 'zone'>;
  readonly dnsblErrors?: Counter<'zone' | 'kind'>;
  readonly fcrdnsOk?: Gauge<'path' | 'ip'>;
  readonly heloOk?: Gauge<'path' | 'ip'>;
  readonly spfPass?: Gauge<'path' | 'ip'>;
  readonly sndsFilter?: Gauge<'path' | 'ip'>;
  readonly sndsComplaintRate?: Gauge<'path' | 'ip'>;
  readonly sndsTrapHits?: Gauge<'path' | 'ip'>;
  readonly sndsRecipients?: Gauge<'path' | 'ip'>;
  readonly sndsBlocked?: Gauge<'path' | 'ip'>;
  readonly pmSpamRate?: Gauge<'domain'>;
  readonly pmAuthSuccess?: Gauge<'domain' | 'auth_type'>;
  readonly pmTls?: Gauge<'domain'>;
  readonly pmDeliveryErrors?: Gauge<'domain' | 'error_type' | 'error_reason'>;
  readonly pmCompliant?: Gauge<'domain' | 'requirement'>;
  readonly pmDataTimestamp?: Gauge<'domain'>;
  readonly sourceErrors?: Counter<'source' | 'kind'>;
  readonly lastSuccess?: Gauge<'source'>;
  private readonly errorCounts: ReputationErrorCounts;

  /** `store`: the ledger that keeps the error counts (absent: the process, see processStore). */
  constructor(registry: Registry, cfg: ReputationMetricsConfig, store?: ErrorCountsStore) {
    const registers = [registry];
    const counts = (this.errorCounts = new ReputationErrorCounts(store?.ledger ?? processStore(), errorCountsKey(store?.agent)));
    const zones = cfg.dnsblZones ?? [];
    if (zones.length > 0) {
      this.dnsblListed = new Gauge({ name: 'seedwatch_dnsbl_listed', help: 'Whether the path IP is listed on the DNSBL zone (1) or not (0), at the last conclusive lookup.', labelNames: ['path', 'ip', 'zone'] as const, registers });
      this.dnsblErrors = new Counter({
        name: 'seedwatch_dnsbl_errors_total',
        help: 'DNSBL lookups that failed (timeout, servfail, refused, unreachable, bad_answer, other; 127.255.255.x and 127.0.0.1 answers count as refused). Never read as "not listed".',
        labelNames: ['zone', 'kind'] as const,
        registers,
        collect() {
          return exportCounts(this, 'zone', async () => (await counts.persisted()).dnsbl, new Map(zones.map((z) => [z, DNS_ERROR_KINDS])));
        },
      });
    }
    if (cfg.hygiene) {
      this.fcrdnsOk = new Gauge({ name: 'seedwatch_path_fcrdns_ok', help: 'Whether the path IP has a PTR name that resolves back to it (forward-confirmed reverse DNS).', labelNames: PI, registers });
      this.heloOk = new Gauge({ name: 'seedwatch_path_helo_ok', help: "Direct-to-MX paths: whether the path's HELO name is one of the IP's forward-confirmed PTR names.", labelNames: PI, registers });
      this.spfPass = new Gauge({ name: 'seedwatch_path_spf_pass', help: "Whether the SPF record of the probes' envelope-sender domain authorizes the path IP (pass = 1).", labelNames: PI, registers });
    }
    if (cfg.snds) {
      this.sndsFilter = new Gauge({ name: 'seedwatch_snds_filter_result', help: "Microsoft SNDS filter result of the IP's last reported day: 0 GREEN, 1 YELLOW, 2 RED (path empty for IPs of no path).", labelNames: PI, registers });
      this.sndsComplaintRate = new Gauge({ name: 'seedwatch_snds_complaint_rate', help: 'Microsoft SNDS complaint rate (ratio) of the last reported day; "< 0.1%" is exported as its bound 0.001.', labelNames: PI, registers });
      this.sndsTrapHits = new Gauge({ name: 'seedwatch_snds_trap_hits', help: 'Microsoft SNDS spam-trap hits of the last reported day.', labelNames: PI, registers });
      this.sndsRecipients = new Gauge({ name: 'seedwatch_snds_recipients', help: 'Microsoft SNDS message recipients of the last reported day.', labelNames: PI, registers });
      this.sndsBlocked = new Gauge({ name: 'seedwatch_snds_blocked', help: 'Whether Microsoft SNDS lists the IP as blocked (ipStatus.aspx).', labelNames: PI, registers });
    }
    if (cfg.postmaster) {
      this.pmSpamRate = new Gauge({ name: 'seedwatch_gmail_postmaster_spam_rate', help: "Gmail Postmaster Tools: user-reported spam rate (ratio) of the domain's latest day with data. Google's bulk-sender rule: stay below 0.003.", labelNames: ['domain'] as const, registers });
      this.pmAuthSuccess = new Gauge({ name: 'seedwatch_gmail_postmaster_auth_success_rate', help: 'Gmail Postmaster Tools: share of the latest day\'s traffic passing SPF, DKIM or DMARC (auth_type).', labelNames: ['domain', 'auth_type'] as const, registers });
      this.pmTls = new Gauge({ name: 'seedwatch_gmail_postmaster_tls_encryption_rate', help: 'Gmail Postmaster Tools: share of the latest day\'s inbound traffic sent over TLS.', labelNames: ['domain'] as const, registers });
      this.pmDeliveryErrors = new Gauge({
        name: 'seedwatch_gmail_postmaster_delivery_error_rate',
        help: 'Gmail Postmaster Tools: delivery error rate of the latest day, by error_type (reject, temp_fail) and error_reason ("all" = the type as a whole).',
        labelNames: ['domain', 'error_type', 'error_reason'] as const,
        registers,
      });
      this.pmCompliant = new Gauge({ name: 'seedwatch_gmail_postmaster_compliant', help: "Gmail Postmaster Tools compliance status: 1 COMPLIANT, 0 NEEDS_WORK, per requirement (lower-case API names; one_click_unsubscribe and honor_unsubscribe from their verdicts).", labelNames: ['domain', 'requirement'] as const, registers });
      this.pmDataTimestamp = new Gauge({ name: 'seedwatch_gmail_postmaster_data_timestamp_seconds', help: "Gmail Postmaster Tools: start (UTC midnight) of the latest day the domain's spam rate is known for; the data lags one to three days.", labelNames: ['domain'] as const, registers });
    }
    const sources: ReputationSource[] = [...(cfg.hygiene ? ['hygiene' as const] : []), ...(cfg.snds ? ['snds' as const] : []), ...(cfg.postmaster ? ['postmaster' as const] : [])];
    if (sources.length > 0 || zones.length > 0) {
      this.lastSuccess = new Gauge({ name: 'seedwatch_reputation_last_success_timestamp_seconds', help: 'When each reputation source last completed a run without any error (dnsbl, hygiene, snds, postmaster).', labelNames: ['source'] as const, registers });
    }
    if (sources.length > 0) {
      this.sourceErrors = new Counter({
        name: 'seedwatch_reputation_errors_total',
        help: 'Failed requests of the reputation sources (hygiene, snds, postmaster) by kind; a malformed SNDS line counts once as malformed_row and is skipped.',
        labelNames: ['source', 'kind'] as const,
        registers,
        collect() {
          return exportCounts(this, 'source', async () => (await counts.persisted()).sources, new Map(sources.map((s) => [s, KINDS_OF_SOURCE[s]])));
        },
      });
    }
  }

  /** A failed DNSBL lookup; exported once persistErrors() has written it to the ledger. */
  countDnsblError(zone: string, kind: DnsErrorKind): void {
    this.errorCounts.count('dnsbl', zone, kind);
  }

  /** A failure of a source; exported once persistErrors() has written it to the ledger. */
  countSourceError(source: ReputationSource, kind: string): void {
    this.errorCounts.count('sources', source, kind);
  }

  /**
   * Writes the errors counted since the last call to the ledger, then the counters show them.
   * Rejects when the ledger cannot be read or written: they stay counted, for the next call.
   */
  persistErrors(): Promise<void> {
    return this.errorCounts.flush();
  }
}
