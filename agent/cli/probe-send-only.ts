import type { Config } from '../config/load-config.js';
import { createLogger, type Logger } from '../log.js';
import type { CycleResult } from '../send/run-cycle.js';
import { formatTable } from './common.js';

export interface ProbeSendOnlyOptions {
  json?: boolean;
  /** Where the table or JSON goes (default stdout). */
  out?: NodeJS.WritableStream;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * `seedwatch probe --send-only`: one cycle now (every path × every seed), then a table of what
 * each path got back. Exit 0 when every probe was accepted, 1 otherwise.
 */
export async function probeSendOnly(cfg: Config, opts: ProbeSendOnlyOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const logger = opts.logger ?? createLogger({ level: process.env.SEEDWATCH_LOG_LEVEL ?? 'warn' });
  const { sendOnce } = await import('../agent.js');
  const result = await sendOnce({ config: cfg, env: opts.env ?? process.env, logger });
  out.write(opts.json ? `${JSON.stringify(toJson(result), null, 2)}\n` : formatCycle(result));
  return result.probes.every((p) => p.row?.status === 'accepted') ? 0 : 1;
}

function toJson(r: CycleResult) {
  return {
    cycleId: r.cycleId,
    startedAt: new Date(r.startedAtMs).toISOString(),
    durationMs: r.finishedAtMs - r.startedAtMs,
    byPath: r.byPath,
    probes: r.probes.map((p) => ({
      path: p.path,
      seed: p.seed,
      provider: p.provider,
      id: p.id,
      status: p.row?.status ?? 'not-sent',
      reason: p.row?.errorReason ?? null,
      code: p.row?.smtpCode ?? null,
      enhanced: p.row?.smtpEnhanced ?? null,
      text: p.row?.smtpText ?? null,
      queueId: p.row?.queueId ?? null,
      error: p.row?.errorMessage ?? p.error ?? null,
      durationMs: p.durationMs,
      remote: p.remote ?? null,
    })),
  };
}

/** The table a terminal user reads; one row per probe, then one count line per path. */
export function formatCycle(r: CycleResult): string {
  const rows = r.probes.map((p) => {
    const status = p.row?.status ?? 'not-sent';
    const detail =
      status === 'accepted'
        ? `${p.row?.smtpText ?? ''}${p.row?.queueId ? ` [queue ${p.row.queueId}]` : ''}`
        : `${p.row?.errorReason ? `${p.row.errorReason}: ` : ''}${p.row?.errorMessage ?? p.error ?? ''}`;
    return [
      p.path,
      p.seed,
      status,
      p.row?.smtpCode != null ? String(p.row.smtpCode) : '-',
      p.row?.smtpEnhanced ?? '-',
      detail.length > 120 ? `${detail.slice(0, 117)}...` : detail,
      p.durationMs != null ? String(p.durationMs) : '-',
    ];
  });
  const table = formatTable(['PATH', 'SEED', 'STATUS', 'CODE', 'ENHANCED', 'TEXT / REASON', 'MS'], rows);
  const summary = Object.entries(r.byPath)
    .map(([path, c]) => `${path}: ${c.accepted}/${c.total} accepted, ${c.failed} failed, ${c.ambiguous} ambiguous, ${c.notSent} not sent`)
    .join('\n');
  return `${table}\n${summary}\n`;
}
