/**
 * Gmail Postmaster Tools API v2, three REST calls with Node's fetch (shapes from Google's v2
 * discovery document, revision 20260303):
 *   GET  v2/domains                          the domains registered to the account (paged)
 *   POST v2/domains/{d}/domainStats:query    daily statistics (metricDefinitions, timeQuery)
 *   GET  v2/domains/{d}/complianceStatus     the bulk-sender requirements and unsubscribe verdicts
 * The access token comes from the agent's own OAuth2 code (agent/auth): a refresh grant at
 * Google's token endpoint, cached until shortly before expiry. A 401 drops the token and the
 * call is tried once more with a fresh one.
 *
 * Rates are ratios 0–1, as the API returns them (user-reported spam rate 0.003 = 0.3 %).
 */
import type { FetchLike } from '../auth/token-endpoint.js';
import type { OAuth2Credentials } from '../auth/oauth2-credentials.js';
import type { SecretRef } from '../config/secret.js';
import type { SecretValue } from '../config/secret.js';
import { httpRequest, type HttpAnswer } from './http-request.js';
import type { SourceErrorKind } from './reputation-errors.js';

/**
 * The OAuth2 lineage of `reputation.postmaster.oauth2` for the agent's token source: a Google
 * refresh grant (no scope sent: the grant's own scopes, postmaster.traffic.readonly and
 * optionally postmaster.domain, apply).
 */
export function postmasterCredentials(oauth2: { clientId: string; clientSecret?: SecretRef; refreshToken: SecretRef; tokenUrl: string }): OAuth2Credentials {
  return {
    label: 'reputation.postmaster',
    fieldPath: 'reputation.postmaster.oauth2',
    // Names the lineage of the stored refresh token; Google issues it to the client, not a mailbox.
    user: 'gmail-postmaster-tools',
    tokenUrl: oauth2.tokenUrl,
    clientId: oauth2.clientId,
    ...(oauth2.clientSecret ? { clientSecret: oauth2.clientSecret } : {}),
    refreshToken: oauth2.refreshToken,
  };
}

/** What the client needs of an OAuth2 token source (AccessTokenSource has both). */
export interface AccessTokens {
  accessToken(): Promise<SecretValue>;
  invalidate(token: string): boolean;
}

export type PostmasterResult<T> = { ok: true; value: T } | { ok: false; kind: SourceErrorKind; message: string };

export interface PostmasterDomain {
  domain: string;
  verificationState: string;
  permission: string;
}

/** The delivery-error reasons per type the API documents (DELIVERY_ERROR_RATE filters). */
export const DELIVERY_ERROR_REASONS = {
  reject: ['bad_attachment', 'bad_or_missing_ptr_record', 'ip_in_rbls', 'low_domain_reputation', 'low_ip_reputation', 'spammy_content', 'stamp_policy_error', 'other'],
  temp_fail: ['anomalous_traffic_pattern', 'other'],
} as const;
export const AUTH_TYPES = ['spf', 'dkim', 'dmarc'] as const;

/** One queried metric: the name we give it (the API echoes it), its definition, and what it becomes. */
interface MetricSpec {
  name: string;
  standardMetric: string;
  filter?: string;
  kind: 'spam_rate' | 'auth_success_rate' | 'tls_encryption_rate' | 'delivery_error_rate';
  labels: Record<string, string>;
}

export const POSTMASTER_METRICS: readonly MetricSpec[] = [
  { name: 'spam_rate', standardMetric: 'SPAM_RATE', kind: 'spam_rate', labels: {} },
  ...AUTH_TYPES.map((t) => ({ name: `auth_${t}`, standardMetric: 'AUTH_SUCCESS_RATE', filter: `auth_type = "${t}"`, kind: 'auth_success_rate' as const, labels: { auth_type: t } })),
  // Inbound: the traffic Gmail received from the domain.
  { name: 'tls_inbound', standardMetric: 'TLS_ENCRYPTION_RATE', filter: 'traffic_direction = "inbound"', kind: 'tls_encryption_rate', labels: {} },
  ...(Object.keys(DELIVERY_ERROR_REASONS) as (keyof typeof DELIVERY_ERROR_REASONS)[]).flatMap((type) => [
    { name: `error_${type}`, standardMetric: 'DELIVERY_ERROR_RATE', filter: `error_type = "${type}"`, kind: 'delivery_error_rate' as const, labels: { error_type: type, error_reason: 'all' } },
    ...DELIVERY_ERROR_REASONS[type].map((reason) => ({
      name: `error_${type}_${reason}`,
      standardMetric: 'DELIVERY_ERROR_RATE',
      filter: `error_type = "${type}" AND error_reason = "${reason}"`,
      kind: 'delivery_error_rate' as const,
      labels: { error_type: type, error_reason: reason },
    })),
  ]),
];

/** One day's value of one metric. */
export interface PostmasterStat {
  /** YYYY-MM-DD. */
  day: string;
  metric: string;
  kind: MetricSpec['kind'];
  labels: Record<string, string>;
  value: number;
}

export const COMPLIANCE_REQUIREMENTS = [
  'SPF',
  'DKIM',
  'SPF_AND_DKIM',
  'DMARC_POLICY',
  'DMARC_ALIGNMENT',
  'MESSAGE_FORMATTING',
  'DNS_RECORDS',
  'ENCRYPTION',
  'USER_REPORTED_SPAM_RATE',
  'ONE_CLICK_UNSUBSCRIBE',
  'HONOR_UNSUBSCRIBE',
] as const;

export interface PostmasterCompliance {
  /** requirement (lower case) → COMPLIANT | NEEDS_WORK. */
  requirements: Record<string, 'COMPLIANT' | 'NEEDS_WORK'>;
  oneClickUnsubscribe?: { status: string; reason?: string };
  honorUnsubscribe?: { status: string; reason?: string };
  /** The data is the subdomain's own (the API gives it when the domain is a subdomain with data). */
  subdomain: boolean;
}

/** Most pages read from one list or query (200 per page: far more than 17 metrics x a week). */
const MAX_PAGES = 10;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function statValue(v: unknown): number | null {
  if (!isObj(v)) return null;
  for (const k of ['doubleValue', 'floatValue'] as const) if (typeof v[k] === 'number' && Number.isFinite(v[k])) return v[k];
  if (typeof v.intValue === 'string' && /^-?\d+$/.test(v.intValue)) return Number(v.intValue);
  if (typeof v.intValue === 'number') return v.intValue;
  return null;
}

function isoDay(d: unknown): string | null {
  if (!isObj(d) || typeof d.year !== 'number' || typeof d.month !== 'number' || typeof d.day !== 'number') return null;
  if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31) return null;
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

const googleDate = (day: string) => ({ year: Number(day.slice(0, 4)), month: Number(day.slice(5, 7)), day: Number(day.slice(8, 10)) });

/** Reads a QueryDomainStatsResponse: the stats of the metrics we asked for; others are ignored. */
export function parseDomainStats(body: unknown): { stats: PostmasterStat[]; nextPageToken?: string } | null {
  if (!isObj(body)) return null;
  const list = body.domainStats ?? [];
  if (!Array.isArray(list)) return null;
  const specs = new Map(POSTMASTER_METRICS.map((m) => [m.name, m]));
  const stats: PostmasterStat[] = [];
  for (const s of list) {
    if (!isObj(s) || typeof s.metric !== 'string') continue;
    const spec = specs.get(s.metric);
    const day = isoDay(s.date);
    const value = statValue(s.value);
    if (!spec || day === null || value === null) continue;
    stats.push({ day, metric: spec.name, kind: spec.kind, labels: spec.labels, value });
  }
  const next = typeof body.nextPageToken === 'string' && body.nextPageToken !== '' ? body.nextPageToken : undefined;
  return { stats, ...(next ? { nextPageToken: next } : {}) };
}

function verdict(v: unknown): { status: string; reason?: string } | undefined {
  if (!isObj(v)) return undefined;
  const status = isObj(v.status) && typeof v.status.status === 'string' ? v.status.status : undefined;
  if (status === undefined || !/^[A-Z_]{1,40}$/.test(status)) return undefined;
  const reason = typeof v.reason === 'string' && /^[A-Z_]{1,60}$/.test(v.reason) ? v.reason : undefined;
  return { status, ...(reason ? { reason } : {}) };
}

/** Reads a DomainComplianceStatus (the subdomain's own data when present). */
export function parseCompliance(body: unknown): PostmasterCompliance | null {
  if (!isObj(body)) return null;
  const sub = isObj(body.subdomainComplianceData) ? body.subdomainComplianceData : null;
  const data = sub ?? (isObj(body.complianceData) ? body.complianceData : null);
  if (data === null) return { requirements: {}, subdomain: false };
  const requirements: PostmasterCompliance['requirements'] = {};
  for (const row of Array.isArray(data.rowData) ? data.rowData : []) {
    if (!isObj(row) || typeof row.requirement !== 'string') continue;
    if (!(COMPLIANCE_REQUIREMENTS as readonly string[]).includes(row.requirement)) continue;
    const status = isObj(row.status) ? row.status.status : undefined;
    if (status === 'COMPLIANT' || status === 'NEEDS_WORK') requirements[row.requirement.toLowerCase()] = status;
  }
  const oneClick = verdict(data.oneClickUnsubscribeVerdict);
  const honor = verdict(data.honorUnsubscribeVerdict);
  return { requirements, ...(oneClick ? { oneClickUnsubscribe: oneClick } : {}), ...(honor ? { honorUnsubscribe: honor } : {}), subdomain: sub !== null };
}

export interface PostmasterClientOptions {
  /** API root, e.g. https://gmailpostmastertools.googleapis.com/ */
  rootUrl: string;
  tokens: AccessTokens;
  fetch?: FetchLike;
  timeoutMs?: number;
}

export class PostmasterClient {
  constructor(private readonly opts: PostmasterClientOptions) {}

  private url(path: string): string {
    return new URL(path, this.opts.rootUrl.endsWith('/') ? this.opts.rootUrl : `${this.opts.rootUrl}/`).toString();
  }

  /** A call with a bearer token; on 401 the token is dropped and the call made once more. */
  private async call(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<PostmasterResult<unknown>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let token: SecretValue;
      try {
        token = await this.opts.tokens.accessToken();
      } catch (err) {
        return { ok: false, kind: 'oauth2', message: String((err as Error).message ?? err) };
      }
      const res: HttpAnswer = await httpRequest(this.url(path), {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${token.reveal()}`, accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        timeoutMs: this.opts.timeoutMs,
        fetch: this.opts.fetch,
        secrets: [token.reveal()],
      });
      if (!res.ok && res.status === 401 && attempt === 0 && this.opts.tokens.invalidate(token.reveal())) continue;
      if (!res.ok) return { ok: false, kind: res.kind, message: `Postmaster Tools: ${res.message}` };
      try {
        return { ok: true, value: JSON.parse(res.text) as unknown };
      } catch {
        return { ok: false, kind: 'bad_response', message: `Postmaster Tools: ${path.split('?')[0]} answered something that is not JSON` };
      }
    }
    return { ok: false, kind: 'forbidden', message: 'Postmaster Tools refused a fresh access token (HTTP 401)' };
  }

  async listDomains(): Promise<PostmasterResult<PostmasterDomain[]>> {
    const out: PostmasterDomain[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await this.call(`v2/domains?pageSize=200${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`);
      if (!r.ok) return r;
      if (!isObj(r.value)) return { ok: false, kind: 'bad_response', message: 'Postmaster Tools: v2/domains answered no object' };
      for (const d of Array.isArray(r.value.domains) ? r.value.domains : []) {
        if (!isObj(d) || typeof d.name !== 'string' || !d.name.startsWith('domains/')) continue;
        out.push({
          domain: d.name.slice('domains/'.length).toLowerCase(),
          verificationState: typeof d.verificationState === 'string' ? d.verificationState : 'VERIFICATION_STATE_UNSPECIFIED',
          permission: typeof d.permission === 'string' ? d.permission : 'PERMISSION_UNSPECIFIED',
        });
      }
      pageToken = typeof r.value.nextPageToken === 'string' && r.value.nextPageToken !== '' ? r.value.nextPageToken : undefined;
      if (!pageToken) break;
    }
    return { ok: true, value: out };
  }

  /** Daily statistics of POSTMASTER_METRICS for the days [firstDay, lastDay] (YYYY-MM-DD, inclusive). */
  async domainStats(domain: string, firstDay: string, lastDay: string): Promise<PostmasterResult<PostmasterStat[]>> {
    const stats: PostmasterStat[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = {
        metricDefinitions: POSTMASTER_METRICS.map((m) => ({ name: m.name, baseMetric: { standardMetric: m.standardMetric }, ...(m.filter ? { filter: m.filter } : {}) })),
        timeQuery: { dateRanges: { dateRanges: [{ start: googleDate(firstDay), end: googleDate(lastDay) }] } },
        aggregationGranularity: 'DAILY',
        pageSize: 200,
        ...(pageToken ? { pageToken } : {}),
      };
      const r = await this.call(`v2/domains/${encodeURIComponent(domain)}/domainStats:query`, { method: 'POST', body });
      if (!r.ok) return r;
      const parsed = parseDomainStats(r.value);
      if (parsed === null) return { ok: false, kind: 'bad_response', message: `Postmaster Tools: domainStats:query for ${domain} answered an unknown shape` };
      stats.push(...parsed.stats);
      pageToken = parsed.nextPageToken;
      if (!pageToken) break;
    }
    return { ok: true, value: stats };
  }

  async compliance(domain: string): Promise<PostmasterResult<PostmasterCompliance>> {
    const r = await this.call(`v2/domains/${encodeURIComponent(domain)}/complianceStatus`);
    if (!r.ok) return r;
    const parsed = parseCompliance(r.value);
    if (parsed === null) return { ok: false, kind: 'bad_response', message: `Postmaster Tools: complianceStatus of ${domain} answered an unknown shape` };
    return { ok: true, value: parsed };
  }
}
