/**
 * One scan of one selected folder: find the UIDs not seen yet, fetch as little as possible
 * to tell probes from everything else, record each probe copy in the ledger, clean up, and
 * advance the folder state. The caller holds the mailbox lock (imapflow getMailboxLock).
 *
 * Round trips are what a scan costs (each one wakes the server and the agent; with 500 seeds
 * a cycle makes thousands), so a scan makes as few as it can:
 *   - after an IDLE push (the session's view already holds the new mail, see ScanOptions.push):
 *     ONE `UID FETCH <last+1>:*` of UID, INTERNALDATE, RFC822.SIZE and the header block
 *     BODY.PEEK[HEADER]<0.256K> — the probe id and all the evidence at once;
 *   - otherwise (catch-up, safety scan, poll): NOOP (Dovecot: a SEARCH right after SELECT can
 *     miss a just-delivered message), UID SEARCH, then the same single FETCH per slice of new
 *     UIDs; a catch-up from a date (possibly thousands of other messages) first fetches only
 *     X-Seedwatch-Probe and Message-ID, then the header block of the probes alone;
 *   - BODY.PEEK[TEXT]<0.4096> only for messages with no probe id in their headers (a gateway
 *     stripped the header and rewrote the Message-ID): the body token sits at the top.
 * A message is never downloaded in full.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import { extractProbeId } from '../analyze/extract-probe-id.js';
import type { FolderRoleRule } from '../analyze/folder-roles.js';
import { MAX_HEADER_BYTES, parseHeaders } from '../analyze/parse-headers.js';
import type { GmailCategory, WatchedFolderRole } from '../domain/vocabulary.js';
import type { Clock } from '../clock.js';
import type { SeedConfig } from '../config/load-config.js';
import type { AgentEvents } from '../events.js';
import type { Ledger, ObservationKind } from '../ledger/ledger.js';
import type { FolderStates } from './folder-states.js';
import type { Logger } from '../log.js';
import { PROBE_HEADER } from '../probe-id.js';
import { imapSinceDate, planScan, type ScanPlan } from './catch-up.js';
import { gmailTabs, hasGmailExtensions } from './gmail-tabs.js';
import { recordCopy } from '../record/recorder.js';
import { buildObservation, type FetchedCopy } from './observation.js';

/** Bounds the body prefix searched for the probe token (the token sits in the first lines). */
export const BODY_TOKEN_FETCH_BYTES = 4096;
/** Bounds the header block fetched per probe; same cap as the parser's (a 1 MB header costs 256 KiB). */
export const HEADER_FETCH_BYTES = MAX_HEADER_BYTES;
/** Bounds one FETCH round: a catch-up over thousands of messages goes in slices of this many UIDs. */
export const SCAN_BATCH_SIZE = 100;

export interface WatchedFolder {
  path: string;
  role: WatchedFolderRole;
  rule: FolderRoleRule;
}

export interface ScanContext {
  seed: SeedConfig;
  ledger: Ledger;
  events: AgentEvents;
  clock: Clock;
  log: Logger;
  deadlineMs: number;
  /** Where cleanup 'trash' moves probes; null when the seed has no Trash (then probes are kept). */
  trashPath: string | null;
  /** This agent's name (config agent.name), recorded on every copy it records. */
  agent?: string;
  /** The seed's folder states for this connection (read once, written through to the ledger). */
  folderStates: FolderStates;
}

export interface ScanResult {
  /**
   * When the scan began (before its NOOP). When `synced`, every copy delivered before this
   * moment has been seen once the scan completes: the reconciler concludes `missing` only from
   * such moments.
   */
  startedAtMs: number;
  /**
   * The scan began with a NOOP (the server looked at the folder again), so startedAtMs bounds
   * what it saw. A push scan skips the NOOP: it proves nothing about copies delivered just
   * before it that the server had not announced yet.
   */
  synced: boolean;
  /** The folder's UIDVALIDITY during the scan; with lastUid, the folder state the scan left. */
  uidValidity: number;
  plan: ScanPlan;
  newMessages: number;
  probes: number;
  kinds: Partial<Record<ObservationKind, number>>;
  lastUid: number;
}

function dateMs(d: Date | string | undefined): number | null {
  if (d instanceof Date) {
    const t = d.getTime();
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

/** A fetched body section (imapflow keys partial sections by their section name, origin apart). */
function section(msg: FetchMessageObject, key: string): Buffer | undefined {
  if (key === 'header' && msg.headers) return msg.headers;
  const parts = msg.bodyParts;
  if (!parts) return undefined;
  const direct = parts.get(key);
  if (direct) return direct;
  for (const [k, v] of parts) if (k.toLowerCase().replace(/<.*$/, '').replace(/]$/, '') === key) return v;
  return undefined;
}

function hasLabel(msg: FetchMessageObject, label: string): boolean {
  const labels = (msg as { labels?: Set<string> }).labels;
  return labels instanceof Set ? [...labels].some((l) => l.toLowerCase() === label.toLowerCase()) : false;
}

interface Candidate {
  uid: number;
  internalDateMs: number | null;
  size: number;
  probeId: string;
  source: string;
}

export interface ScanOptions {
  /**
   * When the server announced new mail (the IDLE EXISTS that triggered this scan); absent for
   * timer and catch-up scans, whose copies count as seen when the search that found them
   * returned. Detection delay ends there, not after fetch and analysis.
   */
  announcedAtMs?: number;
  /**
   * The scan answers an IDLE push of this session, and only a few messages are new: the
   * session's view already holds them (the server said so), so no NOOP and no SEARCH — one
   * UID FETCH from the last seen UID on. Ignored without a folder state to start from.
   */
  push?: boolean;
}

/** At most this many new messages are fetched with their header blocks in one push scan. */
export const PUSH_SCAN_MAX_NEW = SCAN_BATCH_SIZE;

export async function scanFolder(client: ImapFlow, folder: WatchedFolder, ctx: ScanContext, opts: ScanOptions = {}): Promise<ScanResult> {
  const { seed, ledger } = ctx;
  const mailbox = client.mailbox;
  if (!mailbox || mailbox.path !== folder.path) throw new Error(`scanFolder: ${folder.path} is not the selected mailbox`);
  const startedAtMs = ctx.clock.nowMs();
  const announcedAtMs = opts.announcedAtMs ?? null;
  const uidValidity = Number(mailbox.uidValidity);
  const state = await ctx.folderStates.get(folder.path);
  const push = opts.push === true && state !== null && state.uidValidity === uidValidity;
  if (!push) {
    // Dovecot (docs/components.md, "Dovecot"): a SEARCH right after SELECT can miss a
    // just-delivered message for seconds; a NOOP first makes the server look at the folder again.
    await client.noop();
  }
  const uidNextAtStart = Number(mailbox.uidNext) || 1;
  const now = ctx.clock.nowMs();
  const plan = planScan({
    state,
    uidValidity,
    oldestInFlightMs: state && state.uidValidity === uidValidity ? null : await ledger.oldestInFlightMs(seed.name, now),
    nowMs: now,
    deadlineMs: ctx.deadlineMs,
  });
  const result: ScanResult = { startedAtMs, synced: !push, uidValidity, plan, newMessages: 0, probes: 0, kinds: {}, lastUid: plan.kind === 'after-uid' ? plan.afterUid : 0 };
  if (plan.kind === 'since') {
    ctx.log.info({ seed: seed.name, folder: folder.path, reason: plan.reason, uidValidity, previous: state?.uidValidity }, 'folder scan from date');
  }

  const record = async (copies: FetchedProbeCopy[], seenAtMs: number, lastUid: number) => {
    result.probes += copies.length;
    const recorded = await recordCopies(copies, folder, ctx, { announcedAtMs, searchedAtMs: seenAtMs }, result);
    await cleanUp(client, folder, ctx, recorded);
    result.lastUid = lastUid;
    await ctx.folderStates.set(folder.path, { uidValidity, lastUid });
  };

  if (push && plan.kind === 'after-uid') {
    // `n:*` always matches the highest UID, even when it is below n (RFC 3501 §6.4.8): the
    // fetch filters what it returns by UID.
    const fetched = await fetchProbeCopies(client, folder, seed, uidValidity, `${plan.afterUid + 1}:*`, { afterUid: plan.afterUid, headers: 'block' });
    const fetchedAtMs = ctx.clock.nowMs();
    result.newMessages = fetched.uids.length;
    if (fetched.uids.length > 0) await record(fetched.copies, fetchedAtMs, fetched.uids[fetched.uids.length - 1]);
    return result;
  }

  let uids: number[] = [];
  if (client.mailbox && (client.mailbox as { exists?: number }).exists !== 0) {
    const found =
      plan.kind === 'after-uid'
        ? await client.search({ uid: `${plan.afterUid + 1}:*` }, { uid: true })
        : await client.search({ since: imapSinceDate(plan.sinceMs) }, { uid: true });
    // `n:*` always matches the highest UID, even when it is below n (RFC 3501 §6.4.8).
    uids = (Array.isArray(found) ? found : []).filter((u) => u > result.lastUid).sort((a, b) => a - b);
  }
  const searchedAtMs = ctx.clock.nowMs();
  result.newMessages = uids.length;

  for (let i = 0; i < uids.length; i += SCAN_BATCH_SIZE) {
    const batch = uids.slice(i, i + SCAN_BATCH_SIZE);
    // A catch-up from a date may walk through thousands of other messages: their probe fields
    // first, the header block of the probes alone. Otherwise everything in one FETCH.
    const fetched = await fetchProbeCopies(client, folder, ctx.seed, uidValidity, batch.join(','), { afterUid: 0, headers: plan.kind === 'since' ? 'probe-fields' : 'block' });
    await record(fetched.copies, searchedAtMs, batch[batch.length - 1]);
  }
  // Nothing new (or only old mail on a first scan): remember where the folder stands, so the
  // next scan asks only for what arrives from now on.
  const floor = Math.max(result.lastUid, uidNextAtStart - 1);
  if (!state || state.uidValidity !== uidValidity || floor > state.lastUid) {
    result.lastUid = floor;
    await ctx.folderStates.set(folder.path, { uidValidity, lastUid: floor });
  }
  return result;
}

/** A probe copy as fetched from the server, identified, not yet judged. */
export interface FetchedProbeCopy {
  copy: FetchedCopy;
  probeId: string;
  probeIdSource: string;
  gmailCategory?: GmailCategory;
  gmailCategoryError?: string;
}

/** What one fetch found: every new UID it saw (probe or not), and the probe copies among them. */
export interface FetchedBatch {
  uids: number[];
  copies: FetchedProbeCopy[];
}

/**
 * IMAP: fetch as little as needed of the UID `set` to tell probes from other mail, with each
 * probe's header block (and Gmail tab). Decides nothing about the probes.
 *   headers 'block': the header block of every message in the one FETCH (new mail after an
 *     IDLE push or a UID search: a handful of messages, nearly all probes);
 *   headers 'probe-fields': X-Seedwatch-Probe and Message-ID first, the header block of the
 *     probes in a second FETCH (a catch-up through a folder full of other mail).
 * Messages whose UID is not above `afterUid` are ignored (`n:*` returns the highest UID even
 * when it is below n).
 */
export async function fetchProbeCopies(
  client: ImapFlow,
  folder: WatchedFolder,
  seed: SeedConfig,
  uidValidity: number,
  set: string,
  opts: { afterUid: number; headers: 'block' | 'probe-fields' },
): Promise<FetchedBatch> {
  const gmail = hasGmailExtensions(client);
  const block = opts.headers === 'block';
  const metas = (
    await client.fetchAll(
      set,
      {
        uid: true,
        internalDate: true,
        size: true,
        ...(block ? { bodyParts: [{ key: 'header', start: 0, maxLength: HEADER_FETCH_BYTES }] } : { headers: [PROBE_HEADER, 'Message-ID'] }),
        ...(gmail && folder.role === 'all' ? { labels: true } : {}),
      },
      { uid: true },
    )
  )
    .filter((m) => m.uid > opts.afterUid)
    .sort((a, b) => a.uid - b.uid);
  const uids = metas.map((m) => m.uid);
  const candidates: Candidate[] = [];
  const noId: FetchMessageObject[] = [];
  const headerBlock = new Map<number, Buffer>();
  for (const m of metas) {
    // In Gmail, All Mail also lists every inbox message: those are the INBOX watcher's.
    if (folder.role === 'all' && gmail && (hasLabel(m, '\\Inbox') || hasLabel(m, '\\Spam') || hasLabel(m, '\\Trash'))) continue;
    const raw = block ? (section(m, 'header') ?? Buffer.alloc(0)) : (m.headers ?? Buffer.alloc(0));
    const found = extractProbeId(parseHeaders(raw));
    if (found) {
      candidates.push({ uid: m.uid, internalDateMs: dateMs(m.internalDate), size: m.size ?? 0, probeId: found.id, source: found.source });
      if (block) headerBlock.set(m.uid, raw);
    } else {
      noId.push(m);
    }
  }
  if (noId.length > 0) {
    const bodies = await client.fetchAll(
      noId.map((m) => m.uid).join(','),
      { uid: true, bodyParts: [{ key: 'text', start: 0, maxLength: BODY_TOKEN_FETCH_BYTES }] },
      { uid: true },
    );
    const byUid = new Map(bodies.map((b) => [b.uid, b]));
    for (const m of noId) {
      const body = byUid.get(m.uid);
      const text = body ? section(body, 'text')?.toString('latin1') : undefined;
      const found = text ? extractProbeId(parseHeaders(Buffer.alloc(0)), text) : null;
      if (found) {
        candidates.push({ uid: m.uid, internalDateMs: dateMs(m.internalDate), size: m.size ?? 0, probeId: found.id, source: found.source });
        if (block) headerBlock.set(m.uid, section(m, 'header') ?? Buffer.alloc(0));
      }
    }
  }
  if (candidates.length === 0) return { uids, copies: [] };
  candidates.sort((a, b) => a.uid - b.uid);

  if (!block) {
    const full = await client.fetchAll(
      candidates.map((c) => c.uid).join(','),
      { uid: true, bodyParts: [{ key: 'header', start: 0, maxLength: HEADER_FETCH_BYTES }] },
      { uid: true },
    );
    for (const f of full) headerBlock.set(f.uid, section(f, 'header') ?? Buffer.alloc(0));
  }

  let tabs: Map<number, GmailCategory> | undefined;
  let tabError: string | undefined;
  if (folder.role === 'inbox' && gmail && seed.preset.capabilities.gmailTabs) {
    const r = await gmailTabs(
      client,
      candidates.map((c) => c.uid),
    );
    if ('error' in r) tabError = r.error;
    else tabs = r.tabs;
  }
  const copies = candidates.map((c) => {
    const raw = headerBlock.get(c.uid) ?? Buffer.alloc(0);
    return {
      copy: { uid: c.uid, uidValidity, internalDateMs: c.internalDateMs, size: c.size, rawHeaders: raw, headersCapped: raw.length >= HEADER_FETCH_BYTES },
      probeId: c.probeId,
      probeIdSource: c.source,
      ...(tabs?.get(c.uid) ? { gmailCategory: tabs.get(c.uid) } : {}),
      ...(tabError ? { gmailCategoryError: tabError } : {}),
    };
  });
  return { uids, copies };
}

/**
 * When the agent learnt of a copy: the EXISTS announcement that triggered the scan, unless
 * the copy reached the mailbox after it (then the search that found it).
 */
export function announcedAt(internalDateMs: number | null, times: { announcedAtMs: number | null; searchedAtMs: number }): number {
  const { announcedAtMs, searchedAtMs } = times;
  if (announcedAtMs === null) return searchedAtMs;
  if (internalDateMs !== null && internalDateMs >= announcedAtMs) return searchedAtMs;
  return announcedAtMs;
}

/** Build each copy's observation and record it (the domain decides its kind); returns the UIDs to clean up. */
async function recordCopies(
  copies: FetchedProbeCopy[],
  folder: WatchedFolder,
  ctx: ScanContext,
  times: { announcedAtMs: number | null; searchedAtMs: number },
  result: ScanResult,
): Promise<number[]> {
  const cleanup: number[] = [];
  for (const c of copies) {
    const obs = buildObservation(c.copy, {
      seed: ctx.seed.name,
      folder: folder.path,
      folderRole: folder.role,
      folderRule: folder.rule,
      probeId: c.probeId,
      probeIdSource: c.probeIdSource,
      gmailCategory: c.gmailCategory,
      gmailCategoryError: c.gmailCategoryError,
      trustedAuthservIds: ctx.seed.trust.authservIds,
      providerReceivedHosts: ctx.seed.trust.receivedHosts.length > 0 ? ctx.seed.trust.receivedHosts : undefined,
      observedAtMs: announcedAt(c.copy.internalDateMs, times),
      ...(ctx.agent ? { agent: ctx.agent } : {}),
    });
    const r = await recordCopy(ctx.ledger, ctx.events, obs);
    result.kinds[r.kind] = (result.kinds[r.kind] ?? 0) + 1;
    if (r.kind === 'first' || r.kind === 'duplicate' || r.kind === 'late') {
      ctx.log.debug({ seed: ctx.seed.name, folder: folder.path, uid: c.copy.uid, probe: c.probeId, kind: r.kind, placement: obs.placement }, 'probe observed');
    }
    // A probe id this ledger does not know may belong to another agent or an old ledger:
    // leave that message alone.
    if (r.kind !== 'unknown-probe') cleanup.push(c.copy.uid);
  }
  return cleanup;
}

async function cleanUp(client: ImapFlow, folder: WatchedFolder, ctx: ScanContext, uids: number[]): Promise<void> {
  const mode = ctx.seed.cleanup;
  // Gmail: removing a message from All Mail deletes it from every label; never expunge there.
  if (uids.length === 0 || mode === 'keep' || folder.role === 'all') return;
  const set = uids.join(',');
  if (mode === 'trash' && ctx.trashPath && ctx.trashPath !== folder.path) {
    await client.messageMove(set, ctx.trashPath, { uid: true });
  } else if (mode === 'delete') {
    await client.messageDelete(set, { uid: true });
  }
}
