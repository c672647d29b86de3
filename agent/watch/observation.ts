/**
 * Pure: turns what the watcher fetched for one probe copy (header block, INTERNALDATE, size,
 * folder, Gmail tab) into the ledger's NewObservation with its evidence. No I/O, no imapflow.
 */
import { createHash } from 'node:crypto';
import { analyzeMessage, type MessageAnalysis } from '../analyze/analyze-message.js';
import type { FolderRoleRule } from '../analyze/folder-roles.js';
import { headerValue, parseHeaders } from '../analyze/parse-headers.js';
import { findIngressIp, type IngressIp } from '../analyze/ingress-ip.js';
import { parseRfc5322Date } from '../analyze/received-time.js';
import { classifyPlacement } from '../domain/placement.js';
import { type GmailCategory, type WatchedFolderRole } from '../domain/vocabulary.js';
import type { NewObservation } from '../ledger/ledger.js';
import type { AuthSummary } from '../domain/vocabulary.js';

export interface FetchedCopy {
  uid: number;
  uidValidity: number;
  /** INTERNALDATE (t3); null when the server sent none or an unparseable one. */
  internalDateMs: number | null;
  size: number;
  /** The header block as fetched (possibly capped). */
  rawHeaders: Buffer;
  /** True when the header block was cut at the fetch cap. */
  headersCapped: boolean;
}

export interface CopyContext {
  seed: string;
  folder: string;
  folderRole: WatchedFolderRole;
  folderRule: FolderRoleRule | 'watched';
  probeId: string;
  probeIdSource: string;
  gmailCategory?: GmailCategory;
  /** Why the tab is unknown (search failed), for the evidence. */
  gmailCategoryError?: string;
  trustedAuthservIds: string[];
  /** The preset's own Received hosts (the position rule for id-less Authentication-Results). */
  providerReceivedHosts?: readonly string[];
  observedAtMs: number;
  /** The agent that saw the copy (config agent.name). */
  agent?: string;
}

/**
 * Identifies one delivered copy independently of its UID: the provider's topmost Received
 * header (it carries the final hop's queue id and time), INTERNALDATE and size. The same copy
 * seen again after a UIDVALIDITY change hashes the same; a second delivery of the same raw
 * message gets another Received line and hashes differently. No Received header → no
 * fingerprint (UID dedupe only), since two copies could then collide.
 */
export function copyFingerprint(topReceived: string | undefined, internalDateMs: number | null, size: number): string | undefined {
  if (topReceived === undefined || topReceived.length === 0) return undefined;
  return createHash('sha256')
    .update(topReceived)
    .update('\0')
    .update(String(internalDateMs ?? ''))
    .update('\0')
    .update(String(size))
    .digest('hex')
    .slice(0, 32);
}

function authSummary(a: MessageAnalysis['auth']): AuthSummary {
  if (!a.found || a.unparsed) return {};
  const out: AuthSummary = {};
  for (const m of ['spf', 'dkim', 'dmarc', 'arc'] as const) if (a[m] !== undefined) out[m] = a[m];
  return out;
}

/** Bounds the raw header copies kept in evidence (JSON in the ledger). */
const MAX_EVIDENCE_HEADER_CHARS = 2_000;

export function buildObservation(copy: FetchedCopy, ctx: CopyContext): NewObservation {
  const analysis = analyzeMessage(copy.rawHeaders, {
    trustedAuthservIds: ctx.trustedAuthservIds,
    providerReceivedHosts: ctx.providerReceivedHosts,
  });
  const parseErrors = [...analysis.parseErrors];
  if (copy.headersCapped) parseErrors.push(`headers: fetch capped at ${copy.rawHeaders.length} bytes`);
  if (copy.internalDateMs === null) parseErrors.push('internaldate: missing or unparseable');

  let topReceived: string | undefined;
  // The sender's Date: header (t0 as the message claims it), kept as evidence; a malformed one
  // is a parse note, never a failure.
  let sentDateMs: number | undefined;
  // Which IP the provider saw: its ingress hop is found by the preset's receivedHosts, else by
  // the trusted authserv-ids (the name of the provider's receiving MTA, RFC 8601 §2.5).
  let ingress: IngressIp = { ip: null, reason: 'headers not read' };
  try {
    const headers = parseHeaders(copy.rawHeaders);
    topReceived = headerValue(headers, 'received');
    const hosts = ctx.providerReceivedHosts && ctx.providerReceivedHosts.length > 0 ? ctx.providerReceivedHosts : ctx.trustedAuthservIds;
    ingress = findIngressIp(headers, hosts);
    const date = headerValue(headers, 'date');
    if (date !== undefined) {
      const d = parseRfc5322Date(date);
      if ('atMs' in d) sentDateMs = d.atMs;
      else parseErrors.push(`date: ${d.unparsed}`);
    }
  } catch (err) {
    parseErrors.push(`internal: ${String(err)}`);
  }
  const placement = classifyPlacement({ folderRole: ctx.folderRole, gmailCategory: ctx.gmailCategory });
  const a = analysis.auth;
  const evidence: Record<string, unknown> = {
    folder: ctx.folder,
    folderRole: ctx.folderRole,
    folderRule: ctx.folderRule,
    uid: copy.uid,
    uidValidity: copy.uidValidity,
    size: copy.size,
    probeIdSource: ctx.probeIdSource,
    t0: sentDateMs ?? null,
    t2: analysis.arrivalMs ?? null,
    t3: copy.internalDateMs,
    t4: ctx.observedAtMs,
    auth: a.found
      ? a.unparsed
        ? { unparsed: true, reason: a.reason, authservId: a.authservId, trust: a.trust, raw: a.raw.slice(0, MAX_EVIDENCE_HEADER_CHARS) }
        : {
            authservId: a.authservId,
            trust: a.trust,
            spf: a.spf,
            dkim: a.dkim,
            dmarc: a.dmarc,
            arc: a.arc,
            compauth: a.compauth,
            raw: a.raw.slice(0, MAX_EVIDENCE_HEADER_CHARS),
          }
      : { found: false },
    microsoft: Object.keys(analysis.antispam).length > 0 ? analysis.antispam : undefined,
    gmailCategory: ctx.gmailCategory,
    gmailCategoryError: ctx.gmailCategoryError,
    ingressIp: ingress.ip,
    ingressHop: ingress.ip !== null ? ingress.by : undefined,
    ingressIpUnknown: ingress.ip === null ? ingress.reason : undefined,
    topReceived: topReceived?.slice(0, MAX_EVIDENCE_HEADER_CHARS),
    messageId: analysis.messageId?.slice(0, MAX_EVIDENCE_HEADER_CHARS),
    subject: analysis.subject?.slice(0, 300),
    parseErrors,
    unparsed: parseErrors.length > 0,
  };
  return {
    probeId: ctx.probeId,
    seed: ctx.seed,
    folder: ctx.folder,
    folderRole: ctx.folderRole,
    placement,
    uidValidity: copy.uidValidity,
    uid: copy.uid,
    arrivedAtMs: analysis.arrivalMs ?? null,
    internalDateMs: copy.internalDateMs,
    observedAtMs: ctx.observedAtMs,
    auth: authSummary(a),
    fingerprint: copyFingerprint(topReceived, copy.internalDateMs, copy.size),
    evidence: JSON.parse(JSON.stringify(evidence)) as Record<string, unknown>,
    ...(ctx.agent ? { agent: ctx.agent } : {}),
  };
}
