// The one place for every threshold, window, `for` duration, selector and guard of the
// seedwatch monitoring mixin (dashboards, recording rules, alerts). Each value says
// when to change it. Rules and dashboards read only this object, so a test variant
// (`shortenedConfig`) can shrink windows without changing the shape of any expression.

import { MIN_PROBES_FOR_SHARE } from '../../agent/domain/statistics.js';

/** A Prometheus duration string, e.g. "5m", "1h", "7d". */
export type PromDuration = string;

export interface WindowSet {
  /** Short window: fast-reacting shares, pages. Named `1h` in recorded series names. */
  short: PromDuration;
  /** Daily window: slower, persistent signals (path divergence). Named `1d`. */
  day: PromDuration;
  /** Baseline window: "normal" for a provider × path. Named `7d`. */
  week: PromDuration;
  /**
   * Step at which the day/week shares sum the short-window increases (a subquery
   * resolution). Must equal `short` so consecutive windows tile without overlap.
   */
  step: PromDuration;
}

export interface MixinConfig {
  /**
   * Label matchers (without braces) that select the seedwatch scrape job. Change it
   * when your scrape config names the job differently or several agents must be told
   * apart (e.g. `job="seedwatch",site="fra1"`).
   */
  selector: string;
  /**
   * Runbook link pattern; `{alert}` becomes the lower-case alert name (the anchor in
   * docs/runbook.md). Change it when you host the runbook elsewhere (wiki, internal docs).
   */
  runbookUrlPattern: string;
  /** Windows of the recorded placement shares (see WindowSet). */
  windows: WindowSet;
  /**
   * Evaluation interval of the rule groups. Keep it below Prometheus' 5 m look-back, or
   * recorded series look stale between evaluations; raise it (≤ 2m) only to save CPU.
   */
  ruleInterval: PromDuration;
  /** Interval at which the agent runs a probe cycle (its `schedule`), in seconds. */
  cycleIntervalSeconds: number;
  alerts: {
    spamHigh: {
      /**
       * Pages when the LOWER bound of the 95 % Wilson interval of the spam share over the short
       * window exceeds this: "at least this share lands in spam, and that is not bad luck of a few
       * probes". 0.1 is where 1 of 2 probes in spam (bound 9.5 %) does not page and 10 of 40 (bound
       * 14.2 %) does; at 12 probes an hour it takes 4 in spam, at 1200 about 13 %. Lower it for
       * senders whose inbox share is normally > 99 %; above 0.14 even 10 of 40 stays quiet.
       */
      threshold: number;
      /**
       * Probes per provider × path in the short window before a share means anything (also
       * MIN_PROBES_FOR_SHARE, the "too few probes" line of every page). The bound alone would
       * page on 1 of 1 (Wilson lower bound 20.7 %). Lower it only with fewer seeds (about 12
       * probes/h per seed and path at a 5-minute schedule).
       */
      minProbes: number;
      /** How long the share must stay high. Raise it if single bad cycles page you. */
      for: PromDuration;
    };
    spamSpike: {
      /** Short-window spam share must exceed the 7-day share times this factor. Lower it to catch smaller relative jumps. */
      factor: number;
      /** …and be at least this much (absolute share) above the 7-day share, so 0.5 % → 1.5 % does not page. */
      minDelta: number;
      /** Probes in the short window (as spamHigh.minProbes). */
      minProbes: number;
      /** Probes in the 7-day window before a baseline is trusted. Lower it right after a new provider or path is added. */
      minBaselineProbes: number;
      for: PromDuration;
    };
    pathDivergence: {
      /**
       * Opens a ticket when a path's 95 % Wilson interval of the daily spam share lies entirely
       * above another path's to the same provider (its lower bound above the best path's upper
       * bound): no fixed threshold, the counts say when a difference is real. Non-overlapping
       * 95 % intervals are a conservative test (p well below 0.05), which suits a slow signal.
       * Probes per provider × path in the daily window on both sides of the comparison.
       */
      minProbes: number;
      /** Divergence is a slow signal; raise it if traffic shifts between paths cause noise. */
      for: PromDuration;
    };
    probesMissing: {
      /** Share of a seed's probes (per path) that never arrived before the deadline. Raise it for providers known to drop probes silently. */
      threshold: number;
      /** Probes per provider × path × seed in the short window (a 5-minute schedule gives 12/h). */
      minProbes: number;
      for: PromDuration;
    };
    deliverySlow: {
      /** Latency quantile compared with the threshold. */
      quantile: number;
      /** Seconds from SMTP accept to arrival at the provider. Raise it if a provider routinely greylists or throttles. */
      thresholdSeconds: number;
      /** Observed deliveries in the short window before the quantile is trusted. */
      minSamples: number;
      for: PromDuration;
    };
    duplicates: {
      /** Extra copies per placed probe in the short window. Raise it if a path is known to retry on ambiguous replies. */
      threshold: number;
      minProbes: number;
      for: PromDuration;
    };
    authFailing: {
      /** Methods judged (regex). ARC is left out: "none" is normal without forwarding. */
      methods: string;
      /** Results that count as passing (regex). */
      passResults: string;
      /** Share of non-passing results per method. Lower it once authentication is stable everywhere. */
      threshold: number;
      minResults: number;
      for: PromDuration;
    };
    sendFailing: {
      /** Window over which send attempts are judged; shorter than `windows.short` because a broken path needs no placement data. */
      window: PromDuration;
      /** Share of send attempts that failed. Raise it while a path is deliberately throttled. */
      threshold: number;
      /** Send attempts per provider × path in the window. */
      minAttempts: number;
      for: PromDuration;
    };
    mailboxDown: {
      /** How long a seed's IMAP session may be unhealthy. Raise it for providers with frequent forced re-logins. */
      for: PromDuration;
    };
    notProbing: {
      /** Missed cycles before paging: "no successful cycle for two intervals". */
      missedCycles: number;
      for: PromDuration;
    };
    egressListed: {
      /**
       * How long a path IP must stay listed on a DNSBL before it pages. The agent looks every
       * reputation.dnsbl.interval (15m); keep this shorter than that interval so one listed
       * answer is enough, raise it if a list you query flaps.
       */
      for: PromDuration;
    };
    sndsFilter: {
      /** How long SNDS must report RED (page) or YELLOW (ticket). SNDS data changes once a day; this only rides out a reload. */
      for: PromDuration;
    };
    gmailSpamRate: {
      /** User-reported spam rate that opens a ticket: Google's "stay below 0.1 %" recommendation. */
      ticket: number;
      /** User-reported spam rate that pages: Google's bulk-sender limit (0.3 %); above it Gmail filters and rejects. */
      page: number;
      /** Ignore a rate whose day is older than this (Postmaster Tools lags 1–3 days; older means no fresh data). */
      maxDataAgeSeconds: number;
      for: PromDuration;
    };
    egressMismatch: {
      /** Window over which mismatched probes are counted. */
      window: PromDuration;
      /**
       * Probes received from an IP that is not the path's, per provider × path, above which it
       * pages. 0: any such probe means the path comparison is wrong and the egress route changed;
       * raise it only while an IP pool is being migrated.
       */
      threshold: number;
      for: PromDuration;
    };
    pathDnsBroken: {
      /** How long FCrDNS, HELO or SPF must fail for a path IP (checked every reputation.hygiene.interval). Raise it for DNS changes under way. */
      for: PromDuration;
    };
  };
  dashboards: {
    /** Uid prefix of the dashboards; change it only when two seedwatch installs share one Grafana. */
    uidPrefix: string;
    /** Tags on every dashboard (dashboard links and search use them). */
    tags: string[];
    /**
     * Minimum interval of share panels: at least two probe cycles, so each point holds
     * probes. Raise it with a slower schedule.
     */
    minShareInterval: PromDuration;
    /** Dashboard refresh period; the agent changes at most once per cycle. */
    refresh: string;
  };
}

export const defaultConfig: MixinConfig = {
  selector: 'job="seedwatch"',
  runbookUrlPattern: 'https://github.com/seedwatch/seedwatch/blob/main/docs/runbook.md#{alert}',
  windows: { short: '1h', day: '1d', week: '7d', step: '1h' },
  ruleInterval: '1m',
  cycleIntervalSeconds: 300,
  alerts: {
    spamHigh: { threshold: 0.1, minProbes: MIN_PROBES_FOR_SHARE, for: '15m' },
    spamSpike: { factor: 3, minDelta: 0.1, minProbes: 10, minBaselineProbes: 100, for: '10m' },
    pathDivergence: { minProbes: 50, for: '1h' },
    probesMissing: { threshold: 0.5, minProbes: 6, for: '15m' },
    deliverySlow: { quantile: 0.95, thresholdSeconds: 600, minSamples: 10, for: '30m' },
    duplicates: { threshold: 0.05, minProbes: 10, for: '30m' },
    authFailing: { methods: 'spf|dkim|dmarc', passResults: 'pass', threshold: 0.1, minResults: 10, for: '30m' },
    sendFailing: { window: '30m', threshold: 0.2, minAttempts: 5, for: '15m' },
    mailboxDown: { for: '10m' },
    notProbing: { missedCycles: 2, for: '5m' },
    egressListed: { for: '5m' },
    sndsFilter: { for: '10m' },
    gmailSpamRate: { ticket: 0.001, page: 0.003, maxDataAgeSeconds: 5 * 86_400, for: '30m' },
    egressMismatch: { window: '1h', threshold: 0, for: '5m' },
    pathDnsBroken: { for: '30m' },
  },
  dashboards: {
    uidPrefix: 'seedwatch',
    tags: ['seedwatch', 'deliverability'],
    minShareInterval: '10m',
    refresh: '1m',
  },
};

export interface ShortenOptions {
  /** Replaces windows.short and windows.step (default "1m"). */
  short?: PromDuration;
  /** Replaces windows.day (default "3m"). */
  day?: PromDuration;
  /** Replaces windows.week (default "10m"). */
  week?: PromDuration;
  /** Replaces every alert's `for` (default "0s": fire on the first true evaluation). */
  for?: PromDuration;
  /** Replaces ruleInterval (default "1s"). */
  ruleInterval?: PromDuration;
  /** Replaces alerts.sendFailing.window (default = short). */
  sendWindow?: PromDuration;
  /** Replaces cycleIntervalSeconds, e.g. the test agent's schedule. */
  cycleIntervalSeconds?: number;
  /**
   * Replaces every minimum probe/sample/attempt guard (default: keep them). A test
   * with few probes per short window sets it low; the guard itself stays in the
   * expression.
   */
  minProbes?: number;
}

/**
 * A copy of `cfg` with shortened windows, `for` durations and rule interval, for
 * end-to-end tests against a live Prometheus. Thresholds, selectors and probe guards
 * stay as they are, and every expression keeps its shape: only durations change.
 */
export function shortenedConfig(cfg: MixinConfig = defaultConfig, opts: ShortenOptions = {}): MixinConfig {
  const short = opts.short ?? '1m';
  const forDur = opts.for ?? '0s';
  const a = cfg.alerts;
  const g = (n: number): number => opts.minProbes ?? n;
  return {
    ...cfg,
    windows: { short, day: opts.day ?? '3m', week: opts.week ?? '10m', step: short },
    ruleInterval: opts.ruleInterval ?? '1s',
    cycleIntervalSeconds: opts.cycleIntervalSeconds ?? cfg.cycleIntervalSeconds,
    alerts: {
      spamHigh: { ...a.spamHigh, minProbes: g(a.spamHigh.minProbes), for: forDur },
      spamSpike: {
        ...a.spamSpike,
        minProbes: g(a.spamSpike.minProbes),
        minBaselineProbes: g(a.spamSpike.minBaselineProbes),
        for: forDur,
      },
      pathDivergence: { ...a.pathDivergence, minProbes: g(a.pathDivergence.minProbes), for: forDur },
      probesMissing: { ...a.probesMissing, minProbes: g(a.probesMissing.minProbes), for: forDur },
      deliverySlow: { ...a.deliverySlow, minSamples: g(a.deliverySlow.minSamples), for: forDur },
      duplicates: { ...a.duplicates, minProbes: g(a.duplicates.minProbes), for: forDur },
      authFailing: { ...a.authFailing, minResults: g(a.authFailing.minResults), for: forDur },
      sendFailing: {
        ...a.sendFailing,
        window: opts.sendWindow ?? short,
        minAttempts: g(a.sendFailing.minAttempts),
        for: forDur,
      },
      mailboxDown: { for: forDur },
      notProbing: { ...a.notProbing, for: forDur },
      egressListed: { for: forDur },
      sndsFilter: { for: forDur },
      gmailSpamRate: { ...a.gmailSpamRate, for: forDur },
      egressMismatch: { ...a.egressMismatch, window: short, for: forDur },
      pathDnsBroken: { for: forDur },
    },
    dashboards: { ...cfg.dashboards, tags: [...cfg.dashboards.tags] },
  };
}

/** `{selector,extra}` as one matcher list; empty parts are dropped. */
export function matchers(cfg: MixinConfig, ...extra: string[]): string {
  return `{${[cfg.selector, ...extra].filter((s) => s.length > 0).join(', ')}}`;
}

/** The runbook URL of an alert, from the configured pattern. */
export function runbookUrl(cfg: MixinConfig, alert: string): string {
  return cfg.runbookUrlPattern.replace('{alert}', alert.toLowerCase());
}
