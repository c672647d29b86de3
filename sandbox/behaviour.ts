/**
 * The sandbox's behaviour model: how each simulated provider treats mail from each egress path.
 * Pure: plain data in, plain data out; randomness comes from an injected (seedable) draw.
 *
 * Defaults are chosen so the dashboards have something to show within minutes: peering is
 * healthier than transit (less spam, faster, fewer duplicates and losses), Gmail sorts some
 * inbox mail into tabs, and a scripted incident turns the transit path into Outlook to spam for
 * five minutes of every quarter hour.
 */
import { logNormal, uniform, type Random } from './prng.js';

export const SANDBOX_PROVIDERS = ['gmail', 'outlook', 'yahoo', 'orange'] as const;
export type SandboxProvider = (typeof SANDBOX_PROVIDERS)[number];

/** Mail domain each simulated provider answers for (its seeds' addresses end in it). */
export const PROVIDER_DOMAINS: Record<SandboxProvider, string> = {
  gmail: 'gmail.com',
  outlook: 'outlook.com',
  yahoo: 'yahoo.com',
  orange: 'orange.fr',
};

export type GmailTab = 'primary' | 'promotions' | 'social' | 'updates' | 'forums';

export interface LatencyModel {
  /** Median of the log-normal body of the SMTP accept → provider arrival delay, in ms. */
  medianMs: number;
  /** Spread of the log-normal (sigma of the logarithm); 0.5 puts p95 at ~2.3x the median. */
  sigma: number;
  /** Share of deliveries that take the slow tail instead (greylisting, queue backlog). */
  tailShare: number;
  /** The tail is uniform in [tailMinMs, tailMaxMs). */
  tailMinMs: number;
  tailMaxMs: number;
}

export interface RouteBehaviour {
  /** Share (0–1) of delivered mail that lands in the spam folder. */
  spamShare: number;
  /** Gmail only: shares (0–1) of INBOX deliveries sorted into each tab; the rest is Primary. */
  tabs: { promotions: number; social: number; updates: number; forums: number };
  latency: LatencyModel;
  /** Share (0–1) of accepted mail delivered twice (the second copy after its own delay). */
  duplicateShare: number;
  /** Share (0–1) of mail accepted with 250 and then silently dropped. */
  lossShare: number;
  /** Provider arrival → mailbox (INTERNALDATE) delay, uniform in [minMs, maxMs). */
  internalDelay: { minMs: number; maxMs: number };
}

/** A scripted incident: on one provider × path, spam share jumps for part of every period. */
export interface Incident {
  provider: SandboxProvider;
  path: string;
  /** The incident repeats every periodMs (wall clock, from the epoch plus offsetMs). */
  periodMs: number;
  /** It lasts durationMs at the start of each period; durationMs >= periodMs means always on. */
  durationMs: number;
  offsetMs: number;
  /** Spam share while it is on. */
  spamShare: number;
}

export type RouteOverride = Partial<Omit<RouteBehaviour, 'tabs' | 'latency' | 'internalDelay'>> & {
  tabs?: Partial<RouteBehaviour['tabs']>;
  latency?: Partial<LatencyModel>;
  internalDelay?: Partial<RouteBehaviour['internalDelay']>;
};

export interface BehaviourOverrides {
  /** Applied to every provider × path, after the defaults. */
  all?: RouteOverride;
  /** Applied to one provider × path, after `all`: `{ outlook: { transit: { spamShare: 1 } } }`. */
  routes?: Partial<Record<SandboxProvider, Record<string, RouteOverride>>>;
  /** Replaces the default incidents (pass [] for none). */
  incidents?: Incident[];
}

const MINUTE_MS = 60_000;

/** The default incident: transit → Outlook goes to spam during minutes 0–4 of every quarter hour. */
export const DEFAULT_INCIDENTS: readonly Incident[] = [
  { provider: 'outlook', path: 'transit', periodMs: 15 * MINUTE_MS, durationMs: 5 * MINUTE_MS, offsetMs: 0, spamShare: 0.9 },
];

const NO_TABS = { promotions: 0, social: 0, updates: 0, forums: 0 };

/** Base behaviour per path kind; peering is the healthy one. Paths of other names use `transit`'s. */
const PATH_BASE: Record<'peering' | 'transit', Omit<RouteBehaviour, 'spamShare' | 'tabs'>> = {
  peering: {
    latency: { medianMs: 1_200, sigma: 0.45, tailShare: 0.005, tailMinMs: 15_000, tailMaxMs: 45_000 },
    duplicateShare: 0.003,
    lossShare: 0.002,
    internalDelay: { minMs: 100, maxMs: 600 },
  },
  transit: {
    latency: { medianMs: 2_600, sigma: 0.6, tailShare: 0.02, tailMinMs: 20_000, tailMaxMs: 90_000 },
    duplicateShare: 0.012,
    lossShare: 0.01,
    internalDelay: { minMs: 150, maxMs: 900 },
  },
};

/** Spam share per provider, peering then transit. */
const SPAM: Record<SandboxProvider, { peering: number; transit: number }> = {
  gmail: { peering: 0.02, transit: 0.07 },
  outlook: { peering: 0.03, transit: 0.08 },
  yahoo: { peering: 0.04, transit: 0.12 },
  orange: { peering: 0.02, transit: 0.06 },
};

const GMAIL_TABS = {
  peering: { promotions: 0.2, social: 0.02, updates: 0.08, forums: 0.01 },
  transit: { promotions: 0.3, social: 0.02, updates: 0.06, forums: 0.01 },
};

function pathKind(path: string): 'peering' | 'transit' {
  return path === 'peering' ? 'peering' : 'transit';
}

export function defaultRouteBehaviour(provider: SandboxProvider, path: string): RouteBehaviour {
  const kind = pathKind(path);
  const base = PATH_BASE[kind];
  return {
    spamShare: SPAM[provider][kind],
    tabs: provider === 'gmail' ? { ...GMAIL_TABS[kind] } : { ...NO_TABS },
    latency: { ...base.latency },
    duplicateShare: base.duplicateShare,
    lossShare: base.lossShare,
    internalDelay: { ...base.internalDelay },
  };
}

function applyOverride(b: RouteBehaviour, o: RouteOverride | undefined): RouteBehaviour {
  if (!o) return b;
  return {
    spamShare: o.spamShare ?? b.spamShare,
    tabs: { ...b.tabs, ...(o.tabs ?? {}) },
    latency: { ...b.latency, ...(o.latency ?? {}) },
    duplicateShare: o.duplicateShare ?? b.duplicateShare,
    lossShare: o.lossShare ?? b.lossShare,
    internalDelay: { ...b.internalDelay, ...(o.internalDelay ?? {}) },
  };
}

/** The resolved model: behaviour per provider × path and the incidents. */
export class BehaviourModel {
  readonly incidents: readonly Incident[];
  constructor(private readonly overrides: BehaviourOverrides = {}) {
    this.incidents = overrides.incidents ?? DEFAULT_INCIDENTS;
  }

  route(provider: SandboxProvider, path: string): RouteBehaviour {
    const withAll = applyOverride(defaultRouteBehaviour(provider, path), this.overrides.all);
    return applyOverride(withAll, this.overrides.routes?.[provider]?.[path]);
  }

  /** The incident on this route at nowMs, if one is on. */
  activeIncident(provider: SandboxProvider, path: string, nowMs: number): Incident | undefined {
    return this.incidents.find((i) => i.provider === provider && i.path === path && incidentActive(i, nowMs));
  }
}

export function incidentActive(i: Incident, nowMs: number): boolean {
  if (i.durationMs >= i.periodMs) return true;
  if (i.durationMs <= 0 || i.periodMs <= 0) return false;
  const phase = (((nowMs - i.offsetMs) % i.periodMs) + i.periodMs) % i.periodMs;
  return phase < i.durationMs;
}

export interface PlannedCopy {
  folder: 'inbox' | 'spam';
  /** Gmail only, for inbox copies. */
  tab?: GmailTab;
  /** SMTP accept → provider arrival (t2 − t1). */
  latencyMs: number;
  /** Provider arrival → mailbox (t3 − t2). */
  internalDelayMs: number;
}

export interface DeliveryPlan {
  /** Accepted with 250 and then dropped: no copy. */
  lost: boolean;
  /** Why the placement is what it is (for logs and stats). */
  incident: boolean;
  copies: PlannedCopy[];
}

function latencyDraw(l: LatencyModel, random: Random): number {
  // Always three draws (tail coin, two for the normal), whichever branch is taken.
  const tail = random() < l.tailShare;
  const body = logNormal(random, l.medianMs, l.sigma);
  return Math.max(0, Math.round(tail ? uniform(random, l.tailMinMs, l.tailMaxMs) : body));
}

function tabDraw(tabs: RouteBehaviour['tabs'], r: number): GmailTab {
  let acc = 0;
  for (const t of ['promotions', 'social', 'updates', 'forums'] as const) {
    acc += tabs[t];
    if (r < acc) return t;
  }
  return 'primary';
}

/**
 * What happens to one accepted message for one recipient. The draws are taken in a fixed
 * order and number (loss, spam, tab, duplicate, then the latencies of two copies), so the
 * same seed gives the same plan whatever the outcome.
 */
export function planDelivery(
  provider: SandboxProvider,
  b: RouteBehaviour,
  incident: Incident | undefined,
  random: Random,
): DeliveryPlan {
  const lossDraw = random();
  const spamDraw = random();
  const tabDrawValue = random();
  const dupDraw = random();
  const latencies = [latencyDraw(b.latency, random), latencyDraw(b.latency, random)];
  const internal = [uniform(random, b.internalDelay.minMs, b.internalDelay.maxMs), uniform(random, b.internalDelay.minMs, b.internalDelay.maxMs)];
  const spamShare = incident ? incident.spamShare : b.spamShare;
  if (lossDraw < b.lossShare) return { lost: true, incident: incident !== undefined, copies: [] };
  const folder = spamDraw < spamShare ? 'spam' : 'inbox';
  const tab = provider === 'gmail' && folder === 'inbox' ? tabDraw(b.tabs, tabDrawValue) : undefined;
  const first: PlannedCopy = { folder, latencyMs: latencies[0], internalDelayMs: Math.round(internal[0]) };
  if (tab) first.tab = tab;
  const copies = [first];
  if (dupDraw < b.duplicateShare) {
    // The duplicate is a second delivery of the same message: it arrives after the first.
    copies.push({ ...first, latencyMs: latencies[0] + latencies[1], internalDelayMs: Math.round(internal[1]) });
  }
  return { lost: false, incident: incident !== undefined, copies };
}
