import type { Clock } from '../clock.js';
import type { Config, SeedConfig } from '../config/load-config.js';
import type { SecretValue } from '../config/secret.js';
import type { AgentEvents } from '../events.js';
import type { Ledger, ProbeRow, SendResult } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import type { ProbeIdFactory } from '../probe-id.js';
import { recordSendResult } from '../record/recorder.js';
import { composeProbe } from './compose-probe.js';
import type { ProbePath } from './probe-path.js';

export interface SendProbeInput {
  path: ProbePath;
  /** Index of the path in config.paths (error messages name the config field). */
  pathIndex: number;
  /** The path's extra headers (templates). */
  pathHeaders: Record<string, string>;
  seed: Pick<SeedConfig, 'name' | 'address' | 'provider'>;
  probe: Config['probe'];
  /** config.deadline, ms after the SMTP accept. */
  deadlineMs: number;
  ledger: Ledger;
  clock: Clock;
  events: AgentEvents;
  logger: Logger;
  idFactory: ProbeIdFactory;
  cycleId?: string;
  /** This agent's name (config agent.name), recorded on the probe row as its sender. */
  agent?: string;
  dkimPrivateKey?: SecretValue;
  /** Why the DKIM key could not be resolved, when it could not: every probe fails with it. */
  dkimError?: string;
}

/** What one probe came to. `row` is null when nothing was sent (bad template, broken path, ledger down). */
export interface ProbeAttempt {
  path: string;
  seed: string;
  provider: string;
  id: string | null;
  row: ProbeRow | null;
  /** A message naming the path, for probes that were not sent. */
  error?: string;
  /** From send start to the final reply (or failure). */
  durationMs: number | null;
  remote?: string;
}

/**
 * One probe on exactly its path: compose → insertProbe (write-ahead, status `sending`) →
 * markSendStarted → ONE SMTP attempt → recordSendResult (ledger, then events.sendFinished).
 * Never falls back to another path, never retries, never throws: failures are results.
 */
export async function sendProbe(input: SendProbeInput): Promise<ProbeAttempt> {
  const { path, seed, ledger, clock, logger } = input;
  const base = { path: path.name, seed: seed.name, provider: seed.provider };
  const log = logger.child({ path: path.name, seed: seed.name });
  const notSent = (id: string | null, error: string): ProbeAttempt => {
    log.error({ probeId: id ?? undefined }, error);
    return { ...base, id, row: null, error, durationMs: null };
  };

  if (path.setupError) return notSent(null, path.setupError);
  if (input.dkimError) return notSent(null, `path "${path.name}": ${input.dkimError}`);

  const createdAtMs = clock.nowMs();
  const id = input.idFactory(createdAtMs);
  let composed;
  try {
    composed = await composeProbe({
      probe: input.probe,
      path: { name: path.name, index: input.pathIndex, headers: input.pathHeaders },
      seed,
      id,
      nowMs: createdAtMs,
      ...(input.dkimPrivateKey ? { dkimPrivateKey: input.dkimPrivateKey } : {}),
    });
  } catch (err) {
    return notSent(id, `path "${path.name}": ${(err as Error).message}`);
  }

  try {
    await ledger.insertProbe({
      id,
      path: path.name,
      seed: seed.name,
      provider: seed.provider,
      messageId: composed.messageId,
      createdAtMs,
      deadlineMs: input.deadlineMs,
      ...(input.cycleId ? { cycleId: input.cycleId } : {}),
      ...(input.agent ? { agent: input.agent } : {}),
    });
  } catch (err) {
    return notSent(id, `path "${path.name}": probe not sent, the ledger refused it: ${(err as Error).message}`);
  }

  let startedAtMs = clock.nowMs();
  let result: SendResult;
  let remote: string | undefined;
  try {
    const outcome = await path.send(composed.raw, composed.envelope, {
      beforeTransaction: async () => {
        startedAtMs = clock.nowMs();
        await ledger.markSendStarted(id, startedAtMs);
      },
    });
    result = outcome.result;
    remote = outcome.remote;
  } catch (err) {
    // A path must not throw; if one does (or markSendStarted failed), the outcome is unknown.
    result = {
      ok: false,
      reason: 'ambiguous',
      atMs: clock.nowMs(),
      message: `path "${path.name}": send aborted unexpectedly: ${(err as Error).message}`,
    };
  }

  let row: ProbeRow;
  try {
    row = await recordSendResult(ledger, input.events, id, result);
  } catch (err) {
    return notSent(id, `path "${path.name}": the ledger could not record the send result: ${(err as Error).message}`);
  }
  const endMs = result.ok ? result.acceptedAtMs : result.atMs;
  const durationMs = Math.max(0, endMs - startedAtMs);
  // Per probe at debug: at info a cycle is one 'probe cycle finished' line with the counts by
  // path (500 seeds are 1,000 probes a cycle); failures stay at warn, one line each.
  if (result.ok) log.debug({ probeId: id, code: result.code, queueId: result.queueId, durationMs }, 'probe accepted');
  else log.warn({ probeId: id, reason: result.reason, code: result.code, durationMs }, result.message);
  return { ...base, id, row, durationMs, ...(remote ? { remote } : {}) };
}
